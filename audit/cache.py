"""A per-blob result cache: FileResults keyed by git blob id, path and tool versions.

One SQLite file in WAL mode. Writers use ``INSERT OR IGNORE``, so two runs that
share the cache never fight (the first result for a key wins, and both are the
same); commits happen in small batches, so an interrupted run keeps what it
finished. Entries carry the whole FileResult as compact zlib-compressed JSON and
a small summary that history reads without decoding the units.

The path is part of the key because a FileResult depends on it: qualified
names carry the module path and test files are told apart by their location.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import multiprocessing
import os
import sqlite3
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from audit import __version__
from audit.data import default_cache_dir
from audit.errors import InputError
from audit.pipeline import FILE_PASSES, SERIAL_LIMIT, Job, analyse_source
from audit.results import (
    ErrorSpan,
    FileResult,
    Finding,
    Halstead,
    LineCounts,
    Unit,
    UnitMetrics,
)
from audit.walk import SkippedFile, source_from_bytes

SCHEMA_VERSION = 3  # bump when the cached encoding or history.summarise() changes
BATCH_ROWS = 200  # rows per transaction: an interruption loses at most this many
BATCH_SECONDS = 2.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS blobs (
    ns TEXT NOT NULL,
    blob TEXT NOT NULL,
    path TEXT NOT NULL,
    summary TEXT NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (ns, blob, path)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS payloads (
    ns TEXT NOT NULL,
    blob TEXT NOT NULL,
    path TEXT NOT NULL,
    pass TEXT NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (ns, blob, path, pass)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS derived (
    ns TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (ns, key)
) WITHOUT ROWID;
"""


def namespace(python_engine: str, passes: Iterable[str] = (), options: dict | None = None,
              extra: str = "") -> str:
    """The part of the key that changes when the tool would compute other results."""
    opts = json.dumps(options or {}, sort_keys=True, default=str)
    text = f"s{SCHEMA_VERSION}|audit {__version__}|{python_engine}|{','.join(passes)}|{opts}|{extra}"
    return hashlib.sha1(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Entry:
    blob: str
    path: str
    summary: dict
    data: bytes  # compressed FileResult; decode with decode_result
    payloads: tuple[tuple[str, bytes], ...] = ()  # (pass name, encoded payload), see PAYLOAD_CODECS


def _set_up(db, patience: float = 60.0) -> None:
    """Switch to WAL and create the tables, retrying while another process does the same.

    SQLite does not call the busy handler for every lock taken while the journal
    mode changes, so two processes opening a new cache at once can see "database
    is locked" straight away; waiting a moment and trying again is enough.
    """
    deadline = time.monotonic() + patience
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(_SCHEMA)
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class BlobCache:
    """The cache file; open one per process (connections do not cross a fork)."""

    def __init__(self, directory: str | None, ns: str):
        """Open the cache in ``directory``; None keeps it in memory for this run only."""
        self.path = os.path.join(directory, "blobs.sqlite") if directory else ":memory:"
        self.ns = ns
        try:
            if directory:
                os.makedirs(directory, exist_ok=True)
            self.db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            _set_up(self.db)
        except (OSError, sqlite3.Error) as exc:
            raise InputError(f"cannot open the result cache {self.path}: {exc}",
                             "pass --cache-dir with a writable folder, or --no-cache") from exc
        self._pending: list[tuple] = []
        self._pending_payloads: list[tuple] = []
        self._last_flush = time.monotonic()

    def known(self, keys: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which (blob, path) keys are already cached."""
        wanted = set(keys)
        rows = self.db.execute("SELECT blob, path FROM blobs WHERE ns = ?", (self.ns,))
        return {(b, p) for b, p in rows if (b, p) in wanted}

    def summaries(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], dict]:
        """Summaries of the cached keys among ``keys``."""
        wanted = set(keys)
        out = {}
        for b, p, s in self.db.execute("SELECT blob, path, summary FROM blobs WHERE ns = ?", (self.ns,)):
            if (b, p) in wanted:
                out[(b, p)] = json.loads(s)
        return out

    def results(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], FileResult | SkippedFile]:
        """Decoded FileResults (or the SkippedFile) of the cached keys among ``keys``."""
        out = {}
        for blob, path in keys:
            row = self.db.execute("SELECT summary, data FROM blobs WHERE ns = ? AND blob = ? AND path = ?",
                                  (self.ns, blob, path)).fetchone()
            if row is None:
                continue
            if row[1]:
                out[(blob, path)] = decode_result(row[1])
            else:
                summary = json.loads(row[0])
                out[(blob, path)] = SkippedFile(path, summary["skipped"], summary.get("detail", ""))
        return out

    def payloads(self, keys: Iterable[tuple[str, str]], name: str) -> dict[tuple[str, str], object]:
        """Decoded payloads of one pass for the cached keys among ``keys``."""
        decode = PAYLOAD_CODECS[name][1]
        out = {}
        for blob, path in keys:
            row = self.db.execute("SELECT data FROM payloads WHERE ns = ? AND blob = ? AND path = ? "
                                  "AND pass = ?", (self.ns, blob, path, name)).fetchone()
            if row is not None:
                out[(blob, path)] = decode(row[0])
        return out

    def derived(self, key: str):
        """A value computed from many blobs (a commit's duplication share), or None."""
        row = self.db.execute("SELECT value FROM derived WHERE ns = ? AND key = ?",
                              (self.ns, key)).fetchone()
        return json.loads(row[0]) if row else None

    def put_derived(self, key: str, value) -> None:
        """Store a derived value at once; ``key`` must name every input beyond the namespace."""
        self.db.execute("INSERT OR IGNORE INTO derived VALUES (?, ?, ?)",
                        (self.ns, key, json.dumps(value)))

    def put(self, entry: Entry) -> None:
        """Queue an entry; written in the next batch."""
        self._pending.append((self.ns, entry.blob, entry.path, json.dumps(entry.summary), entry.data))
        self._pending_payloads.extend((self.ns, entry.blob, entry.path, name, data)
                                      for name, data in entry.payloads)
        if len(self._pending) >= BATCH_ROWS or time.monotonic() - self._last_flush > BATCH_SECONDS:
            self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        with self.db:  # one transaction; a crash keeps every earlier batch
            self.db.execute("BEGIN")
            # payloads first: a reader that finds the row finds its payloads too
            self.db.executemany("INSERT OR IGNORE INTO payloads VALUES (?, ?, ?, ?, ?)",
                                self._pending_payloads)
            self.db.executemany("INSERT OR IGNORE INTO blobs VALUES (?, ?, ?, ?, ?)", self._pending)
        self._pending.clear()
        self._pending_payloads.clear()
        self._last_flush = time.monotonic()

    def close(self) -> None:
        self.flush()
        self.db.close()

    def __enter__(self) -> BlobCache:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def size_bytes(self) -> int:
        """Bytes on disk, including the write-ahead log."""
        files = (self.path, self.path + "-wal") if self.path != ":memory:" else ()
        return sum(os.path.getsize(p) for p in files if os.path.exists(p))


# --- compact serialisation of FileResult -------------------------------------------------

def _lc(lc: LineCounts) -> list:
    return [lc.physical, lc.source, lc.comment, lc.blank]


def _hal(h: Halstead) -> list:
    return [h.n1, h.n2, h.N1, h.N2]


def _unit(u: Unit) -> list:
    m = u.metrics
    return [u.qualname, u.name, u.kind, u.start_line, u.end_line, int(u.is_test), _lc(m.lines),
            m.cyclomatic, m.cognitive, m.nesting, m.params, m.exits, _hal(m.halstead)]


def _finding(f: Finding) -> list:
    return [f.rule, f.severity, f.category, f.line, f.end_line, f.message, f.column,
            f.end_column, f.unit, f.suppressed]


def encode_result(fr: FileResult) -> bytes:
    """A FileResult as compressed JSON arrays (about a tenth of the JSON report's size)."""
    doc = [fr.path, fr.language, fr.sha1, _lc(fr.lines), [_unit(u) for u in fr.units],
           _hal(fr.halstead), fr.cyclomatic, fr.poor_sloc,
           [[e.start_line, e.end_line, e.kind] for e in fr.parse_errors], list(fr.warnings),
           [_finding(f) for f in fr.findings], int(fr.is_test)]
    return zlib.compress(json.dumps(doc, separators=(",", ":")).encode(), 6)


def decode_result(data: bytes) -> FileResult:
    """The inverse of :func:`encode_result`."""
    (path, language, sha1, lines, units, hal, cyclo, poor, errors, warnings, findings,
     is_test) = json.loads(zlib.decompress(data))
    return FileResult(
        path=path, language=language, sha1=sha1, lines=LineCounts(*lines),
        units=tuple(_decode_unit(u) for u in units), halstead=Halstead(*hal), cyclomatic=cyclo,
        poor_sloc=poor, parse_errors=tuple(ErrorSpan(*e) for e in errors),
        warnings=tuple(warnings),
        findings=tuple(Finding(f[0], f[1], f[2], path, *f[3:]) for f in findings),
        is_test=bool(is_test),
    )


def _decode_unit(u: list) -> Unit:
    qualname, name, kind, start, end, is_test, lines, cc, cog, nest, params, exits, hal = u
    metrics = UnitMetrics(LineCounts(*lines), cc, cog, nest, params, exits, Halstead(*hal))
    return Unit(qualname, name, kind, start, end, metrics, bool(is_test))


# --- analysing blobs that are not cached yet ----------------------------------------------

@dataclass(frozen=True)
class BlobTask:
    """One file at a revision to analyse: where its bytes are and what it is."""

    repo: str
    blob: str
    path: str
    language: str


_WORKER: dict = {}  # per-process open repository, reopened after a fork


def _analyse_task(args: tuple[BlobTask, Job, Callable]) -> Entry:
    task, job, summarise = args
    from audit.gitsource import GitSource
    from audit.walk import TooLarge

    if _WORKER.get("pid") != os.getpid() or _WORKER.get("repo") != task.repo:
        _WORKER.update(pid=os.getpid(), repo=task.repo, source=GitSource(task.repo))
    try:
        data = _WORKER["source"].read_blob(task.blob, job.max_file_size)
    except TooLarge as exc:
        return Entry(task.blob, task.path, {"skipped": "too-large",
                                            "detail": f"{exc} bytes > limit {job.max_file_size}"}, b"")
    out, payload = analyse_with_payload(task.path, task.language, data, job, task.blob)
    if isinstance(out, SkippedFile):
        return Entry(task.blob, task.path, {"skipped": out.reason, "detail": out.detail}, b"")
    encoded = tuple((name, PAYLOAD_CODECS[name][0](payload[name]))
                    for name in job.passes if name in PAYLOAD_CODECS and payload.get(name) is not None)
    return Entry(task.blob, task.path, summarise(out), encode_result(out), encoded)


def analyse_bytes(path: str, language: str, data: bytes, job: Job,
                  sha1: str | None = None) -> FileResult | SkippedFile:
    """The foundation's per-file pipeline on bytes from anywhere; bad files are skipped."""
    return analyse_with_payload(path, language, data, job, sha1)[0]


def analyse_with_payload(path: str, language: str, data: bytes, job: Job,
                         sha1: str | None = None) -> tuple[FileResult | SkippedFile, dict]:
    """As analyse_bytes, with the passes' payloads."""
    source = source_from_bytes(path, language, data, job.max_file_size, sha1)
    if isinstance(source, SkippedFile):
        return source, {}
    try:
        return analyse_source(source, job)
    except RecursionError:
        return SkippedFile(path, "too-deep", "nesting too deep to measure"), {}
    except Exception as exc:  # one bad blob in thousands of commits must not end the walk
        return SkippedFile(path, "analysis-error", f"{type(exc).__name__}: {exc}"), {}


def make_job(max_file_size: int, python_engine: str = "radon", rules: bool = True,
             clones: bool = False) -> Job:
    """The per-file job for git snapshots: metrics, plus the rules and clone-sketch passes
    when asked for and installed."""
    passes = ("rules",) if rules and pass_available("rules") else ()
    options = {}
    if clones and pass_available("clones"):
        from audit.clones import CloneParams

        passes += ("clones",)
        options["clones"] = dataclasses.asdict(CloneParams())
    return Job(max_file_size, python_engine=python_engine, passes=passes, options=options)


def pass_available(name: str) -> bool:
    """A pass from pipeline.FILE_PASSES whose module is present in this installation."""
    import importlib

    module, _, attr = FILE_PASSES[name].partition(":")
    try:
        return hasattr(importlib.import_module(module), attr)
    except ModuleNotFoundError:
        return False


def job_namespace(job: Job) -> str:
    """Cache namespace for a job: tool version, engine, passes, options, code and rule packs."""
    extra = code_digest(job.passes) + (_tree_digest(_rules_root()) if "rules" in job.passes else "")
    options = {**job.options, "limits": dataclasses.asdict(job.limits)}  # a limit decides skips
    return namespace(job.python_engine, job.passes, options, extra)


# The per-file pipeline's own code: a change here changes results even at the same version.
_PIPELINE_CODE = ("parse.py", "results.py", "pipeline.py", "walk.py", "limits.py", "workers.py", "lang",
                  "metrics")
# A pass's code beyond its own module or package: the modules it sketches with.
_PASS_CODE = {"clones": ("clone_params.py", "clone_sketch.py", "clone_tokens.py")}


def code_digest(passes: Iterable[str] = ()) -> str:
    """A digest of the source of the per-file pipeline and of the given passes' packages."""
    package = os.path.dirname(os.path.abspath(__file__))
    parts = list(_PIPELINE_CODE)
    for name in passes:
        module = FILE_PASSES[name].partition(":")[0].split(".")
        parts.append(os.path.join(*module[1:-1]) if len(module) > 2 else module[-1] + ".py")
        parts.extend(_PASS_CODE.get(name, ()))
    h = hashlib.sha1()
    for part in sorted(set(parts)):
        h.update(_tree_digest(os.path.join(package, part), suffix=".py").encode())
    return h.hexdigest()[:16]


def _rules_root() -> str:
    from audit.data import data_path

    return data_path("rules") or ""


def _tree_digest(root: str, suffix: str = "") -> str:
    """A digest of the files under root (or of root itself when it is a file)."""
    h = hashlib.sha1()
    if os.path.isfile(root):
        files = [root]
    else:
        files = sorted(os.path.join(d, n) for d, _, names in os.walk(root) for n in names
                       if n.endswith(suffix))
    for full in files:
        h.update(os.path.relpath(full, root).encode() + b"\0")
        with open(full, "rb") as fh:
            h.update(fh.read())
    return h.hexdigest()[:16]


def open_cache(cache_dir: str | None, no_cache: bool, job: Job) -> BlobCache:
    """The shared on-disk cache, or an in-memory one with --no-cache."""
    return BlobCache(None if no_cache else (cache_dir or default_cache_dir()), job_namespace(job))


def results_for(cache: BlobCache, repo: str, listing: list[tuple[str, str]], job: Job, workers: int,
                progress=None) -> list[FileResult | SkippedFile]:
    """FileResults for (path, blob) pairs of one tree, analysing only what is not cached."""
    from audit.history import summarise
    from audit.lang import language_for

    tasks = [BlobTask(repo, blob, path, language_for(path).name) for path, blob in listing]
    fill(cache, tasks, job, summarise, workers, progress)
    got = cache.results((blob, path) for path, blob in listing)
    return [got[(blob, path)] for path, blob in listing]


def fill(cache: BlobCache, tasks: list[BlobTask], job: Job, summarise: Callable,
         workers: int, progress: Callable[[int, int, str], None] | None = None) -> int:
    """Analyse every task the cache does not hold yet; returns how many were analysed."""
    missing = _missing(cache, tasks)
    args = [(t, job, summarise) for t in missing]
    if workers <= 1 or len(missing) < SERIAL_LIMIT:
        results = map(_analyse_task, args)
        _drain(cache, results, len(missing), progress)
    else:
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(workers) as pool:
            _drain(cache, pool.imap_unordered(_analyse_task, args, chunksize=2), len(missing), progress)
    cache.flush()
    return len(missing)


def _missing(cache: BlobCache, tasks: list[BlobTask]) -> list[BlobTask]:
    have = cache.known((t.blob, t.path) for t in tasks)
    seen, out = set(), []
    for t in tasks:
        key = (t.blob, t.path)
        if key not in have and key not in seen:
            seen.add(key)
            out.append(t)
    return out


def _drain(cache: BlobCache, results, total: int, progress) -> None:
    for i, entry in enumerate(results, 1):
        cache.put(entry)
        if progress:
            progress(i, total, entry.path)


# --- pass payloads worth caching -----------------------------------------------------------

def encode_prints(units: list) -> bytes:
    """Clone sketches (audit.clones.UnitPrint) as a JSON header and the arrays' raw bytes."""
    import numpy as np

    header, chunks = [], []
    for u in units:
        row = {}
        for f in dataclasses.fields(u):
            value = getattr(u, f.name)
            if isinstance(value, np.ndarray):
                row[f.name] = ["@", value.dtype.str, len(value)]
                chunks.append(np.ascontiguousarray(value).tobytes())
            else:
                row[f.name] = value.hex() if isinstance(value, bytes) else value
        header.append(row)
    head = json.dumps(header, separators=(",", ":")).encode()
    return zlib.compress(len(head).to_bytes(4, "little") + head + b"".join(chunks), 1)


def decode_prints(data: bytes) -> list:
    """The inverse of :func:`encode_prints`."""
    import numpy as np

    from audit.clones import UnitPrint

    raw = zlib.decompress(data)
    size = int.from_bytes(raw[:4], "little")
    header, offset, out = json.loads(raw[4:4 + size]), 4 + size, []
    for row in header:
        values = {}
        for name, value in row.items():
            if isinstance(value, list) and value[:1] == ["@"]:
                dtype = np.dtype(value[1])
                values[name] = np.frombuffer(raw, dtype, value[2], offset).copy()
                offset += dtype.itemsize * value[2]
            else:
                values[name] = bytes.fromhex(value) if name == "digest" else value
        out.append(UnitPrint(**values))
    return out


# pass name -> (encode, decode): payloads stored beside the FileResult
PAYLOAD_CODECS: dict[str, tuple[Callable, Callable]] = {"clones": (encode_prints, decode_prints)}
