"""Pictures for the HTML report: bar charts and a treemap, as geometry records.

Python computes every coordinate; the templates only draw the records as inline
SVG, so the report needs no charting script and no network. Labels from the
audited tree pass through :func:`visible` and are escaped by jinja2.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from audit.metrics.grades import cc_rank
from audit.render.highlight import visible
from audit.results import AuditResult


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    w: float
    h: float
    cls: str
    label: str
    value: str
    title: str
    lx: float  # where the label and the value are written
    ly: float
    vx: float
    vy: float
    anchor: str  # text-anchor of the label: middle under a column, end left of a row


@dataclass(frozen=True)
class BarChart:
    title: str
    width: int
    height: int
    bars: list[Bar]
    note: str = ""


CC_BINS = ((1, 1), (2, 3), (4, 5), (6, 10), (11, 15), (16, 20), (21, 30), (31, 40),
           (41, 60), (61, 100), (101, 10**9))


def complexity_histogram(result: AuditResult, width: int = 640, height: int = 220) -> BarChart:
    """Functions per cyclomatic-complexity bin, coloured by rank (log-scaled heights)."""
    counts = [0] * len(CC_BINS)
    for f in result.files:
        for u in f.functions:
            cc = u.metrics.cyclomatic
            counts[next(i for i, (lo, hi) in enumerate(CC_BINS) if lo <= cc <= hi)] += 1
    top = max(counts) or 1
    slot = width / len(CC_BINS)
    plot_h = height - 40
    bars = []
    for i, ((lo, hi), n) in enumerate(zip(CC_BINS, counts)):
        h = plot_h * _log_share(n, top)
        label = str(lo) if lo == hi else (f"{lo}+" if hi > 10**6 else f"{lo}-{hi}")
        x, y = round(i * slot + 4, 1), round(plot_h - h + 14, 1)
        bars.append(Bar(x, y, round(slot - 8, 1), round(h, 1), f"rank-{cc_rank(lo)}", label,
                        f"{n:,}", f"{n:,} functions with cyclomatic complexity {label}",
                        round(x + slot / 2 - 4, 1), height - 8, round(x + slot / 2 - 4, 1),
                        round(y - 3, 1), "middle"))
    return BarChart("Functions by cyclomatic complexity", width, height, bars,
                    "bar heights on a log scale")


def _log_share(n: int, top: int) -> float:
    return math.log1p(n) / math.log1p(top) if n else 0.0


def findings_chart(result: AuditResult, width: int = 640) -> BarChart | None:
    """Findings per category as horizontal bars, largest first."""
    cats = Counter(f.category for f in result.findings if f.suppressed is None)
    if not cats:
        return None
    items = sorted(cats.items(), key=lambda kv: (-kv[1], kv[0]))[:12]
    top = items[0][1]
    row, label_w = 24, 170
    bars = []
    for i, (cat, n) in enumerate(items):
        w = round((width - label_w - 60) * n / top, 1)
        bars.append(Bar(label_w, i * row + 4, w, row - 8, "finding-bar", visible(cat), f"{n:,}",
                        f"{n:,} findings in {visible(cat)}", label_w - 6, i * row + 17,
                        label_w + w + 4, i * row + 17, "end"))
    return BarChart("Findings by category", width, row * len(items) + 8, bars)


@dataclass(frozen=True)
class Cell:
    x: float
    y: float
    w: float
    h: float
    cls: str
    href: str
    title: str
    label: str


@dataclass(frozen=True)
class TreeMap:
    title: str
    width: int
    height: int
    cells: list[Cell]
    note: str
    legend: tuple[tuple[str, str], ...] = tuple((f"rank-{r}", r) for r in "ABCDEF")


def file_treemap(result: AuditResult, href: Callable[[str], str], width: int = 960,
                 height: int = 420) -> TreeMap:
    """Files as rectangles: area is source lines, colour the worst function rank in the file."""
    files = sorted((f for f in result.files if f.lines.source),
                   key=lambda f: (-f.lines.source, f.path))
    rects = squarify([f.lines.source for f in files], 0.0, 0.0, float(width), float(height))
    cells = []
    for f, (x, y, w, h) in zip(files, rects):
        worst = max((u.rank for u in f.functions), default="A")
        name = visible(f.path.rsplit("/", 1)[-1])
        label = name if w > 7 * len(name) and h > 16 else ""
        cells.append(Cell(round(x, 1), round(y, 1), round(w, 1), round(h, 1), f"rank-{worst}",
                          href(f.path), f"{visible(f.path)}: {f.lines.source:,} source "
                          f"lines, worst function rank {worst}, MI {f.mi:.0f}", label))
    return TreeMap("Files by size and complexity", width, height, cells,
                   "area: source lines; colour: the worst function rank in the file")


def squarify(values: list[float], x: float, y: float, w: float, h: float) -> list[tuple]:
    """Squarified treemap (Bruls, Huizing and van Wijk, 2000) of values sorted descending."""
    total = sum(values)
    if not values or total <= 0:
        return []
    scale = w * h / total
    areas = [v * scale for v in values]
    out: list[tuple] = []
    start = 0
    while start < len(areas):
        short = min(w, h)
        end = start + 1
        while end < len(areas) and _worst(areas[start:end + 1], short) <= _worst(areas[start:end], short):
            end += 1
        row = areas[start:end]
        thick = sum(row) / short
        offset = 0.0
        for a in row:
            length = a / thick
            out.append((x, y + offset, thick, length) if w >= h else (x + offset, y, length, thick))
            offset += length
        if w >= h:
            x, w = x + thick, w - thick
        else:
            y, h = y + thick, h - thick
        start = end
    return out


def _worst(row: list[float], short: float) -> float:
    s = sum(row)
    return max(max(short * short * a / (s * s), (s * s) / (short * short * a)) for a in row)
