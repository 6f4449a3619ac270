"""`audit compare A B`: two trees (folders or REPO@REV) side by side, deltas down to functions."""

from __future__ import annotations

import argparse
import hashlib
import os
import tempfile
import time
from dataclasses import replace

from audit.cache import (
    code_digest,
    default_cache_dir,
    make_job,
    open_cache,
    results_for,
)
from audit.commands import common_options
from audit.compare import (
    CompareResult,
    Snapshot,
    compare,
    derivation,
    line_hashes,
    tracked_delta,
)
from audit.config import DEFAULT_MAX_FILE_SIZE, ScanConfig
from audit.errors import EXIT_OK
from audit.gitsource import GitSource, RepoRev, parse_repo_rev, path_filter
from audit.pipeline import Job, analyse_source, scan
from audit.render import json as json_render
from audit.render.progress import phase
from audit.render.terminal import make_console, short_name
from audit.walk import SkippedFile, discover, read_source, source_from_bytes


def add_parser(sub) -> None:
    p = sub.add_parser(
        "compare", help="compare two trees or revisions: metric, finding and provenance deltas",
        description="Compare two source trees: A and B are folders or REPO@REV (a git repository, "
                    "bare or not, and a branch, tag, commit id or REV~N). Reports deltas per "
                    "project, file and function (added, removed, changed, moved), new and fixed "
                    "hotspots and findings, and how much of B derives from A.",
    )
    p.add_argument("a", metavar="A", help="the baseline: a folder or REPO@REV")
    p.add_argument("b", metavar="B", help="the tree to compare with it: a folder or REPO@REV")
    p.add_argument("--json", metavar="FILE", help="write the comparison as JSON")
    p.add_argument("--html", metavar="DIR", help="write the comparison as an HTML page "
                   "(DIR/compare.html, styled as the scan report)")
    add_analysis_options(p)
    p.add_argument("--hotspots", type=int, default=10, metavar="N",
                   help="compare the N most complex functions of each side (default 10)")
    p.add_argument("--no-provenance", action="store_true",
                   help="do not match B's new and changed units against A")
    p.add_argument("-q", "--quiet", action="store_true", help="no terminal summary")
    common_options(p)
    p.set_defaults(run=run)


def add_analysis_options(p: argparse.ArgumentParser) -> None:
    """Options shared by compare and history: what is read and how results are cached."""
    p.add_argument("--include", action="append", default=[], metavar="GLOB",
                   help="only files matching this glob (repeatable, gitignore syntax)")
    p.add_argument("--exclude", action="append", default=[], metavar="GLOB",
                   help="leave out files and folders matching this glob (repeatable)")
    p.add_argument("--language", action="append", choices=("rust", "python"), metavar="LANG",
                   help="audit only this language: rust or python (repeatable; default both)")
    p.add_argument("--max-file-size", type=int, default=DEFAULT_MAX_FILE_SIZE, metavar="BYTES",
                   help=f"skip files larger than this (default {DEFAULT_MAX_FILE_SIZE})")
    p.add_argument("--python-engine", choices=("radon", "tree-sitter"), default="radon",
                   help="source of Python cyclomatic and Halstead counts (default radon)")
    p.add_argument("-j", "--jobs", type=int, default=0, metavar="N",
                   help="worker processes (default: one per core)")
    p.add_argument("--cache-dir", metavar="DIR",
                   help="per-blob result cache for git revisions (default: the user cache folder, "
                        "or $AUDIT_CACHE_DIR)")
    p.add_argument("--no-cache", action="store_true", help="keep results in memory only")
    p.add_argument("--no-rules", action="store_true", help="measure only; do not run rule packs")


def scan_config(args, path: str) -> ScanConfig:
    return ScanConfig(
        paths=(path,), languages=tuple(args.language or ("rust", "python")),
        include=tuple(args.include), exclude=tuple(args.exclude),
        max_file_size=args.max_file_size, jobs=args.jobs,
        extra={"python_engine": args.python_engine},
    )


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    console = make_console(args.no_color)
    # the same job as `audit history`, so both share cached results
    job = make_job(args.max_file_size, args.python_engine, rules=not args.no_rules, clones=True)
    side_a = load_side(args, args.a, job, "A")
    side_b = load_side(args, args.b, job, "B")
    config = {"a": args.a, "b": args.b, "hotspots": args.hotspots, "passes": list(job.passes),
              "python_engine": job.python_engine, "include": args.include, "exclude": args.exclude}
    result = compare(side_a.snapshot, side_b.snapshot, args.hotspots, config)
    if side_a.tracked is not None and side_b.tracked is not None:
        measured = {f.path for f in side_a.snapshot.files + side_b.snapshot.files}
        result = replace(result, tracked=tracked_delta(side_a.tracked, side_b.tracked, measured))
    if not args.no_provenance:
        corpora = None if args.no_cache else os.path.join(args.cache_dir or default_cache_dir(), "corpora")
        result = add_derivation(result, side_a, side_b, scan_config(args, ".").workers, corpora,
                                show=not args.quiet)
    with console.capture() as written:  # where the outputs went: said after the summary
        write_outputs(args, result, console, side_a, side_b)
    result = _with_elapsed(result, time.perf_counter() - started)
    if not args.quiet:
        render_terminal(result, console)
        console.file.write(written.get())
    return EXIT_OK


def _with_elapsed(result: CompareResult, elapsed: float) -> CompareResult:
    return replace(result, config={**result.config, "elapsed": round(elapsed, 2)})


def write_outputs(args, result: CompareResult, console, side_a=None, side_b=None) -> None:
    import json

    if args.json:
        json_render.write_atomic(args.json, json.dumps(result.to_dict(), indent=1, ensure_ascii=False) + "\n")
        if not args.quiet:
            console.print(f"JSON written to {args.json}")
    if args.html:
        from audit.render.compare_html import write_page

        with phase("writing the comparison pages", enabled=not args.quiet) as tick:
            page = write_page(result, args.html, side_a and side_a.text, side_b and side_b.text,
                              tick)
        if not args.quiet:
            console.print(f"HTML written to {page}")


class Side:
    """One loaded side: the snapshot, plus where its bytes come from (for provenance)."""

    def __init__(self, snapshot: Snapshot, folder: str | None = None, rev: RepoRev | None = None,
                 data: dict | None = None, tracked: dict | None = None):
        self.snapshot = snapshot
        self.folder = folder
        self.rev = rev
        self.data = data or {}  # path -> bytes, kept for matching
        self.tracked = tracked  # every tracked file -> blob id (git revisions only)

    def text(self, path: str) -> str | None:
        """A measured file's text (for the report's drill-down pages)."""
        data = self.data.get(path)
        return None if data is None else data.decode("utf-8", "replace")


def load_side(args, spec: str, job: Job, name: str = "") -> Side:
    """A folder is scanned in place; REPO@REV is read from git through the blob cache."""
    rev = parse_repo_rev(spec)
    show = not getattr(args, "quiet", False)
    if rev is None:
        with phase(f"measuring {name or spec}", enabled=show) as tick:
            return _load_folder(args, spec, job, tick)
    with GitSource(rev.repo) as src:
        commit = src.resolve(rev.rev)
        listing = src.files(commit, path_filter(scan_config(args, rev.repo)))
        with open_cache(args.cache_dir, args.no_cache, job) as cache, \
                phase(f"measuring {name or spec} ({rev.rev})", len(listing), show) as tick:
            results = results_for(cache, rev.repo, listing, job,
                                  scan_config(args, rev.repo).workers, tick)
        files = tuple(r for r in results if not isinstance(r, SkippedFile))
        blobs = dict(listing)  # only measured files are read again: a skipped one may be huge
        data = {f.path: src.read_blob(blobs[f.path]) for f in files}
        tracked = dict(src.files(commit, lambda path: True))
    skipped = tuple(r for r in results if isinstance(r, SkippedFile))
    lines = {f.path: line_hashes(data[f.path]) for f in files}
    label = f"{rev.repo}@{rev.rev} ({commit[:12]})"
    return Side(Snapshot(label, files, skipped, lines), rev=RepoRev(rev.repo, commit),
                data={f.path: data[f.path] for f in files}, tracked=tracked)


def _load_folder(args, folder: str, job: Job, progress=None) -> Side:
    config = scan_config(args, folder)
    result, _payloads = scan(config, job, progress)
    by_path = {c.path: c for c in discover(config).candidates}
    data = {}
    for f in result.files:
        source = read_source(by_path[f.path], config.max_file_size)
        data[f.path] = source.data if not isinstance(source, SkippedFile) else b""
    lines = {p: line_hashes(d) for p, d in data.items()}
    return Side(Snapshot(folder, result.files, result.skipped, lines), folder=folder, data=data)


def add_derivation(result: CompareResult, side_a: Side, side_b: Side, workers: int = 1,
                   corpora: str | None = None, show: bool = False) -> CompareResult:
    """How much of B derives from A: B's added files matched against A indexed as a corpus.
    A git revision's index is kept under ``corpora`` (when given) and reused."""
    try:
        from audit.provenance import api
    except ImportError:
        return replace(result, warnings=result.warnings + (
            "derivation of B from A not measured: the provenance matcher is not installed",))
    added = [f.path for f in result.files if f.status == "added"]
    if not added:
        return result
    with tempfile.TemporaryDirectory(prefix="audit-compare-") as tmp:
        with phase("indexing A as a corpus", len(side_a.data), show) as tick:
            if side_a.folder or corpora is None:
                folder = side_a.folder or _materialise(side_a, os.path.join(tmp, "a"))
                index = api.index_paths([folder], "A", index_dir=os.path.join(tmp, "index"),
                                        workers=workers, progress=_files_done(tick))
            else:
                index = _cached_index(api, side_a, corpora, os.path.join(tmp, "a"), workers,
                                      _files_done(tick))
        with phase("sketching B's added files", len(added), show) as tick:
            sketches = _sketches(side_b, added, workers, tick)
        with phase("matching B's added files against A", len(sketches), show) as tick:
            report = api.match_sketches(sketches, [index], progress=tick)
    section = derivation(result, report)
    return replace(result, sections={**result.sections, "derivation": section})


def _files_done(tick):
    """The index builder's progress (files, fraction read, label) as a phase's tick."""
    return lambda done, fraction, label: tick(done, None, label)


def _cached_index(api, side: Side, corpora: str, scratch: str, workers: int, progress=None):
    """A git side's corpus index, built once per set of measured blobs and provenance code.
    Built in a private folder and renamed into place, so concurrent runs never share a
    half-built index; a corrupt one is rebuilt."""
    import shutil

    from audit.errors import CorpusIndexError

    h = hashlib.sha1(code_digest(("sketch",)).encode())
    for f in sorted(side.snapshot.files, key=lambda f: f.path):
        h.update(f"{f.sha1} {f.path}\0".encode())
    final = os.path.join(corpora, h.hexdigest()[:20])
    if os.path.isfile(os.path.join(final, "manifest.json")):
        try:
            return api.open_index(final)
        except CorpusIndexError:
            shutil.rmtree(final, ignore_errors=True)
    os.makedirs(corpora, exist_ok=True)
    build = tempfile.mkdtemp(prefix="build-", dir=corpora)
    try:
        api.index_paths([_materialise(side, scratch)], "A", index_dir=build, workers=workers,
                        progress=progress)
        try:
            os.rename(os.path.join(build, "A"), final)
        except OSError:
            pass  # another run stored the same index first
    finally:
        shutil.rmtree(build, ignore_errors=True)
    return api.open_index(final)


def _materialise(side: Side, folder: str) -> str:
    """Write a git side's measured files to a folder, so A can be indexed as a corpus."""
    for path, data in side.data.items():
        full = os.path.join(folder, *path.split("/"))
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as fh:
            fh.write(data)
    return folder


def _sketch_one(args):
    path, language, data, job = args
    source = source_from_bytes(path, language, data, job.max_file_size)
    if isinstance(source, SkippedFile):
        return None
    return analyse_source(source, job)[1].get("sketch")


def _sketches(side: Side, paths: list[str], workers: int, progress=None) -> list:
    """Provenance sketches of some of a side's files (the pipeline's "sketch" pass)."""
    import multiprocessing

    langs = {f.path: f.language for f in side.snapshot.files}
    job = Job(max(len(d) for d in side.data.values()) + 1, passes=("sketch",))
    args = [(p, langs[p], side.data[p], job) for p in sorted(paths)]
    out = []
    if workers > 1 and len(args) >= 8:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            for sketch in pool.imap(_sketch_one, args, chunksize=1):
                out.append(sketch)
                if progress is not None:
                    progress(len(out), len(args), "")
    else:
        for a in args:
            out.append(_sketch_one(a))
            if progress is not None:
                progress(len(out), len(args), a[0])
    return [s for s in out if s is not None]


def render_terminal(result: CompareResult, console) -> None:
    """The comparison summary: totals side by side, file and unit counts, hotspots."""
    from rich.table import Table

    a, b = result.totals
    console.print(f"A: {result.a}\nB: {result.b}", markup=False, highlight=False)
    table = Table(title="compare", title_justify="left")
    for col in ("measure", "A", "B", "delta"):
        table.add_column(col, justify="left" if col == "measure" else "right")
    for key in ("files", "sloc", "units", "functions", "functions_non_test", "cyclomatic_mean",
                "cyclomatic_p90", "cyclomatic_max", "poor_share", "findings"):
        table.add_row(key.replace("_", " "), _num(a[key]), _num(b[key]), _num(b[key] - a[key], sign=True))
    console.print(table)
    fc, uc = result.file_counts(), result.unit_counts()
    console.print("files:     " + ", ".join(f"{n:,} {s}" for s, n in fc.items()))
    console.print("functions: " + ", ".join(f"{n:,} {s}" for s, n in uc.items()))
    if result.tracked:
        counts = result.tracked["counts"]
        console.print("all tracked files: " + ", ".join(f"{n:,} {s}" for s, n in counts.items()))
        for row in result.tracked["not_measured"][:10]:
            console.print(f"  not measured: {row['status']} {row['path']}", markup=False)
    for folder, n in result.added_by_directory()[:5]:
        console.print(f"  added under {folder}/: {n} file(s)")
    _hotspot_lines(console, "new hotspots", result.hotspots_new)
    _hotspot_lines(console, "fixed hotspots", result.hotspots_fixed)
    console.print(f"findings: {len(result.findings_new):,} new, {len(result.findings_fixed):,} fixed")
    section = result.sections.get("derivation")
    if section is not None and hasattr(section, "render_terminal"):
        section.render_terminal(console)
    for w in result.warnings:
        console.print(f"warning: {w}", style="yellow")


def _hotspot_lines(console, title: str, units) -> None:
    if not units:
        return
    from audit.render.terminal import hanging

    console.print(f"{title}:")
    for u in units:
        hanging(console, f"cyclomatic {u.cyclomatic[0]:>4} -> {u.cyclomatic[1]:<4} "
                         f"{short_name(u.qualname)}  ({u.path}:{u.start_line})", "  ", "      ")


def _num(x, sign: bool = False) -> str:
    if isinstance(x, float):
        return f"{x:+.3f}" if sign else f"{x:.3f}"
    return f"{x:+,}" if sign else f"{x:,}"
