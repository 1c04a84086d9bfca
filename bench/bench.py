#!/usr/bin/env python3
"""nostale benchmarks: prints the figures quoted in the README (nothing is asserted).

  python3 bench/bench.py [--nostale build/nostale] [--old OTHER_BINARY] [--runs 3]
                         [--timeout 120] [--only bundled,width,grid,length,rounds,pages]

Every figure is wall time with process start included (median of --runs) and the peak
resident memory of the check (the largest process, the child that holds the solver). With
--old, every row also gives the other binary's figures, runs interleaved so both see the same
machine noise. A point that hits --timeout prints ">T" (nostale answered unknown).

1. bundled: seconds and MB per bundled scenario, per profile folder (median, max, slowest);
2. width: one SVA flow at 14 to 57 address bits, and the 57/39 ratio;
3. grid: one SVA flow with 1 to 16 devices x 1 to 16 PASIDs;
4. length: a generic flow of rounds (map, unmap, IOTLB + device-TLB invalidation, sync, free of
   the page; one ATS device) from 10 to 400 steps;
5. rounds: the same flow at 200 and 2,000 rounds (1,201 and 12,001 steps);
6. pages: one page mapped per step, 64 to 512 pages, then unmapped, flushed and freed.
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


def run_measured(nostale, path, timeout=0):
    """(seconds, exit code, peak MB, solver seconds) of `nostale check path`."""
    args = [nostale, "check", path, "--format", "json"] + (["--timeout", str(timeout)] if timeout else [])
    t0 = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        p = subprocess.Popen(args, stdout=out, stderr=subprocess.PIPE)
        err = p.stderr.read()
        _, status, ru = os.wait4(p.pid, 0)
        dt = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        report = json.loads(out.read() or b"[]")
    if p.returncode == 2 and b"more than" in err:  # an older binary's step limit
        return dt, 2, ru.ru_maxrss / 1024.0, 0.0
    if p.returncode not in (0, 1, 3):
        sys.exit(f"{path}: exit {p.returncode}: {err.decode()}")
    solver = sum(r["stats"].get("solver_seconds", 0) for r in report)
    return dt, p.returncode, ru.ru_maxrss / 1024.0, solver  # ru_maxrss: KiB, the largest waited-for descendant


def run_once(nostale, path):
    dt, rc, _, _ = run_measured(nostale, path)
    return dt, rc


class Bench:
    def __init__(self, new, old, runs, timeout):
        self.bins = [("new", new)] + ([("old", old)] if old else [])
        self.runs, self.timeout = runs, timeout

    def point(self, path):
        """{name: (median s, exit code, max MB, timed out, solver share)} for each binary, interleaved."""
        res = {n: [] for n, _ in self.bins}
        for _ in range(self.runs):
            for n, b in self.bins:
                res[n].append(run_measured(b, path, self.timeout))
        out = {}
        for n, rs in res.items():
            out[n] = (statistics.median(r[0] for r in rs), rs[-1][1], max(r[2] for r in rs),
                      any(r[1] == 3 for r in rs), statistics.median(r[3] / r[0] for r in rs))
        return out

    def cell(self, v):
        s, rc, mb, to, _ = v
        if rc == 2:
            return "too long for it"
        return (f">{self.timeout:g}" if to else f"{s:.3f}") + f" / {mb:.0f}"

    def cells(self, p):
        return " | ".join(self.cell(p[n]) for n, _ in self.bins)

    def header(self, first):
        names = " | ".join(f"{n}: s / MB" for n, _ in self.bins)
        print(f"| {first} | {names} |")
        print("|---|" + "---|" * len(self.bins))


def row(name, pts):
    """A table row over points (seconds, path, MB, solver share)."""
    ts = [p[0] for p in pts]
    slow = max(pts)
    return (f"| {name} | {len(ts)} | {statistics.median(ts):.3f} | {slow[0]:.3f} | {slow[1]} | "
            f"{max(p[2] for p in pts):.0f} | {statistics.median(p[3] for p in pts):.0%} |")


def bundled(b):
    print("## Bundled scenarios (seconds / peak MB per scenario)")
    sdir = os.path.join(ROOT, "scenarios")
    rows = {n: [] for n, _ in b.bins}
    allpts = {n: [] for n, _ in b.bins}
    for prof in sorted(os.listdir(sdir)):
        pdir = os.path.join(sdir, prof)
        if not os.path.isdir(pdir):
            continue
        pts = {n: [] for n, _ in b.bins}
        for dp, _, fs in os.walk(pdir):
            for f in sorted(fs):
                if f.endswith(".json"):
                    path = os.path.join(dp, f)
                    p = b.point(path)
                    for n, _ in b.bins:
                        pts[n].append((p[n][0], os.path.relpath(path, ROOT), p[n][2], p[n][4]))
        for n, _ in b.bins:
            if pts[n]:
                allpts[n] += pts[n]
                rows[n].append(row(prof, pts[n]))
    for n, _ in b.bins:
        if allpts[n]:
            rows[n].append(row("all", allpts[n]))
    # Printed per binary, after all points were taken interleaved.
    for n, _ in b.bins:
        print(f"\n{n}:\n")
        print("| folder | scenarios | median s | max s | slowest | max MB | solver share (median) |")
        print("|---|---|---|---|---|---|---|")
        print("\n".join(rows[n]))
    print()


def sva(iova_bits, ndev, npasid, buggy=False, geometry=None):
    """An SVA flow: npasid PASIDs, each bound on every one of ndev ATS devices to its own domain;
    unmap one page of each; IOTLB + device-TLB invalidation per (device, PASID); sync; free.
    Pages sit at iova p * 0x1000 (so 12 bits hold one PASID's page). The buggy variant skips the
    device-TLB invalidation of the last device."""
    devs = [{"name": f"d{i}", "ats": True} for i in range(ndev)]
    doms = [{"name": f"mm{p}", "did": p + 1} for p in range(npasid)]
    steps = []
    for p in range(npasid):
        for d in range(ndev):
            steps.append({"op": "bind", "device": f"d{d}", "pasid": p + 1, "domain": f"mm{p}"})
        steps.append({"op": "map", "domain": f"mm{p}", "iova": hex(p * 0x1000), "size": "0x1000",
                      "phys": hex(0x100000 + p * 0x10000), "perm": "rw"})
    for p in range(npasid):
        steps.append({"op": "unmap", "domain": f"mm{p}", "iova": hex(p * 0x1000), "size": "0x1000"})
        steps.append({"op": "invalidate", "domain": f"mm{p}", "cache": ["IOTLB"], "granularity": "ADDR",
                      "addr_info": {"flags": ["PASID", "ARCHID"], "pasid": p + 1, "archid": p + 1,
                                    "addr": hex(p * 0x1000), "granule_size": 4096, "nb_granules": 1}})
    steps.append({"op": "sync"})
    for p in range(npasid):
        for d in range(ndev):
            if buggy and d == ndev - 1 and p == npasid - 1:
                continue
            steps.append({"op": "invalidate", "domain": f"mm{p}", "device": f"d{d}", "cache": ["DEV_IOTLB"],
                          "granularity": "ADDR",
                          "addr_info": {"flags": ["PASID"], "pasid": p + 1, "addr": hex(p * 0x1000),
                                        "granule_size": 4096, "nb_granules": 1}})
    steps.append({"op": "sync"})
    for p in range(npasid):
        steps.append({"op": "free_frame", "phys": hex(0x100000 + p * 0x10000), "size": "0x1000"})
    cfg = {"geometry": geometry} if geometry else {"iova_bits": iova_bits}
    return {"name": f"bench SVA {iova_bits} bits, {ndev} devices, {npasid} PASIDs", "profile": "generic",
            "config": dict(cfg, devices=devs, domains=doms), "steps": steps,
            "expect": {"verdict": "violation", "property": "no-dma-after-free"} if buggy else {"verdict": "safe"}}


def rounds(nsteps):
    """A generic flow of about `nsteps` steps: attach, then rounds of map, unmap, IOTLB and
    device-TLB invalidation, sync, free of the page (one ATS device)."""
    steps = [{"op": "attach", "device": "d0", "pasid": 0, "domain": "A"}]
    r = 0
    while len(steps) + 6 <= max(nsteps, 7):
        iova, phys = hex(0x200000 + r * 0x1000), hex(0x80000 + r * 0x1000)
        steps += [
            {"op": "map", "domain": "A", "iova": iova, "size": "0x1000", "phys": phys, "perm": "rw"},
            {"op": "unmap", "domain": "A", "iova": iova, "size": "0x1000"},
            {"op": "invalidate", "domain": "A", "cache": ["IOTLB"], "granularity": "ADDR",
             "addr_info": {"flags": ["ARCHID"], "archid": 1, "addr": iova, "granule_size": 4096, "nb_granules": 1}},
            {"op": "invalidate", "domain": "A", "device": "d0", "cache": ["DEV_IOTLB"], "granularity": "ADDR",
             "addr_info": {"flags": [], "addr": iova, "granule_size": 4096, "nb_granules": 1}},
            {"op": "sync"},
            {"op": "free_frame", "phys": phys, "size": "0x1000"},
        ]
        r += 1
    return {"name": f"bench {len(steps)} steps", "profile": "generic",
            "config": {"iova_bits": 48, "completion": "in-order", "devices": [{"name": "d0", "ats": True}],
                       "domains": [{"name": "A", "did": 1}]}, "steps": steps, "expect": {"verdict": "safe"}}


def pages(n):
    """n pages mapped one per step, then unmapped in one step, flushed, waited for and freed."""
    steps = [{"op": "attach", "device": "d0", "pasid": 0, "domain": "A"}]
    for i in range(n):
        steps.append({"op": "map", "domain": "A", "iova": hex(0x40000000 + i * 0x1000), "size": "0x1000",
                      "phys": hex(0x100000 + i * 0x1000), "perm": "rw"})
    size = hex(n * 0x1000)
    steps += [{"op": "unmap", "domain": "A", "iova": "0x40000000", "size": size},
              {"op": "invalidate", "domain": "A", "cache": ["IOTLB"], "granularity": "DOMAIN"},
              {"op": "sync"},
              {"op": "free_frame", "phys": "0x100000", "size": size}]
    return {"name": f"bench {n} pages one per step", "profile": "generic",
            "config": {"iova_bits": 48, "devices": [{"name": "d0"}], "domains": [{"name": "A", "did": 1}]},
            "steps": steps, "expect": {"verdict": "safe"}}


def curves(b, only):
    with tempfile.TemporaryDirectory() as tmp:
        def pt(sc):
            path = os.path.join(tmp, "s.json")
            with open(path, "w") as f:
                json.dump(sc, f)
            return b.point(path)

        if "width" in only:
            print("## Address width (SVA flow, 2 devices x 1 PASID; below 39 bits a reduced geometry:\n"
                  "## 12-bit pages, level_bits x levels)\n")
            b.header("iova_bits (levels)")
            got = {}
            for bits, lb, lv in ((14, 1, 2), (18, 3, 2), (21, 3, 3), (30, 9, 2), (39, 9, 3), (48, 9, 4), (57, 9, 5)):
                geo = None if lb == 9 and lv >= 3 else {"page_shift": 12, "level_bits": lb, "levels": lv}
                got[bits] = pt(sva(bits, 2, 1, geometry=geo))
                print(f"| {bits} ({lv}) | {b.cells(got[bits])} |", flush=True)
            print("\n" + "; ".join(f"{n}: time(57)/time(39) = {got[57][n][0] / got[39][n][0]:.2f}"
                                   for n, _ in b.bins) + "\n")
        if "grid" in only:
            print("## Devices x PASIDs (SVA flow, 48 bits, safe variant)\n")
            b.header("devices x PASIDs")
            for nd in (1, 2, 4, 8, 16):
                for npas in (1, 2, 4, 8, 16):
                    print(f"| {nd} x {npas} | {b.cells(pt(sva(48, nd, npas)))} |", flush=True)
            print()
        if "length" in only:
            print("## Scenario length (generic rounds of 6 steps, one ATS device)\n")
            b.header("steps")
            for n in (10, 25, 50, 100, 200, 400):
                sc = rounds(n)
                print(f"| {len(sc['steps'])} | {b.cells(pt(sc))} |", flush=True)
            print()
        if "rounds" in only:
            print("## Rounds with a free each (the goals: 200 rounds < 10 s, 2,000 < 2 min)\n")
            b.header("rounds (steps)")
            for r in (200, 2000):
                sc = rounds(6 * r + 1)
                print(f"| {r} ({len(sc['steps'])}) | {b.cells(pt(sc))} |", flush=True)
            print()
        if "pages" in only:
            print("## Pages mapped one per step\n")
            b.header("pages")
            for n in (64, 128, 256, 512):
                print(f"| {n} | {b.cells(pt(pages(n)))} |", flush=True)
            print()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nostale", default=os.path.join(ROOT, "build", "nostale"))
    ap.add_argument("--old", help="a second binary, measured in the same run")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=120, help="seconds per point (0: none)")
    ap.add_argument("--only", default="bundled,width,grid,length,rounds,pages")
    a = ap.parse_args()
    only = set(a.only.split(","))
    b = Bench(a.nostale, a.old, a.runs, a.timeout)
    print(f"machine: {os.cpu_count()} cores; " + ", ".join(f"{n}: {p}" for n, p in b.bins) +
          f"; median of {a.runs} runs, timeout {a.timeout:g} s per point\n")
    if "bundled" in only:
        bundled(b)
    curves(b, only)


if __name__ == "__main__":
    main()
