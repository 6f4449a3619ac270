"""Rule scores: findings per thousand source lines by category, and a debt rating.

Debt follows the SQALE method. Each unsuppressed finding costs its rule's
``effort`` in minutes, or by severity: error 30, warning 10, info 2. Writing a
source line is taken to cost 30 minutes (SQALE's 0.06 days). The debt ratio
is remediation minutes / (30 x source lines); the rating bands are:

    A <= 1%   B <= 2%   C <= 5%   D <= 10%   E above

(tighter than SonarQube's 5/10/20/50 because only idiom rules count here;
see docs/rules.md).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

SEVERITY_EFFORT = {"error": 30, "warning": 10, "info": 2}
MINUTES_PER_LINE = 30
BANDS = ((0.01, "A"), (0.02, "B"), (0.05, "C"), (0.10, "D"))


def rating(ratio: float) -> str:
    """The debt band of a debt ratio."""
    for limit, band in BANDS:
        if ratio <= limit:
            return band
    return "E"


def effort(finding, efforts: dict[str, int]) -> int:
    """Minutes to fix one finding: the rule's effort, else its severity's default."""
    return efforts.get(finding.rule) or SEVERITY_EFFORT.get(finding.severity, 10)


@dataclass(frozen=True)
class FileDebt:
    path: str
    sloc: int
    minutes: int

    @property
    def ratio(self) -> float:
        return self.minutes / (MINUTES_PER_LINE * self.sloc) if self.sloc else 0.0

    @property
    def rating(self) -> str:
        return rating(self.ratio)


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
        return sum(f.minutes for f in self.files)

    @property
    def ratio(self) -> float:
        return self.minutes / (MINUTES_PER_LINE * self.sloc) if self.sloc else 0.0

    @property
    def rating(self) -> str:
        return rating(self.ratio)

    def per_kloc(self, count: int) -> float:
        return count * 1000 / self.sloc if self.sloc else 0.0

    def to_dict(self) -> dict:
        worst = sorted(self.files, key=lambda f: (-f.minutes, f.path))
        return {
            "active_rules": self.active, "config_file": self.config_file,
            "suppressed": self.suppressed, "baselined": self.baselined,
            "debt": {"minutes": self.minutes, "ratio": round(self.ratio, 5),
                     "rating": self.rating, "bands": {b: lim for lim, b in BANDS}},
            "by_category": {c: {"findings": n, "per_kloc": round(self.per_kloc(n), 3)}
                            for c, n in sorted(self.by_category.items())},
            "by_rule": {r: n for r, n in sorted(self.by_rule.items(), key=lambda x: (-x[1], x[0]))},
            "files": [{"path": f.path, "sloc": f.sloc, "minutes": f.minutes,
                       "ratio": round(f.ratio, 5), "rating": f.rating} for f in worst if f.minutes],
        }


def score(result, rules, suppressed: int = 0, baselined: int = 0,
          config_file: str | None = None, active: int = 0) -> RulesSection:
    """Roll the findings of a result up into a RulesSection."""
    efforts = {r.id: r.effort for r in rules if r.effort}
    by_rule, by_cat = Counter(), Counter()
    minutes = defaultdict(int)
    for f in result.files:
        for x in f.findings:
            if x.suppressed is None:
                by_rule[x.rule] += 1
                by_cat[x.category] += 1
                minutes[f.path] += effort(x, efforts)
    files = tuple(FileDebt(f.path, f.lines.source, minutes[f.path]) for f in result.files
                  if not f.is_test)
    meta = {r.id: (r.category, r.severity, r.code) for r in rules}
    return RulesSection(active, sum(f.sloc for f in files), dict(by_rule), dict(by_cat), files,
                        suppressed, baselined, config_file, meta, efforts)
