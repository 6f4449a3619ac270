"""Time a full metric scan against lizard on the same files, in the same run.

    python bench/scan_bench.py /work/ext/ccc [--repeat 3]

Each tool runs --repeat times, alternating, and the median wall time and the
peak memory (process tree) are printed as a Markdown table row for
bench/RESULTS.md. lizard runs with its defaults (one process) and with
`-t 2` (two worker processes, like audit's pool on this machine).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from proctime import measure  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("tree")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    out = os.path.join(tempfile.mkdtemp(), "scan.json")
    tools = {
        "audit scan (metrics only)": [sys.executable, "-m", "audit", "scan", "-q", "--no-rules",
                                      "--no-clones", "--json", out, args.tree],
        "audit scan (defaults)": [sys.executable, "-m", "audit", "scan", "-q", "--json", out, args.tree],
        "lizard (1 process)": ["lizard", "-l", "rust", args.tree],
        "lizard -t 2": ["lizard", "-l", "rust", "-t", "2", args.tree],
    }
    runs: dict[str, list[tuple[float, float, int]]] = {name: [] for name in tools}
    for _ in range(args.repeat):
        for name, cmd in tools.items():
            runs[name].append(measure(cmd))
    print(f"| tool | median wall (s) | runs (s) | peak memory (MB) | exit |")
    print("|---|---|---|---|---|")
    for name, rs in runs.items():
        walls = [r[0] for r in rs]
        print(f"| {name} | {statistics.median(walls):.2f} | {', '.join(f'{w:.2f}' for w in walls)} "
              f"| {max(r[1] for r in rs):.0f} | {rs[-1][2]} |")


if __name__ == "__main__":
    main()
