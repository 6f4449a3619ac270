"""The fix-first list: functions ranked by what one refactor would buy.

One score per function from the numbers the scan already has, documented in
docs/metrics.md ("Fix first"):

    points = cognitive
           + 10 per nesting level beyond 3
           + 1 per 10 source lines
           + 10 per error, 3 per warning, 0.5 per info finding (unsuppressed)
    score  = points x (1 + similarity)   when the function is in a clone group
           = points                       otherwise

Cognitive complexity leads because it measures what a reader must hold in
mind; a flat dispatch (a long ``match`` of one-line arms) is big and has a
high cyclomatic number but little cognitive complexity, so it ranks below a
deeply nested function of fewer lines. A clone group multiplies the score:
one refactor fixes every member. Test code is left out unless asked for.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

NESTING_FREE = 3  # levels a reader takes in stride
NESTING_POINTS = 10
LINES_PER_POINT = 10
FINDING_POINTS = {"error": 10.0, "warning": 3.0, "info": 0.5}
FORMULA = ("points = cognitive + 10 x max(0, nesting - 3) + sloc / 10 + findings "
           "(error 10, warning 3, info 0.5 each, unsuppressed); score = points x (1 + similarity) "
           "for a member of a clone group, else points; test code left out by default")
KINDS = ("function", "method")  # closures and classes are counted inside their functions


@dataclass(frozen=True)
class FixItem:
    """One function of the list, with the parts of its score and the reasons shown."""

    path: str
    qualname: str
    start_line: int
    end_line: int
    score: float
    cognitive: int
    cyclomatic: int
    nesting: int
    sloc: int
    findings: dict  # severity -> count
    clone: dict | None  # {"qualname", "path", "start_line", "similarity", "size"} of the group
    reasons: tuple[str, ...]

    def to_dict(self) -> dict:
        return {"path": self.path, "qualname": self.qualname, "start_line": self.start_line,
                "end_line": self.end_line, "score": round(self.score, 1),
                "cognitive": self.cognitive, "cyclomatic": self.cyclomatic,
                "nesting": self.nesting, "sloc": self.sloc, "findings": self.findings,
                "clone": self.clone, "reasons": list(self.reasons)}


@dataclass(frozen=True)
class FixFirst:
    """The ranked list (``result.sections['fix_first']``)."""

    items: tuple[FixItem, ...]
    include_tests: bool = False

    def to_dict(self) -> dict:
        return {"formula": FORMULA, "include_tests": self.include_tests,
                "items": [i.to_dict() for i in self.items]}


def fix_first(result, clones=None, include_tests: bool = False, limit: int = 100) -> FixFirst:
    """Rank the result's functions; ``clones`` is the CloneReport, when clones were looked for."""
    membership = _clone_membership(clones)
    scored = []
    for f in result.files:
        if f.is_test and not include_tests:
            continue
        counter = _FindingCounter(f.findings)
        for u in f.units:
            if u.kind in KINDS and (include_tests or not u.is_test):
                found = counter.between(u.start_line, u.end_line)
                clone = membership.get((f.path, u.start_line, u.qualname))
                scored.append((-_score(u.metrics, found, clone), f.path, u.start_line, u, found, clone))
    scored.sort(key=lambda row: row[:3])
    # reasons are worded only for the items kept (a scan of CCC scores 5,000 functions)
    return FixFirst(tuple(_item(path, u, -neg, found, clone)
                          for neg, path, _, u, found, clone in scored[:limit]), include_tests)


def _score(m, findings: dict, clone: dict | None) -> float:
    score = points(m.cognitive, m.nesting, m.sloc, findings)
    return score * (1 + clone["similarity"]) if clone is not None else score


def points(cognitive: int, nesting: int, sloc: int, findings: dict) -> float:
    """The score before the clone factor (see the module docstring)."""
    return (cognitive + NESTING_POINTS * max(0, nesting - NESTING_FREE) + sloc / LINES_PER_POINT
            + sum(FINDING_POINTS.get(s, 0.0) * n for s, n in findings.items()))


def _item(path: str, u, score: float, findings: dict, clone: dict | None) -> FixItem:
    m = u.metrics
    return FixItem(path, u.qualname, u.start_line, u.end_line, score, m.cognitive, m.cyclomatic,
                   m.nesting, m.sloc, findings, clone, _reasons(m, findings, clone))


def _reasons(m, findings: dict, clone: dict | None) -> tuple[str, ...]:
    out = [f"cognitive {m.cognitive}"]
    if m.nesting > NESTING_FREE:
        out.append(f"nesting {m.nesting}")
    if m.sloc >= 100:
        out.append(f"{m.sloc:,} lines")
    counted = {s: n for s, n in findings.items() if n}
    if counted:
        parts = ", ".join(f"{n:,} {s}" for s, n in sorted(counted.items(), key=_severity_order))
        out.append(f"findings: {parts}")
    if clone is not None:
        out.append(f"{clone['similarity']:.2f}-similar clone of {clone['qualname']} "
                   f"({clone['path']}:{clone['start_line']}), group of {clone['size']}")
    return tuple(out)


def _severity_order(item) -> int:
    return list(FINDING_POINTS).index(item[0]) if item[0] in FINDING_POINTS else 9


class _FindingCounter:
    """Unsuppressed findings of one file by line, counted per severity over a span."""

    def __init__(self, findings):
        rows = sorted((x.line, x.severity) for x in findings if x.suppressed is None)
        self.lines = [line for line, _ in rows]
        self.severities = [s for _, s in rows]

    def between(self, first: int, last: int) -> dict:
        lo = bisect.bisect_left(self.lines, first)
        hi = bisect.bisect_right(self.lines, last)
        counts: dict[str, int] = {}
        for s in self.severities[lo:hi]:
            counts[s] = counts.get(s, 0) + 1
        return counts


def _clone_membership(clones) -> dict:
    """(path, start line, qualname) -> the closest other member of its clone group."""
    out: dict = {}
    if clones is None:
        return out
    for g in clones.groups:
        best: dict[int, tuple[float, int]] = {}
        for i, j, sim in g.pairs:
            for a, b in ((i, j), (j, i)):
                if sim > best.get(a, (-1.0, 0))[0]:
                    best[a] = (sim, b)
        mean = g.similarity  # a property summing the pairs: read once per group, not per member
        for index, member in enumerate(g.members):
            sim, other = best.get(index) or (mean, 0 if index else 1)
            o = g.members[other]
            out[(member.path, member.start_line, member.qualname)] = {
                "qualname": o.qualname, "path": o.path, "start_line": o.start_line,
                "similarity": round(sim, 4), "size": g.size}
    return out
