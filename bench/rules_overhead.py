"""Wall-time cost of the idiom rules on top of the foundation scan, measured in one run.

Usage: python bench/rules_overhead.py [TREE] [--rounds N]

Alternates `audit -q TREE --no-clones --no-rules` (the foundation scan: walk,
parse, metrics) and `audit -q TREE --no-clones` (the same plus every rule) as
separate processes, N rounds each, and reports the median wall time of both
and their ratio, for wall time and for CPU time (user + system of the process
and its workers, which a busy machine disturbs less). Clone detection is a separate stage with its own cost, so it
is left out of both sides unless --with-clones is given. Alternating keeps a
shared machine's load changes from favouring one side.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time


def wall(argv: list[str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system, the process and its workers) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("tree", nargs="?", default="/work/ext/ccc")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--with-clones", action="store_true", help="keep clone detection on both sides")
    args = ap.parse_args()
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)  # run from compiled bytecode, as installed
    base = [sys.executable, "-m", "audit", "-q", args.tree, *([] if args.with_clones else ["--no-clones"])]
    wall(base)  # warm the page cache and imports
    without, with_rules = [], []
    for _ in range(args.rounds):
        without.append(wall([*base, "--no-rules"]))
        with_rules.append(wall(base))
    print(f"tree: {args.tree}  rounds: {args.rounds}  command: {' '.join(base[1:])}")
    for i, what in enumerate(("wall", "CPU")):
        a = statistics.median(x[i] for x in without)
        b = statistics.median(x[i] for x in with_rules)
        print(f"{what} time, foundation scan (--no-rules): median {a:.2f} s  "
              f"(all: {', '.join(f'{x[i]:.2f}' for x in without)})")
        print(f"{what} time, scan with rules:              median {b:.2f} s  "
              f"(all: {', '.join(f'{x[i]:.2f}' for x in with_rules)})")
        print(f"rules add {b / a - 1:+.1%} to the {what} time")


if __name__ == "__main__":
    main()
