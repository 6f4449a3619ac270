"""Side-by-side views for the HTML report: provenance matches, and the code panes.

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
from audit.render.evidence_view import (GroupView, chance_text, folded, group_views, groups_by_id, legend,
                                        repeated)
from audit.render.highlight import highlight_lines, plain_lines, visible
from audit.render.viewmodels import (
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


EVIDENCE_SHOWN = 3  # fragments per match drawn side by side; the rest are listed
FILES_SHOWN = 100  # files drawn with side-by-side evidence; the rest are listed


@dataclass(frozen=True)
class Evidence:
    """One shared fragment (the strongest of its group in this match): paired line spans, how
    much they share, how often chance alone gives as much, and the passage's other places."""

    kind: str
    lines: str
    corpus_lines: str
    fingerprints: str
    chance: str  # expected number of chance runs this large (audit.provenance.chance)
    href: str
    left: Pane | None  # None for fragments listed without panes
    right: Pane | None
    group: str = ""  # "one passage, 4 places" when the passage shows up elsewhere too
    others: int = 0  # further fragments of the same group in this match, folded into this one


@dataclass(frozen=True)
class UnitPair:
    unit: str
    lines: str
    href: str
    corpus_unit: str
    corpus_lines: str
    score: str


@dataclass(frozen=True)
class MatchView:
    anchor: str
    corpus: str
    corpus_path: str
    swhid: str
    score: str
    channels: list[Stat]
    chance: str  # of the fragment least likely to be chance
    discounted: list[str]
    units: list[UnitPair]
    evidence: list[Evidence]  # with panes
    more_evidence: list[Evidence]  # listed only
    passages: str = ""  # many separate shared text passages (audit.provenance.passages), in words
    order: str = ""  # a significant order-preserving alignment of units (audit.provenance.structure)


@dataclass(frozen=True)
class ProvenanceFile:
    path: str
    href: str
    verdict: str
    score: str
    discounted: list[Stat]
    matches: list[MatchView]


@dataclass(frozen=True)
class OwnFile:
    """One of the audited tree's own C or C++ files (compared, not measured) and its verdict."""

    path: str
    verdict: str
    score: str
    evidence: str  # its strongest evidence in words, or that nothing was shared


@dataclass(frozen=True)
class ProvenancePage:
    summary: ProvenanceSummary | None
    discounted: list[Stat]
    examples: list[Discount]
    files: list[ProvenanceFile]  # drawn side by side
    listed: list[ProvenanceFile]  # beyond FILES_SHOWN: a table row each
    clean_files: int
    chance_meaning: str = ""  # what "expected by chance" means and what it was measured on
    groups: list[GroupView] = ()  # passages found in several places
    own: list[OwnFile] = ()  # the tree's own C and C++ files, each with its verdict


CorpusText = Callable[[dict], "str | None"]  # match record -> corpus file text


def _span(value) -> tuple[int, int]:
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return int(value[0]), int(value[1])
    return 0, -1


def _num(value, fmt: str = ".2f") -> str:
    return "" if value is None else format(float(value), fmt)


def discounted_stats(value) -> list[Stat]:
    """Discounted material as label/count pairs: nested reason -> channel -> count, flattened.

    Zero counts and totals are left out; a flat mapping or a list is shown as it is.
    """
    if isinstance(value, list):
        return [Stat(visible(str(v)), "") for v in value]
    out = []
    for reason, v in sorted((value or {}).items()):
        if reason == "examples":
            continue
        if isinstance(v, dict):
            out += [Stat(f"{visible(str(reason))}: {visible(str(ch))}", f"{int(n):,}")
                    for ch, n in sorted(v.items()) if n]
        elif reason != "total" and v:
            out.append(Stat(visible(str(reason)), f"{v:,}" if isinstance(v, int)
                            else visible(str(v))))
    return out


@dataclass(frozen=True)
class Discount:
    """One example of shared material that was not counted, and why."""

    path: str
    href: str
    lines: str
    kind: str
    tokens: str
    reason: str
    corpus_files: str


def discount_examples(value) -> list[Discount]:
    """The examples a provenance section gives of what it discounted (none when absent)."""
    if not isinstance(value, dict):
        return []
    out = []
    for e in value.get("examples") or []:
        start, end = _span(e.get("lines"))
        path = str(e.get("path", ""))
        out.append(Discount(visible(path), file_href(path, start) if path else "",
                            f"{start}-{end}", visible(str(e.get("kind", ""))),
                            visible(str(e.get("tokens", ""))), visible(str(e.get("reason", ""))),
                            str(e.get("corpus_files", ""))))
    return out


def provenance_page(prov: dict | None, sources: SourceText, corpus_text: CorpusText,
                    languages: dict[str, str]) -> ProvenancePage:
    """Files with corpus matches, strongest first; the first FILES_SHOWN side by side."""
    if not prov:
        return ProvenancePage(None, [], [], [], [], 0, legend())
    with_matches = [f for f in prov.get("files", []) if f.get("matches")]
    clean = int(prov.get("files_clean_without_matches", 0)) + sum(
        1 for f in prov.get("files", []) if not f.get("matches"))
    ordered = sorted(with_matches, key=lambda f: (-float(f.get("score", 0)), f["path"]))
    groups = groups_by_id(prov)
    files = [_file_view(pf, i < FILES_SHOWN, sources, corpus_text, languages, groups)
             for i, pf in enumerate(ordered)]
    return ProvenancePage(verdict_summary(prov), discounted_stats(prov.get("discounted")),
                          discount_examples(prov.get("discounted")), files[:FILES_SHOWN],
                          files[FILES_SHOWN:], clean, legend(), group_views(prov), own_files(prov))


def own_files(prov: dict) -> list[OwnFile]:
    """Every C or C++ file of the audited tree that was compared (headers, copied test
    programs), with its verdict and strongest evidence; a file that shared nothing is clean."""
    checked = ((prov.get("determination") or {}).get("scope") or {}).get("checked") or {}
    by_path = {f["path"]: f for f in prov.get("files", [])}
    out = []
    for path in checked.get("compared_not_measured") or []:
        f = by_path.get(path)
        if not f or not f.get("matches"):
            out.append(OwnFile(visible(path), "clean", "0.00", "no shared material found"))
            continue
        out.append(OwnFile(visible(path), visible(str(f.get("verdict"))), _num(f.get("score", 0)),
                           _strongest(f["matches"][0])))
    return out


def _strongest(m: dict) -> str:
    """A match's least-expected fragment in words (or its score alone when it has none)."""
    where = f"{visible(str(m.get('corpus', '')))}: {visible(str(m.get('corpus_path', '')))}"
    ev = _least_expected(m)
    if ev is None:
        return f"{where}, match score {_num(m.get('score', 0))}"
    (a, b), (c, d) = _span(ev.get("lines")), _span(ev.get("corpus_lines"))
    return (f"{where}: {visible(str(ev.get('kind', '')))} lines {a}-{b} ↔ {c}-{d}, "
            f"{ev.get('fingerprints', '')} shared fingerprints, expected by chance {chance_text(ev)}")


def _file_view(pf: dict, drawn: bool, sources, corpus_text, languages, groups) -> ProvenanceFile:
    path = pf["path"]
    text = sources(path) if drawn else None
    aligned = {(a.get("corpus"), a.get("corpus_path")): a for a in pf.get("structure") or []
               if a.get("significant")}
    matches = [_match_view(path, i, m, text, languages.get(path, ""),
                           corpus_text if drawn else _none, drawn, groups,
                           order_text(aligned.get((m.get("corpus"), m.get("corpus_path")))))
               for i, m in enumerate(pf.get("matches", []))]
    return ProvenanceFile(visible(path), file_href(path), visible(str(pf.get("verdict"))),
                          _num(pf.get("score", 0)), discounted_stats(pf.get("discounted")),
                          matches)


def _none(match: dict) -> None:
    return None


def _match_view(path, i, m, text, language, corpus_text, drawn, groups, order="") -> MatchView:
    corpus_src = corpus_text(m) if drawn else None
    cpath = visible(str(m.get("corpus_path", "?")))
    lang = language_for(str(m.get("corpus_path", "")))
    corpus_lang = lang.name if lang else ""
    evidence = []
    for k, (ev, others) in enumerate(folded(m.get("evidence", []))):
        lines, clines = _span(ev.get("lines")), _span(ev.get("corpus_lines"))
        panes = drawn and k < EVIDENCE_SHOWN
        group = groups.get(ev.get("group"))
        evidence.append(Evidence(
            visible(str(ev.get("kind", ""))), f"{lines[0]}-{lines[1]}", f"{clines[0]}-{clines[1]}",
            str(ev.get("fingerprints", "")), chance_text(ev), file_href(path, lines[0]),
            pane(text, language, lines, f"{visible(path)} lines {lines[0]}-{lines[1]}",
                 file_href(path, lines[0])) if panes else None,
            pane(corpus_src, corpus_lang, clines, f"{cpath} lines {clines[0]}-{clines[1]}", "")
            if panes else None, visible(group["label"]) if repeated(group) else "", others))
    channels = [Stat(visible(str(k)), _num(v)) for k, v in sorted((m.get("channels") or {}).items())]
    strongest = _least_expected(m)
    units = [UnitPair(visible(str(u.get("unit", ""))), "{}-{}".format(*_span(u.get("lines"))),
                      file_href(path, _span(u.get("lines"))[0]),
                      visible(str(u.get("corpus_unit", ""))),
                      "{}-{}".format(*_span(u.get("corpus_lines"))), _num(u.get("score")))
             for u in m.get("units", [])]
    shown = [e for e in evidence if e.left is not None]
    return MatchView(match_anchor(path, i), visible(str(m.get("corpus", ""))), cpath,
                     visible(str(m.get("swhid", ""))), _num(m.get("score", 0)), channels,
                     chance_text(strongest) if strongest else "",
                     [s.label for s in discounted_stats(m.get("discounted"))], units, shown,
                     [e for e in evidence if e.left is None], passages_text(m.get("passages")), order)


def _least_expected(m: dict) -> dict | None:
    """A match's fragment least expected by chance (None when none has the figure)."""
    return min((ev for ev in m.get("evidence", []) if ev.get("expected_chance") is not None),
               key=lambda ev: float(ev["expected_chance"]), default=None)


def order_text(record: dict | None) -> str:
    """A significant structural alignment in words."""
    if not record:
        return ""
    return (f"{len(record.get('pairs', []))} units align in order with this file's beyond chance: "
            f"p {record.get('p_value')}, expected by chance {record.get('expected_chance')} over the "
            f"{record.get('files_compared')} corpus files compared, for each of "
            f"{record.get('audited_files')} audited files")


def passages_text(record: dict | None) -> str:
    """A passages record in words: how many, how likely by chance, what it decided."""
    if not record:
        return ""
    verdict = "significant" if record.get("significant") else "not significant"
    return (f"{int(record.get('passages', 0))} separate text passages shared with this file "
            f"(all its versions); a file this size shows {_num(record.get('expected_fragments'))} "
            f"text fragments by chance with all corpus files together; p {record.get('p')}, "
            f"expected by chance over the audit {record.get('expected_chance')}: {verdict}")
