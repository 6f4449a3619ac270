"""Run the per-file pipeline (read, parse, measure, extra passes) over a process pool.

Each worker reads, parses and measures a file in one go, because tree-sitter
trees cannot cross process boundaries. Extra passes (rules, provenance
sketches) run on the same parse inside the worker; each is named by a string
so the job stays picklable, and returns a payload the project-level stages use.
"""

from __future__ import annotations

import importlib
import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Iterable

from audit import __version__, limits
from audit.config import ScanConfig
from audit.errors import InputError
from audit.lang.walker import walk_query
from audit.metrics.measure import measure
from audit.parse import parse
from audit.results import AuditResult, FileResult
from audit.walk import Candidate, SkippedFile, SourceFile, discover, read_source
from audit.workers import Pool

# name -> "module:function"; each function is pass(parsed, result, options) -> (result, payload)
FILE_PASSES: dict[str, str] = {
    "rules": "audit.rules.engine:file_pass",
    "sketch": "audit.provenance.sketch:file_pass",
    "clones": "audit.clones:file_pass",
}
# Passes whose patterns can ride on the walk: name -> "module:function", each
# function(language, path, options) -> the walker's query extended with the pass's
# patterns after the walker's (see audit.lang.walker), or None to walk alone.
WALK_RIDERS: dict[str, str] = {
    "rules": "audit.rules.engine:walk_query",
}
SERIAL_LIMIT = 8  # fewer files than this are measured in-process: a pool would cost more


@dataclass(frozen=True)
class Job:
    """What a worker needs besides the file: picklable settings."""

    max_file_size: int
    python_engine: str = "radon"
    passes: tuple[str, ...] = ()
    options: dict = field(default_factory=dict)
    limits: limits.Limits = field(default_factory=limits.Limits)


def analyse_source(source: SourceFile, job: Job) -> tuple[FileResult | SkippedFile, dict]:
    """Parse and measure one source file, then run the extra passes on the same tree.

    A file beyond one of ``job.limits`` (checked before parsing, or its time up) comes
    back as a SkippedFile with the reason.
    """
    out, refused = limits.bounded(source.data, job.limits, lambda: _analyse(source, job))
    return out if refused is None else (SkippedFile(source.path, *refused), {})


def _analyse(source: SourceFile, job: Job) -> tuple[FileResult, dict]:
    rider = _walk_rider(job)
    query = rider(source.language, source.path, job.options) if rider else None
    if query is None:  # the walk alone: from its own query's captures (see Walker.run)
        query = walk_query(source.language)
    parsed = parse(source, query, refuse_floods=True)
    result = measure(parsed, job.python_engine)
    payload: dict = {}
    for name in job.passes:
        fn = _resolve(name)
        result, payload[name] = fn(parsed, result, job.options)
    return result, payload


def analyse_candidate(args: tuple[Candidate, Job]) -> tuple[FileResult | SkippedFile, dict]:
    cand, job = args
    return analyse_read(cand.path, read_source(cand, job.max_file_size), job)


def analyse_read(path: str, source: SourceFile | SkippedFile, job: Job) -> tuple[FileResult | SkippedFile, dict]:
    """analyse_source on bytes read from anywhere (a file, a git blob); errors become skips."""
    if isinstance(source, SkippedFile):
        return source, {}
    try:
        return analyse_source(source, job)
    except RecursionError:
        return SkippedFile(path, "too-deep", "nesting too deep to measure"), {}
    except Exception as exc:  # noqa: BLE001 - a file that breaks a pass is data, not an abort
        return SkippedFile(path, "analysis-error", f"{type(exc).__name__}: {exc}"), {}


def _resolve(name: str, table: dict[str, str] = FILE_PASSES) -> Callable:
    module, _, attr = table[name].partition(":")
    return getattr(importlib.import_module(module), attr)


def run_files(candidates: list[Candidate], job: Job, workers: int,
              progress: Callable[[int, int, str], None] | None = None, pool=None,
              analyse: Callable = analyse_candidate) -> Iterable:
    """Analyse candidates, yielding (FileResult | SkippedFile, payload) in any order.

    ``pool``: workers already started (see start_pool); the caller closes it.
    ``analyse``: reads and analyses one (candidate, job) (another for git blobs).
    """
    ordered = sorted(candidates, key=_size, reverse=True)  # big files first balances the pool
    total = len(ordered)
    if workers <= 1 or total < SERIAL_LIMIT:
        for i, cand in enumerate(ordered, 1):
            out = analyse((cand, job))
            if progress:
                progress(i, total, cand.path)
            yield out
        return
    if pool is None:
        with start_pool(job, workers, {c.language for c in ordered}, analyse) as own:
            yield from _pooled(own, ordered, job, total, progress)
    else:
        yield from _pooled(pool, ordered, job, total, progress)


def _pooled(pool, ordered, job, total, progress) -> Iterable:
    for i, out in enumerate(pool.run(ordered), 1):
        if progress:
            progress(i, total, out[0].path)
        yield out


def start_pool(job: Job, workers: int, languages: set[str],
               analyse: Callable = analyse_candidate) -> Pool:
    """Fork the workers; each compiles the queries of a pass riding on the walk for
    these languages as it starts (others are compiled when first met)."""
    return Pool(job, workers, analyse, _prepare_worker, languages)


def _prepare_worker(job: Job, languages: set[str]) -> None:
    try:
        _prepare_walks(job, languages)
    except Exception:  # noqa: BLE001 - a worker that failed here compiles on first use instead
        pass


def _walk_rider(job: Job) -> Callable | None:
    """The walk-query function of the first of the job's passes that rides on the walk."""
    for name in job.passes:
        if name in WALK_RIDERS:
            return _resolve(name, WALK_RIDERS)
    return None


def _prepare_walks(job: Job, languages: set[str]) -> None:
    """Compile the queries of a pass riding on the walk for these languages (once per
    process: in a worker as it starts, or in the parent before a pool forks)."""
    rider = _walk_rider(job)
    if rider is not None:
        for language in sorted(languages):
            rider(language, "", job.options)


def _size(cand: Candidate) -> int:
    if hasattr(cand, "size"):  # a git blob's, read from its object header (None: unknown)
        return cand.size or 0
    try:
        return os.path.getsize(cand.abspath)
    except OSError:
        return 0


def scan(config: ScanConfig, job: Job | None = None, progress=None,
         tree=None) -> tuple[AuditResult, dict]:
    """Discover, analyse and assemble an AuditResult; payloads are keyed by file path.

    ``tree``: where the files come from when not the folders of ``config.paths``: an
    object with ``discover(config, on_found)`` and ``analyse`` (see audit.revscan).
    """
    started = time.perf_counter()
    analyse = tree.analyse if tree is not None else analyse_candidate
    job = job or Job(config.max_file_size)
    workers = config.workers
    pool = None

    def start_early(found: list[Candidate]) -> None:
        # Enough files for a pool: start the workers now, so that they start up (and
        # compile the queries of the rules riding on the walk) and work on the files
        # found so far while discovery goes on (CCC: discovery takes about 0.06 s).
        nonlocal pool
        if workers > 1:
            pool = start_pool(job, workers, {c.language for c in found}, analyse)
            pool.feed_early(found)

    files, payloads = [], {}
    try:
        found_early = (SERIAL_LIMIT, start_early)
        discovery = (tree.discover(config, found_early) if tree is not None
                     else discover(config, found_early))
        if not discovery.candidates:
            found = len(discovery.skipped)
            raise InputError(
                f"no {' or '.join(config.languages)} source files under {', '.join(config.paths)}"
                + (f" ({found} other file(s) skipped)" if found else ""),
                "point audit at a folder with .rs or .py files, or check --include/--exclude",
            )
        skipped = list(discovery.skipped)
        if pool is None:  # measured in-process (or by a pool run_files starts)
            _prepare_walks(job, {c.language for c in discovery.candidates})
        for out, payload in run_files(list(discovery.candidates), job, workers, progress, pool,
                                      analyse):
            if isinstance(out, SkippedFile):
                skipped.append(out)
            else:
                files.append(out)
                payloads[out.path] = payload
    finally:
        if pool is not None:
            pool.terminate()
    files.sort(key=lambda f: f.path)
    skipped.sort(key=lambda s: s.path)
    result = AuditResult(
        tool_version=__version__, config=config.echo(), files=tuple(files),
        skipped=tuple(skipped), created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        elapsed=time.perf_counter() - started, others=tuple(discovery.others),
    )
    return result, payloads
