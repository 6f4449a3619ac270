"""Side-by-side views for the HTML report: provenance matches and internal clone groups.

Both read their stage's section through its ``to_dict()`` JSON contract. The
audited side comes from the report's source reader; the corpus side from
whatever the provenance stage offers for a match (``corpus_text``), and a pane
says so when the text is not available instead of failing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from markupsafe import Markup

from audit.lang import language_for
from audit.render.highlight import highlight_lines, plain_lines, visible
from audit.render.viewmodels import (
    CLONE_GROUPS_SHOWN,
    ProvenanceSummary,
    SourceText,
    Stat,
    file_href,
    match_anchor,
    verdict_summary,
)

CONTEXT_LINES = 2  # lines shown around matched spans
MAX_SPAN_LINES = 80  # longer matched spans are cut


class CodeLine(NamedTuple):
    no: int
    html: Markup
    hit: bool  # inside a matched span


@dataclass(frozen=True)
class Pane:
    title: str
    href: str  # the file page for audited code; "" for corpus code
    lines: list[CodeLine]
    note: str


def pane(text: str | None, language: str, span: tuple[int, int], title: str, href: str) -> Pane:
    """Lines of span with context around them; matched lines flagged; long spans cut."""
    start, end = span
    if text is None:
        return Pane(title, href, [], f"lines {start}-{end}; the text is not available here")
    lines = text.split("\n")
    lo, hi = max(1, start - CONTEXT_LINES), min(len(lines), end + CONTEXT_LINES)
    note = ""
    if hi - lo + 1 > MAX_SPAN_LINES:
        hi, note = lo + MAX_SPAN_LINES - 1, f"cut after {MAX_SPAN_LINES} lines"
    html = highlight_lines("\n".join(lines[lo - 1:hi]), language) if language \
        else plain_lines("\n".join(lines[lo - 1:hi]))
    return Pane(title, href, [CodeLine(lo + i, h, start <= lo + i <= end)
                              for i, h in enumerate(html)], note)


@dataclass(frozen=True)
class Evidence:
    kind: str
    lines: str
    corpus_lines: str
    left: Pane
    right: Pane


@dataclass(frozen=True)
class MatchView:
    anchor: str
    corpus: str
    corpus_path: str
    swhid: str
    score: str
    channels: list[Stat]
    rarity: str
    discounted: list[str]
    evidence: list[Evidence]


@dataclass(frozen=True)
class ProvenanceFile:
    path: str
    href: str
    verdict: str
    score: str
    matches: list[MatchView]


@dataclass(frozen=True)
class ProvenancePage:
    summary: ProvenanceSummary | None
    discounted: list[Stat]
    files: list[ProvenanceFile]
    clean_files: int


CorpusText = Callable[[dict], "str | None"]  # match record -> corpus file text


def _span(value) -> tuple[int, int]:
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return int(value[0]), int(value[1])
    return 0, -1


def provenance_page(prov: dict | None, sources: SourceText, corpus_text: CorpusText,
                    languages: dict[str, str]) -> ProvenancePage:
    """Every file that is not clean, with each match side by side, strongest first."""
    if not prov:
        return ProvenancePage(None, [], [], 0)
    files, clean = [], 0
    ordered = sorted(prov.get("files", []), key=lambda f: (-float(f.get("score", 0)), f["path"]))
    for pf in ordered:
        if pf.get("verdict") == "clean" and not pf.get("matches"):
            clean += 1
            continue
        path = pf["path"]
        text = sources(path)
        matches = [_match_view(path, i, m, text, languages.get(path, ""), corpus_text)
                   for i, m in enumerate(pf.get("matches", []))]
        files.append(ProvenanceFile(visible(path), file_href(path), visible(str(pf.get("verdict"))),
                                    f"{float(pf.get('score', 0)):.2f}", matches))
    discounted = [Stat(visible(str(k)), f"{v:,}" if isinstance(v, int) else visible(str(v)))
                  for k, v in sorted((prov.get("discounted") or {}).items())]
    return ProvenancePage(verdict_summary(prov), discounted, files, clean)


def _match_view(path, i, m, text, language, corpus_text) -> MatchView:
    corpus_src = corpus_text(m)
    cpath = visible(str(m.get("corpus_path", "?")))
    lang = language_for(str(m.get("corpus_path", "")))
    corpus_lang = lang.name if lang else ""
    evidence = []
    for ev in m.get("evidence", []):
        lines, clines = _span(ev.get("lines")), _span(ev.get("corpus_lines"))
        evidence.append(Evidence(
            visible(str(ev.get("kind", ""))), f"{lines[0]}-{lines[1]}", f"{clines[0]}-{clines[1]}",
            pane(text, language, lines, f"{visible(path)} lines {lines[0]}-{lines[1]}",
                 file_href(path, lines[0])),
            pane(corpus_src, corpus_lang, clines, f"{cpath} lines {clines[0]}-{clines[1]}", "")))
    channels = [Stat(visible(str(k)), f"{float(v):.2f}")
                for k, v in sorted((m.get("channels") or {}).items())]
    rarity = m.get("rarity")
    return MatchView(match_anchor(path, i), visible(str(m.get("corpus", ""))), cpath,
                     visible(str(m.get("swhid", ""))), f"{float(m.get('score', 0)):.2f}", channels,
                     "" if rarity is None else f"{float(rarity):.2f}",
                     [visible(str(d)) for d in m.get("discounted", [])], evidence)


@dataclass(frozen=True)
class CloneGroupView:
    anchor: str
    size: int
    similarity: str
    duplicated_sloc: int
    panes: list[Pane]


@dataclass(frozen=True)
class ClonesPage:
    ran: bool
    share: str
    groups: list[CloneGroupView]
    total_groups: int


def clones_page(clones: dict | None, sources: SourceText, languages: dict[str, str],
                limit: int = CLONE_GROUPS_SHOWN) -> ClonesPage:
    """Clone groups with their members side by side, largest duplication first."""
    if clones is None:
        return ClonesPage(False, "", [], 0)
    groups = []
    for gi, g in enumerate(clones.get("groups", [])[:limit], 1):
        panes = [pane(sources(m["path"]), languages.get(m["path"], ""),
                      (m["start_line"], m["end_line"]),
                      f"{visible(m['path'])}:{m['start_line']} {visible(m['qualname'])}",
                      file_href(m["path"], m["start_line"])) for m in g.get("members", [])[:4]]
        groups.append(CloneGroupView(f"G{gi}", g["size"], f"{float(g.get('similarity', 0)):.2f}",
                                     int(g.get("duplicated_sloc", 0)), panes))
    share = f"{float(clones.get('duplication_share', 0)):.1%}"
    return ClonesPage(True, share, groups, len(clones.get("groups", [])))
