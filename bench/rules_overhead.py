"""Wall-time cost of the idiom rules on top of the foundation scan, measured in one run.

Usage: python bench/rules_overhead.py [TREE] [--rounds N]

Alternates `audit -q TREE --no-rules` and `audit -q TREE` (all rules) as
separate processes, N rounds each, and reports the median wall time of both
and their ratio. Alternating keeps a shared machine's load changes from
favouring one side.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def wall(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("tree", nargs="?", default="/work/ext/ccc")
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    base = [sys.executable, "-m", "audit", "-q", args.tree]
    wall(base)  # warm the page cache and imports
    without, with_rules = [], []
    for _ in range(args.rounds):
        without.append(wall([*base, "--no-rules"]))
        with_rules.append(wall(base))
    a, b = statistics.median(without), statistics.median(with_rules)
    print(f"tree: {args.tree}  rounds: {args.rounds}")
    print(f"foundation scan (--no-rules): median {a:.2f} s  (all: {', '.join(f'{x:.2f}' for x in without)})")
    print(f"scan with rules:              median {b:.2f} s  (all: {', '.join(f'{x:.2f}' for x in with_rules)})")
    print(f"rules add {b / a - 1:+.1%} to the wall time")


if __name__ == "__main__":
    main()
