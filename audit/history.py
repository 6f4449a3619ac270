"""Trends over a repository's history: per-commit totals built from per-blob summaries.

Every (blob, path) pair is analysed once and cached (audit.cache). A commit's
totals are the sum of its files' summaries; sums are memoised per git tree, so
a commit that changed one file recomputes only the folders on that file's path
(a Merkle roll-up). Complexity percentiles come from summed histograms of
per-function cyclomatic values, so they stay exact.
"""

from __future__ import annotations

import fnmatch
import itertools
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC

from audit.results import FileResult

TREND_KEYS = ("files", "sloc", "units", "functions", "functions_non_test", "cyclomatic_mean",
              "cyclomatic_p90", "cyclomatic_max", "findings_per_kloc")
JUMPS_PER_METRIC = 5


def summarise(fr: FileResult) -> dict:
    """What history needs of one file, small enough to read thousands per second.

    Changing what this returns needs a new cache.SCHEMA_VERSION: summaries are cached."""
    functions = fr.functions
    cc = Counter(u.metrics.cyclomatic for u in functions if not u.is_test)
    cats = Counter(x.category for x in fr.findings if x.suppressed is None)
    lc = fr.lines
    return {"lang": fr.language, "test": int(fr.is_test),
            "lines": [lc.physical, lc.source, lc.comment, lc.blank], "units": len(fr.units),
            "functions": len(functions), "test_functions": len(functions) - sum(cc.values()),
            "cc": {str(k): v for k, v in sorted(cc.items())},
            "findings": dict(sorted(cats.items()))}


@dataclass
class Totals:
    """Additive totals of a set of files (a tree, or a whole commit)."""

    files: int = 0
    skipped: int = 0
    lines: list = field(default_factory=lambda: [0, 0, 0, 0])
    units: int = 0
    test_functions: int = 0
    cc: Counter = field(default_factory=Counter)
    findings: Counter = field(default_factory=Counter)

    def add(self, other: Totals) -> None:
        self.files += other.files
        self.skipped += other.skipped
        self.lines = [x + y for x, y in zip(self.lines, other.lines)]
        self.units += other.units
        self.test_functions += other.test_functions
        self.cc.update(other.cc)
        self.findings.update(other.findings)

    @classmethod
    def of_summary(cls, s: dict) -> Totals:
        if "skipped" in s:
            return cls(skipped=1)
        return cls(files=1, lines=list(s["lines"]), units=s["units"],
                   test_functions=s["test_functions"], cc=Counter({int(k): v for k, v in s["cc"].items()}), findings=Counter(s["findings"]))

    def point(self) -> dict:
        """The trend values of these totals. ``functions`` counts every function, method and
        closure, tests included, as `audit scan` does; complexity is over the
        ``functions_non_test``."""
        n = sum(self.cc.values())
        sloc = self.lines[1]
        findings = sum(self.findings.values())
        return {
            "files": self.files, "skipped": self.skipped, "sloc": sloc, "physical": self.lines[0],
            "units": self.units, "functions": n + self.test_functions, "functions_non_test": n,
            "cyclomatic_mean": round(sum(k * v for k, v in self.cc.items()) / n, 3) if n else 0.0,
            "cyclomatic_p90": histogram_percentile(self.cc, 0.9),
            "cyclomatic_max": max(self.cc) if n else 0,
            "findings": findings,
            "findings_per_kloc": round(findings * 1000 / sloc, 3) if sloc else 0.0,
            "findings_per_kloc_by_category": {c: round(k * 1000 / sloc, 3) if sloc else 0.0
                                              for c, k in sorted(self.findings.items())},
        }


def histogram_percentile(hist: Counter, q: float) -> int:
    """Nearest-rank percentile of the values a histogram (value -> count) describes."""
    n = sum(hist.values())
    if not n:
        return 0
    rank, seen = max(1, -(-n * q // 1)), 0
    for value in sorted(hist):
        seen += hist[value]
        if seen >= rank:
            return value
    return max(hist)


def bookkeeping(paths: list[str], globs: tuple[str, ...]) -> bool:
    """True when every changed path matches one of the globs (e.g. task-lock files)."""
    return bool(paths) and bool(globs) and all(
        any(fnmatch.fnmatchcase(p, g) for g in globs) for p in paths)


def select(commits: list, every: int = 0, max_commits: int = 0) -> list:
    """Every Nth commit, or at most N spread evenly; the last commit is always kept."""
    if not commits:
        return []
    if every > 1:
        chosen = commits[::every]
    elif max_commits and len(commits) > max_commits:
        step = (len(commits) - 1) / max(1, max_commits - 1)
        chosen = [commits[round(i * step)] for i in range(max_commits)]
    else:
        return list(commits)
    if chosen[-1] is not commits[-1]:
        chosen.append(commits[-1])
    return chosen


def jumps(points: list[dict], keys=TREND_KEYS, n: int = JUMPS_PER_METRIC) -> dict[str, list[dict]]:
    """For each metric, the n commits where it moved most against the previous point
    that has it (duplication share is measured on a sample of commits)."""
    out = {}
    for key in keys:
        moves = []
        have = [p for p in points if p.get(key) is not None]
        for prev, cur in itertools.pairwise(have):
            delta = cur[key] - prev[key]
            if delta:
                base = prev[key]
                moves.append({"commit": cur["commit"], "subject": cur["subject"], "from": base,
                              "to": cur[key], "delta": round(delta, 3),
                              "relative": round(delta / base, 4) if base else None})
        moves.sort(key=lambda m: (-abs(m["delta"]), m["commit"]))
        out[key] = moves[:n]
    return out


class TreeTotals:
    """Totals per git tree, memoised by (tree id, path prefix): a Merkle roll-up."""

    def __init__(self, source, keep, leaves: dict[tuple[str, str], Totals]):
        self.source = source
        self.keep = keep
        self.leaves = leaves  # (blob, path) -> Totals of that file
        self.memo: dict[tuple[str, str], Totals] = {}

    def of(self, tree: str, prefix: str = "") -> Totals:
        hit = self.memo.get((tree, prefix))
        if hit is not None:
            return hit
        total = Totals()
        for name, oid, is_tree in self.source.subtrees(tree):
            path = prefix + name
            if is_tree:
                if self.keep(path + "/"):
                    total.add(self.of(oid, path + "/"))
            elif self.keep(path):
                leaf = self.leaves.get((oid, path))
                if leaf is not None:
                    total.add(leaf)
        self.memo[(tree, prefix)] = total
        return total


FORMAT_VERSION = 1


@dataclass(frozen=True)
class HistoryOptions:
    """What `audit history` walks and how."""

    repo: str
    rev_range: str = "HEAD"
    every: int = 0
    max_commits: int = 0
    exclude_commit_paths: tuple[str, ...] = ()
    workers: int = 1
    clone_samples: int = 16  # commits where duplication share is measured (0: never)
    last: int = 0  # only the last N commits of the range (0: all)


@dataclass
class HistoryResult:
    """Per-commit trend points, the commits where each metric jumped, and run statistics."""

    repo: str
    config: dict
    points: list[dict]
    jumps: dict[str, list[dict]]
    stats: dict
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"format_version": FORMAT_VERSION, "repo": self.repo, "config": self.config,
                "stats": self.stats, "warnings": self.warnings, "jumps": self.jumps,
                "points": self.points}


def walk_history(opts: HistoryOptions, keep, job, cache, progress=None,
                 show: bool = False) -> HistoryResult:
    """Analyse every selected commit (each (blob, path) once, through the cache) and roll up.

    ``progress(done, total, path)`` follows the analysis of files; ``show`` draws progress
    of every phase (audit.render.progress) instead.
    """
    import time

    from audit.cache import BlobTask, fill
    from audit.gitsource import GitSource
    from audit.lang import language_for
    from audit.render.progress import phase

    started = time.perf_counter()
    with GitSource(opts.repo) as src:
        commits = src.commits(opts.rev_range)
        kept, excluded = _drop_bookkeeping(src, commits, opts.exclude_commit_paths)
        chosen = select(kept[-opts.last:] if opts.last else kept, opts.every, opts.max_commits)
        keys = {}
        for c in chosen:
            for path, blob in src.tree_files(c.tree.encode(), "", keep):
                keys[(blob, path)] = None
        tasks = [BlobTask(opts.repo, b, p, language_for(p).name) for b, p in keys]
        listed = time.perf_counter()
        with phase(f"analysing files of {len(chosen):,} commits", len(tasks), show) as tick:
            analysed = fill(cache, tasks, job, summarise, opts.workers, tick if show else progress)
        summaries = cache.summaries(keys)
        leaves = {k: Totals.of_summary(s) for k, s in summaries.items()}
        roll = TreeTotals(src, keep, leaves)
        points = []
        with phase("adding up each commit", len(chosen), show) as tick:
            for c in chosen:
                points.append(_point(c, roll.of(c.tree)))
                tick(len(points), None, c.sha[:8])
        rolled = time.perf_counter()
        if "clones" in job.passes and opts.clone_samples:
            with phase("duplication at sampled commits", min(opts.clone_samples, len(chosen)),
                       show) as tick:
                add_duplication(points, chosen, src, keep, cache, job, opts.clone_samples, tick)
    stats = {"commits_in_range": len(commits), "commits_excluded": excluded,
             "commits_analysed": len(chosen), "blobs": len(keys), "blobs_analysed": analysed,
             "blobs_from_cache": len(keys) - analysed, "cache_bytes": cache.size_bytes(),
             "cache_path": cache.path, "list_seconds": round(listed - started, 2),
             "duplication_seconds": round(time.perf_counter() - rolled, 2),
             "seconds": round(time.perf_counter() - started, 2)}
    config = {"rev_range": opts.rev_range, "every": opts.every, "max_commits": opts.max_commits,
              "last": opts.last,
              "exclude_commit_paths": list(opts.exclude_commit_paths), "passes": list(job.passes),
              "python_engine": job.python_engine, "clone_samples": opts.clone_samples}
    keys = TREND_KEYS + (("duplication_share",) if any("duplication_share" in p for p in points) else ())
    return HistoryResult(opts.repo, config, points, jumps(points, keys), stats)


def _drop_bookkeeping(src, commits: list, globs: tuple[str, ...]) -> tuple[list, int]:
    if not globs:
        return commits, 0
    kept = [c for c in commits if not bookkeeping(src.changed_paths(c), globs)]
    return kept, len(commits) - len(kept)


def _point(commit, totals: Totals) -> dict:
    from datetime import datetime

    when = datetime.fromtimestamp(commit.time, UTC).isoformat(timespec="seconds")
    return {"commit": commit.sha, "time": when, "subject": commit.subject,
            "merge": len(commit.parents) > 1, **totals.point()}


def add_duplication(points: list[dict], commits: list, src, keep, cache, job, samples: int,
                    progress=None) -> None:
    """Duplication share (audit.clones) at up to ``samples`` evenly spread commits, from the
    cached clone sketches; the other points get None. Each share is cached under the digest
    of the commit's measured (blob, path) set, so a warm run groups nothing."""
    from audit.clones import CloneParams, find_clones

    params = CloneParams(**job.options.get("clones", {}))
    picked = {id(c) for c in select(commits, max_commits=samples)}
    done = 0
    prints: dict = {}
    for point, commit in zip(points, commits):
        if id(commit) not in picked:
            point["duplication_share"] = None
            continue
        keys = [(blob, path) for path, blob in src.tree_files(commit.tree.encode(), "", keep)]
        key = "duplication:" + _key_set_digest(keys)
        share = cache.derived(key)
        if share is None:
            prints.update(cache.payloads([k for k in keys if k not in prints], "clones"))
            units = [u for k in keys for u in prints.get(k, ())]
            share = round(find_clones(units, params, point["sloc"]).duplication_share, 4)
            cache.put_derived(key, share)
        point["duplication_share"] = share
        done += 1
        if progress is not None:
            progress(done, None, commit.sha[:8])


def _key_set_digest(keys: list[tuple[str, str]]) -> str:
    import hashlib

    h = hashlib.sha1()
    for blob, path in sorted(keys):
        h.update(f"{blob} {path}\0".encode())
    return h.hexdigest()
