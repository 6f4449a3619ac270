"""View models for the HTML report: plain records built from an AuditResult.

Templates only loop, branch and escape; every decision (what to show, in which
order, which grade, where a link points) is made here. Every string that comes
from the audited tree goes through :func:`visible` (bidi and control characters
become markers) and is escaped by jinja2; source lines arrive as escaped markup
from :mod:`audit.render.highlight`. Sections of later stages (rules, provenance,
clones) are read through their ``to_dict()`` JSON contract, and each part of the
report degrades to a short note when its section is absent.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from markupsafe import Markup

from audit.render.charts import (
    BarChart,
    TreeMap,
    complexity_histogram,
    file_treemap,
    findings_chart,
)
from audit.render.highlight import highlight_lines, visible
from audit.results import AuditResult, FileResult, Finding

SourceText = Callable[[str], "str | None"]  # report path -> file text, None when unavailable
SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


# -- links and small records --------------------------------------------------------------

def match_anchor(path: str, i: int) -> str:
    """The id of a file's i-th match on the provenance page; file pages link to it."""
    return "M" + hashlib.sha1(path.encode("utf-8", "surrogatepass")).hexdigest()[:10] + f"-{i}"


def page_slug(kind: str, key: str) -> str:
    """A safe file name for a page: ASCII letters, digits and dashes, plus a hash of the key.

    Paths and rule ids of the audited tree never become URLs as they are, so a path
    such as ``javascript:alert(1).rs`` or ``../../x`` cannot turn into a live link.
    """
    base = re.sub(r"[^A-Za-z0-9_.-]+", "-", key.rsplit("/", 1)[-1]).strip("-.")[:40] or "x"
    digest = hashlib.sha1(key.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return f"{kind}-{base}-{digest}.html"


def file_href(path: str, line: int | None = None) -> str:
    return page_slug("file", path) + (f"#L{line}" if line else "")


def rule_href(rule: str) -> str:
    return page_slug("rule", rule)


CLONE_GROUPS_PER_PAGE = 8  # clone groups share pages: most are two short functions


def clone_page(number: int) -> str:
    """The page holding clone group ``number`` (1-based, in the clones section's order)."""
    return f"clones-{(number - 1) // CLONE_GROUPS_PER_PAGE + 1}.html"


def clone_href(number: int) -> str:
    return f"{clone_page(number)}#G{number}"


@dataclass(frozen=True)
class Stat:
    label: str
    value: str


@dataclass(frozen=True)
class Grade:
    """A letter for one area, with the number it comes from and where to read more."""

    area: str
    letter: str  # A-F, or "-" when the stage did not run
    summary: str
    href: str


@dataclass(frozen=True)
class Lead:
    """One of the few things a reviewer should look at first."""

    kind: str
    title: str
    where: str
    href: str
    why: str


@dataclass(frozen=True)
class FindingVM:
    rule: str
    rule_href: str
    severity: str
    category: str
    message: str
    path: str
    href: str
    line: int
    end_line: int
    unit: str
    suppressed: str | None


def rule_key(f: Finding) -> str:
    """A finding's rule page key: ``language/id`` for an id several packs share."""
    try:
        from audit.rules.registry import rule_key as key
    except ModuleNotFoundError:
        return f.rule
    return key(f.rule, f.path)


def finding_vm(f: Finding) -> FindingVM:
    return FindingVM(visible(f.rule), rule_href(rule_key(f)), f.severity, visible(f.category),
                     visible(f.message), visible(f.path), file_href(f.path, f.line), f.line,
                     f.end_line, visible(f.unit), None if f.suppressed is None
                     else visible(f.suppressed))


def _sorted_findings(findings) -> list[Finding]:
    return sorted(findings, key=lambda f: (SEVERITY_ORDER.get(f.severity, 3), f.path, f.line,
                                           f.rule, f.column, f.message))


def script_json(data) -> Markup:
    """JSON safe to embed in a ``<script type="application/json">`` element.

    ``<``, ``>`` and ``&`` become unicode escapes, so no ``</script>`` or comment
    opener can end the element early; U+2028/2029 are escaped for old parsers.
    """
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                    ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, esc)
    return Markup(text)


# -- grades ------------------------------------------------------------------------------

# Upper limits (exclusive) for A..E; anything at or above the last limit is F.
SHARE_BANDS = (0.05, 0.10, 0.20, 0.30, 0.40)  # share of source lines in a bad state
DENSITY_BANDS = (1.0, 3.0, 6.0, 10.0, 20.0)  # findings (warning or worse) per 1,000 source lines


def band(value: float, limits: tuple[float, ...]) -> str:
    """The letter A-F for value, given the five upper limits of A to E."""
    for letter, top in zip("ABCDE", limits):
        if value < top:
            return letter
    return "F"


def grades(result: AuditResult, sections: dict) -> list[Grade]:
    """A grade per area: complexity, maintainability, findings, duplication, provenance."""
    t = result.totals
    out = [Grade("complexity", band(t.poor_share, SHARE_BANDS),
                 f"{t.poor_share:.1%} of source lines sit in functions ranked D-F",
                 "hotspots.html")]
    low_mi = sum(u.metrics.sloc for f in result.files for u in f.functions if u.metrics.mi < 20)
    share = low_mi / t.lines.source if t.lines.source else 0.0
    out.append(Grade("maintainability", band(share, SHARE_BANDS),
                     f"{share:.1%} of source lines sit in functions with a maintainability "
                     "index below 20", "files.html"))
    out.append(_findings_grade(result, sections))
    clones = sections.get("clones")
    if clones is None:
        out.append(Grade("duplication", "-", "clone detection did not run", "clones.html"))
    else:
        dup = float(clones.get("duplication_share", 0.0))
        out.append(Grade("duplication", band(dup, SHARE_BANDS),
                         f"{dup:.1%} of source lines repeat another function", "clones.html"))
    return out


def _findings_grade(result: AuditResult, sections: dict) -> Grade:
    if "rules" not in sections and not result.findings:
        return Grade("findings", "-", "rules did not run", "rules.html")
    active = [f for f in result.findings if f.suppressed is None and f.severity != "info"]
    kloc = result.totals.lines.source / 1000
    density = len(active) / kloc if kloc else 0.0
    debt = (sections.get("rules") or {}).get("debt") or {}
    if debt.get("rating"):  # the rules stage's own debt rating, when it ran
        return Grade("findings", str(debt["rating"]),
                     f"{density:.1f} warnings or errors per 1,000 source lines; technical debt "
                     f"{float(debt.get('hours', 0)):,.1f} h (ratio {float(debt.get('ratio', 0)):.2%})",
                     "rules.html")
    return Grade("findings", band(density, DENSITY_BANDS),
                 f"{density:.1f} warnings or errors per 1,000 source lines", "rules.html")


# -- overview ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Overview:
    target: list[str]
    created: str
    versions: list[Stat]
    stats: list[Stat]
    grades: list[Grade]
    verdict: ProvenanceSummary | None
    leads: list[Lead]
    fix_first: list[Lead]  # the fix-first list's top ten (audit.metrics.fixfirst)
    fix_first_formula: str
    histogram: BarChart
    treemap: TreeMap
    findings_chart: BarChart | None
    skipped: list[Stat]
    warnings: list[str]


@dataclass(frozen=True)
class ProvenanceSummary:
    verdict: str
    score: str
    corpora: list[str]


def overview(result: AuditResult, sections: dict) -> Overview:
    """The first page: what was audited, when, with what, how it grades, where to look."""
    t = result.totals
    stats = [Stat("files measured", f"{t.files:,}"), Stat("files skipped", f"{t.skipped:,}"),
             Stat("source lines", f"{t.lines.source:,}"),
             Stat("functions", f"{t.functions:,}"),
             Stat("mean cyclomatic complexity", f"{t.cyclomatic_mean:.2f}"),
             Stat("functions ranked D-F", f"{t.ranks['D'] + t.ranks['E'] + t.ranks['F']:,}"),
             Stat("findings", f"{len(result.findings):,}")]
    skipped = Counter(s.reason for s in result.skipped)
    return Overview(
        target=[visible(str(p)) for p in result.config.get("paths", [])],
        created=result.created, versions=_versions(result, sections), stats=stats,
        grades=grades(result, sections), verdict=verdict_summary(sections.get("provenance")),
        leads=leads(result, sections), fix_first=fix_first_leads(sections, 10),
        fix_first_formula=visible(str((sections.get("fix_first") or {}).get("formula", ""))),
        histogram=complexity_histogram(result),
        treemap=file_treemap(result, file_href), findings_chart=findings_chart(result),
        skipped=[Stat(visible(r), f"{n:,}") for r, n in sorted(skipped.items())],
        warnings=[visible(w) for w in result.warnings])


def _versions(result: AuditResult, sections: dict) -> list[Stat]:
    out = [Stat("audit", result.tool_version), Stat("result format", str(result.format_version))]
    rules = sections.get("rules") or {}
    if rules.get("active_rules"):
        out.append(Stat("rules", f"{int(rules['active_rules']):,} active"))
    for c in (sections.get("provenance") or {}).get("corpora", []):
        out.append(Stat(f"corpus {visible(str(c.get('name', '?')))}", _corpus_version(c)))
    cfg = result.config
    out.append(Stat("languages", ", ".join(cfg.get("languages", []))))
    if cfg.get("python_engine"):
        out.append(Stat("python engine", str(cfg["python_engine"])))
    return out


def _corpus_version(c: dict) -> str:
    """A corpus index as a reviewer cites it: size and when it was indexed."""
    bits = []
    if c.get("files") is not None:
        bits.append(f"{int(c['files']):,} files")
    if c.get("lines") is not None:
        bits.append(f"{int(c['lines']):,} lines")
    if c.get("created"):
        bits.append(f"indexed {c['created']}")
    return visible(", ".join(bits)) or "indexed"


def verdict_summary(prov: dict | None) -> ProvenanceSummary | None:
    """The project verdict of a provenance section, or None when no corpus was compared."""
    if not prov:
        return None
    corpora = [visible(str(c.get("name", "?"))) for c in prov.get("corpora", [])]
    return ProvenanceSummary(visible(str(prov.get("verdict", "unknown"))),
                             f"{float(prov.get('score', 0.0)):.2f}", corpora)


def leads(result: AuditResult, sections: dict, n: int = 3) -> list[Lead]:
    """The few things to look at first, most consequential first: the strongest corpus
    match, the worst functions, the largest clone group, the most frequent rules."""
    out = _provenance_lead(sections.get("provenance"))
    ranked = fix_first_leads(sections, n)
    out += ranked
    for f, u in ([] if ranked else result.hotspots(n)):
        m = u.metrics
        out.append(Lead("function", visible(u.qualname), f"{visible(f.path)}:{u.start_line}",
                        file_href(f.path, u.start_line),
                        f"cyclomatic {m.cyclomatic}, cognitive {m.cognitive}, {m.sloc} source "
                        f"lines (rank {u.rank})"))
    groups = (sections.get("clones") or {}).get("groups", [])
    if groups:
        g = groups[0]
        first = g["members"][0]
        out.append(Lead("clones", f"{g['size']} copies of {visible(first['qualname'])}",
                        f"{visible(first['path'])}:{first['start_line']}", clone_href(1),
                        f"{g.get('duplicated_sloc', 0):,} duplicated source lines"))
    for rule, count, severity in _top_rules(result.findings, n):
        out.append(Lead("rule", visible(rule), f"{count:,} occurrences", rule_href(rule),
                        f"{severity}-level findings"))
    return out


def fix_first_leads(sections: dict, n: int) -> list[Lead]:
    """The first n functions of the fix-first list, with their score and reasons."""
    out = []
    for item in ((sections.get("fix_first") or {}).get("items") or [])[:n]:
        out.append(Lead("fix first", visible(item["qualname"]),
                        f"{visible(item['path'])}:{item['start_line']}",
                        file_href(item["path"], item["start_line"]),
                        f"score {float(item['score']):,.0f}: "
                        + visible("; ".join(item.get("reasons", [])))))
    return out


def _provenance_lead(prov: dict | None) -> list[Lead]:
    match = _strongest_match(prov)
    if not match:
        return []
    path, i, m = match
    return [Lead("provenance", f"{visible(path)} \u2194 {visible(str(m.get('corpus_path')))}",
                 visible(str(m.get("corpus", ""))), f"provenance.html#{match_anchor(path, i)}",
                 f"match score {float(m.get('score', 0)):.2f}")]


def _top_rules(findings: list[Finding], n: int) -> list[tuple[str, int, str]]:
    """The rules with most active findings at the most severe level that has any."""
    for severity in ("error", "warning"):
        counts = Counter(rule_key(x) for x in findings
                         if x.suppressed is None and x.severity == severity)
        if counts:
            top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
            return [(rule, count, severity) for rule, count in top]
    return []


def _strongest_match(prov: dict | None):
    best = None
    for f in (prov or {}).get("files", []):
        if f.get("verdict") == "clean":
            continue
        for i, m in enumerate(f.get("matches", [])):
            key = (-float(m.get("score", 0)), f.get("path", ""), i)
            if best is None or key < best[0]:
                best = (key, (f.get("path", ""), i, m))
    return best[1] if best else None


# -- hotspots ----------------------------------------------------------------------------

HOTSPOT_COLUMNS = ("file", "function", "line", "rank", "cyclomatic", "cognitive", "nesting",
                   "sloc", "params", "mi", "findings", "test")


def unit_finding_counts(f: FileResult) -> dict[int, int]:
    """Active findings per function, keyed by the unit's start line (innermost unit wins)."""
    spans = sorted(f.functions, key=lambda u: (u.start_line, -u.end_line))
    counts: dict[int, int] = defaultdict(int)
    for x in f.findings:
        if x.suppressed is not None:
            continue
        inner = None
        for u in spans:
            if u.start_line <= x.line <= u.end_line:
                inner = u
            elif u.start_line > x.line:
                break
        if inner is not None:
            counts[inner.start_line] += 1
    return counts


def hotspot_data(result: AuditResult) -> Markup:
    """Every function as compact rows for the hotspot table script, safely embedded."""
    files, rows = [], []
    for fi, f in enumerate(result.files):
        files.append([visible(f.path), file_href(f.path)])
        counts = unit_finding_counts(f)
        cut = len(module_prefix([u.qualname for u in f.units]))  # the file column says where
        for u in f.functions:
            m = u.metrics
            rows.append([fi, visible(u.qualname[cut:]), u.start_line, u.rank, m.cyclomatic, m.cognitive,
                         m.nesting, m.sloc, m.params, round(m.mi, 1), counts.get(u.start_line, 0),
                         1 if u.is_test else 0])
    return script_json({"columns": list(HOTSPOT_COLUMNS), "files": files, "rows": rows})


# -- files -------------------------------------------------------------------------------

@dataclass(frozen=True)
class FunctionRow:
    qualname: str
    kind: str
    href: str
    line: int
    end_line: int
    rank: str
    cyclomatic: int
    cognitive: int
    nesting: int
    sloc: int
    params: int
    mi: str
    findings: int
    is_test: bool


class SourceLine(NamedTuple):  # a tuple: a 200k-line tree makes 200k of these
    no: int
    html: Markup
    findings: list[FindingVM]
    unit: "FunctionRow | None"  # the function starting on this line, shown as a header row
    anchor: bool  # has an id: other pages link here (the script finds any other line)


class CodeBlock(NamedTuple):
    """Rows of a file page's source table: a run of lines, a function head or findings."""

    kind: str  # "code", "unit" or "findings"
    first: int  # first line number of a code run (the script numbers the rest)
    html: Markup  # the run's highlighted lines, one a line
    anchor: bool  # a single line other pages link to: it gets an id
    unit: "FunctionRow | None"
    findings: list[FindingVM]


def code_blocks(lines: list[SourceLine]) -> list[CodeBlock]:
    """Source lines as runs between function heads and findings; linked-to lines alone.

    A run is one table row (its first line number, and its lines joined by line ends),
    so the markup does not grow with every line; the report script numbers the other
    lines of a run and splits a run when a link points inside it.
    """
    out: list[CodeBlock] = []
    run: list[SourceLine] = []

    def flush() -> None:
        if run:
            out.append(CodeBlock("code", run[0].no, Markup("\n".join(x.html for x in run)),
                                 False, None, []))
            run.clear()

    for line in lines:
        if line.unit is not None:
            flush()
            out.append(CodeBlock("unit", line.no, Markup(""), False, line.unit, []))
        if line.anchor:
            flush()
            out.append(CodeBlock("code", line.no, line.html, True, None, []))
        else:
            run.append(line)
        if line.findings:
            flush()
            out.append(CodeBlock("findings", line.no, Markup(""), False, None, line.findings))
    flush()
    return out


@dataclass(frozen=True)
class XRef:
    """A pointer from a file page to a provenance match or a clone group."""

    label: str
    href: str
    detail: str


@dataclass(frozen=True)
class FilePage:
    path: str
    href: str
    language: str
    swhid: str
    module: str  # the prefix every function name on the page shares, shown once
    stats: list[Stat]
    functions: list[FunctionRow]  # drawn as table rows (few functions)
    function_data: Markup | None  # the same as JSON for the script (many functions)
    lines: list[SourceLine]
    findings: list[FindingVM]
    xrefs: list[XRef]
    note: str  # why the source is missing or differs from what was measured

    @property
    def blocks(self) -> list[CodeBlock]:
        return code_blocks(self.lines)


FUNCTION_ROWS_DRAWN = 10  # a file with more functions gets its table from embedded JSON


def function_rows(f: FileResult, module: str = "") -> list[FunctionRow]:
    counts = unit_finding_counts(f)
    return [FunctionRow(visible(u.qualname[len(module):]), u.kind, f"#L{u.start_line}", u.start_line,
                        u.end_line, u.rank, u.metrics.cyclomatic, u.metrics.cognitive,
                        u.metrics.nesting, u.metrics.sloc, u.metrics.params, f"{u.metrics.mi:.0f}",
                        counts.get(u.start_line, 0), u.is_test)
            for u in f.functions]


def file_page(f: FileResult, text: str | None, xrefs: list[XRef] = ()) -> FilePage:
    """A file with its highlighted source, findings at their lines and metrics per function."""
    from audit.walk import git_blob_sha1

    note = ""
    lines: list[SourceLine] = []
    module = module_prefix([u.qualname for u in f.functions])
    rows = function_rows(f, module)
    if text is None:
        note = "The source could not be read when the report was written."
    else:
        if git_blob_sha1(text.encode("utf-8", "surrogateescape")) != f.sha1:
            note = "The file changed after it was measured; lines may not match the metrics."
        lines = _source_lines(f, text, rows)
    stats = [Stat("lines", f"{f.lines.physical:,}"), Stat("source", f"{f.lines.source:,}"),
             Stat("comments", f"{f.lines.comment:,}"), Stat("functions", f"{len(f.functions):,}"),
             Stat("maintainability index", f"{f.mi:.0f} ({f.mi_rank})"),
             Stat("findings", f"{len(f.findings):,}")]
    if f.parse_errors:
        spans = ", ".join(f"{e.start_line}-{e.end_line}" for e in f.parse_errors[:5])
        stats.append(Stat("syntax errors at lines", spans))
    many = len(rows) > FUNCTION_ROWS_DRAWN
    return FilePage(visible(f.path), file_href(f.path), f.language, f"swh:1:cnt:{f.sha1}",
                    visible(module), stats, [] if many else rows,
                    function_json(rows) if many else None, lines,
                    [finding_vm(x) for x in _sorted_findings(f.findings)], list(xrefs), note)


def module_prefix(names: list[str]) -> str:
    """The leading path (up to a ``::`` or ``.``) that every name shares and none equals."""
    if len(names) < 2:
        return ""
    common = names[0]
    for n in names[1:]:
        while not n.startswith(common):
            common = common[:-1]
    cut = max(common.rfind("::") + 2 if "::" in common else 0, common.rfind(".") + 1)
    return common[:cut] if all(len(n) > cut for n in names) else ""


def function_json(rows: list[FunctionRow]) -> Markup:
    """A file's function table as compact rows for the script (see report.js)."""
    return script_json([[r.qualname, r.line, r.rank, r.cyclomatic, r.cognitive, r.nesting,
                         r.sloc, r.params, r.mi, r.findings, 1 if r.is_test else 0]
                        for r in rows])


def _source_lines(f: FileResult, text: str, rows: list[FunctionRow]) -> list[SourceLine]:
    by_line: dict[int, list[FindingVM]] = defaultdict(list)
    for x in _sorted_findings(f.findings):
        by_line[x.line].append(finding_vm(x))
    starts: dict[int, FunctionRow] = {}
    for row in rows:  # the outer function when two start on one line
        starts.setdefault(row.line, row)
    return [SourceLine(i, html, by_line.get(i, []), starts.get(i), i in by_line or i in starts)
            for i, html in enumerate(highlight_lines(text, f.language), 1)]


def xref_index(sections: dict) -> dict[str, list[XRef]]:
    """Per audited path, its provenance matches and clone groups (built once per report)."""
    out: dict[str, list[XRef]] = defaultdict(list)
    for pf in (sections.get("provenance") or {}).get("files", []):
        path = pf.get("path", "")
        for i, m in enumerate(pf.get("matches", [])):
            out[path].append(XRef(f"corpus match: {visible(str(m.get('corpus_path', '?')))}",
                                  f"provenance.html#{match_anchor(path, i)}",
                                  f"{visible(str(m.get('corpus', '')))}, score "
                                  f"{float(m.get('score', 0)):.2f}"))
    for gi, g in enumerate((sections.get("clones") or {}).get("groups", []), 1):
        here = Counter(mem["path"] for mem in g.get("members", []))
        for path, n in sorted(here.items()):  # one line per group, however many members here
            out[path].append(XRef(f"clone group {gi}", clone_href(gi),
                                  f"{n} of its {g['size']} members in this file, similarity "
                                  f"{float(g.get('similarity', 0)):.2f}"))
    return out


@dataclass(frozen=True)
class FileRow:
    path: str
    href: str
    language: str
    sloc: int
    functions: int
    worst: str
    mi: str
    findings: int


def file_rows(result: AuditResult) -> list[FileRow]:
    return [FileRow(visible(f.path), file_href(f.path), f.language, f.lines.source,
                    len(f.functions), max((u.rank for u in f.functions), default="-"),
                    f"{f.mi:.0f}", len(f.findings)) for f in result.files]
