"""The HTML report: view models rendered by jinja2 templates into a self-contained folder.

The folder works from ``file://`` with no network: one stylesheet and one script
copied with content hashes in their names (so a browser never mixes old and new
assets), data embedded in the pages, pictures as inline SVG. A Content Security
Policy forbids inline scripts and every remote load, so even a rendering bug
could not run code from the audited tree.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass

import jinja2

from audit.data import data_path
from audit.errors import InputError, UsageError
from audit.render import determination_view as dview
from audit.render import clones_view, rules_view, sidebyside
from audit.render import viewmodels as vm
from audit.render.charts import file_treemap
from audit.results import AuditResult

ASSETS = ("report.css", "report.js")
CSP = ("default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; "
       "base-uri 'none'; form-action 'none'")


@dataclass(frozen=True)
class NavItem:
    href: str
    label: str
    active: bool


@dataclass(frozen=True)
class Chrome:
    """What base.html.j2 needs on every page: title, navigation, assets, footer facts."""

    title: str
    nav: list[NavItem]
    css: str
    js: str
    csp: str
    created: str
    tool_version: str


NAV = (("index.html", "Overview"), ("hotspots.html", "Hotspots"), ("files.html", "Files"),
       ("rules.html", "Rules"), ("provenance.html", "Provenance"), ("clones.html", "Clones"))


def environment() -> jinja2.Environment:
    """The jinja2 environment for report templates: autoescape on, undefined is an error."""
    reports = data_path("reports")
    if reports is None:
        raise InputError("the report templates are missing from this installation",
                         "reinstall audit; the wheel maps reports/ into audit/_data")
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(os.path.join(reports, "templates")),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True,
        lstrip_blocks=True, keep_trailing_newline=True,
    )


def copy_assets(outdir: str) -> dict[str, str]:
    """Copy the static assets into outdir with content hashes in their names; name -> href."""
    static = os.path.join(data_path("reports") or "", "static")
    out = {}
    for name in ASSETS:
        with open(os.path.join(static, name), "rb") as fh:
            data = fh.read()
        stem, ext = os.path.splitext(name)
        hashed = f"{stem}.{hashlib.sha256(data).hexdigest()[:12]}{ext}"
        target = os.path.join(outdir, hashed)
        if not os.path.exists(target):
            _write_bytes(target, data)
        out[name] = hashed
    return out


def chrome(title: str, active: str, assets: dict[str, str], result: AuditResult) -> Chrome:
    """Page furniture for base.html.j2; other report pages (compare) build theirs the same way."""
    nav = [NavItem(href, label, href == active) for href, label in NAV]
    return Chrome(title, nav, assets["report.css"], assets["report.js"], CSP, result.created,
                  result.tool_version)


@dataclass(frozen=True)
class ReportStats:
    pages: int
    bytes: int


class _Writer:
    """Renders templates into the output folder and counts what it wrote."""

    def __init__(self, outdir: str, env: jinja2.Environment, assets: dict, result: AuditResult,
                 progress=None, total: int = 0):
        self.outdir, self.env, self.assets, self.result = outdir, env, assets, result
        self.pages = self.bytes = 0
        self.written = set(assets.values())
        self.progress, self.total = progress, total

    def page(self, filename: str, template: str, title: str, active: str, **context) -> None:
        html = self.env.get_template(template).render(
            chrome=chrome(title, active, self.assets, self.result), **context)
        data = html.encode("utf-8")
        _write_bytes(os.path.join(self.outdir, filename), data)
        self.written.add(filename)
        self.pages += 1
        self.bytes += len(data)
        if self.progress is not None:
            self.progress(self.pages, max(self.total, self.pages), filename)


def write_report(result: AuditResult, outdir: str, sources: vm.SourceText,
                 rule_meta: dict[str, dict] | None = None,
                 corpus_text: sidebyside.CorpusText | None = None,
                 progress=None) -> ReportStats:
    """Write the whole report into outdir (created if needed); returns pages and bytes.

    ``progress(done, total, page)`` is called after each page.

    Pages and assets of an earlier report in the same folder that this one does not
    have (files since deleted, old asset hashes) are removed; nothing else is touched.
    index.html is removed first and written last: a folder with an index.html holds a
    complete report.
    """
    check_outdir(outdir)
    os.makedirs(outdir, exist_ok=True)
    index = os.path.join(outdir, "index.html")
    if os.path.lexists(index):  # gone until the new report is complete: no half report has one
        os.unlink(index)
    sections = {k: (v.to_dict() if hasattr(v, "to_dict") else v)
                for k, v in sorted(result.sections.items())}
    w = _Writer(outdir, environment(), copy_assets(outdir), result, progress,
                expected_pages(result, sections, rule_meta))
    languages = {f.path: f.language for f in result.files}
    w.page("hotspots.html", "hotspots.html.j2", "Hotspots", "hotspots.html",
           data=vm.hotspot_data(result), total=result.totals.functions)
    w.page("files.html", "files.html.j2", "Files", "files.html", files=vm.file_rows(result),
           treemap=file_treemap(result, vm.file_href))
    xrefs = vm.xref_index(sections)
    for f in result.files:
        w.page(vm.file_href(f.path), "file.html.j2", vm.visible(f.path), "files.html",
               fp=vm.file_page(f, sources(f.path), xrefs.get(f.path, [])))
    rules = rules_view.rule_pages(result, rule_meta or {})
    w.page("rules.html", "rules.html.j2", "Rules", "rules.html", rules=rules,
           ran=bool(rule_meta) or "rules" in sections or bool(result.findings),
           chart=vm.findings_chart(result))
    for r in rules:
        w.page(r.href, "rule.html.j2", r.id, "rules.html", rule=r)
    w.page("provenance.html", "provenance.html.j2", "Provenance", "provenance.html",
           det=dview.view(sections.get("provenance")),
           prov=sidebyside.provenance_page(sections.get("provenance"), sources,
                                   corpus_text or _no_corpus_text, languages))
    _clone_pages(w, sections.get("clones"), result, sources, languages)
    remove_stale(outdir, w.written)
    # written last, so an interrupted or failed run leaves no report that looks complete
    w.page("index.html", "overview.html.j2", "Overview", "index.html",
           ov=vm.overview(result, sections), det=dview.view(sections.get("provenance")))
    return ReportStats(w.pages, w.bytes)


def expected_pages(result: AuditResult, sections: dict, rule_meta: dict | None) -> int:
    """About how many pages a report has (for progress): fixed, file, rule and clone pages."""
    rules = set(rule_meta or {}) | {f.rule for f in result.findings}
    groups = len((sections.get("clones") or {}).get("groups", []))
    return 7 + len(result.files) + len(rules) + -(-groups // vm.CLONE_GROUPS_PER_PAGE)


def _clone_pages(w: _Writer, clones: dict | None, result: AuditResult, sources, languages) -> None:
    """The clone index, and the groups on pages of a few each, opened from the index."""
    index = clones_view.clones_index(clones, clones_view.test_units(result))
    w.page("clones.html", "clones.html.j2", "Clones", "clones.html", clones=index)
    groups = (clones or {}).get("groups", [])
    rows = sorted(index.groups, key=lambda r: r.number)
    for start in range(0, len(rows), vm.CLONE_GROUPS_PER_PAGE):
        chunk = rows[start:start + vm.CLONE_GROUPS_PER_PAGE]
        pages = [clones_view.group_page(r, groups[r.number - 1], sources, languages)
                 for r in chunk]
        w.page(vm.clone_page(chunk[0].number), "clone.html.j2",
               f"Clone groups {chunk[0].number}-{chunk[-1].number}", "clones.html", pages=pages)


# Names this report writes besides its fixed pages: per-file, per-rule and clone-group
# pages, assets.
_OWN_NAMES = re.compile(r"^(?:(?:file|rule)-[A-Za-z0-9_.-]*-[0-9a-f]{10}\.html"
                        r"|clones-[0-9]+\.html|report\.[0-9a-f]{12}\.(?:css|js))$")


def remove_stale(outdir: str, written: set[str]) -> None:
    """Delete report pages and assets left by an earlier report that this one did not write."""
    for name in os.listdir(outdir):
        if name not in written and _OWN_NAMES.match(name):
            os.unlink(os.path.join(outdir, name))


def check_outdir(path: str) -> None:
    """A report folder must be a folder (or not exist yet)."""
    if os.path.exists(path) and not os.path.isdir(path):
        raise UsageError(f"--html needs a folder, and {path} is a file",
                         "give a new or existing folder: audit scan PATH --html report/")


def _no_corpus_text(match: dict) -> str | None:
    return match.get("corpus_text") if isinstance(match.get("corpus_text"), str) else None


def _write_bytes(path: str, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)


def file_sources(result: AuditResult, read: Callable[[str], bytes | None]) -> vm.SourceText:
    """Adapt a bytes reader to the SourceText the view models take (decoded, cached once)."""
    cache: dict[str, str | None] = {}

    def text(path: str) -> str | None:
        if path not in cache:
            data = read(path)
            cache[path] = None if data is None else data.decode("utf-8", "replace")
        return cache[path]

    return text
