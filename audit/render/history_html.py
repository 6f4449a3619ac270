"""The history page: view models with inline SVG line charts, rendered by history.html.j2."""

from __future__ import annotations

import math
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


CHAR_W = 6.6  # width of a chart label character at 11px, for margins and spacing
MARK_MIN_RELATIVE = 0.01  # a jump smaller than 1% of its value is listed but not circled


def line_chart(title: str, points: list[dict], series: list[tuple[str, str]], marks=(),
               width: int = 720, height: int = 220) -> LineChart:
    """A chart of point values against commit order; ``marks`` are commit ids to flag.

    The y axis spans the data (not from zero), with round tick values, so a trend that
    moves 2% is visible; the left margin fits the longest tick label.
    """
    values = [p[key] for p in points for _, key in series if p.get(key) is not None]
    ticks = nice_ticks(min(values, default=0), max(values, default=1))
    lo, hi = ticks[0], ticks[-1]
    labels = [_axis_label(t, ticks) for t in ticks]
    left = round(max(len(x) for x in labels) * CHAR_W) + 14
    bottom, top = 24, 10
    plot_w, plot_h = width - left - 12, height - bottom - top
    n = max(1, len(points) - 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        return round(left + plot_w * i / n, 1), round(top + plot_h * (1 - (v - lo) / (hi - lo)), 1)

    out = []
    for k, (label, key) in enumerate(series):
        coords = [xy(i, p[key]) for i, p in enumerate(points) if p.get(key) is not None]
        d = "M" + " L".join(f"{x},{y}" for x, y in coords) if coords else ""
        out.append(Series(label, PALETTE[k % len(PALETTE)], d, _fmt(points[-1][key]) if points else ""))
    yticks = [Tick(lab, left - 6, xy(0, t)[1]) for t, lab in zip(ticks, labels)]
    xticks = date_ticks(points, lambda i: xy(i, lo)[0], height - 6, width)
    index = {p["commit"]: i for i, p in enumerate(points)}
    key0 = series[0][1]
    markers = [Marker(*xy(index[c], points[index[c]][key0]), f"{c[:8]} {points[index[c]]['subject']}")
               for c in marks if c in index]
    return LineChart(title, width, height, left, bottom, out, yticks, xticks, markers)


def nice_ticks(lo: float, hi: float, count: int = 4) -> list[float]:
    """Round tick values that cover [lo, hi]: steps of 1, 2 or 5 times a power of ten."""
    if hi < lo:
        lo, hi = hi, lo
    if hi == lo:  # a flat series: a band around it (never below zero for a zero series)
        pad = abs(hi) * 0.05 or 1.0
        lo, hi = (lo - pad, hi + pad) if hi else (0.0, 1.0)
    raw = (hi - lo) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.floor(lo / step) * step
    ticks = [first]
    while ticks[-1] < hi - 1e-9 * step:
        ticks.append(first + step * len(ticks))
    return [round(t, 10) for t in ticks]


def _axis_label(v: float, ticks: list[float]) -> str:
    """A tick label with as many decimals as the step needs (71,417.5 is not 1,417.50)."""
    step = abs(ticks[1] - ticks[0]) if len(ticks) > 1 else 1.0
    decimals = max(0, -math.floor(math.log10(step))) if step < 1 else (1 if step % 1 else 0)
    return f"{v:,.{decimals}f}"


def date_ticks(points: list[dict], x_of, y: float, width: int) -> list[Tick]:
    """Up to five evenly spaced commit dates, each label different and none overlapping.

    Labels are days when the range spans days, day and time when it spans minutes, and
    times to the second below that.
    """
    if not points:
        return []
    times = [p["time"] for p in points]
    span = (datetime.fromisoformat(times[-1]) - datetime.fromisoformat(times[0])).total_seconds()
    cut = (0, 10) if abs(span) >= 2 * 86400 else (5, 16) if abs(span) >= 120 else (11, 19)
    label = lambda t: t[cut[0]:cut[1]].replace("T", " ")  # noqa: E731
    last = len(points) - 1
    wanted = sorted({round(last * k / 4) for k in range(5)})
    out: list[Tick] = []
    for i in wanted:
        text, x = label(times[i]), x_of(i)
        if out and (text == out[-1].label or x - out[-1].x < len(text) * CHAR_W + 8):
            continue  # the same date as its neighbour, or too close to it
        out.append(Tick(text, x, y, "start" if i == 0 and last else "end" if i == last and i
                        else "middle"))
    return out


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
            rel = f" ({_percent(m['relative'])})" if m["relative"] is not None else ""
            rows.append(JumpRow(metric.replace("_", " "), m["commit"], m["commit"][:8], m["subject"],
                                f"{_fmt(m['from'])} → {_fmt(m['to'])}{rel}"))
    return rows


def _percent(rel: float) -> str:
    """A relative change with the precision it needs: +12%, +0.4%, +0.03%."""
    if rel and abs(rel) < 0.001:
        return f"{rel:+.2%}"
    return f"{rel:+.1%}" if rel and abs(rel) < 0.01 else f"{rel:+.0%}"


def marked(jumps: list[dict], n: int = 3) -> list[str]:
    """The commits to circle: the largest jumps that moved their measure by 1% or more."""
    return [m["commit"] for m in jumps
            if m["relative"] is None or abs(m["relative"]) >= MARK_MIN_RELATIVE][:n]


def charts(result: HistoryResult) -> list[LineChart]:
    out = []
    for title, series in CHARTS:
        marks = marked(result.jumps.get(series[0][1], []))
        out.append(line_chart(title, result.points, series, marks))
    cats = category_chart(result.points)
    if cats:
        out.append(cats)
    sampled = [p for p in result.points if p.get("duplication_share") is not None]
    if sampled:
        marks = marked(result.jumps.get("duplication_share", []))
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
