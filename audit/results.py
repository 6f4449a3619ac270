"""The frozen records every stage returns, and AuditResult with its format version.

Derived values (Halstead volume, maintainability index, rank, totals) are
properties computed from stored counts, never stored themselves, so records
stay consistent and roll up by addition.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from operator import attrgetter
from typing import Any

from radon.metrics import mi_compute

from audit.metrics.grades import cc_rank, mi_rank

# The JSON report's format (docs/json.md): bumped when a key is removed, renamed or changes
# meaning; 2: rules.debt and rules.files[] in hours, the rating a findings grade.
FORMAT_VERSION = 2


def _pickled_by_fields(cls):
    """Pickle a frozen slots dataclass as its constructor arguments.

    Such a class unpickles through a Python-level ``__setstate__`` that sets one
    field at a time; constructor arguments pickle and unpickle about twice as
    fast, and a scan sends every file's records (thousands of units and
    findings) from its workers.
    """
    values = attrgetter(*(f.name for f in fields(cls)))
    cls.__reduce__ = lambda self: (cls, values(self))
    return cls


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class LineCounts:
    """Physical lines split into source, comment-only and blank lines."""

    physical: int = 0
    source: int = 0
    comment: int = 0
    blank: int = 0

    def __add__(self, other: "LineCounts") -> "LineCounts":
        return LineCounts(self.physical + other.physical, self.source + other.source,
                          self.comment + other.comment, self.blank + other.blank)

    @property
    def comment_ratio(self) -> float:
        """Comment lines as a share of source plus comment lines."""
        denom = self.source + self.comment
        return self.comment / denom if denom else 0.0


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class Halstead:
    """Halstead's counts: distinct (n1, n2) and total (N1, N2) operators and operands."""

    n1: int = 0
    n2: int = 0
    N1: int = 0
    N2: int = 0

    @property
    def vocabulary(self) -> int:
        return self.n1 + self.n2

    @property
    def length(self) -> int:
        return self.N1 + self.N2

    @property
    def volume(self) -> float:
        return self.length * math.log2(self.vocabulary) if self.vocabulary > 1 else 0.0

    @property
    def difficulty(self) -> float:
        return (self.n1 / 2) * (self.N2 / self.n2) if self.n2 else 0.0

    @property
    def effort(self) -> float:
        return self.difficulty * self.volume


def maintainability_index(volume: float, cyclomatic: int, sloc: int, comment_ratio: float) -> float:
    """radon's maintainability index (0-100), computed by radon's own ``mi_compute``.

    Inputs: Halstead volume, cyclomatic complexity, source lines and the comment
    share in percent. Line counts come from the tree-sitter tree, not radon's raw
    analysis, which is super-linear on large data-table files.
    """
    return mi_compute(volume, cyclomatic, sloc, comment_ratio * 100)


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class UnitMetrics:
    """Measurements of one code unit (function, method, closure or class)."""

    lines: LineCounts
    cyclomatic: int
    cognitive: int
    nesting: int
    params: int
    exits: int
    halstead: Halstead

    @property
    def sloc(self) -> int:
        return self.lines.source

    @property
    def mi(self) -> float:
        return maintainability_index(self.halstead.volume, self.cyclomatic, self.sloc,
                                     self.lines.comment_ratio)


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class Unit:
    """A code unit with its qualified name, 1-based inclusive span and metrics."""

    qualname: str
    name: str
    kind: str  # function | method | closure | class
    start_line: int
    end_line: int
    metrics: UnitMetrics
    is_test: bool = False

    @property
    def rank(self) -> str:
        return cc_rank(self.metrics.cyclomatic)

    @property
    def is_function(self) -> bool:
        return self.kind != "class"


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class ErrorSpan:
    """A region the parser could not read; the file is still measured around it."""

    start_line: int
    end_line: int
    kind: str  # error | missing


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class Finding:
    """One rule hit: which rule, where, and what to do about it."""

    rule: str
    severity: str  # error | warning | info
    category: str
    path: str
    line: int
    end_line: int
    message: str
    column: int = 1
    end_column: int = 1
    unit: str = ""
    suppressed: str | None = None  # the reason given in an allow comment, when suppressed


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class FileResult:
    """Everything measured in one file."""

    path: str
    language: str
    sha1: str
    lines: LineCounts
    units: tuple[Unit, ...]
    halstead: Halstead
    cyclomatic: int  # total decision count of the file, as radon's total_complexity
    poor_sloc: int  # source lines inside function units ranked D or worse (nested once)
    parse_errors: tuple[ErrorSpan, ...] = ()
    warnings: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = ()
    is_test: bool = False

    @property
    def mi(self) -> float:
        """The file's maintainability index, independent of its length: the mean of its
        outermost functions' indexes weighted by their source lines (a whole-file MI
        falls to 0 for any long file, since it grows with log volume and log lines);
        files without functions get the whole-file formula."""
        outer, end, weight, total = [], 0, 0, 0.0
        for u in sorted(self.functions, key=lambda u: (u.start_line, -u.end_line)):
            if u.start_line > end:  # not nested in the previous outermost function
                outer.append(u)
                end = u.end_line
        for u in outer:
            sloc = max(u.metrics.sloc, 1)
            weight += sloc
            total += u.metrics.mi * sloc
        if weight:
            return total / weight
        return maintainability_index(self.halstead.volume, self.cyclomatic, self.lines.source,
                                     self.lines.comment_ratio)

    @property
    def mi_rank(self) -> str:
        return mi_rank(self.mi)

    @property
    def functions(self) -> tuple[Unit, ...]:
        return tuple(u for u in self.units if u.is_function)


@dataclass(frozen=True, slots=True)
class Totals:
    """Project roll-up, derived from the file records."""

    files: int
    skipped: int
    lines: LineCounts
    units: int
    functions: int
    poor_sloc: int
    ranks: dict[str, int]
    cyclomatic_mean: float
    parse_errors: int

    @property
    def poor_share(self) -> float:
        """Share of source lines that sit in functions ranked D or worse."""
        return self.poor_sloc / self.lines.source if self.lines.source else 0.0


@dataclass(frozen=True)
class AuditResult:
    """The result of one audit run: versioned, with the configuration echoed."""

    tool_version: str
    config: dict
    files: tuple[FileResult, ...]
    skipped: tuple[Any, ...]  # audit.walk.SkippedFile
    warnings: tuple[str, ...] = ()
    created: str = ""
    elapsed: float = 0.0
    sections: dict = field(default_factory=dict)  # later stages: "provenance", "clones", "rules"
    format_version: int = FORMAT_VERSION
    others: tuple[str, ...] = ()  # files found in no language the audit reads (docs, scripts, data)

    @property
    def totals(self) -> Totals:
        lines = sum((f.lines for f in self.files), LineCounts())
        funcs = [u for f in self.files for u in f.functions]
        ranks = {r: 0 for r in "ABCDEF"}
        for u in funcs:
            ranks[u.rank] += 1
        mean = sum(u.metrics.cyclomatic for u in funcs) / len(funcs) if funcs else 0.0
        return Totals(
            files=len(self.files), skipped=len(self.skipped), lines=lines,
            units=sum(len(f.units) for f in self.files), functions=len(funcs),
            poor_sloc=sum(f.poor_sloc for f in self.files), ranks=ranks,
            cyclomatic_mean=mean, parse_errors=sum(1 for f in self.files if f.parse_errors),
        )

    def hotspots(self, n: int = 10) -> list[tuple[FileResult, Unit]]:
        """The n most complex functions: by cyclomatic, then cognitive, then size."""
        pairs = [(f, u) for f in self.files for u in f.functions if not u.is_test]
        pairs.sort(key=lambda fu: (-fu[1].metrics.cyclomatic, -fu[1].metrics.cognitive,
                                   -fu[1].metrics.sloc, fu[0].path, fu[1].start_line))
        return pairs[:n]

    @property
    def findings(self) -> list[Finding]:
        return [x for f in self.files for x in f.findings]
