"""Estimate a scan's wall time on an idle machine from CPU times, which a busy machine keeps.

    python bench/scan_critical_path.py $AUDIT_BENCH_DATA/wangdalian+claudes-c-compiler
        [--repeat 3] [--before DIR]

On a shared machine a scan's wall time follows its share of the cores, not its
work. This runs audit's default scan (`--json`) and its metrics-only scan with
the worker pool instrumented and adds up, from CPU times: the parent's work
before the first file's result (start, imports, discovery), then the larger of
the slowest worker and half of all workers' plus the parent's work meanwhile
(two cores), then the parent's work after the last result (clone groups,
fix-first list, JSON). lizard, one process, is timed too: its CPU time is its
wall time on an idle core. Medians over --repeat rounds, as a Markdown table.
``--before DIR`` adds the default scan from another source tree. The estimate
leaves out waiting (process start-up overlap, pipe transfers) and so reads low
by that much; it is no substitute for wall time on an idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # this checkout


def child(argv: list[str]) -> None:
    """Run audit's command line in this process with the pool instrumented; print the figures."""
    import audit.workers as workers
    from audit.cli import main

    marks: dict = {}
    run, terminate = workers.Pool.run, workers.Pool.terminate

    def timed_run(self, candidates):
        for n, out in enumerate(run(self, candidates)):
            if n == 0:
                marks["first"] = time.process_time()
            yield out
        marks["last"] = time.process_time()

    def timed_terminate(self):
        marks["workers"] = [workers._cpu_time(w.process.pid) for w in self.workers]  # noqa: SLF001
        terminate(self)

    workers.Pool.run, workers.Pool.terminate = timed_run, timed_terminate
    try:
        main(argv)
    except SystemExit:
        pass
    end = time.process_time()
    pre, during, post = marks["first"], marks["last"] - marks["first"], end - marks["last"]
    busy = marks["workers"]
    estimate = pre + max(max(busy), (sum(busy) + during) / 2) + post
    print(json.dumps({"pre": pre, "during": during, "post": post, "workers": busy,
                      "cpu": pre + during + post + sum(busy), "estimate": estimate}))


def main() -> None:
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)  # run from bytecode, as an install does
    ap = argparse.ArgumentParser()
    ap.add_argument("tree")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--before", metavar="DIR", help="another checkout's source tree to time too")
    args = ap.parse_args()
    tree, scratch = os.path.abspath(args.tree), tempfile.mkdtemp()
    out = os.path.join(scratch, "scan.json")
    runs = {"audit scan, defaults, --json": (ROOT, ["scan", "-q", "--json", out, tree]),
            "audit scan, metrics only": (ROOT, ["scan", "-q", "--no-rules", "--no-clones", tree])}
    if args.before:
        runs["audit scan, defaults, --json (before)"] = (os.path.abspath(args.before),
                                                        ["scan", "-q", "--json", out, tree])
    figures: dict[str, list[dict]] = {name: [] for name in [*runs, "lizard"]}
    for _ in range(args.repeat):
        for name, (source, argv) in runs.items():
            env = {**os.environ, "PYTHONPATH": source}
            done = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", *argv],
                                  cwd=scratch, env=env, capture_output=True, text=True, check=True)
            figures[name].append(json.loads(done.stdout.strip().splitlines()[-1]))
        figures["lizard"].append({"estimate": _cpu(["lizard", "-l", "rust", tree], scratch)})
    _table(figures)


def _cpu(cmd: list[str], cwd: str) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _table(figures: dict[str, list[dict]]) -> None:
    lizard = [f["estimate"] for f in figures["lizard"]]
    print("| command | parent before (s) | workers (s) | parent after (s) | CPU (s) "
          "| estimated idle wall (s) | / lizard |")
    print("|---|---|---|---|---|---|---|")
    for name, rows in figures.items():
        est = statistics.median(f["estimate"] for f in rows)
        ratio = statistics.median(f["estimate"] / z for f, z in zip(rows, lizard))
        if name == "lizard":
            print(f"| lizard (1 process), CPU | - | - | - | {est:.2f} | {est:.2f} | 1.00 |")
            continue
        med = {k: statistics.median(f[k] for f in rows) for k in ("pre", "post", "cpu")}
        busy = statistics.median(max(f["workers"]) for f in rows)
        print(f"| {name} | {med['pre']:.2f} | {busy:.2f} (slowest) | {med['post']:.2f} "
              f"| {med['cpu']:.2f} | {est:.2f} | {ratio:.2f} |")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2:])
    else:
        main()
