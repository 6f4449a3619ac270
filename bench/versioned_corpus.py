"""Versioned corpus: build an index from a repository's history and match a port against it.

Run on demand (not by pytest). Inputs come from arguments or the data folder
(--data DIR, else $AUDIT_BENCH_DATA, else ~/audit-bench-data):
    DATA/rui314+chibicc.git     a clone of rui314/chibicc (bare or not; 316 commits)
    DATA/sky87+chibicc-rs       sky87/chibicc-rs unpacked (dev pair D1)

    python bench/versioned_corpus.py                       # --revs HEAD: the whole history
    python bench/versioned_corpus.py --every 10            # every 10th revision
    python bench/versioned_corpus.py --revs 'HEAD^!'       # HEAD alone, for comparison
    python bench/versioned_corpus.py --per-blob            # ablation: every blob its own document
    python bench/versioned_corpus.py --reuse --top-candidates 50   # match again, wider candidate lists

Prints build wall and CPU time, files, distinct blobs, versions and documents, then
the target's verdict and score against that one index and its best-matching files
with the revisions that hold them. --per-blob builds the same index with document
frequency counted per blob and no merging of identical entries in the LSH table
(what a history would give without treating versions of one path as one document).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(BENCH))
sys.path.insert(0, BENCH)

from benchdata import data_path  # noqa: E402


def cpu_seconds() -> float:
    """User + system time of this process and its reaped children (the pool workers)."""
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


from audit.provenance import versions  # noqa: E402


def per_blob() -> None:
    """Ablation: each blob its own document, every entry in the LSH table."""
    import numpy as np

    from audit.provenance.index import CorpusIndex

    versions.peak_document_frequency = lambda dfh, ndf, offset, runs: np.unique(dfh, return_counts=True)
    versions.representatives = lambda parts, entry_doc: np.ones(len(entry_doc), dtype=bool)
    CorpusIndex.n_docs = property(lambda self: self.n_files)


def build(args, name: str):
    from audit.provenance.build import build_index

    t0, c0 = time.perf_counter(), cpu_seconds()
    ix = build_index(name, [args.repo], args.index_dir, args.jobs, revs=args.revs, every=args.every)
    wall, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    m = ix.manifest
    size = sum(os.path.getsize(os.path.join(ix.path, f)) for f in os.listdir(ix.path))
    return ix, {"wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "files": m["counts"]["files"],
                "lines": m["counts"]["lines"], "entries": m["counts"]["entries"],
                "documents": m["counts"]["documents"], "versions": m["versions"], "bytes": size,
                "load_1min": round(os.getloadavg()[0], 1)}


def match(args, ix) -> dict:
    from audit.provenance import api
    from audit.provenance.match import MatchConfig

    t0 = time.perf_counter()
    result, payloads = api.scan_tree(args.target, args.jobs)
    report = api.match_result(result, payloads, [ix], MatchConfig(top_candidates=args.top_candidates),
                              c_files=not args.rust_python_only)
    top = []
    for f in sorted(report.files, key=lambda f: -f.score)[:args.top]:
        if f.matches:
            m = f.matches[0]
            r = m.revisions or {}
            top.append({"path": f.path, "verdict": f.verdict, "score": round(f.score, 4),
                        "corpus_path": m.corpus_path,
                        "first": (r.get("first") or {}).get("subject"),
                        "last": (r.get("last") or {}).get("subject"), "count": r.get("count")})
    return {"verdict": report.verdict, "score": round(report.score, 4), "top_corpus": report.top_corpus,
            "wall_s": round(time.perf_counter() - t0, 1), "files": top,
            "first_revision": positions(args, report),
            "best_versions": report.to_dict()["corpora"][0].get("best_versions"),
            "identical_files": identical(args, ix)}


def identical(args, ix) -> dict:
    """The target's files whose bytes are a corpus blob: how many, and how many of those the
    repository's HEAD still holds."""
    from audit.walk import git_blob_sha1

    blobs = {row.sha1: i for i, row in enumerate(ix.files)}
    last = len(ix.versions) - 1
    same = at_head = 0
    for folder, _, names in os.walk(args.target):
        for n in names:
            with open(os.path.join(folder, n), "rb") as fh:
                f = blobs.get(git_blob_sha1(fh.read()))
            if f is not None:
                same += 1
                runs = versions.file_runs(ix, f)
                at_head += int(runs[-1, 1] == last)
    return {"files": same, "held_at_head": at_head}


def positions(args, report) -> list[int]:
    """Where in ``git rev-list REVS`` (1 = oldest) each match summary's corpus file first
    appears (in the revisions indexed): does the port follow early or late versions?"""
    from audit.gitsource import GitSource

    with GitSource(args.repo) as src:
        pos = {c.sha: i + 1 for i, c in enumerate(src.commits(args.revs))}
    return sorted(pos[m.revisions["first"]["commit"]] for f in report.files for m in f.matches
                  if m.revisions and "commit" in m.revisions["first"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", help="data folder (default $AUDIT_BENCH_DATA or ~/audit-bench-data)")
    ap.add_argument("--repo", help="the git repository (default DATA/rui314+chibicc.git)")
    ap.add_argument("--target", help="the audited tree (default DATA/sky87+chibicc-rs)")
    ap.add_argument("--revs", default="HEAD")
    ap.add_argument("--every", type=int, default=1)
    ap.add_argument("--per-blob", action="store_true", help="ablation: each blob its own document")
    ap.add_argument("-j", "--jobs", type=int, default=2)
    ap.add_argument("--top", type=int, default=5)
    ap.add_argument("--top-candidates", type=int, default=12,
                    help="MatchConfig.top_candidates (diagnostic: how much near-duplicate versions crowd it)")
    ap.add_argument("--reuse", action="store_true", help="match against the index built before")
    ap.add_argument("--rust-python-only", action="store_true",
                    help="match only the target's Rust and Python files (not its own C/C++ files)")
    ap.add_argument("--index-dir", help="default DATA/idx/versions")
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args()
    args.repo = args.repo or data_path("rui314+chibicc.git", given=args.data)
    args.target = args.target or data_path("sky87+chibicc-rs", given=args.data)
    args.index_dir = args.index_dir or data_path("idx", "versions", given=args.data)
    os.makedirs(args.index_dir, exist_ok=True)
    if args.per_blob:
        per_blob()
    revs = "".join(ch if ch.isalnum() or ch in "._+-" else "_" for ch in args.revs)
    name = f"hist-{revs}-every{args.every}" + ("-perblob" if args.per_blob else "")
    if args.reuse:
        from audit.provenance.index import CorpusIndex

        ix, built = CorpusIndex.load(os.path.join(args.index_dir, name)), {"reused": True}
    else:
        ix, built = build(args, name)
    out = {"command": sys.argv[1:], "build": built, "match": match(args, ix)}
    print(json.dumps(out, indent=1))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main()
