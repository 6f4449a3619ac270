"""Clone groups for the HTML report: an index of every group, and a page per group.

The index is one table row per group (size, similarity, lines, production or
test code) so a reviewer can sort and pick; a group's page shows its first
member in full and every other member as the lines that differ from it, so what
changes between 86 near-copies is what the eye lands on. Read through the clones
section's ``to_dict()`` contract.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

from markupsafe import Markup

from audit.render.highlight import escape, highlight_lines, visible
from audit.render.viewmodels import SourceText, clone_href, file_href
from audit.results import AuditResult

DIFF_CONTEXT = 1  # unchanged lines shown around each change
DIFF_ROWS_SHOWN = 40  # rows of one member's differences; the rest are counted
MEMBERS_DIFFED = 20  # members drawn as differences; the rest of a large group are listed
FIRST_LINES_SHOWN = 150  # lines of the first member shown in full
KIND_ORDER = {"production": 0, "mixed": 1, "test": 2}
AUTOJUNK_LINES = 2000  # longer line diffs let difflib skip lines common on both sides


@dataclass(frozen=True)
class GroupRow:
    """One group in the index table."""

    number: int
    href: str
    kind: str  # production, test or mixed
    size: int
    similarity: str
    min_similarity: str
    duplicated_sloc: int
    lines: str  # source lines per member: "26" or "20-31"
    first: str
    where: str


@dataclass(frozen=True)
class ClonesIndex:
    ran: bool
    share: str
    groups: list[GroupRow]  # production first, then by duplicated lines
    counts: dict[str, int]  # groups by kind


@dataclass(frozen=True)
class DiffRow:
    kind: str  # "same", "chg" (words changed), "del" (first member only), "add", "gap"
    a: int | None  # line in the first member
    b: int | None  # line in this member
    html: Markup


@dataclass(frozen=True)
class MemberDiff:
    title: str
    href: str
    lines: str
    sloc: int
    rows: list[DiffRow]
    note: str  # "identical", text unavailable, rows cut


@dataclass(frozen=True)
class CodeRun:
    """Lines as one table row: their numbers and their markup, one a line."""

    numbers: str
    html: Markup
    note: str


@dataclass(frozen=True)
class GroupPage:
    row: GroupRow
    first_title: str
    first_href: str
    first: CodeRun
    members: list[MemberDiff]  # the members after the first, up to MEMBERS_DIFFED
    listed: list[MemberDiff]  # the rest of a large group: named, without differences


def test_units(result: AuditResult) -> set[tuple[str, int]]:
    """(path, start line) of every test function, to tell test clones from production ones."""
    return {(f.path, u.start_line) for f in result.files for u in f.units
            if u.is_test or f.is_test}


def group_kind(members: list[dict], tests: set[tuple[str, int]]) -> str:
    flags = {(m["path"], m["start_line"]) in tests for m in members}
    return "mixed" if len(flags) > 1 else ("test" if flags == {True} else "production")


def clones_index(clones: dict | None, tests: set[tuple[str, int]]) -> ClonesIndex:
    """Every group as an index row: production code first, then most duplicated lines."""
    if clones is None:
        return ClonesIndex(False, "", [], {})
    rows = [group_row(i, g, tests) for i, g in enumerate(clones.get("groups", []), 1)]
    rows.sort(key=lambda r: (KIND_ORDER[r.kind], -r.duplicated_sloc, r.number))
    counts = {k: sum(1 for r in rows if r.kind == k) for k in KIND_ORDER}
    return ClonesIndex(True, f"{float(clones.get('duplication_share', 0)):.1%}", rows, counts)


def group_row(number: int, g: dict, tests: set[tuple[str, int]]) -> GroupRow:
    members = g.get("members", [])
    slocs = [int(m.get("sloc", 0)) for m in members] or [0]
    lo, hi = min(slocs), max(slocs)
    first = members[0] if members else {"qualname": "?", "path": "?", "start_line": 0}
    return GroupRow(number, clone_href(number), group_kind(members, tests), int(g["size"]),
                    f"{float(g.get('similarity', 0)):.2f}",
                    f"{float(g.get('min_similarity', g.get('similarity', 0))):.2f}",
                    int(g.get("duplicated_sloc", 0)), str(lo) if lo == hi else f"{lo}-{hi}",
                    visible(first["qualname"]), f"{visible(first['path'])}:{first['start_line']}")


def group_page(row: GroupRow, g: dict, sources: SourceText,
               languages: dict[str, str]) -> GroupPage:
    """The first member in full, then each other member as its differences from the first."""
    members = g.get("members", [])
    first = members[0]
    text = sources(first["path"])
    base = _span_lines(text, first)
    diffs, seen = [], {}
    for i, m in enumerate(members[1:MEMBERS_DIFFED + 1], 2):
        d = member_diff(base, first, m, sources)
        key = tuple((r.kind, str(r.html)) for r in d.rows)
        if d.rows and key in seen:  # the same changes as an earlier member: said, not shown
            d = replace(d, rows=[], note=f"the same differences as member {seen[key]}")
        seen.setdefault(key, i)
        diffs.append(d)
    return GroupPage(row, _title(first), file_href(first["path"], first["start_line"]),
                     first_run(text, first, languages.get(first["path"], "")), diffs,
                     [member_row(m) for m in members[MEMBERS_DIFFED + 1:]])


def member_row(m: dict) -> MemberDiff:
    """A member listed without its differences (beyond MEMBERS_DIFFED in a large group)."""
    return MemberDiff(_title(m), file_href(m["path"], m["start_line"]),
                      f"{m['start_line']}-{m['end_line']}", int(m.get("sloc", 0)), [], "")


def first_run(text: str | None, m: dict, language: str) -> CodeRun:
    """The first member's lines, highlighted, as one run."""
    if text is None:
        return CodeRun("", Markup(""), "the source text is not available here")
    start, end = m["start_line"], m["end_line"]
    cut = end - start + 1 > FIRST_LINES_SHOWN
    end = start + FIRST_LINES_SHOWN - 1 if cut else end
    lines = highlight_lines("\n".join(text.split("\n")[start - 1:end]), language)
    return CodeRun("\n".join(str(n) for n in range(start, start + len(lines))),
                   Markup("\n".join(lines)),
                   f"cut after {FIRST_LINES_SHOWN} lines" if cut else "")


def _title(m: dict) -> str:
    return f"{visible(m['path'])}:{m['start_line']} {visible(short_name(m['qualname']))}"


def short_name(qualname: str) -> str:
    """The last two parts of a qualified name: the path beside it says where it lives."""
    parts = re.split(r"::|\.", qualname)
    return "::".join(parts[-2:]) if "::" in qualname else ".".join(parts[-2:])


def _span_lines(text: str | None, m: dict) -> list[str] | None:
    if text is None:
        return None
    return text.split("\n")[m["start_line"] - 1:m["end_line"]]


def member_diff(base: list[str] | None, first: dict, m: dict, sources: SourceText) -> MemberDiff:
    """One member against the first: changed lines with their changed words marked."""
    lines = _span_lines(sources(m["path"]), m)
    head = (_title(m), file_href(m["path"], m["start_line"]),
            f"{m['start_line']}-{m['end_line']}", int(m.get("sloc", 0)))
    if base is None or lines is None:
        return MemberDiff(*head, [], "the source text is not available here")
    rows = diff_rows(base, lines, first["start_line"], m["start_line"])
    if not any(r.kind in ("del", "add") for r in rows):
        return MemberDiff(*head, [], "the same lines as the first member (indentation aside)")
    note = ""
    if len(rows) > DIFF_ROWS_SHOWN:
        note = f"{len(rows) - DIFF_ROWS_SHOWN:,} more rows not shown"
        rows = rows[:DIFF_ROWS_SHOWN]
    return MemberDiff(*head, rows, note)


def diff_rows(a: list[str], b: list[str], a_start: int, b_start: int,
              context: int = DIFF_CONTEXT) -> list[DiffRow]:
    """Rows of a line diff of b against a, indentation ignored, with context around changes."""
    # past a few thousand lines, frequent lines ("}") count as junk: a diff stays near
    # linear instead of quadratic (function-sized clone members never get there)
    matcher = difflib.SequenceMatcher(None, [x.strip() for x in a], [x.strip() for x in b],
                                      autojunk=len(a) + len(b) > AUTOJUNK_LINES)
    rows: list[DiffRow] = []
    for hunk in matcher.get_grouped_opcodes(context):
        if rows or hunk[0][1] > 0 or hunk[0][3] > 0:
            rows.append(DiffRow("gap", None, None, Markup("")))
        for tag, i1, i2, j1, j2 in hunk:
            rows.extend(_opcode_rows(tag, a[i1:i2], b[j1:j2], a_start + i1, b_start + j1))
    return rows


def _opcode_rows(tag: str, a: list[str], b: list[str], ai: int, bj: int) -> Iterable[DiffRow]:
    if tag == "equal":
        return [DiffRow("same", ai + k, bj + k, Markup(escape(line))) for k, line in enumerate(b)]
    if tag == "replace" and len(a) == len(b):
        return [row for k, (x, y) in enumerate(zip(a, b)) for row in _line_pair(x, y, ai + k, bj + k)]
    marked_a, marked_b = _mark_words(a, b) if tag == "replace" else (
        [Markup(escape(x)) for x in a], [Markup(escape(x)) for x in b])
    return ([DiffRow("del", ai + k, None, h) for k, h in enumerate(marked_a)]
            + [DiffRow("add", None, bj + k, h) for k, h in enumerate(marked_b)])


_WORD = re.compile(r"\w+|\s+|[^\w\s]")
SAME_LINE_RATIO = 0.5  # a changed line at least this alike is one row, its words changed in place


def _line_pair(a: str, b: str, ai: int, bj: int) -> list[DiffRow]:
    """A changed line as one row (old words <del>, new ones <ins>), or two when it is rewritten.

    One row per changed line keeps a page of 86 near-copies short, and a renamed
    identifier reads as what it is: one word replaced.
    """
    ta, tb = _WORD.findall(a.strip()), _WORD.findall(b.strip())
    sm = difflib.SequenceMatcher(None, ta, tb, autojunk=False)
    if sm.ratio() < SAME_LINE_RATIO:
        marked_a, marked_b = _mark_words([a], [b])
        return [DiffRow("del", ai, None, marked_a[0]), DiffRow("add", None, bj, marked_b[0])]
    parts = [escape(b[:len(b) - len(b.lstrip())])]
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag == "equal":
            parts.append(escape("".join(tb[j1:j2])))
            continue
        if i2 > i1:
            parts.append(f"<del>{escape(''.join(ta[i1:i2]))}</del>")
        if j2 > j1:
            parts.append(f"<ins>{escape(''.join(tb[j1:j2]))}</ins>")
    return [DiffRow("chg", ai, bj, Markup("".join(parts)))]


def _mark_words(a: list[str], b: list[str]) -> tuple[list[Markup], list[Markup]]:
    """Both sides of a replaced block, with the words that differ wrapped in <mark>."""
    ta, tb = _WORD.findall("\n".join(a)), _WORD.findall("\n".join(b))
    sm = difflib.SequenceMatcher(None, ta, tb, autojunk=False)
    out_a, out_b = [], []
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        out_a.append(_marked(ta[i1:i2], tag != "equal"))
        out_b.append(_marked(tb[j1:j2], tag != "equal"))
    return _split("".join(out_a)), _split("".join(out_b))


def _marked(tokens: list[str], changed: bool) -> str:
    text = "".join(tokens)
    if not changed or not text.strip():
        return escape(text)
    # a mark never spans a line end, so each line's markup stays balanced
    return "\n".join(f"<mark>{escape(part)}</mark>" if part.strip() else escape(part)
                     for part in text.split("\n"))


def _split(markup: str) -> list[Markup]:
    return [Markup(x) for x in markup.split("\n")]
