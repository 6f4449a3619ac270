"""Time a full metric scan against lizard on the same files, in the same run.

    python bench/scan_bench.py $AUDIT_BENCH_DATA/wangdalian+claudes-c-compiler [--repeat 3]

Each tool runs --repeat times, alternating, and the median wall time and the
peak memory (process tree) are printed as a Markdown table row for
bench/RESULTS.md. lizard runs with its defaults (one process) and with
`-t 2` (two worker processes, like audit's pool on this machine).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from proctime import measure  # noqa: E402


def metrics_only_flags() -> list[str]:
    """Flags that turn off the stages beyond metrics, for those that exist in this build."""
    from audit.cli import build_parser

    scan = build_parser()._subparsers._group_actions[0].choices["scan"]  # noqa: SLF001
    known = {opt for action in scan._actions for opt in action.option_strings}  # noqa: SLF001
    return [flag for flag in ("--no-rules", "--no-clones") if flag in known]


METRICS_ONLY = metrics_only_flags()


def main() -> None:
    # Both tools run as installed packages do: from compiled bytecode. (This machine's
    # environment sets PYTHONDONTWRITEBYTECODE, which would recompile audit's modules
    # on every run of an editable install.)
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    ap = argparse.ArgumentParser()
    ap.add_argument("tree")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    out = os.path.join(tempfile.mkdtemp(), "scan.json")
    tools = {
        "audit scan, metrics only": [sys.executable, "-m", "audit", "scan", "-q", *METRICS_ONLY, args.tree],
        "audit scan, metrics only, --json": [sys.executable, "-m", "audit", "scan", "-q", *METRICS_ONLY,
                                             "--json", out, args.tree],
        "audit scan, defaults, --json": [sys.executable, "-m", "audit", "scan", "-q", "--json", out,
                                         args.tree],
        "lizard (1 process)": ["lizard", "-l", "rust", args.tree],
        "lizard -t 2": ["lizard", "-l", "rust", "-t", "2", args.tree],
    }
    # Wall times come from plain runs; the memory sampler reads /proc every 20 ms and
    # would take CPU from the tool it watches, so peak memory is one more sampled run.
    walls: dict[str, list[float]] = {name: [] for name in tools}
    for _ in range(args.repeat):
        for name, cmd in tools.items():
            walls[name].append(wall_time(cmd))
    print("| tool | median wall (s) | runs (s) | peak memory (MB) | exit |")
    print("|---|---|---|---|---|")
    for name, cmd in tools.items():
        _, peak, code = measure(cmd)
        ws = walls[name]
        print(f"| {name} | {statistics.median(ws):.2f} | {', '.join(f'{w:.2f}' for w in ws)} "
              f"| {peak:.0f} | {code} |")


def wall_time(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
