"""Drill-down pages of the compare report: one per changed, moved or added file.

A changed or moved file's page shows its line differences between A and B and
the functions that changed in it; an added file's page shows what of it derives
from A, with the evidence side by side (B's lines beside A's), as the scan
report's provenance page does. Both sides' texts come from the compare run
(readers path -> text); a side that cannot be read says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from audit.lang import language_for
from audit.render.clones_view import DiffRow, diff_rows
from audit.render.highlight import visible
from audit.render.sidebyside import Pane, pane
from audit.render.viewmodels import page_slug

Text = Callable[[str], "str | None"]  # path -> text of that side
PAGES_WRITTEN = 500  # files with a page of their own; the JSON has every file
DIFF_CONTEXT = 3  # unchanged lines around each change on a file's page
DIFF_ROWS_SHOWN = 600  # rows of a file's differences; the rest are counted
EVIDENCE_SHOWN = 6  # fragments per match drawn side by side


def file_page_href(path: str) -> str:
    return page_slug("cmp", path)


@dataclass(frozen=True)
class EvidenceView:
    kind: str
    lines: str
    a_lines: str
    fingerprints: str
    b: Pane
    a: Pane


@dataclass(frozen=True)
class DerivedMatch:
    a_path: str
    score: str
    channels: str
    units: list[tuple[str, str, str]]  # (unit in B, unit in A, score)
    evidence: list[EvidenceView]
    more: int  # fragments listed in the JSON but not drawn


@dataclass(frozen=True)
class FilePage:
    status: str
    href: str
    path: str
    was: str
    language: str
    numbers: list[tuple[str, str]]  # (measure, "A -> B")
    units: list  # compare_html.DeltaRow of this file's changed functions
    diff: list[DiffRow]
    diff_note: str
    verdict: str
    matches: list[DerivedMatch]


def file_pages(result, units_by_path: dict, text_a: Text, text_b: Text,
               progress=None) -> list[FilePage]:
    """Pages for the changed, moved and added files (at most PAGES_WRITTEN, in table order);
    ``progress(done, total, path)`` after each."""
    prov = _provenance_files(result)
    files = [f for f in result.files if f.status in ("changed", "moved", "added")][:PAGES_WRITTEN]
    out = []
    for f in files:
        out.append(file_page(f, units_by_path.get(f.path, []), text_a, text_b, prov.get(f.path)))
        if progress is not None:
            progress(len(out), len(files), f.path)
    return out


def _provenance_files(result) -> dict[str, dict]:
    section = result.sections.get("derivation")
    data = section.to_dict() if hasattr(section, "to_dict") else (section or {})
    return {f["path"]: f for f in (data.get("provenance") or {}).get("files", [])}


def file_page(f, units: list, text_a: Text, text_b: Text, prov: dict | None) -> FilePage:
    old = f.old_path or f.path
    diff, note = [], ""
    if f.status != "added":
        a, b = text_a(old), text_b(f.path)
        if a is None or b is None:
            note = "the text of one side is not available here"
        else:
            diff = diff_rows(a.split("\n"), b.split("\n"), 1, 1, DIFF_CONTEXT)
            if len(diff) > DIFF_ROWS_SHOWN:
                note = f"{len(diff) - DIFF_ROWS_SHOWN:,} more rows not shown"
                diff = diff[:DIFF_ROWS_SHOWN]
    numbers = [("source lines", _pair(f.sloc)), ("functions", _pair(f.units)),
               ("cyclomatic", _pair(f.cyclomatic)), ("findings", _pair(f.findings))]
    matches = [derived_match(f.path, f.language, m, text_a, text_b)
               for m in (prov or {}).get("matches", [])]
    return FilePage(f.status, file_page_href(f.path), visible(f.path), visible(f.old_path), f.language, numbers, units,
                    diff, note, visible(str((prov or {}).get("verdict", ""))), matches)


def derived_match(path: str, language: str, m: dict, text_a: Text, text_b: Text) -> DerivedMatch:
    """One A file that B's file matches: its units and fragments, B's lines beside A's."""
    a_path = str(m.get("corpus_path", ""))
    lang_a = language_for(a_path)
    b_text, a_text = text_b(path), text_a(a_path)
    evidence = []
    for ev in m.get("evidence", [])[:EVIDENCE_SHOWN]:
        lines, a_lines = _span(ev.get("lines")), _span(ev.get("corpus_lines"))
        evidence.append(EvidenceView(
            visible(str(ev.get("kind", ""))), f"{lines[0]}-{lines[1]}", f"{a_lines[0]}-{a_lines[1]}",
            str(ev.get("fingerprints", "")),
            pane(b_text, language, lines, f"B {visible(path)} lines {lines[0]}-{lines[1]}", ""),
            pane(a_text, lang_a.name if lang_a else "", a_lines,
                 f"A {visible(a_path)} lines {a_lines[0]}-{a_lines[1]}", "")))
    channels = ", ".join(f"{visible(str(k))} {float(v):.2f}"
                         for k, v in sorted((m.get("channels") or {}).items()))
    units = [(visible(str(u.get("unit", ""))), visible(str(u.get("corpus_unit", ""))),
              f"{float(u.get('score', 0)):.2f}") for u in m.get("units", [])]
    return DerivedMatch(visible(a_path), f"{float(m.get('score', 0)):.2f}", channels, units,
                        evidence, max(0, len(m.get("evidence", [])) - EVIDENCE_SHOWN))


def _span(value) -> tuple[int, int]:
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return int(value[0]), int(value[1])
    return 0, -1


def _pair(p: tuple[int, int]) -> str:
    return f"{p[0]:,} → {p[1]:,}" if p[0] != p[1] else f"{p[1]:,}"
