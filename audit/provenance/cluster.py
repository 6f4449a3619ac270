"""Corpus builds and provenance matching on a Dask cluster (``--cluster ADDRESS``).

Everything distributed is Dask's: the scheduler, the workers, moving data,
rerunning a task whose worker died (``allowed-failures``) and retrying one
that raised (``retries``). This module only cuts the work into tasks.

* Build: the client reads the sources (an archive can only be read in order)
  and submits one task per shard of ``shard_files`` files, with the files'
  bytes in the task so any worker can run it again. A worker sketches its
  files and writes the shard into ``NAME.partial/`` itself, so that folder
  must be on storage every worker reaches (a shared filesystem). Shards are
  named after their content, so a rerun task rewrites the same files, and
  the build resumes from every shard already written, whoever wrote it.
* Match: the audited files' sketches go out in batches; each worker opens the
  indexes from their paths once and runs ``api.match_sketches`` on a batch;
  the client puts the file reports back in order and makes the project report.

ADDRESS is a scheduler (``tcp://host:port``) or ``local[:N]`` for a
LocalCluster of N single-threaded worker processes on this machine.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import resource
import sys
import time
from contextlib import contextmanager

from audit.errors import CorpusIndexError, UsageError

TASK_RETRIES = 2
# Files per shard task: small enough that a cluster has several tasks per worker to balance
# (GCC alone is 20 shards of 3,000), large enough that a task's overhead is noise.
CLUSTER_SHARD_FILES = 1000
# ... and at most this many bytes of source, since a worker's memory grows with the lines it
# holds sketched (a thousand Linux driver files are five times a thousand glibc files).
CLUSTER_SHARD_BYTES = 8 << 20
CONNECT_TIMEOUT = "30s"
LAST_BUILD = None  # the last build's Meter in this process: per-shard figures for bench/
_LOCAL = re.compile(r"local(?::(\d+))?")
_REMOTE = re.compile(r"(tcp|tls|ucx|inproc)://\S+")


def check_address(address: str) -> str:
    """A scheduler address or ``local[:N]``; anything else is a usage error."""
    if _LOCAL.fullmatch(address) or _REMOTE.fullmatch(address):
        return address
    raise UsageError(f"--cluster {address!r} is not a Dask scheduler address",
                     "give tcp://HOST:PORT (a running `dask scheduler`) or local[:N] "
                     "for N worker processes on this machine")


@contextmanager
def connect(address: str):
    """A Dask client for ADDRESS; a LocalCluster for ``local[:N]`` lives as long as the client."""
    check_address(address)
    try:
        import dask
        from distributed import Client, LocalCluster
    except ImportError as exc:
        raise UsageError("--cluster needs Dask distributed, which is not installed",
                         "install the extra: pip install 'agent-code-audit[cluster]'") from exc
    # Shard tasks carry their files' bytes on purpose (see the module docstring).
    with dask.config.set({"distributed.admin.large-graph-warning-threshold": "2GB"}):
        m = _LOCAL.fullmatch(address)
        if m:
            n = int(m.group(1) or 0) or max(1, len(os.sched_getaffinity(0)))
            with LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                              dashboard_address=":0") as lc, Client(lc) as client:
                yield client
            return
        try:
            client = Client(address, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError) as exc:
            raise UsageError(f"cannot reach the Dask scheduler at {address}: {exc}",
                             "start one (`dask scheduler`, then `dask worker ADDRESS`) "
                             "or use --cluster local") from exc
        with client:
            yield client


def workers(client) -> int:
    """Worker threads on the cluster: one shard or batch each at a time."""
    return max(1, sum(client.nthreads().values()))


# -- building -----------------------------------------------------------------
def sketch_all(address: str, members, count: int, partial: str, progress, stats,
               shard_files: int) -> list[str]:
    """Sketch every member on the cluster into shards under ``partial``; the finished shards."""
    global LAST_BUILD
    shard_files = min(shard_files, CLUSTER_SHARD_FILES)
    with connect(address) as client:
        LAST_BUILD = _submit_shards(client, members, count, partial, progress, stats, shard_files)
    return finished_shards(partial)


def finished_shards(partial: str) -> list[str]:
    """Shards whose label list exists: written last, it marks a shard complete."""
    names = sorted(f for f in os.listdir(partial) if f.startswith("shard-") and f.endswith(".labels.json"))
    return [os.path.join(partial, f[: -len(".labels.json")] + ".npz") for f in names]


def _submit_shards(client, members, count, partial, progress, stats, shard_files) -> "Meter":
    from distributed import as_completed

    chunks = _chunks(members, shard_files)
    meter = Meter(count, progress, stats, workers(client))
    pending = as_completed()
    for chunk in itertools.islice(chunks, 2 * meter.workers):  # enough to keep every worker busy
        pending.add(_submit(client, partial, chunk, meter))
    for fut in pending:
        summary = _result(fut)
        _check_visible(partial, summary)
        meter.finished(summary)
        chunk = next(chunks, None)
        if chunk is not None:
            pending.add(_submit(client, partial, chunk, meter))
    return meter


def _chunks(members, size: int, max_bytes: int = CLUSTER_SHARD_BYTES):
    """Consecutive members, ``size`` files or ``max_bytes`` of source at most (one file at least)."""
    chunk, held = [], 0
    for m in members:
        if chunk and (len(chunk) >= size or held + len(m.data) > max_bytes):
            yield chunk
            chunk, held = [], 0
        chunk.append(m)
        held += len(m.data)
    if chunk:
        yield chunk


def shard_name(labels: list[str]) -> str:
    """Named after its members, so a task run twice writes the same shard twice."""
    h = hashlib.sha1("\n".join(labels).encode("utf-8", "surrogateescape")).hexdigest()
    return f"shard-c{h[:20]}"


def _submit(client, partial: str, chunk: list, meter):
    name = shard_name([m.label for m in chunk])
    meter.submitted(len(chunk))
    return client.submit(build_shard, partial, name, chunk, key=f"audit-{name}",
                         retries=TASK_RETRIES, pure=False)


def _result(fut) -> dict:
    try:
        return fut.result()
    except Exception as exc:  # Dask gave up on the task: KilledWorker, or the task's own error
        raise CorpusIndexError(f"a shard failed on the cluster after Dask's retries: "
                               f"{type(exc).__name__}: {exc}",
                               "run the same build again: it resumes from the shards already written") from exc


def _check_visible(partial: str, summary: dict) -> None:
    if summary["indexed"] and not os.path.isfile(os.path.join(partial, summary["name"] + ".labels.json")):
        raise CorpusIndexError(f"worker {summary['worker']} wrote shard {summary['name']} where this "
                               f"machine cannot see it ({partial})",
                               "put --index-dir on storage every worker and this machine reach "
                               "(a shared filesystem at the same path)")


def build_shard(partial: str, name: str, members: list) -> dict:
    """Worker: sketch a shard's files and write the shard; a summary for progress and costs."""
    from audit.provenance.build import _write_shard, sketch_member

    t0, c0 = time.perf_counter(), time.process_time()
    results = [sketch_member(m) for m in members]
    ok = [r for r in results if not r.get("failed")]
    if ok:
        _write_shard(partial, ok, name=name)
    return {"name": name, "files": len(members), "indexed": len(ok),
            "lines": sum(r["lines"] for r in ok), "bytes": sum(len(m.data) for m in members),
            "wall": time.perf_counter() - t0, "cpu": time.process_time() - c0,
            "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            "worker": _worker_address()}


def _worker_address() -> str:
    try:
        from distributed import get_worker

        return get_worker().address
    except ValueError:  # not on a worker (called directly)
        return "local"


class Meter:
    """Files/s, lines/s and an ETA over the whole cluster, reported through ``progress``."""

    def __init__(self, count: int, progress, stats, n_workers: int):
        self.done, self.lines, self.sent, self.start_count = count, 0, count, count
        self.progress, self.stats, self.workers = progress, stats, n_workers
        self.t0 = time.perf_counter()
        self.summaries: list[dict] = []

    def submitted(self, n: int) -> None:
        self.sent += n

    def finished(self, summary: dict) -> None:
        self.summaries.append(summary)
        self.done += summary["files"]
        self.lines += summary["lines"]
        if self.progress:
            self.progress(self.done, self.fraction, self.status())

    @property
    def fraction(self) -> float:
        """Share of the build done: sources read, scaled by the share of read files finished."""
        return self.stats.fraction * (self.done / max(self.sent, 1))

    def status(self) -> str:
        dt = max(time.perf_counter() - self.t0, 1e-6)
        files_s = (self.done - self.start_count) / dt
        return (f"{self.lines:,} lines, {files_s:,.0f} files/s, {self.lines / dt:,.0f} lines/s "
                f"on {self.workers} workers")


# -- matching -----------------------------------------------------------------
_OPEN: dict[str, tuple[tuple, object]] = {}  # worker process: index path -> (manifest stamp, index)


def match_result(address: str, result, payloads: dict, indexes: list):
    """``api.match_result`` with the matching spread over the cluster's workers."""
    from audit.provenance import api

    sketches, skipped, timings = api.result_sketches(result, payloads)
    return match_sketches(address, sketches, indexes, skipped, timings)


def match_sketches(address: str, sketches: list, indexes: list, skipped_languages: dict | None = None,
                   timings: dict | None = None):
    """``api.match_sketches`` on the cluster: batches of files matched by workers, same report.

    Workers run ``api.match_files`` on their batch, told how many files the whole audit
    matches; the client orders the file reports as given and makes ``api.report``."""
    from audit.provenance import api

    paths = [os.path.abspath(ix.path) for ix in indexes]
    with connect(address) as client:
        batches = balanced_batches(sketches, 4 * workers(client))
        futs = client.map(match_batch, [[sketches[i] for i in b] for b in batches], paths=paths,
                          n_files=len(sketches), retries=TASK_RETRIES, pure=False)
        parts = [_result(f) for f in futs]
    files: list = [None] * len(sketches)
    spent: dict[str, float] = {}
    for batch, (reports, t) in zip(batches, parts):
        for i, rep in zip(batch, reports):
            files[i] = rep
        for k, v in t.items():
            spent[k] = spent.get(k, 0.0) + v
    return api.report(files, indexes, skipped_languages=skipped_languages,
                      timings={**(timings or {}), **spent})


def balanced_batches(sketches: list, n: int) -> list[list[int]]:
    """Indexes of the sketches cut into at most n batches of similar work (units to match)."""
    n = max(1, min(n, len(sketches)))
    loads = [0] * n
    batches: list[list[int]] = [[] for _ in range(n)]
    for i in sorted(range(len(sketches)), key=lambda i: -len(sketches[i].entry_start)):
        b = loads.index(min(loads))
        batches[b].append(i)
        loads[b] += len(sketches[i].entry_start) + 1
    return [sorted(b) for b in batches if b]


def match_batch(sketches: list, paths: list[str], n_files: int):
    """Worker: match a batch against the indexes at ``paths`` (opened once per worker process)."""
    from audit.provenance import api

    return api.match_files(sketches, [_open(p) for p in paths], n_files=n_files)


def _open(path: str):
    from audit.provenance.index import CorpusIndex

    st = os.stat(os.path.join(path, "manifest.json"))
    stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
    hit = _OPEN.get(path)
    if hit is None or hit[0] != stamp:
        _OPEN[path] = (stamp, CorpusIndex.load(path))
    return _OPEN[path][1]


def log_line(text: str) -> None:
    """A plain progress line for logs (no terminal to draw a bar on)."""
    print(text, file=sys.stderr, flush=True)
