#!/usr/bin/env python3
"""Regenerates the committed seed corpora from the repository's own inputs.

corpus/loader/:     the smallest bundled scenarios of each profile folder (every one is a good
                    seed; a few keep the corpus small) plus every tests/bad*/ input.
corpus/descriptor/: every distinct raw descriptor of scenarios/vtd (mode byte 0/1: 128/256-bit,
                    and with bit 2 set: through the loader in a vtd scenario), every distinct
                    readable descriptor (mode 3), hand-made words for the types no scenario
                    writes raw (cc_inv, iec_inv, page_grp_resp 128-bit), and a few wrong word
                    counts (mode 2).
The mode byte is documented in descriptor_input.cpp.
"""
import glob
import json
import os
import shutil
import struct

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
OUT = os.path.join(ROOT, "tests", "fuzz", "corpus")
PER_FOLDER = 6  # smallest scenarios kept per scenarios/<profile>/<folder>


def loader_seeds(out):
    folders = sorted({os.path.dirname(p) for p in glob.glob(os.path.join(ROOT, "scenarios", "**", "*.json"), recursive=True)})
    for folder in folders:
        files = [p for p in glob.glob(os.path.join(folder, "*.json")) if not p.endswith("schema.json")]
        for p in sorted(files, key=os.path.getsize)[:PER_FOLDER]:
            rel = os.path.relpath(p, os.path.join(ROOT, "scenarios")).replace(os.sep, "_")
            shutil.copy(p, os.path.join(out, rel))
    for p in glob.glob(os.path.join(ROOT, "tests", "bad*", "*.json")):
        rel = os.path.relpath(p, os.path.join(ROOT, "tests")).replace(os.sep, "_")
        shutil.copy(p, os.path.join(out, rel))


def words_bytes(words):
    return b"".join(struct.pack("<Q", w) for w in words)


def descriptor_seeds(out):
    raws, descs = {}, {}
    for p in sorted(glob.glob(os.path.join(ROOT, "scenarios", "vtd", "**", "*.json"), recursive=True)):
        for st in json.load(open(p))["steps"]:
            if st.get("op") != "descriptor":
                continue
            if "raw" in st:
                words = tuple(int(w, 16) if isinstance(w, str) else w for w in st["raw"])
                raws.setdefault(words, None)
            else:
                descs.setdefault(json.dumps(st["desc"], sort_keys=True), None)
    # Types no scenario writes raw (Linux QI_* encodings, as in vtd_descriptor_test.cpp).
    raws[(0x0000000000000011, 0)] = None            # cc_inv global
    raws[(0x0003ff0300020031, 0)] = None            # cc_inv device, did 2, sid 0xff03, fm 3
    raws[(0x0000000000000004, 0)] = None            # iec_inv global
    raws[(0x0000fff020000014, 0)] = None            # iec_inv index 0xfff0, im 4
    raws[(0x0000000000020032, 0x0000000000200000)] = None  # iotlb_inv PSI did 2, 0x200000
    raws[(0x0000000000020022, 0)] = None            # iotlb_inv DSI did 2
    raws[(0x0000000000000012, 0)] = None            # iotlb_inv global
    raws[(0x0000000501000019, 0x000000000000001c)] = None  # page_grp_resp rid 0x100 PASID 5, group 3, LPIG
    raws[(0x000000000a101009, 0)] = None            # page_grp_resp rid 0x0a10 no PASID, invalid request
    n = 0
    for words in raws:
        mode = 0 if len(words) == 2 else 1
        for extra in (0, 4):
            with open(os.path.join(out, "raw%d-%03d-m%d" % (len(words) * 64, n, mode | extra)), "wb") as f:
                f.write(bytes([mode | extra]) + words_bytes(words))
        n += 1
    for i, d in enumerate(descs):
        for extra in (0, 4):
            with open(os.path.join(out, "json-%03d-m%d" % (i, 3 | extra)), "wb") as f:
                f.write(bytes([3 | extra]) + d.encode())
    for count in (0, 1, 3, 5):
        with open(os.path.join(out, "count%d-m2" % count), "wb") as f:
            f.write(bytes([2, count]) + words_bytes([0x12] * count))
    # Legacy mode and the capability bits through the loader (mode bits 3..7).
    for mode in (0x0c, 0x14, 0x24, 0x44, 0x84):
        with open(os.path.join(out, "caps-m%02x" % mode), "wb") as f:
            f.write(bytes([mode]) + words_bytes([0x0000000000020032, 0x0000000000200000]))


def loader_dict(path):
    """libFuzzer dictionary: every key and enum string of the scenario schema, quoted, plus
    JSON punctuation and numbers at the loader's range limits."""
    schema = json.load(open(os.path.join(ROOT, "scenarios", "scenario.schema.json")))
    toks = set()

    def walk(x):
        if isinstance(x, dict):
            for k, v in x.items():
                if k == "properties" and isinstance(v, dict):
                    toks.update(v.keys())
                if k in ("enum", "const"):
                    toks.update(e for e in (v if isinstance(v, list) else [v]) if isinstance(e, str))
                walk(v)
        elif isinstance(x, list):
            for e in x:
                walk(e)

    walk(schema)
    def quote(t):  # a libFuzzer dictionary entry: "..." with \ and " escaped
        return '"' + t.replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = [quote('"%s"' % t) for t in sorted(toks)]
    lines += [quote(t) for t in ("{", "}", "[", "]", ":", ",", "true", "false", "null", '"0x', "-1", "1e400",
                                 "18446744073709551615", "18446744073709551616", '"0xffffffffffffffff"', "\\u0000")]
    with open(path, "w") as f:
        f.write("# Generated by make_seeds.py from scenarios/scenario.schema.json.\n")
        f.write("\n".join(lines) + "\n")


def main():
    loader_dict(os.path.join(ROOT, "tests", "fuzz", "loader.dict"))
    for target, fill in (("loader", loader_seeds), ("descriptor", descriptor_seeds)):
        out = os.path.join(OUT, target)
        shutil.rmtree(out, ignore_errors=True)
        os.makedirs(out)
        fill(out)
        print("%s: %d seeds" % (target, len(os.listdir(out))))


if __name__ == "__main__":
    main()
