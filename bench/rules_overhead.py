"""Wall-time cost of the idiom rules on top of the foundation scan, measured in one run.

Usage: python bench/rules_overhead.py [TREE] [--rounds N] [--with-clones] [--instructions]

Alternates `audit -q TREE --no-clones --no-rules` (the foundation scan: walk,
parse, metrics) and `audit -q TREE --no-clones` (the same plus every rule) as
separate processes, N rounds each, and reports the median wall time of both
and their ratio, for wall time and for CPU time (user + system of the process
and its workers, which a busy machine disturbs less). Clone detection is a separate stage with its own cost, so it
is left out of both sides unless --with-clones is given. Alternating keeps a
shared machine's load changes from favouring one side.

With --instructions, each command instead runs once under valgrind's callgrind
tool, in one process (-j 1) with a fixed hash seed, and the instruction counts
are compared: they do not drift with the machine's load, so they show what a
change does to the rules' cost when timings swing by 10-20%. Wall time grows
faster than instructions here (tree-sitter's query cursor retires fewer
instructions per cycle than the interpreter), so the two ratios differ.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time

from benchdata import CCC, data_path


def wall(argv: list[str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system, the process and its workers) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def instructions(argv: list[str]) -> int:
    """Instructions executed by one run under callgrind (in one process, fixed hash seed)."""
    return callgrind(argv)[0]


def callgrind(argv: list[str], options: tuple[str, ...] = ()) -> tuple[int, str]:
    """(instructions callgrind collected, standard output) of one run, with a fixed hash
    seed; ``options`` go to callgrind (e.g. to collect inside one function only)."""
    out = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *options, *argv],
                         check=True, capture_output=True, text=True,
                         env={**os.environ, "PYTHONHASHSEED": "0"})
    return int(re.search(r"Collected\s*:\s*(\d+)", out.stderr).group(1)), out.stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("tree", nargs="?", default=data_path(CCC), help="default: $AUDIT_BENCH_DATA/" + CCC)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--with-clones", action="store_true", help="keep clone detection on both sides")
    ap.add_argument("--instructions", action="store_true",
                    help="count instructions under valgrind (one run each, -j 1) instead of timing")
    args = ap.parse_args()
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)  # run from compiled bytecode, as installed
    base = [sys.executable, "-m", "audit", "-q", args.tree, *([] if args.with_clones else ["--no-clones"])]
    if args.instructions:
        if shutil.which("valgrind") is None:
            sys.exit("--instructions needs valgrind (apt-get install valgrind)")
        wall(base)  # warm the page cache and the rule-set cache
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(2) as ex:  # the two runs side by side: counts do not interfere
            a, b = ex.map(instructions, ([*base, "-j", "1", "--no-rules"], [*base, "-j", "1"]))
        print(f"tree: {args.tree}  command: {' '.join(base[1:])} -j 1, under callgrind")
        print(f"instructions, foundation scan (--no-rules): {a / 1e9:.3f} G")
        print(f"instructions, scan with rules:              {b / 1e9:.3f} G")
        print(f"rules add {(b - a) / 1e9:.3f} G, {b / a - 1:+.1%} to the instructions")
        return
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
