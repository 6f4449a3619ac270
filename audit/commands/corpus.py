"""`audit corpus`: build, list, inspect and remove corpus indexes for provenance matching."""

from __future__ import annotations

import json
import os
import shutil
import time

from audit.commands import common_options
from audit.errors import EXIT_OK, CorpusIndexError, UsageError


def add_parser(sub) -> None:
    p = sub.add_parser("corpus", help="build and manage corpus indexes for provenance matching",
                       description="Index C, C++, Rust and Python sources (folders, git checkouts, "
                                   ".tar.gz/.tar.xz/.tar.bz2/.zip archives read in place) so "
                                   "`audit scan --corpus NAME` can match against them.")
    p.add_argument("--index-dir", metavar="DIR", help="the folder that holds named indexes, each at DIR/NAME (default: $AUDIT_INDEX_DIR or the user cache)")
    common_options(p)
    verbs = p.add_subparsers(dest="verb", metavar="VERB")
    b = verbs.add_parser("build", help="index sources as corpus NAME (gcc-12 and binutils are "
                                       "found under /usr/src when no SOURCE is given)")
    b.add_argument("name", metavar="NAME", help="the index's name (letters, digits, . _ + -; never a "
                                                 "path): it is written to INDEX_DIR/NAME")
    b.add_argument("sources", nargs="*", metavar="SOURCE")
    b.add_argument("--exclude", action="append", default=[], metavar="GLOB",
                   help="leave out archive members or files whose path matches (repeatable)")
    b.add_argument("-j", "--jobs", type=int, default=0, metavar="N", help="worker processes")
    b.add_argument("--cluster", metavar="ADDRESS",
                   help="build the shards on a Dask cluster: a scheduler (tcp://HOST:PORT) or local[:N] "
                        "for N worker processes here; INDEX_DIR must be on storage every worker reaches "
                        "(needs the extra: pip install 'agent-code-audit[cluster]')")
    b.add_argument("--license", default="", metavar="SPDX-EXPRESSION",
                   help="the corpus licence (e.g. MIT, GPL-3.0-or-later WITH GCC-exception-3.1), "
                        "cited for matched files that declare no SPDX-License-Identifier")
    b.add_argument("--revs", metavar="REVSPEC",
                   help="index every distinct file of the revisions `git rev-list REVSPEC` names in "
                        "the one SOURCE, a git repository (HEAD: the whole history; A..B; REV^!: REV "
                        "alone); each file content once, with the revisions that hold it")
    b.add_argument("--every", type=int, default=1, metavar="N",
                   help="with --revs: only every Nth revision, oldest first (the first and last always)")
    b.add_argument("--releases", action="store_true",
                   help="the SOURCEs are releases of one project, oldest first (e.g. gcc-11 and gcc-12 "
                        "tarballs): each file content once, with the releases that hold it")
    ls = verbs.add_parser("list", help="list the indexes")
    i = verbs.add_parser("info", help="show an index's manifest summary")
    i.add_argument("name", metavar="NAME_OR_DIR")
    i.add_argument("--json", action="store_true", help="print the summary as JSON")
    r = verbs.add_parser("remove", help="delete an index")
    r.add_argument("name", metavar="NAME", help="an index name in INDEX_DIR (never a path)")
    for v in (b, ls, i, r):  # accepted after the verb too
        v.add_argument("--index-dir", metavar="DIR", default=argparse_suppress(),
                       help="the folder that holds named indexes, each at DIR/NAME (default: $AUDIT_INDEX_DIR or the user cache)")
        v.add_argument("--no-color", action="store_true", default=argparse_suppress())
    p.set_defaults(run=run)


def argparse_suppress():
    import argparse

    return argparse.SUPPRESS


def run(args) -> int:
    from audit.provenance import api

    index_dir = getattr(args, "index_dir", None) or api.default_index_dir()
    verb = getattr(args, "verb", None)
    if verb is None:
        raise UsageError("audit corpus needs a verb", "use one of: build, list, info, remove")
    return {"build": _build, "list": _list, "info": _info, "remove": _remove}[verb](args, index_dir)


def _build(args, index_dir: str) -> int:
    from audit.provenance.index import check_name

    check_name(args.name)
    from audit.provenance.licence import check_expression

    check_expression(args.license)
    sources = args.sources or [args.name]
    os.makedirs(index_dir, exist_ok=True)
    started = time.perf_counter()
    from audit.provenance.build import build_index

    if args.cluster:
        from audit.provenance.cluster import check_address

        check_address(args.cluster)
    with _progress(args) as tick:
        ix = build_index(args.name, sources, index_dir, args.jobs, tick, tuple(args.exclude),
                         license=args.license, revs=args.revs, every=args.every,
                         releases=args.releases, cluster=args.cluster)
    c = ix.manifest["counts"]
    wall = time.perf_counter() - started
    print(f"indexed {c['files']:,} files ({c['lines']:,} lines, {c['entries']:,} units and windows) "
          f"as {args.name} in {wall:.1f} s -> {ix.path}")
    if ix.versioned:
        print(f"  {_versions_line(ix.manifest['versions'], c)}")
    return EXIT_OK


class _progress:
    """A rich progress bar with files/s and an ETA from how far through the sources we are."""

    def __init__(self, args):
        self.quiet = False
        from rich.console import Console

        self.console = Console(stderr=True, no_color=getattr(args, "no_color", False))
        self.cluster = getattr(args, "cluster", None)
        self.quiet = not self.console.is_terminal

    def __enter__(self):
        if self.quiet:
            return _log_ticks() if getattr(self, "cluster", None) else None
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        self.progress = Progress(TextColumn("indexing"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                                 TextColumn("{task.fields[files]} files, {task.fields[rate]} files/s"),
                                 TimeRemainingColumn(), TextColumn("{task.fields[label]}"),
                                 console=self.console, transient=True)
        self.progress.__enter__()
        self.task = self.progress.add_task("build", total=1000, files=0, rate="-", label="")
        self.t0 = time.perf_counter()

        def tick(done: int, fraction: float, label: str) -> None:
            rate = done / max(time.perf_counter() - self.t0, 1e-6)
            self.progress.update(self.task, completed=int(fraction * 1000), files=f"{done:,}",
                                 rate=f"{rate:.0f}", label=label[-60:])
        return tick

    def __exit__(self, *exc):
        if not self.quiet:
            self.progress.__exit__(*exc)
        return False


def _log_ticks(every: float = 30.0):
    """Progress as a plain line every ``every`` seconds, for logs of long cluster builds."""
    from audit.provenance.cluster import log_line

    t0, last = time.perf_counter(), [time.perf_counter()]

    def tick(done: int, fraction: float, label: str) -> None:
        now = time.perf_counter()
        if now - last[0] >= every:
            last[0] = now
            eta = (now - t0) * (1 - fraction) / fraction if fraction > 0 else float("nan")
            log_line(f"indexing: {done:,} files, {label}, {fraction:.0%} done, ETA {eta:,.0f} s")
    return tick


def _names(index_dir: str) -> list[str]:
    if not os.path.isdir(index_dir):
        return []
    return sorted(n for n in os.listdir(index_dir)
                  if os.path.isfile(os.path.join(index_dir, n, "manifest.json")))


def _list(args, index_dir: str) -> int:
    from audit.provenance.index import read_manifest

    names = _names(index_dir)
    if not names:
        print(f"no corpus indexes in {index_dir} (build one: audit corpus build NAME SOURCE...)")
        return EXIT_OK
    for n in names:
        try:
            m = read_manifest(os.path.join(index_dir, n))
            c = m["counts"]
            print(f"{n:24s} {c['files']:>8,} files {c['lines']:>11,} lines  built {m['created']}")
        except CorpusIndexError as exc:
            print(f"{n:24s} unusable: {exc.message}")
    return EXIT_OK


def _info(args, index_dir: str) -> int:
    from audit.provenance import api

    ix = api.open_index(args.name, index_dir)
    m = ix.manifest
    info = {**ix.info(), "shards": m.get("shards"), "digest": m.get("digest"),
            "source_ids": m.get("source_ids") or [], "license": m.get("license", ""),
            "build": m.get("build") or {}}
    if args.json:
        print(json.dumps(info, indent=1, sort_keys=True))
        return EXIT_OK
    c = info["counts"]
    print(f"{info['name']}: {c['files']:,} files, {c['lines']:,} lines, {c['entries']:,} units/windows, "
          f"{info['bytes'] / 1e6:.1f} MB at {info['path']}")
    print(f"  sources: {', '.join(info['sources'])}")
    for sid in info["source_ids"]:  # what a determination cites: checksum, commit or SWHID
        print(f"    {_source_line(sid)}")
    if info["versions"] and info["versions"]["kind"] != "sources":
        print(f"  {_versions_line(info['versions'], c)}")
    print(f"  built {info['created']} by audit {info['tool_version']}; parse error spans {c['error_spans']:,}")
    print(f"  content digest {info['digest']} (over {info['shards']} shards)")
    p = info["params"]
    print(f"  minhash: datasketch {p['datasketch']} {p['scheme']} num_perm={p['num_perm']} seed={p['seed']} "
          f"bands={p['bands']}x{p['rows']}; normaliser v{p['normaliser']}")
    print(f"  shingles {p['shingle']}; fingerprint k-grams {p['kgram']}; winnow windows {p['winnow']}")
    return EXIT_OK


def _source_line(sid: dict) -> str:
    name = os.path.basename(str(sid.get("path", "")).rstrip("/")) or "?"
    parts = [f"{k} {sid[k]}" for k in ("package", "package_version", "version", "sha256", "commit", "swhid",
                                       "tree_swhid") if sid.get(k)]
    return f"{name}: " + ("; ".join(parts) if parts else sid.get("kind", "unrecorded"))


def _versions_line(v: dict, counts: dict) -> str:
    """One line on a versioned corpus: how many versions, blobs and documents."""
    if v["kind"] == "git":
        every = f", every {v['every']}" if v["every"] != 1 else ""
        what = (f"{v['count']:,} revisions of {v['revisions_in_range']:,} in --revs {v['revspec']}{every} "
                f"(repository HEAD {v['head'][:12]})")
    else:
        what = f"{v['count']:,} releases"
    return (f"versions: {what}; {v['occurrences']:,} code files over all versions, "
            f"{v['blobs']:,} distinct, {counts['documents']:,} paths")


def _remove(args, index_dir: str) -> int:
    from audit.provenance import api

    from audit.provenance.index import check_name, is_index

    from audit.provenance.lock import index_lock

    path = os.path.join(index_dir, check_name(args.name))
    if os.path.islink(path) or not is_index(path):
        raise CorpusIndexError(f"no corpus index called {args.name!r} in {index_dir}",
                               "see `audit corpus list`; remove takes a name, never a path")
    with index_lock(index_dir, args.name):  # never under a build of the same name
        shutil.rmtree(path)
        if os.path.isfile(os.path.join(path + ".partial", "state.json")):
            shutil.rmtree(path + ".partial", ignore_errors=True)
    print(f"removed {path}")
    return EXIT_OK
