#!/usr/bin/env python3
"""nostale benchmarks: prints the figures quoted in the README (nothing is asserted).

  python3 bench/bench.py [--nostale build/nostale] [--runs 5]

1. seconds per bundled scenario, process start included (median of --runs per scenario; the
   median and max over scenarios), per profile folder;
2. one scenario at 39, 48 and 57 address bits;
3. one SVA scenario with 1..8 devices and 1..8 PASIDs.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_once(nostale, path):
    t0 = time.perf_counter()
    p = subprocess.run([nostale, "check", path], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    dt = time.perf_counter() - t0
    if p.returncode not in (0, 1):
        sys.exit(f"{path}: exit {p.returncode}: {p.stderr.decode()}")
    return dt, p.returncode


def timed(nostale, path, runs):
    ts, rc = [], None
    for _ in range(runs):
        dt, rc = run_once(nostale, path)
        ts.append(dt)
    return statistics.median(ts), rc


def bundled(nostale, runs):
    print("## Seconds per bundled scenario (process start included)\n")
    print("| folder | scenarios | median s | max s | slowest |")
    print("|---|---|---|---|---|")
    sdir = os.path.join(ROOT, "scenarios")
    for prof in sorted(os.listdir(sdir)):
        pdir = os.path.join(sdir, prof)
        if not os.path.isdir(pdir):
            continue
        times = []
        for dp, _, fs in os.walk(pdir):
            for f in sorted(fs):
                if f.endswith(".json"):
                    path = os.path.join(dp, f)
                    times.append((timed(nostale, path, runs)[0], os.path.relpath(path, ROOT)))
        if not times:
            continue
        ts = [t for t, _ in times]
        slow = max(times)
        print(f"| {prof} | {len(ts)} | {statistics.median(ts):.3f} | {slow[0]:.3f} | {slow[1]} |")
    print()


def scenario(iova_bits, ndev, npasid, buggy):
    """An SVA flow: npasid PASIDs, each bound on every one of ndev ATS devices to its own
    domain; unmap one page of each; IOTLB + device-TLB invalidation per (device, PASID); sync;
    free. The buggy variant skips the device-TLB invalidation of the last device."""
    devs = [{"name": f"d{i}", "ats": True} for i in range(ndev)]
    doms = [{"name": f"mm{p}", "did": p + 1} for p in range(npasid)]
    steps = []
    for p in range(npasid):
        for d in range(ndev):
            steps.append({"op": "bind", "device": f"d{d}", "pasid": p + 1, "domain": f"mm{p}"})
        steps.append({"op": "map", "domain": f"mm{p}", "iova": hex(0x40000000 + p * 0x200000),
                      "size": "0x4000", "phys": hex(0x100000 + p * 0x10000), "perm": "rw"})
    for p in range(npasid):
        base = hex(0x40000000 + p * 0x200000)
        steps.append({"op": "unmap", "domain": f"mm{p}", "iova": base, "size": "0x4000"})
        steps.append({"op": "invalidate", "domain": f"mm{p}", "cache": ["IOTLB"], "granularity": "ADDR",
                      "addr_info": {"flags": ["PASID", "ARCHID"], "pasid": p + 1, "archid": p + 1,
                                    "addr": base, "granule_size": 4096, "nb_granules": 4}})
    steps.append({"op": "sync"})
    for p in range(npasid):
        base = hex(0x40000000 + p * 0x200000)
        for d in range(ndev):
            if buggy and d == ndev - 1 and p == npasid - 1:
                continue
            steps.append({"op": "invalidate", "domain": f"mm{p}", "device": f"d{d}", "cache": ["DEV_IOTLB"],
                          "granularity": "ADDR",
                          "addr_info": {"flags": ["PASID"], "pasid": p + 1, "addr": base,
                                        "granule_size": 4096, "nb_granules": 4}})
    steps.append({"op": "sync"})
    for p in range(npasid):
        steps.append({"op": "free_frame", "phys": hex(0x100000 + p * 0x10000), "size": "0x4000"})
    expect = {"verdict": "violation", "property": "no-dma-after-free"} if buggy else {"verdict": "safe"}
    return {"name": f"bench {iova_bits} bits, {ndev} devices, {npasid} PASIDs", "profile": "generic",
            "config": {"iova_bits": iova_bits, "devices": devs, "domains": doms},
            "steps": steps, "expect": expect}


def scaling(nostale, runs):
    with tempfile.TemporaryDirectory() as tmp:
        def t(sc):
            path = os.path.join(tmp, "s.json")
            with open(path, "w") as f:
                json.dump(sc, f)
            return timed(nostale, path, runs)

        print("## Address width (2 devices, 2 PASIDs; seconds, process start included)\n")
        print("| iova_bits | safe variant | buggy variant |")
        print("|---|---|---|")
        for bits in (39, 48, 57):
            (a, ra), (b, rb) = t(scenario(bits, 2, 2, False)), t(scenario(bits, 2, 2, True))
            assert ra == 0 and rb == 1, (bits, ra, rb)
            print(f"| {bits} | {a:.3f} | {b:.3f} |")
        print()
        print("## Devices x PASIDs (48 bits; seconds for the safe variant, process start included)\n")
        print("| devices \\ PASIDs | " + " | ".join(str(p) for p in (1, 2, 4, 8)) + " |")
        print("|---|---|---|---|---|")
        for nd in (1, 2, 4, 8):
            row = []
            for npas in (1, 2, 4, 8):
                dt, rc = t(scenario(48, nd, npas, False))
                assert rc == 0, (nd, npas, rc)
                row.append(f"{dt:.3f}")
            print(f"| {nd} | " + " | ".join(row) + " |")
        print()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nostale", default=os.path.join(ROOT, "build", "nostale"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--skip-bundled", action="store_true")
    ap.add_argument("--skip-scaling", action="store_true")
    a = ap.parse_args()
    print(f"machine: {os.cpu_count()} cores; nostale: {a.nostale}; median of {a.runs} runs\n")
    if not a.skip_bundled:
        bundled(a.nostale, a.runs)
    if not a.skip_scaling:
        scaling(a.nostale, a.runs)


if __name__ == "__main__":
    main()
