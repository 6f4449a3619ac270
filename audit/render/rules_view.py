"""Rule pages of the HTML report: a rule's documentation and its occurrences.

The first RULE_ROWS_SHOWN occurrences get a row each; a rule with more lists
every occurrence by file, with links to its lines, so a rule that fires 5,000
times still makes a small page.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from audit.render.highlight import visible
from audit.render.viewmodels import (
    FindingVM,
    _sorted_findings,
    file_href,
    finding_vm,
    rule_href,
    rule_key,
)
from audit.results import AuditResult, Finding


@dataclass(frozen=True)
class DocSection:
    heading: str
    text: str


RULE_ROWS_SHOWN = 100  # occurrences listed one per row on a rule page; all are counted by file
RULE_LINES_PER_FILE = 12  # line links per file in a rule page's by-file table


@dataclass(frozen=True)
class RuleFile:
    """A rule's occurrences in one file: how many, and links to (the first of) their lines."""

    path: str
    href: str
    count: int
    lines: list[tuple[int, str]]  # (line, href)
    more: int  # occurrences beyond the linked lines


@dataclass(frozen=True)
class RulePage:
    id: str
    href: str
    code: str
    category: str
    severity: str
    summary: str
    docs: list[DocSection]
    occurrences: list[FindingVM]  # the first RULE_ROWS_SHOWN, most severe first
    suppressed: int
    count: int  # every occurrence, shown or not
    by_file: list[RuleFile]  # when not every occurrence has a row: all of them, by file


def rule_files(hits: list[Finding]) -> list[RuleFile]:
    """Occurrences grouped by file, most first; a page stays small whatever the count."""
    by_path: dict[str, list[int]] = defaultdict(list)
    for x in hits:
        by_path[x.path].append(x.line)
    out = []
    for path, lines in sorted(by_path.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        unique = sorted(set(lines))
        out.append(RuleFile(visible(path), file_href(path), len(lines),
                            [(n, file_href(path, n)) for n in unique[:RULE_LINES_PER_FILE]],
                            max(0, len(unique) - RULE_LINES_PER_FILE)))
    return out


def rule_pages(result: AuditResult, meta: dict[str, dict]) -> list[RulePage]:
    """A page per rule that has metadata or occurrences, most occurrences first.

    ``meta`` maps rule id to plain data: code, category, severity, summary and
    ``docs`` (heading -> text); a rule without metadata still gets its occurrences.
    """
    by_rule: dict[str, list[Finding]] = defaultdict(list)
    for x in result.findings:
        by_rule[rule_key(x)].append(x)
    pages = []
    for rule in sorted(set(by_rule) | set(meta)):
        hits, info = by_rule.get(rule, []), meta.get(rule, {})
        first = hits[0] if hits else None
        docs = [DocSection(visible(str(h)), visible(str(t)))
                for h, t in (info.get("docs") or {}).items() if t]
        pages.append(RulePage(
            visible(rule), rule_href(rule), visible(str(info.get("code", ""))),
            visible(str(info.get("category", first.category if first else ""))),
            str(info.get("severity", first.severity if first else "")),
            visible(str(info.get("summary", ""))), docs,
            [finding_vm(x) for x in _sorted_findings(hits)[:RULE_ROWS_SHOWN]],
            sum(1 for x in hits if x.suppressed is not None), len(hits),
            rule_files(hits) if len(hits) > RULE_ROWS_SHOWN else []))
    pages.sort(key=lambda p: (-p.count, p.id))
    return pages
