"""Time audit's scans against lizard on the same files, in the same run.

    python bench/scan_bench.py $AUDIT_BENCH_DATA/wangdalian+claudes-c-compiler [--repeat 5]
        [--before DIR] [--no-memory]

The commands run --repeat rounds, alternating. Per command the median wall time,
the median CPU time (user + system of the process and its workers, from the
children's rusage) and the median of the per-round ratios to lizard's wall time
are printed as a Markdown table for bench/RESULTS.md (ratios within a round are
what survives a busy machine), after the time and load average at the start and
end. lizard runs with its defaults (one process) and with `-t 2` (two worker
processes, like audit's pool on a 2-core machine).
``--pool FILE ...`` reads the tables of earlier runs (this script's output, saved)
and prints, per command, the median of every round's ratio to lizard's wall and
the ratio of the total walls, over all of them: on a shared machine one run of a
few rounds can land on either side of a target that another run misses.
``--before DIR`` adds audit's default scan (with its summary, and with `--json -q`) run
from another checkout's source tree (PYTHONPATH=DIR), to compare two versions in the same run. Every command runs
in a scratch directory with PYTHONPATH naming its source tree (this checkout's,
or DIR): run from a checkout, ``python -m`` would put the working directory first
on the path and both versions would be the checkout's. Peak memory is
one more run per command, sampled (see proctime.py), unless --no-memory.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from proctime import measure  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # this checkout


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
    ap.add_argument("tree", nargs="?", help="the tree to scan (not with --pool)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--before", metavar="DIR", help="another checkout's source tree to time too")
    ap.add_argument("--no-memory", action="store_true")
    ap.add_argument("--pool", nargs="+", metavar="FILE", help="pool the tables of earlier runs")
    ap.add_argument("--target", type=float, default=0.6,
                    help="with --pool: count the rounds at or under this ratio (default 0.6)")
    args = ap.parse_args()
    if args.pool:
        pool(args.pool, args.target)
        return
    if not args.tree:
        ap.error("name the tree to scan, or --pool earlier runs' tables")
    args.tree = os.path.abspath(args.tree)  # the commands run in a scratch directory
    scratch = tempfile.mkdtemp()
    out = os.path.join(scratch, "scan.json")
    scan = [sys.executable, "-m", "audit", "scan"]
    audit = scan + ["-q"]  # no terminal summary
    here = {**os.environ, "PYTHONPATH": ROOT}
    tools = {
        "audit scan, metrics only": (audit + [*METRICS_ONLY, args.tree], here),
        "audit scan, metrics only, --json": (audit + [*METRICS_ONLY, "--json", out, args.tree], here),
        # what a user runs: the terminal summary, rendered (to a pipe, as lizard's table is)
        "audit scan, defaults, with its summary": (scan + [args.tree], here),
        "audit scan, defaults, -q": (audit + [args.tree], here),
        "audit scan, defaults, --json -q": (audit + ["--json", out, args.tree], here),
        "lizard (1 process)": (["lizard", "-l", "rust", args.tree], None),
        "lizard -t 2": (["lizard", "-l", "rust", "-t", "2", args.tree], None),
    }
    if args.before:
        before = {**os.environ, "PYTHONPATH": os.path.abspath(args.before)}
        tools["audit scan, defaults, with its summary (before)"] = (scan + [args.tree], before)
        tools["audit scan, defaults, --json -q (before)"] = (audit + ["--json", out, args.tree], before)
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in tools}
    print(f"start {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}, "
          f"load average {_load()}")
    for _ in range(args.repeat):
        for name, (cmd, env) in tools.items():
            runs[name].append(timed(cmd, env, scratch))
    print(f"end {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}, load average {_load()}")
    print("| command | median wall (s) | median CPU (s) | wall / lizard | wall / lizard -t 2 "
          "| walls (s) | peak memory (MB) |")
    print("|---|---|---|---|---|---|---|")
    for name, (cmd, env) in tools.items():
        walls = [w for w, _ in runs[name]]
        cpus = [c for _, c in runs[name]]
        ratio1 = _ratio(walls, [w for w, _ in runs["lizard (1 process)"]])
        ratio2 = _ratio(walls, [w for w, _ in runs["lizard -t 2"]])
        peak = "-" if args.no_memory else f"{measure(cmd, scratch, env)[1]:.0f}"
        print(f"| {name} | {statistics.median(walls):.2f} | {statistics.median(cpus):.2f} "
              f"| {ratio1:.2f} | {ratio2:.2f} | {', '.join(f'{w:.2f}' for w in walls)} | {peak} |")


def pool(files: list[str], target: float = 0.6) -> None:
    """Per command, over the rounds of every table in ``files``: the median of the
    per-round ratios to lizard's wall, the ratio of the total walls and how many
    rounds are at or under ``target``."""
    walls: dict[str, list[float]] = {}
    for path in files:
        run: dict[str, list[float]] = {}
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                cells = [c.strip() for c in line.strip().strip("|").split("|")]
                if len(cells) == 7 and cells[5][:1].isdigit():
                    run[cells[0]] = [float(w) for w in cells[5].split(",")]
        lizard = run.get("lizard (1 process)")
        if not lizard:
            raise SystemExit(f"{path}: no lizard row in its table")
        for name, ws in run.items():
            if len(ws) != len(lizard):
                raise SystemExit(f"{path}: {name} has {len(ws)} rounds, lizard {len(lizard)}")
            walls.setdefault(name, []).extend(ws)
    lizard = walls.pop("lizard (1 process)")
    print(f"{len(files)} run(s), {len(lizard)} rounds")
    print(f"| command | rounds | median of per-round ratios | total wall / lizard's | rounds at or under {target:g} |")
    print("|---|---|---|---|---|")
    for name, ws in walls.items():
        if len(ws) != len(lizard):  # a command not in every run
            continue
        under = sum(w / z <= target for w, z in zip(ws, lizard))
        print(f"| {name} | {len(ws)} | {_ratio(ws, lizard):.3f} | {sum(ws) / sum(lizard):.3f} | {under} |")


def _load() -> str:
    """The 1, 5 and 15 minute load averages (other work on the machine shows here)."""
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def _ratio(walls: list[float], lizard: list[float]) -> float:
    """Median of the per-round ratios (a round's runs share the machine's load)."""
    return statistics.median(w / z for w, z in zip(walls, lizard))


def timed(cmd: list[str], env: dict | None = None, cwd: str | None = None) -> tuple[float, float]:
    """Wall and CPU seconds (user + system of the command and its children)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, env=env,
                   cwd=cwd)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


if __name__ == "__main__":
    main()
