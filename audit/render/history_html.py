"""The history page: view models with inline SVG line charts, rendered by history.html.j2."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime

from audit import __version__
from audit.history import HistoryResult
from audit.render.html import CSP, Chrome, NavItem, copy_assets, environment

PALETTE = ("#1f6feb", "#d1242f", "#8250df", "#1a7f37", "#bf8700", "#0a7ea4", "#cf222e")
CHARTS = (  # title, [(series label, point key)]
    ("Source lines", [("source lines", "sloc")]),
    ("Functions", [("functions", "functions"), ("non-test functions", "functions_non_test"),
                   ("files", "files")]),
    ("Cyclomatic complexity per non-test function", [("mean", "cyclomatic_mean"), ("p90", "cyclomatic_p90")]),
    ("Most complex function (cyclomatic)", [("max", "cyclomatic_max")]),
    ("Findings per 1,000 source lines", [("all", "findings_per_kloc")]),
)


@dataclass(frozen=True)
class Series:
    label: str
    color: str
    d: str  # SVG path data
    last: str  # the last value, shown in the legend


@dataclass(frozen=True)
class Tick:
    label: str
    x: float
    y: float
    anchor: str = "middle"  # SVG text-anchor; the last date ends at the plot's right edge


@dataclass(frozen=True)
class Marker:
    x: float
    y: float
    title: str


@dataclass(frozen=True)
class LineChart:
    title: str
    width: int
    height: int
    left: int
    bottom: int
    series: list[Series]
    yticks: list[Tick]
    xticks: list[Tick]
    markers: list[Marker]


@dataclass(frozen=True)
class JumpRow:
    metric: str
    commit: str
    short: str
    subject: str
    change: str


def line_chart(title: str, points: list[dict], series: list[tuple[str, str]], marks=(),
               width: int = 720, height: int = 220) -> LineChart:
    """A chart of point values against commit order; ``marks`` are commit ids to flag."""
    left, bottom, top = 56, 24, 10
    plot_w, plot_h = width - left - 10, height - bottom - top
    top_value = max((p[key] for p in points for _, key in series), default=0) or 1
    n = max(1, len(points) - 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        return round(left + plot_w * i / n, 1), round(top + plot_h * (1 - v / top_value), 1)

    out = []
    for k, (label, key) in enumerate(series):
        coords = [xy(i, p[key]) for i, p in enumerate(points)]
        d = "M" + " L".join(f"{x},{y}" for x, y in coords) if coords else ""
        out.append(Series(label, PALETTE[k % len(PALETTE)], d, _fmt(points[-1][key]) if points else ""))
    yticks = [Tick(_fmt(top_value * f), left - 6, xy(0, top_value * f)[1]) for f in (0, 0.5, 1)]
    last = len(points) - 1
    xticks = [Tick(points[i]["time"][:10], xy(i, 0)[0], height - 6, "end" if i == last and i else "middle")
              for i in sorted({0, len(points) // 2, last})] if points else []
    index = {p["commit"]: i for i, p in enumerate(points)}
    key0 = series[0][1]
    markers = [Marker(*xy(index[c], points[index[c]][key0]), f"{c[:8]} {points[index[c]]['subject']}")
               for c in marks if c in index]
    return LineChart(title, width, height, left, bottom, out, yticks, xticks, markers)


def category_chart(points: list[dict]) -> LineChart | None:
    """Findings per KLOC, one line per category."""
    cats = sorted({c for p in points for c in p.get("findings_per_kloc_by_category", {})})
    if not cats:
        return None
    flat = [{**p, **{f"cat:{c}": p["findings_per_kloc_by_category"].get(c, 0.0) for c in cats}}
            for p in points]
    return line_chart("Findings per 1,000 source lines, by category", flat,
                      [(c, f"cat:{c}") for c in cats])


def jump_rows(result: HistoryResult) -> list[JumpRow]:
    rows = []
    for metric, moves in result.jumps.items():
        for m in moves:
            rel = f" ({m['relative']:+.0%})" if m["relative"] is not None else ""
            rows.append(JumpRow(metric.replace("_", " "), m["commit"], m["commit"][:8], m["subject"],
                                f"{_fmt(m['from'])} → {_fmt(m['to'])}{rel}"))
    return rows


def charts(result: HistoryResult) -> list[LineChart]:
    out = []
    for title, series in CHARTS:
        marks = [m["commit"] for m in result.jumps.get(series[0][1], [])[:3]]
        out.append(line_chart(title, result.points, series, marks))
    cats = category_chart(result.points)
    if cats:
        out.append(cats)
    sampled = [p for p in result.points if p.get("duplication_share") is not None]
    if sampled:
        marks = [m["commit"] for m in result.jumps.get("duplication_share", [])[:3]]
        out.append(line_chart(f"Duplication share (internal clones, {len(sampled)} sampled commits)",
                              sampled, [("share of source lines", "duplication_share")], marks))
    return out


def write_page(result: HistoryResult, outdir: str) -> str:
    """Write history.html and the report's assets into outdir; returns the page's path."""
    os.makedirs(outdir, exist_ok=True)
    assets = copy_assets(outdir)
    created = datetime.now(UTC).isoformat(timespec="seconds")
    chrome = Chrome("History", [NavItem("history.html", "History", True)], assets["report.css"],
                    assets["report.js"], CSP, created, __version__)
    html = environment().get_template("history.html.j2").render(
        chrome=chrome, h=result, charts=charts(result), jumps=jump_rows(result),
        first=result.points[0] if result.points else None,
        last=result.points[-1] if result.points else None)
    path = os.path.join(outdir, "history.html")
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(html)
    os.replace(tmp, path)
    return path


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:,.2f}"
    return f"{v:,}"
