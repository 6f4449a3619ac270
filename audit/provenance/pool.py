"""Matching on this machine's cores: batches of audited files matched in forked workers.

Each audited file is matched on its own (its candidates, verification and structural
alignment read only the loaded indexes), so batches of files can go to worker
processes as they go to a Dask cluster (audit.provenance.cluster): the workers are
forked after the indexes are opened, so they share the parent's memory-mapped arrays
and its sketches, and each returns the file reports of its batch; the parent puts
them back in order. Every worker is told how many files the whole audit matches, so
a structural alignment's significance is corrected as in one process, and the
reports are the same.
"""

from __future__ import annotations

import multiprocessing

_STATE: tuple | None = None  # (sketches, indexes, cfg, thresholds), inherited by forked workers


def match_files(sketches: list, indexes: list, cfg, thresholds, jobs: int, progress=None) -> tuple[list, dict]:
    """``api.match_files`` over ``jobs`` worker processes (in this process when ``jobs`` <= 1
    or there are too few files to share)."""
    from audit.provenance import api
    from audit.provenance.cluster import balanced_batches

    if jobs <= 1 or len(sketches) < 2 * jobs:
        return api.match_files(sketches, indexes, cfg, thresholds, progress=progress)
    global _STATE
    _STATE = (sketches, indexes, cfg, thresholds)
    batches = balanced_batches(sketches, 32 * jobs)  # many per worker: even loads, live progress
    files: list = [None] * len(sketches)
    spent: dict[str, float] = {}
    done = 0
    if progress is not None:
        progress(0, len(sketches), "")  # the total is known before the first batch ends
    try:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            for number, (reports, seconds) in pool.imap_unordered(_match_batch, enumerate(batches)):
                for i, report in zip(batches[number], reports):
                    files[i] = report
                for phase, s in seconds.items():
                    spent[phase] = spent.get(phase, 0.0) + s
                done += len(batches[number])
                if progress is not None:
                    progress(done, len(sketches), sketches[batches[number][-1]].path)
    finally:
        _STATE = None
    return files, spent


def _match_batch(item: tuple[int, list[int]]) -> tuple[int, tuple[list, dict]]:
    from audit.provenance import api

    number, batch = item
    sketches, indexes, cfg, thresholds = _STATE
    return number, api.match_files([sketches[i] for i in batch], indexes, cfg, thresholds,
                                   n_files=len(sketches))
