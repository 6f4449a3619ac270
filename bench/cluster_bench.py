"""Cluster benchmark: corpus builds and matching on a real Dask scheduler and workers.

Run on demand (not by pytest); inputs come from the arguments:

    python bench/cluster_bench.py build NAME SOURCE... --index-dir DIR --workers 2
        starts `dask scheduler --host 127.0.0.1 --port P --no-dashboard` and
        `dask worker tcp://127.0.0.1:P --nworkers 2 --nthreads 1`, builds with
        --cluster on them, stops them; --workers 0 builds with the local process
        pool instead (-j N). --kill-after K kills one worker process (SIGKILL)
        once K shards are done; its nanny starts a fresh one.
    python bench/cluster_bench.py match TARGET --corpus NAME... --index-dir DIR --workers 2
        scans TARGET and matches it with --cluster (or locally with --workers 0).

Prints one JSON record: wall, CPU of this process and every child (the dask
processes are children, so their CPU counts once they exit), the peak of the
summed resident set sizes of the whole process tree (sampled every 0.2 s), files
and lines per second, the time until the last shard and the merge after it,
per-shard worker figures (CPU, lines/s, peak RSS) and the index digest.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from provenance_scale import TreePeak  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def dask_processes(n_workers: int):
    """A real scheduler and `dask worker --nworkers N --nthreads 1`, children of this process."""
    if n_workers <= 0:
        yield None, None
        return
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    log = open(os.devnull, "w")
    sched = subprocess.Popen(["dask", "scheduler", "--host", "127.0.0.1", "--port", str(port),
                              "--no-dashboard"], stdout=log, stderr=log)
    work = subprocess.Popen(["dask", "worker", address, "--nworkers", str(n_workers), "--nthreads", "1",
                             "--no-dashboard", "--memory-limit", "0"], stdout=log, stderr=log)
    try:
        from distributed import Client

        with Client(address, timeout="60s") as c:
            c.wait_for_workers(n_workers, timeout=120)
        yield address, work
    finally:
        for p in (work, sched):
            p.send_signal(signal.SIGINT)
        for p in (work, sched):
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def _kill_busy_worker(address: str) -> dict:
    """SIGKILL a worker process that holds shard tasks in progress; what it held."""
    from distributed import Client

    with Client(address, timeout="30s") as c:
        busy = {w: len(k) for w, k in c.processing().items() if k}
        pids = c.run(os.getpid)
    victim = sorted(busy, key=lambda w: -busy[w])[0] if busy else sorted(pids)[0]
    os.kill(pids[victim], signal.SIGKILL)
    return {"pid": pids[victim], "worker": victim, "tasks_in_progress": busy.get(victim, 0)}


def _cpu() -> float:
    r = [resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return sum(x.ru_utime + x.ru_stime for x in r)


def _timed_merge(into: dict):
    """Measure the merge (one process, on the client): wall and CPU seconds."""
    from audit.provenance import build as build_mod

    real = build_mod._merge

    def merge(*a, **k):
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            return real(*a, **k)
        finally:
            into.update(merge_wall_s=round(time.perf_counter() - t0, 1),
                        merge_cpu_s=round(time.process_time() - c0, 1))
    build_mod._merge = merge


def build(args) -> dict:
    from audit.provenance import cluster
    from audit.provenance.build import build_index

    merge: dict = {}
    _timed_merge(merge)

    peak, t0, c0 = TreePeak(), time.perf_counter(), _cpu()
    with dask_processes(args.workers) as (address, _):
        ticks, killed = [], []
        started = time.perf_counter()

        def tick(done, fraction, label):
            ticks.append((time.perf_counter() - started, done))
            if address and args.kill_after and len(ticks) == args.kill_after and not killed:
                killed.append(_kill_busy_worker(address))
            if len(ticks) % 10 == 0:
                print(f"  {done:,} files, {fraction:.0%}, {label}", file=sys.stderr, flush=True)

        ix = build_index(args.name, args.sources, args.index_dir, workers=args.jobs, progress=tick,
                         cluster=address, **({"shard_files": args.shard_files} if args.shard_files else {}))
        wall = time.perf_counter() - started
    total = time.perf_counter() - t0
    rec = _build_record(ix, wall, total, _cpu() - c0, peak.stop(), ticks, killed,
                        cluster.LAST_BUILD if address else None)
    client_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {**rec, **merge, "client_peak_rss_mb": round(client_peak)}


def _build_record(ix, wall, total, cpu, peak_mb, ticks, killed, meter) -> dict:
    info = ix.info()
    c = info["counts"]
    rec = {"wall_s": round(wall, 1), "wall_with_dask_start_stop_s": round(total, 1), "cpu_s": round(cpu, 1),
           "files": c["files"], "lines": c["lines"], "entries": c["entries"],
           "files_per_s": round(c["files"] / wall, 1), "lines_per_s": round(c["lines"] / wall),
           "index_bytes": info["bytes"], "peak_tree_rss_mb": peak_mb, "shards": ix.manifest["shards"],
           "digest": ix.manifest["digest"], "killed_worker": killed or None,
           "cpu_split_s": ix.manifest["build"]["cpu_s"]}
    if ticks and meter is not None:
        rec["last_shard_s"] = round(ticks[-1][0], 1)
        rec["merge_and_load_s"] = round(wall - ticks[-1][0], 1)
        rec["per_shard"] = _shard_figures(meter.summaries)
    return rec


def _shard_figures(summaries: list[dict]) -> dict:
    cpu = sum(s["cpu"] for s in summaries)
    lines = sum(s["lines"] for s in summaries)
    return {"tasks": len(summaries), "worker_cpu_s": round(cpu, 1),
            "lines_per_worker_cpu_s": round(lines / max(cpu, 1e-9)),
            "mean_task_wall_s": round(sum(s["wall"] for s in summaries) / max(len(summaries), 1), 2),
            "max_worker_peak_rss_mb": round(max((s["peak_rss"] for s in summaries), default=0) / 2**20),
            "mean_shard_mb_in": round(sum(s["bytes"] for s in summaries) / max(len(summaries), 1) / 2**20, 1),
            "workers": sorted({s["worker"] for s in summaries})}


def match(args) -> dict:
    from audit.provenance import api, cluster

    peak, c0 = TreePeak(), _cpu()
    with dask_processes(args.workers) as (address, _):
        t0 = time.perf_counter()
        indexes = [api.open_index(c, args.index_dir) for c in args.corpus]
        t1 = time.perf_counter()
        result, payloads = api.scan_tree(args.target, args.jobs)
        t2 = time.perf_counter()
        if address:
            report = cluster.match_result(address, result, payloads, indexes)
        else:
            report = api.match_result(result, payloads, indexes)
        t3 = time.perf_counter()
    rec = {"wall_s": round(t3 - t0, 1), "load_s": round(t1 - t0, 2), "scan_s": round(t2 - t1, 1),
           "match_s": round(t3 - t2, 1), "cpu_s": round(_cpu() - c0, 1), "peak_tree_rss_mb": peak.stop(),
           "verdict": report.verdict, "score": report.score,
           "timings": {k: round(v, 2) for k, v in report.timings.items() if isinstance(v, float)},
           "corpora": [{k: c[k] for k in ("name", "score", "files", "files_matched")} for c in report.corpora]}
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(report.to_dict(), fh, indent=1, default=str)
    return rec


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="what", required=True)
    b = sub.add_parser("build")
    b.add_argument("name")
    b.add_argument("sources", nargs="+")
    b.add_argument("--kill-after", type=int, default=0, metavar="K")
    b.add_argument("--shard-files", type=int, default=0, metavar="N", help="files per shard (default: the build's)")
    m = sub.add_parser("match")
    m.add_argument("target")
    m.add_argument("--corpus", action="append", required=True)
    m.add_argument("--json")
    for x in (b, m):
        x.add_argument("--index-dir", required=True)
        x.add_argument("--workers", type=int, default=2, help="dask worker processes (0: local pool)")
        x.add_argument("-j", "--jobs", type=int, default=2, help="local pool size (scan, or --workers 0)")
    args = p.parse_args()
    rec = build(args) if args.what == "build" else match(args)
    print(json.dumps({"command": sys.argv[1:], "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                      **rec}, indent=1))


if __name__ == "__main__":
    main()
