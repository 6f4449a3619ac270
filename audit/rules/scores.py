"""Rule scores: findings per thousand source lines by category, the debt and the findings grade.

Debt follows the SQALE method for the findings a reviewer must act on: each
unsuppressed error or warning costs its rule's ``effort`` in minutes, or by
severity (error 30, warning 10). Informational findings are advice: their
minutes (rule effort or 2 each) are reported apart, as advisory hours, and
count in neither the debt nor the grade, so thousands of info notes cannot
outweigh a few hundred warnings. The debt ratio is debt minutes over the time
to write the code (30 minutes per source line, SQALE's 0.06 days). Debt is
shown in hours everywhere.

The findings grade is the density of errors and warnings per 1,000 source
lines, in the A-F letters of the other grades:

    A < 1   B < 3   C < 6   D < 10   E < 20   F 20 or more

(a ratio over the time to write the code puts almost every tree in A, since
idiom fixes are minutes and writing a line is half an hour; the density ranks
trees the way a reviewer reads them).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

SEVERITY_EFFORT = {"error": 30, "warning": 10, "info": 2}
ACTIONABLE = frozenset({"error", "warning"})
MINUTES_PER_LINE = 30
GRADE_BANDS = ((1.0, "A"), (3.0, "B"), (6.0, "C"), (10.0, "D"), (20.0, "E"))


def grade(per_kloc: float) -> str:
    """The findings grade of a density of errors and warnings per 1,000 source lines."""
    for limit, letter in GRADE_BANDS:
        if per_kloc < limit:
            return letter
    return "F"


def density(count: int, sloc: int) -> float:
    return count * 1000 / sloc if sloc else 0.0


def hours(minutes: int) -> float:
    return round(minutes / 60, 1)


def effort(finding, efforts: dict[str, int]) -> int:
    """Minutes to fix one finding: the rule's effort, else its severity's default."""
    return efforts.get(finding.rule) or SEVERITY_EFFORT.get(finding.severity, 10)


@dataclass(frozen=True)
class FileDebt:
    path: str
    sloc: int
    minutes: int  # errors and warnings
    actionable: int = 0  # how many errors and warnings
    advisory: int = 0  # minutes of info findings, outside the debt

    @property
    def ratio(self) -> float:
        return self.minutes / (MINUTES_PER_LINE * self.sloc) if self.sloc else 0.0

    @property
    def rating(self) -> str:
        return grade(density(self.actionable, self.sloc))


@dataclass(frozen=True)
class RulesSection:
    """The rules part of an AuditResult: counts, densities, debt and what was filtered."""

    active: int
    sloc: int
    by_rule: dict
    by_category: dict
    files: tuple[FileDebt, ...]
    suppressed: int = 0
    baselined: int = 0
    config_file: str | None = None
    meta: dict = field(default_factory=dict)  # rule id -> (category, severity, code)
    efforts: dict = field(default_factory=dict)  # rule id -> minutes per finding, where the rule sets it
    shown: int = 15  # rules listed in the terminal summary (--findings)

    @property
    def minutes(self) -> int:
        """Debt: minutes to fix the errors and warnings."""
        return sum(f.minutes for f in self.files)

    @property
    def advisory_minutes(self) -> int:
        return sum(f.advisory for f in self.files)

    @property
    def actionable(self) -> int:
        return sum(f.actionable for f in self.files)

    @property
    def ratio(self) -> float:
        return self.minutes / (MINUTES_PER_LINE * self.sloc) if self.sloc else 0.0

    @property
    def density(self) -> float:
        """Errors and warnings per 1,000 source lines."""
        return density(self.actionable, self.sloc)

    @property
    def rating(self) -> str:
        """The findings grade (see the module docstring)."""
        return grade(self.density)

    def per_kloc(self, count: int) -> float:
        return count * 1000 / self.sloc if self.sloc else 0.0

    def to_dict(self) -> dict:
        worst = sorted(self.files, key=lambda f: (-f.minutes, f.path))
        return {
            "active_rules": self.active, "config_file": self.config_file,
            "suppressed": self.suppressed, "baselined": self.baselined,
            "debt": {"hours": hours(self.minutes), "advisory_hours": hours(self.advisory_minutes),
                     "ratio": round(self.ratio, 5), "errors_and_warnings": self.actionable,
                     "per_kloc": round(self.density, 3), "rating": self.rating,
                     "bands": {b: lim for lim, b in GRADE_BANDS},
                     "definition": "hours to fix the unsuppressed errors and warnings (info "
                                   "findings apart, as advisory_hours); rating: errors and "
                                   "warnings per 1,000 source lines, A < 1, B < 3, C < 6, "
                                   "D < 10, E < 20, else F"},
            "by_category": {c: {"findings": n, "per_kloc": round(self.per_kloc(n), 3)}
                            for c, n in sorted(self.by_category.items())},
            "by_rule": {r: n for r, n in sorted(self.by_rule.items(), key=lambda x: (-x[1], x[0]))},
            "files": [{"path": f.path, "sloc": f.sloc, "hours": hours(f.minutes),
                       "ratio": round(f.ratio, 5), "rating": f.rating} for f in worst if f.minutes],
        }


def score(result, rules, suppressed: int = 0, baselined: int = 0,
          config_file: str | None = None, active: int = 0) -> RulesSection:
    """Roll the findings of a result up into a RulesSection."""
    efforts = {r.id: r.effort for r in rules if r.effort}
    by_rule, by_cat = Counter(), Counter()
    minutes, advisory, actionable = defaultdict(int), defaultdict(int), Counter()
    for f in result.files:
        for x in f.findings:
            if x.suppressed is None:
                by_rule[x.rule] += 1
                by_cat[x.category] += 1
                if x.severity in ACTIONABLE:
                    minutes[f.path] += effort(x, efforts)
                    actionable[f.path] += 1
                else:
                    advisory[f.path] += effort(x, efforts)
    files = tuple(FileDebt(f.path, f.lines.source, minutes[f.path], actionable[f.path],
                           advisory[f.path]) for f in result.files if not f.is_test)
    meta = {r.id: (r.category, r.severity, r.code) for r in rules}
    return RulesSection(active, sum(f.sloc for f in files), dict(by_rule), dict(by_cat), files,
                        suppressed, baselined, config_file, meta, efforts)
