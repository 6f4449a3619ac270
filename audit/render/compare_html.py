"""The compare page: view models built from a CompareResult, rendered by compare.html.j2."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime

from audit import __version__
from audit.compare import CompareResult
from audit.render.compare_pages import Text, file_page_href, file_pages
from audit.render.html import CSP, Chrome, NavItem, copy_assets, environment

TOTAL_ROWS = (("files", "files"), ("sloc", "source lines"), ("units", "units"),
              ("functions", "functions (incl. tests)"),
              ("functions_non_test", "non-test functions"), ("cyclomatic_mean", "mean cyclomatic"),
              ("cyclomatic_p90", "p90 cyclomatic"), ("cyclomatic_max", "max cyclomatic"),
              ("poor_share", "code in functions ranked D-F"), ("findings", "findings"))
ROW_LIMIT = 500  # longest table of files or functions on the page; the JSON has them all


@dataclass(frozen=True)
class TotalRow:
    label: str
    a: str
    b: str
    delta: str
    worse: bool  # the change makes the code harder to maintain


@dataclass(frozen=True)
class DeltaRow:
    status: str
    name: str
    where: str
    was: str  # old name or path, for moves
    cyclomatic: str
    sloc: str
    extra: str
    href: str = ""  # the file's drill-down page, when it has one


@dataclass(frozen=True)
class ComparePage:
    a: str
    b: str
    totals: list[TotalRow]
    file_counts: dict
    unit_counts: dict
    tracked: dict | None
    added_dirs: list[tuple[str, int]]
    hotspots_new: list[DeltaRow]
    hotspots_fixed: list[DeltaRow]
    files: list[DeltaRow]
    units: list[DeltaRow]
    units_hidden: int
    findings_new: list[dict]
    findings_fixed: list[dict]
    derivation: dict | None
    warnings: list[str]


def page(result: CompareResult, linked: set[str] = frozenset()) -> ComparePage:
    """The view model: every string the template shows, already formatted."""
    a, b = result.totals
    sizes = ("files", "units", "functions", "functions_non_test", "sloc")  # growth is not "worse"
    totals = [TotalRow(label, _fmt(a[k]), _fmt(b[k]), _fmt(b[k] - a[k], sign=True),
                       k not in sizes and b[k] > a[k])
              for k, label in TOTAL_ROWS]
    changed_units = [u for u in result.units if u.status != "unchanged" and u.kind != "class"]
    changed_units.sort(key=lambda u: (-abs(u.cyclomatic[1] - u.cyclomatic[0]), u.path, u.start_line))
    section = result.sections.get("derivation")
    return ComparePage(
        a=result.a, b=result.b, totals=totals, file_counts=result.file_counts(),
        unit_counts=result.unit_counts(), tracked=result.tracked,
        added_dirs=result.added_by_directory()[:10],
        hotspots_new=[_unit_row(u) for u in result.hotspots_new],
        hotspots_fixed=[_unit_row(u) for u in result.hotspots_fixed],
        files=[_file_row(f, f.path in linked) for f in result.files
               if f.status != "unchanged"][:ROW_LIMIT],
        units=[_unit_row(u) for u in changed_units[:ROW_LIMIT]],
        units_hidden=max(0, len(changed_units) - ROW_LIMIT),
        findings_new=list(result.findings_new[:ROW_LIMIT]),
        findings_fixed=list(result.findings_fixed[:ROW_LIMIT]),
        derivation=section.to_dict() if hasattr(section, "to_dict") else section,
        warnings=list(result.warnings),
    )


def _file_row(f, linked: bool = False) -> DeltaRow:
    sim = f" (similarity {f.similarity:.0%})" if f.status == "moved" else ""
    return DeltaRow(f.status, f.path, f.language, f.old_path + sim, _pair(f.cyclomatic), _pair(f.sloc),
                    _pair(f.findings), file_page_href(f.path) if linked else "")


def _unit_row(u) -> DeltaRow:
    was = ""
    if u.old_qualname and (u.old_qualname != u.qualname or u.old_path):
        was = f"{u.old_qualname} in {u.old_path}" if u.old_path else u.old_qualname
        was += f" (similarity {u.similarity:.0%})"
    return DeltaRow(u.status, u.qualname, f"{u.path}:{u.start_line}", was, _pair(u.cyclomatic),
                    _pair(u.sloc), _pair(u.cognitive))


def _pair(p: tuple[int, int]) -> str:
    return f"{p[0]:,} → {p[1]:,}" if p[0] != p[1] else f"{p[1]:,}"


def _fmt(v, sign: bool = False) -> str:
    if isinstance(v, float):
        return f"{v:+.3f}" if sign else f"{v:.3f}"
    return f"{v:+,}" if sign else f"{v:,}"


def write_page(result: CompareResult, outdir: str, text_a: Text | None = None,
               text_b: Text | None = None, progress=None) -> str:
    """Write compare.html, a page per changed or added file (when the texts of both sides
    are given) and the report's assets into outdir; returns compare.html's path."""
    os.makedirs(outdir, exist_ok=True)
    assets = copy_assets(outdir)
    created = datetime.now(UTC).isoformat(timespec="seconds")
    chrome = Chrome("Compare", [NavItem("compare.html", "Compare", True)], assets["report.css"],
                    assets["report.js"], CSP, created, __version__)
    env = environment()
    pages = _file_pages(result, text_a, text_b, progress) if text_a and text_b else []
    for fp in pages:
        sub = Chrome(fp.path, chrome.nav, chrome.css, chrome.js, CSP, created, __version__)
        _write(os.path.join(outdir, fp.href),
               env.get_template("compare_file.html.j2").render(chrome=sub, f=fp))
    linked = {f.path for f in result.files if file_page_href(f.path) in {fp.href for fp in pages}}
    path = os.path.join(outdir, "compare.html")
    _write(path, env.get_template("compare.html.j2").render(chrome=chrome, c=page(result, linked)))
    return path


def _file_pages(result: CompareResult, text_a: Text, text_b: Text, progress=None) -> list:
    changed = [u for u in result.units if u.status != "unchanged" and u.kind != "class"]
    by_path: dict[str, list[DeltaRow]] = {}
    for u in changed:
        by_path.setdefault(u.path, []).append(_unit_row(u))
    return file_pages(result, by_path, text_a, text_b, progress)


def _write(path: str, html: str) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(html)
    os.replace(tmp, path)
