"""Matching against many corpora against matching against one index of their union.

Run on demand (not by pytest):
    python bench/provenance_many.py --target TREE --work DIR \
        --source NAME=PATH --source NAME=PATH ... [--rounds 2] [--jobs N]

Builds one index per ``--source`` and one index named ``union`` over all of them
(under DIR/idx, rebuilt unless ``--reuse``), then scans TREE against all the
separate indexes at once (``--corpus`` repeated) and against the union, the two
commands alternating for ``--rounds`` rounds, with ``--no-rules --no-clones`` so
that the provenance pass is what is timed. Prints per run the wall time, the
CPU time (user + system of the scan and its workers) and the project verdict, and
the ratios of the medians. Nothing is written into the repository.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time


def _audit(*args: str) -> list[str]:
    return [sys.executable, "-m", "audit", *args]


def timed(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the command and its children) of running ``cmd``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1):  # 1: a verdict over --fail-on-verdict is still a result
        sys.exit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def build(sources: dict[str, str], index_dir: str, reuse: bool) -> dict[str, tuple[float, float]]:
    """Build each source's index and the union's; their (wall, CPU) seconds."""
    out = {}
    for name, paths in [*((n, [p]) for n, p in sources.items()), ("union", list(sources.values()))]:
        if reuse and os.path.isfile(os.path.join(index_dir, name, "manifest.json")):
            continue
        out[name] = timed(_audit("corpus", "build", name, *paths, "--index-dir", index_dir, "--no-color"))
        print(f"built {name}: {out[name][0]:.1f} s wall, {out[name][1]:.1f} s CPU", flush=True)
    return out


def scan(target: str, corpora: list[str], index_dir: str, out: str, jobs: int | None) -> dict:
    cmd = _audit("scan", target, "--index-dir", index_dir, "--json", out, "-q", "--no-rules", "--no-clones",
                 *[a for c in corpora for a in ("--corpus", c)])
    if jobs:
        cmd += ["-j", str(jobs)]
    wall, cpu = timed(cmd)
    with open(out, encoding="utf-8") as fh:
        prov = json.load(fh)["provenance"]
    return {"wall": wall, "cpu": cpu, "verdict": prov["verdict"], "score": prov.get("score"),
            "timings": prov.get("timings", {}),
            "flagged": sorted(f["path"] for f in prov["files"] if f.get("verdict") != "clean")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--target", required=True, help="the audited tree")
    ap.add_argument("--source", action="append", required=True, metavar="NAME=PATH",
                    help="one corpus (a folder, archive or repository), repeatable")
    ap.add_argument("--work", required=True, help="folder for the indexes and the scans' JSON")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--jobs", type=int, default=None, help="scan workers (default: the scan's)")
    ap.add_argument("--reuse", action="store_true", help="keep indexes already built in WORK/idx")
    args = ap.parse_args()
    sources = dict(s.split("=", 1) for s in args.source)
    index_dir = os.path.join(args.work, "idx")
    os.makedirs(index_dir, exist_ok=True)
    build(sources, index_dir, args.reuse)
    runs: dict[str, list[dict]] = {"many": [], "union": []}
    for r in range(args.rounds):
        for kind, corpora in (("many", list(sources)), ("union", ["union"])):
            res = scan(args.target, corpora, index_dir, os.path.join(args.work, f"{kind}{r}.json"), args.jobs)
            runs[kind].append(res)
            print(f"round {r + 1} {kind:5}: {res['wall']:.1f} s wall, {res['cpu']:.1f} s CPU, "
                  f"{res['verdict']} {res['score']}, {len(res['flagged'])} files flagged, "
                  f"timings {res['timings']}", flush=True)
    med = {k: (statistics.median(x["wall"] for x in v), statistics.median(x["cpu"] for x in v))
           for k, v in runs.items()}
    print(f"\n{len(sources)} corpora / union: wall {med['many'][0] / med['union'][0]:.2f}x "
          f"({med['many'][0]:.1f} s / {med['union'][0]:.1f} s), "
          f"CPU {med['many'][1] / med['union'][1]:.2f}x ({med['many'][1]:.1f} s / {med['union'][1]:.1f} s)")
    same = runs["many"][-1]["flagged"] == runs["union"][-1]["flagged"]
    print(f"files flagged: {'the same' if same else 'differ'} "
          f"({len(runs['many'][-1]['flagged'])} against {len(runs['union'][-1]['flagged'])})")


if __name__ == "__main__":
    main()
