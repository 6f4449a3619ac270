"""Time `audit history` over a repository from a cold cache, then warm; print the figures.

Usage: python bench/history_bench.py REPO [REV] [--cache-dir DIR] [--warm-only] [extra options]

Options this script does not know (--every 10, --clone-samples 0, ...) go to audit history.

Runs the command as a subprocess (whole-process wall time, as a user sees it),
first with an empty cache folder, then again with the cache the first run filled.
The cache (default) and the JSON outputs go under $AUDIT_BENCH_DATA (bench/benchdata.py).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

from benchdata import data_path


def run_once(repo: str, rev: str, cache_dir: str, out_json: str, extra: list[str]) -> dict:
    cmd = [sys.executable, "-m", "audit", "history", repo, "--rev-range", rev,
           "--cache-dir", cache_dir, "--json", out_json, "-q", *extra]
    started = time.perf_counter()
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr}")
    with open(out_json, encoding="utf-8") as fh:
        doc = json.load(fh)
    return {"command": " ".join(cmd[1:]), "wall_seconds": round(wall, 1), "stats": doc["stats"],
            "first": _brief(doc["points"][0]), "last": _brief(doc["points"][-1]),
            "largest_jumps": _jumps(doc["jumps"])}


def _jumps(jumps: dict, n: int = 3) -> dict:
    """The n largest moves of the headline measures, one line each."""
    keys = ("sloc", "functions", "cyclomatic_max", "findings_per_kloc", "duplication_share")
    return {k: [f"{j['commit'][:8]} {j['from']} -> {j['to']}: {j['subject'][:60]}" for j in jumps[k][:n]]
            for k in keys if k in jumps}


def _brief(point: dict) -> dict:
    keys = ("commit", "files", "sloc", "units", "functions", "functions_non_test", "cyclomatic_mean",
            "cyclomatic_p90", "cyclomatic_max", "findings_per_kloc", "duplication_share")
    return {k: point.get(k) for k in keys}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("repo")
    parser.add_argument("rev", nargs="?", default="HEAD")
    parser.add_argument("--cache-dir", default=data_path("cache", "history-bench"))
    parser.add_argument("--warm-only", action="store_true", help="keep the cache; time one warm run")
    # parse_known_args, not a REMAINDER positional: that would swallow --cache-dir given after REV
    args, extra = parser.parse_known_args()
    runs = []
    os.makedirs(data_path("out"), exist_ok=True)
    if not args.warm_only:
        shutil.rmtree(args.cache_dir, ignore_errors=True)
        runs.append(("cold", run_once(args.repo, args.rev, args.cache_dir, data_path("out", "history-cold.json"), extra)))
    runs.append(("warm", run_once(args.repo, args.rev, args.cache_dir, data_path("out", "history-warm.json"), extra)))
    for name, r in runs:
        print(json.dumps({"run": name, **r}, indent=1))
    size = sum(os.path.getsize(os.path.join(args.cache_dir, n)) for n in os.listdir(args.cache_dir))
    print(f"cache folder: {size / 1e6:.1f} MB on disk")


if __name__ == "__main__":
    main()
