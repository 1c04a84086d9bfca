#!/usr/bin/env python3
"""Two nostale binaries side by side on the bundled scenarios: per scenario, the median wall time
of each (process start included), runs interleaved so that both see the same machine noise.
Prints one line per scenario and the ratio of medians; nothing is asserted.

  python3 bench/compare.py OLD_BINARY NEW_BINARY [--runs 5] [--scenarios DIR]
"""
import argparse
import os
import statistics

from bench import ROOT, run_once


def once(binary, path):
    return run_once(binary, path)[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--scenarios", default=os.path.join(ROOT, "scenarios"))
    a = ap.parse_args()
    files = sorted(os.path.join(d, f) for d, _, fs in os.walk(a.scenarios) for f in fs
                   if f.endswith(".json") and f != "scenario.schema.json")
    ratios, olds, news = [], [], []
    print(f"{'scenario':64} {'old s':>8} {'new s':>8} {'new/old':>8}")
    for path in files:
        o, n = [], []
        for _ in range(a.runs):
            o.append(once(a.old, path))
            n.append(once(a.new, path))
        mo, mn = statistics.median(o), statistics.median(n)
        olds.append(mo)
        news.append(mn)
        ratios.append(mn / mo)
        print(f"{os.path.relpath(path, a.scenarios)[:64]:64} {mo:8.3f} {mn:8.3f} {mn / mo:8.2f}")
    print(f"\n{len(files)} scenarios, {a.runs} interleaved runs each")
    print(f"median of per-scenario medians: old {statistics.median(olds):.3f} s, new {statistics.median(news):.3f} s")
    print(f"max: old {max(olds):.3f} s, new {max(news):.3f} s")
    print(f"per-scenario ratio new/old: median {statistics.median(ratios):.3f}, "
          f"min {min(ratios):.2f}, max {max(ratios):.2f}")


if __name__ == "__main__":
    main()
