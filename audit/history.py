"""Trends over a repository's history: per-commit totals built from per-blob summaries.

Every (blob, path) pair is analysed once and cached (audit.cache). A commit's
totals are the sum of its files' summaries; sums are memoised per git tree, so
a commit that changed one file recomputes only the folders on that file's path
(a Merkle roll-up). Complexity percentiles come from summed histograms of
per-function cyclomatic values, so they stay exact.
"""

from __future__ import annotations

import fnmatch
from collections import Counter
from dataclasses import dataclass, field

from audit.compare import percentile
from audit.results import FileResult

TREND_KEYS = ("files", "sloc", "units", "functions", "cyclomatic_mean", "cyclomatic_p90",
              "cyclomatic_max", "findings_per_kloc")
JUMPS_PER_METRIC = 5


def summarise(fr: FileResult) -> dict:
    """What history needs of one file, small enough to read thousands per second."""
    cc = Counter(u.metrics.cyclomatic for u in fr.functions if not u.is_test)
    cats = Counter(x.category for x in fr.findings if x.suppressed is None)
    lc = fr.lines
    return {"lang": fr.language, "test": int(fr.is_test),
            "lines": [lc.physical, lc.source, lc.comment, lc.blank], "units": len(fr.units),
            "functions": sum(cc.values()), "cc": {str(k): v for k, v in sorted(cc.items())},
            "findings": dict(sorted(cats.items()))}


@dataclass
class Totals:
    """Additive totals of a set of files (a tree, or a whole commit)."""

    files: int = 0
    skipped: int = 0
    lines: list = field(default_factory=lambda: [0, 0, 0, 0])
    units: int = 0
    cc: Counter = field(default_factory=Counter)
    findings: Counter = field(default_factory=Counter)

    def add(self, other: "Totals") -> None:
        self.files += other.files
        self.skipped += other.skipped
        self.lines = [x + y for x, y in zip(self.lines, other.lines)]
        self.units += other.units
        self.cc.update(other.cc)
        self.findings.update(other.findings)

    @classmethod
    def of_summary(cls, s: dict) -> "Totals":
        if "skipped" in s:
            return cls(skipped=1)
        return cls(files=1, lines=list(s["lines"]), units=s["units"],
                   cc=Counter({int(k): v for k, v in s["cc"].items()}), findings=Counter(s["findings"]))

    def point(self) -> dict:
        """The trend values of these totals."""
        values = sorted(self.cc.elements()) if self.cc else []
        sloc = self.lines[1]
        n = len(values)
        findings = sum(self.findings.values())
        return {
            "files": self.files, "skipped": self.skipped, "sloc": sloc, "physical": self.lines[0],
            "units": self.units, "functions": n,
            "cyclomatic_mean": round(sum(values) / n, 3) if n else 0.0,
            "cyclomatic_p90": percentile(values, 0.9), "cyclomatic_max": values[-1] if n else 0,
            "findings": findings,
            "findings_per_kloc": round(findings * 1000 / sloc, 3) if sloc else 0.0,
            "findings_per_kloc_by_category": {c: round(k * 1000 / sloc, 3) if sloc else 0.0
                                              for c, k in sorted(self.findings.items())},
        }


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
    """For each metric, the n commits where it moved most against the previous point."""
    out = {}
    for key in keys:
        moves = []
        for prev, cur in zip(points, points[1:]):
            delta = cur[key] - prev[key]
            if delta:
                base = prev[key]
                moves.append({"commit": cur["commit"], "subject": cur["subject"], "from": base,
                              "to": cur[key], "delta": round(delta, 3),
                              "relative": round(delta / base, 4) if base else None})
        moves.sort(key=lambda m: (-abs(m["delta"]), m["commit"]))
        out[key] = moves[:n]
    return out
