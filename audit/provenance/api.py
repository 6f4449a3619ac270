"""Public provenance API: build or open corpus indexes and match audited code against them.

Typical use (e.g. how much of tree B derives from tree A)::

    from audit.provenance import api
    a = api.index_paths(["runs/a"], "run-a")          # temporary index, any language
    result, payloads = api.scan_tree("runs/b")         # or reuse an `audit scan` result
    report = api.match_result(result, payloads, [a])
    report.score, report.verdict, report.to_dict()
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import time
from collections import Counter

import platformdirs

from audit.errors import CorpusIndexError
from audit.provenance.index import BandLookup, CorpusIndex
from audit.provenance.match import DocFreq, MatchConfig, Timing, match_sketch
from audit.provenance.structure import StructureConfig, align_file
from audit.provenance.verdict import ProvenanceReport, Thresholds, file_report, project_report

MATCH = MatchConfig()
THRESHOLDS = Thresholds()
STRUCTURE = StructureConfig()


def default_index_dir() -> str:
    """Where corpus indexes live: $AUDIT_INDEX_DIR or the user's cache directory."""
    return os.environ.get("AUDIT_INDEX_DIR") or os.path.join(platformdirs.user_cache_dir("audit"), "corpora")


def index_path(name_or_dir: str, index_dir: str | None = None) -> str:
    """A corpus given by name (under the index dir) or by the path of an index folder."""
    if os.path.isfile(os.path.join(name_or_dir, "manifest.json")):
        return name_or_dir
    return os.path.join(index_dir or default_index_dir(), name_or_dir)


def open_index(name_or_dir: str, index_dir: str | None = None) -> CorpusIndex:
    """Load one index, refusing a corrupt or mismatched one (CorpusIndexError)."""
    path = index_path(name_or_dir, index_dir)
    if not os.path.isdir(path):
        raise CorpusIndexError(f"no corpus called {name_or_dir!r} in {os.path.dirname(path)}",
                               f"build it: audit corpus build {os.path.basename(path)} SOURCE... "
                               "(or see `audit corpus list`)")
    return CorpusIndex.load(path)


def index_paths(paths: list[str], name: str, index_dir: str | None = None, workers: int = 0,
                progress=None, exclude: tuple[str, ...] = (), license: str = "",
                versions: dict | None = None) -> CorpusIndex:
    """Index folders or archives (C, C++, Rust, Python) as corpus ``name``.

    With no ``index_dir`` the index goes to a temporary folder removed at exit. ``versions``:
    ``{"revs": REVSPEC, "every": N}`` for a git history, ``{"releases": True}`` for releases.
    """
    from audit.provenance.build import build_index

    if index_dir is None:
        index_dir = tempfile.mkdtemp(prefix="audit-corpus-")
        atexit.register(shutil.rmtree, index_dir, True)
    return build_index(name, list(paths), index_dir, workers, progress, exclude, license=license,
                       **(versions or {}))


def match_sketches(sketches: list, indexes: list[CorpusIndex], cfg: MatchConfig = MATCH,
                   thresholds: Thresholds = THRESHOLDS, skipped_languages: dict | None = None,
                   timings: dict | None = None, progress=None, jobs: int = 1) -> ProvenanceReport:
    """Match file sketches (audit.provenance.sketch.FileSketch) against loaded indexes, on
    ``jobs`` worker processes (audit.provenance.pool; the same report as one process)."""
    from audit.provenance import pool

    files, spent = pool.match_files(sketches, indexes, cfg, thresholds, jobs, progress)
    return report(files, indexes, cfg, thresholds, skipped_languages, {**(timings or {}), **spent})


def match_files(sketches: list, indexes: list[CorpusIndex], cfg: MatchConfig = MATCH,
                thresholds: Thresholds = THRESHOLDS, n_files: int | None = None,
                progress=None) -> tuple[list, dict]:
    """Match a batch of file sketches: their file reports and the seconds spent per phase.

    ``n_files``: how many files the whole audit matches, when this batch is part of it (a
    structural alignment's significance is corrected for every file tested); default: the batch.
    ``progress(done, total, path)`` is called after each file (candidates, verification and
    structure).
    """
    docfreq = DocFreq(indexes)
    timing = Timing()
    files = []
    t_structure = 0.0
    for sk in sketches:
        lookup = BandLookup(sk.bands, indexes, cfg.bucket_cap)
        matches, discounted = match_sketch(sk, indexes, docfreq, cfg, timing, lookup)
        t0 = time.perf_counter()
        alignments = align_file(sk, indexes, STRUCTURE, lookup, n_files or len(sketches),
                                thresholds.structure_alpha)
        t_structure += time.perf_counter() - t0
        files.append(file_report(sk, matches, discounted, thresholds, alignments=alignments,
                                 n_files=n_files or len(sketches), corpus_files=docfreq.n))
        if progress is not None:
            progress(len(files), len(sketches), sk.path)
    _name_revisions(files, indexes)
    return files, {"candidates": timing.candidates, "verification": timing.verification,
                   "structure": t_structure}


def report(files: list, indexes: list[CorpusIndex], cfg: MatchConfig = MATCH,
           thresholds: Thresholds = THRESHOLDS, skipped_languages: dict | None = None,
           timings: dict | None = None) -> ProvenanceReport:
    """The project report over matched files (from one match_files call or several batches)."""
    corpora = [{"name": ix.name, "path": ix.path, "files": ix.n_files,
                "lines": ix.manifest["counts"]["lines"], "sources": ix.manifest["sources"],
                "created": ix.manifest["created"]} for ix in indexes]
    _best_versions(files, indexes, corpora)
    all_timings = dict(timings or {})
    options = {"match": {k: (dict(v) if isinstance(v, tuple) else v) for k, v in vars(cfg).items()},
               "structure": dict(vars(STRUCTURE)),
               "allow_list": _allow_sources()}
    return project_report(files, corpora, thresholds, options, all_timings, skipped_languages or {})


def match_result(result, payloads: dict, indexes: list[CorpusIndex], cfg: MatchConfig = MATCH,
                 thresholds: Thresholds = THRESHOLDS, progress=None, c_files: bool = True,
                 jobs: int = 1) -> ProvenanceReport:
    """Match an AuditResult's files (payloads from a scan run with the "sketch" pass).

    ``c_files``: also match the tree's own C and C++ files, which the scan does not measure;
    ``jobs``: worker processes for the matching."""
    sketches, skipped, timings = result_sketches(result, payloads, c_files)
    return match_sketches(sketches, indexes, cfg, thresholds, skipped, timings, progress, jobs)


def result_sketches(result, payloads: dict, c_files: bool = True) -> tuple[list, dict, dict]:
    """What match_result matches: the sketches in path order, the languages skipped, the times."""
    sketches = [p["sketch"] for p in payloads.values() if p and p.get("sketch") is not None]
    checked: set[str] = set()
    if c_files:  # the tree's own C and C++ files (headers, copied tests) are matched too
        from audit.provenance.cfiles import own_c_sketches

        own, _ = own_c_sketches(result)
        sketches.extend(own)
        checked = {s.path for s in own}
    sketches.sort(key=lambda s: s.path)
    skipped = Counter(_ext(s.path) for s in result.skipped
                      if s.reason == "language-not-audited" and s.path not in checked)
    timings = {"extract": sum(s.timings.get("extract", 0.0) for s in sketches),
               "sketch": sum(s.timings.get("sketch", 0.0) for s in sketches)}
    return sketches, dict(sorted(skipped.items())), timings


def scan_tree(path: str, jobs: int = 0):
    """Scan a tree with the sketch pass: (AuditResult, payloads) ready for match_result."""
    from audit.config import ScanConfig
    from audit.pipeline import Job, scan

    config = ScanConfig(paths=(path,), jobs=jobs)
    return scan(config, Job(config.max_file_size, passes=("sketch",)))


def scan_against(path: str, corpora: list[str], jobs: int = 0,
                 c_files: bool = True) -> tuple[ProvenanceReport, dict]:
    """Scan a tree and match it against corpora (names or index folders); with timings.

    ``c_files``: also match the tree's own C and C++ files (see match_result)."""
    t0 = time.perf_counter()
    indexes = [open_index(c) for c in corpora]
    t1 = time.perf_counter()
    result, payloads = scan_tree(path, jobs)
    t2 = time.perf_counter()
    report = match_result(result, payloads, indexes, c_files=c_files)
    t3 = time.perf_counter()
    timings = {"load_index": t1 - t0, "scan_parse_sketch_wall": t2 - t1, "match_wall": t3 - t2,
               **{k: round(v, 3) for k, v in report.timings.items()}}
    return report, timings


def _name_revisions(files, indexes: list[CorpusIndex]) -> None:
    """Each match against a versioned corpus names the versions that hold its corpus file."""
    by_name = {ix.name: ix for ix in indexes if ix.versioned}
    for f in files:
        for m in f.matches:
            if m.corpus in by_name:
                m.revisions = by_name[m.corpus].revisions(m.corpus_path)


def _best_versions(files, indexes: list[CorpusIndex], corpora: list[dict]) -> None:
    """A versioned corpus names the versions holding most of what matched (by lines covered)."""
    from audit.provenance.versions import best_versions

    for ix, entry in zip(indexes, corpora):
        if ix.versioned is None:
            continue
        ids = {row.label: i for i, row in enumerate(ix.files)}
        weights: dict[int, float] = {}
        for f in files:
            for m in f.matches:
                if m.corpus == ix.name and m.corpus_path in ids:
                    k = ids[m.corpus_path]
                    weights[k] = weights.get(k, 0.0) + m.score * f.code_lines
        entry["best_versions"] = best_versions(ix, weights)


def _ext(path: str) -> str:
    dot = path.rfind(".")
    return path[dot:] if dot > path.rfind("/") else "(none)"


def _allow_sources() -> list[str]:
    from audit.provenance import allow

    return list(allow.load().sources)
