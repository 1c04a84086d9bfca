#!/usr/bin/env python3
"""nostale and SPIN side by side on the same toy question (issue 10, "a peer in the same run").

  python3 bench/peer.py [--nostale build/nostale] [--sizes 1,2,4,9,16,32,64]
                        [--timeout 300] [--memlim 4096] [--keep DIR]

The question: one ATS device, one domain; N pages mapped in one step, unmapped, then the IOTLB
and the device TLB invalidated with a wait after each, a check, and the frames freed. The
correct variant flushes the IOTLB first; the device-TLB-first variant flushes the device TLB
first, so an ATS request refills it from the IOTLB entry not yet invalidated (ATS-7). The
geometry is the smallest reduced one (2 levels) that holds the N pages.

For each point: nostale check (wall time with process start, peak RSS of the check's process)
and SPIN on `nostale export --promela` (export + spin -a + gcc + ./pan, times summed, peak RSS the
largest of the four, all via os.wait4), for the whole model and the model sliced by witness page
(--slice: the page is chosen first, only entries covering it are filled), and the verdicts, which must agree: a mismatch is
printed loudly and the exit code is 1. SPIN runs under --timeout seconds for the whole pipeline
and pan under -DMEMLIM=--memlim MB; a point it cannot finish is printed as such, and larger
points of that variant are not tried. Prints one Markdown table.

pan is compiled with -O2 -DBFS (breadth-first: the shortest trail) -DSAFETY (assertions and
invalid end states only) -DMEMLIM (the memory bound) -DVECTORSZ (room for the cache bits).
"""
import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import ROOT, run_measured  # noqa: E402


def toy(n, devtlb_first):
    """The toy question at n pages (see the module docstring)."""
    lb = max(1, math.ceil(math.log2(max(n, 2)) / 2))  # 2 levels of lb bits hold >= n pages
    size = hex(n * 0x1000)
    iotlb = {"op": "invalidate", "domain": "A", "cache": ["IOTLB"], "granularity": "ADDR",
             "addr_info": {"flags": ["ARCHID"], "archid": 1, "addr": "0x0", "granule_size": 4096, "nb_granules": n}}
    devtlb = {"op": "invalidate", "domain": "A", "device": "d0", "cache": ["DEV_IOTLB"], "granularity": "ADDR",
              "addr_info": {"flags": [], "addr": "0x0", "granule_size": 4096, "nb_granules": n}}
    flushes = [devtlb, {"op": "sync"}, iotlb, {"op": "sync"}] if devtlb_first else \
              [iotlb, {"op": "sync"}, devtlb, {"op": "sync"}]
    steps = [{"op": "attach", "device": "d0", "pasid": 0, "domain": "A"},
             {"op": "map", "domain": "A", "iova": "0x0", "size": size, "phys": "0x100000", "perm": "rw"},
             {"op": "unmap", "domain": "A", "iova": "0x0", "size": size}] + flushes + \
            [{"op": "check"}, {"op": "free_frame", "phys": "0x100000", "size": size}]
    return {"name": f"peer toy, {n} pages, " + ("device-TLB first (buggy)" if devtlb_first else "IOTLB first"),
            "profile": "generic",
            "config": {"geometry": {"page_shift": 12, "level_bits": lb, "levels": 2},
                       "devices": [{"name": "d0", "ats": True}], "domains": [{"name": "A", "did": 1}]},
            "steps": steps,
            "expect": {"verdict": "violation", "property": "no-stale", "severity": "unsafe"} if devtlb_first else {"verdict": "safe"}}


def measured(args, cwd, deadline):
    """(seconds, exit code, peak MB, stdout+stderr, timed out) of one command, killed at deadline."""
    t0 = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        p = subprocess.Popen(args, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        timed_out = False
        while True:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                p.kill()  # our own child, by its pid
                _, status, ru = os.wait4(p.pid, 0)
                timed_out = True
                break
            time.sleep(0.02)
        out.seek(0)
        text = out.read().decode(errors="replace")
    return time.perf_counter() - t0, os.waitstatus_to_exitcode(status), ru.ru_maxrss / 1024.0, text, timed_out


def spin_verdict(pan_out):
    """violation / safe / unknown (with why) from pan's output."""
    m = re.search(r"assertion violated\s+!\((\w+)\)", pan_out)
    if m:
        return "violation", m.group(1)
    if "reached -DMEMLIM bound" in pan_out or "out of memory" in pan_out:
        return "unknown", "memory limit"
    if "max search depth too small" in pan_out:
        return "unknown", "depth limit"
    if re.search(r"errors: 0\b", pan_out):
        return "safe", ""
    return "unknown", pan_out.strip().splitlines()[-1] if pan_out.strip() else "no output"


def run_spin(nostale, scenario, work, timeout, memlim, flags):
    """Export, spin -a, gcc, pan: (seconds, peak MB, verdict, detail, states)."""
    deadline = time.perf_counter() + timeout
    total, peak = 0.0, 0.0
    stages = [
        [nostale, "export", "--promela"] + flags + ["--out", "model.pml", scenario],
        ["spin", "-a", "model.pml"],
        ["gcc", "-O2", "-DBFS", "-DSAFETY", f"-DMEMLIM={memlim}", "-DVECTORSZ=4096", "-o", "pan", "pan.c"],
        ["./pan", "-m100000000"],
    ]
    text = ""
    for args in stages:
        dt, rc, mb, text, timed_out = measured(args, work, deadline)
        total, peak = total + dt, max(peak, mb)
        if timed_out:
            return total, peak, "unknown", f"timeout in {os.path.basename(args[0])}", ""
        if rc != 0:
            return total, peak, "unknown", f"{os.path.basename(args[0])} exit {rc}: {text.strip()[-200:]}", ""
    verdict, detail = spin_verdict(text)
    m = re.search(r"(\d+) states, stored", text)
    return total, peak, verdict, detail, m.group(1) if m else ""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nostale", default=os.path.join(ROOT, "build", "nostale"))
    ap.add_argument("--sizes", default="1,2,4,9,16,32,64")
    ap.add_argument("--timeout", type=float, default=300, help="seconds for the whole spin pipeline of one point")
    ap.add_argument("--memlim", type=int, default=4096, help="pan's -DMEMLIM in MB")
    ap.add_argument("--keep", help="keep each point's scenario and model in this folder")
    a = ap.parse_args()
    nostale = os.path.abspath(a.nostale)
    for tool in ("spin", "gcc"):
        if not shutil.which(tool):
            sys.exit(f"peer.py: {tool} is missing (tools/setup installs Debian's spin)")
    print(f"machine: {os.cpu_count()} cores; spin timeout {a.timeout:g} s per point, pan -DMEMLIM={a.memlim}\n")
    modes = [("whole", []), ("sliced", ["--slice"])]
    print("| pages | variant | nostale s / MB | nostale verdict | " +
          " | ".join(f"spin {m} s / MB | states | verdict" for m, _ in modes) + " |")
    print("|---|---|---|---|" + "---|---|---|" * len(modes))
    mismatches = 0
    stopped = {}
    for n in [int(x) for x in a.sizes.split(",")]:
        for buggy in (False, True):
            variant = "device-TLB first" if buggy else "IOTLB first"
            work = tempfile.mkdtemp(prefix="peer-")
            path = os.path.join(work, "toy.json")
            with open(path, "w") as f:
                json.dump(toy(n, buggy), f, indent=1)
            ns, rc, nmb, _ = run_measured(nostale, path)
            nv = {0: "safe", 1: "violation"}.get(rc, "unknown")
            cells = []
            for mode, flags in modes:
                if (variant, mode) in stopped:
                    cells.append(f"not run | | (stopped at {stopped[(variant, mode)]} pages)")
                    continue
                ss, smb, sv, detail, states = run_spin(nostale, path, work, a.timeout, a.memlim, flags)
                shown = sv + (f" ({detail})" if detail else "")
                cells.append(f"{ss:.2f} / {smb:.0f} | {states} | {shown}")
                if sv == "unknown":
                    stopped[(variant, mode)] = n
                elif sv != nv:
                    mismatches += 1
                    print(f"\n!!! MISMATCH at {n} pages, {variant}, {mode}: nostale {nv}, spin {sv} ({work})\n",
                          flush=True)
                if a.keep:
                    dst = os.path.join(a.keep, f"{n}-{'devtlb-first' if buggy else 'iotlb-first'}")
                    os.makedirs(dst, exist_ok=True)
                    shutil.copy(path, dst)
                    if os.path.exists(os.path.join(work, "model.pml")):
                        shutil.copy(os.path.join(work, "model.pml"), os.path.join(dst, f"model-{mode}.pml"))
            print(f"| {n} | {variant} | {ns:.3f} / {nmb:.0f} | {nv} | " + " | ".join(cells) + " |", flush=True)
            shutil.rmtree(work, ignore_errors=True)
    for (variant, mode), n in stopped.items():
        print(f"\nspin ({mode} model) stops finishing ({variant}) at {n} pages (timeout {a.timeout:g} s, -DMEMLIM={a.memlim})")
    if mismatches:
        print(f"\n!!! {mismatches} VERDICT MISMATCH(ES) between nostale and spin")
        sys.exit(1)


if __name__ == "__main__":
    main()
