#!/usr/bin/env python3
"""A second solver checks nostale's queries: every SMT-LIB2 query `nostale check --smt2 DIR`
writes for the given scenarios is answered by the z3 binary and by cvc5 (both reading the same
file), and cvc5 must give z3's answer on every query where both give sat/unsat. z3's answers
must also be answers nostale's own Z3 gave to the same query (NOSTALE_DEBUG=1 prints them), and
a reported violation must come with a sat query, so the files are the queries nostale decided. cvc5 'unknown'/timeouts are counted and tolerated up to --max-unknown.

usage: cvc5_agrees.py --nostale BIN [--timeout S] [--max-unknown N] SCENARIO...
Exit 0: agreement; 1: a disagreement or too many unknowns; 77: cvc5 or z3 not installed (skip).
"""
import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

SKIP = 77  # ctest SKIP_RETURN_CODE

# What a query is (check point, property, severity), from its file's first line and from the
# NOSTALE_DEBUG line nostale prints after deciding it. A scenario may be checked in more than one
# pass (e.g. an any-order pass after an in-order one), so one key can have several answers.
QUERY_LINE = re.compile(r"check point at step (\d+), (\S+) ?([^\s,]*)\s*,?(?: (?:any|in)-order completion)?\s*\(sat = violation\)")
DEBUG_LINE = re.compile(r"^\[nostale\] step (\d+) (\S+) ?(\S*): (sat|unsat|unknown)", re.M)


def answer(cmd, timeout):
    """First line of a solver's output: sat, unsat, unknown, or 'timeout'/'error: ...'."""
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timeout"
    out = p.stdout.strip().splitlines()
    first = out[0].strip() if out else ""
    if first in ("sat", "unsat", "unknown"):
        return first
    return "error: " + (first or p.stderr.strip()[:200] or "exit %d" % p.returncode)


# Z3 prints an empty disjunction/conjunction (mk_or/mk_and of no terms) as the bare symbol
# `or`/`and`, which Z3 reads back as false/true but SMT-LIB does not define (cvc5: "Symbol or is
# not declared"). A bare operator is one not in head position, i.e. not right after "(".
NULLARY = [(re.compile(r"(?<=\s)or(?=[\s)])"), "false"), (re.compile(r"(?<=\s)and(?=[\s)])"), "true")]


def prepare(path, counts):
    """The query text both solvers read: nostale's file with the logic set, (check-sat) added if
    missing and nullary or/and written as false/true."""
    with open(path) as f:
        text = f.read()
    first = text.splitlines()[0] if text else ""
    if not first.startswith(";") or "(sat = violation)" not in first:
        raise SystemExit("%s: first line does not state the query and '(sat = violation)': %r" % (path, first))
    body = text[len(first):]
    for pat, lit in NULLARY:
        body, n = pat.subn(lit, body)
        counts["nullary"] += n
    # nostale's solver is z3::solver(ctx, "QF_BV"); to_smt2() does not print the logic. Both
    # solvers get it (cvc5 takes about half the time with it).
    if "(set-logic" not in body:
        body = "\n(set-logic QF_BV)" + body
        counts["logic"] += 1
    if "(check-sat)" not in body:
        body += "\n(check-sat)\n"
        counts["no_check_sat"] += 1
    with open(path, "w") as f:
        f.write(first + body)
    return first.lstrip("; ").strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nostale", required=True)
    ap.add_argument("--timeout", type=float, default=20.0, help="seconds per query and solver")
    ap.add_argument("--max-unknown", type=int, default=2, help="cvc5 unknowns/timeouts tolerated")
    ap.add_argument("--verbose", action="store_true", help="one line per query")
    ap.add_argument("--cvc5-option", action="append", default=[], help="extra cvc5 option")
    ap.add_argument("scenarios", nargs="+")
    a = ap.parse_args()
    z3, cvc5 = shutil.which("z3"), shutil.which("cvc5")
    if not z3 or not cvc5:
        print("SKIP: %s not installed (Debian packages z3 and cvc5; tools/setup installs them)"
              % " and ".join(n for n, p in (("z3", z3), ("cvc5", cvc5)) if not p))
        return SKIP
    ms = int(a.timeout * 1000)
    z3_cmd = [z3, "-smt2", "-T:%d" % int(a.timeout + 1)]
    cvc5_cmd = [cvc5, "--lang", "smt2", "--tlimit=%d" % ms] + a.cvc5_option
    counts = {"queries": 0, "sat": 0, "unsat": 0, "agree": 0, "cvc5_unknown": 0, "z3_unknown": 0,
              "nullary": 0, "no_check_sat": 0, "logic": 0,
              "matched": 0, "unmatched": 0}
    failures, t_z3, t_cvc5 = [], 0.0, 0.0
    for sc in a.scenarios:
        with tempfile.TemporaryDirectory(prefix="nostale-smt2-") as d:
            p = subprocess.run([a.nostale, "check", "--format", "json", "--smt2", d, sc],
                               capture_output=True, text=True, env=dict(os.environ, NOSTALE_DEBUG="1"))
            if p.returncode not in (0, 1):
                failures.append("%s: nostale check exited %d: %s" % (sc, p.returncode, p.stderr.strip()[:300]))
                continue
            report = json.loads(p.stdout)
            verdict = (report[0] if isinstance(report, list) else report)["verdict"]
            files = sorted(glob.glob(os.path.join(d, "*.smt2")))
            if not files:
                failures.append("%s: no .smt2 query written" % sc)
                continue
            nostale_says = {}
            for m in DEBUG_LINE.finditer(p.stderr):
                nostale_says.setdefault(m.group(1, 2, 3), set()).add(m.group(4))
            any_sat = False
            for f in files:
                what = prepare(f, counts)
                t = time.monotonic()
                rz = answer(z3_cmd + [f], a.timeout + 5)
                dz = time.monotonic() - t
                t = time.monotonic()
                rc = answer(cvc5_cmd + [f], a.timeout + 5)
                dc = time.monotonic() - t
                t_z3, t_cvc5 = t_z3 + dz, t_cvc5 + dc
                counts["queries"] += 1
                any_sat |= rz == "sat"
                line = "z3 %s %.1fs, cvc5 %s %.1fs: %s [%s]" % (rz, dz, rc, dc, what, os.path.basename(sc))
                if a.verbose:
                    print(line)
                if rz not in ("sat", "unsat"):
                    counts["z3_unknown"] += 1
                    failures.append("z3 gave no answer: " + line)
                elif rc in ("sat", "unsat"):
                    counts[rz] += 1
                    if rc == rz:
                        counts["agree"] += 1
                    else:
                        failures.append("DISAGREE z3/cvc5: " + line)
                else:
                    counts["cvc5_unknown"] += 1
                    print("cvc5 unknown: " + line)
                # The z3 binary must give one of the answers nostale's own Z3 gave to that query.
                m = QUERY_LINE.search(what)
                key = m.group(1, 2, 3) if m else None
                if key in nostale_says:
                    counts["matched"] += 1
                    if rz not in nostale_says[key]:
                        failures.append("z3 binary and nostale differ (nostale: %s): %s" %
                                        ("/".join(sorted(nostale_says[key])), line))
                else:
                    counts["unmatched"] += 1
                    print("no NOSTALE_DEBUG answer for: " + line)
            # The violation nostale reports is the answer to one of the queries.
            if verdict == "violation" and not any_sat:
                failures.append("%s: nostale reports a violation but z3 found no sat query" % sc)
            print("%-9s %2d queries  %s" % (verdict, len(files), sc))
    print("queries %(queries)d: sat %(sat)d, unsat %(unsat)d, cvc5 agrees on %(agree)d, "
          "cvc5 unknown/timeout %(cvc5_unknown)d, z3 unknown %(z3_unknown)d; "
          "rewritten: %(nullary)d nullary or/and, %(no_check_sat)d missing (check-sat), "
          "%(logic)d without (set-logic)" % counts)
    print("z3 binary vs nostale's own answers: %(matched)d queries matched, %(unmatched)d unmatched" % counts)
    print("time: z3 %.1f s, cvc5 %.1f s" % (t_z3, t_cvc5))
    if counts["unmatched"] > counts["queries"] // 2:
        failures.append("most queries could not be matched to nostale's NOSTALE_DEBUG answers "
                        "(query or debug line format changed?)")
    if counts["cvc5_unknown"] > a.max_unknown:
        failures.append("cvc5 gave no answer on %d queries (at most %d tolerated)" %
                        (counts["cvc5_unknown"], a.max_unknown))
    for f in failures:
        print("FAIL: " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
