"""The compare page and the history charts in Debian's Chromium, from file://: they render,
with no script errors and no network requests (the pattern of test_browser)."""

from __future__ import annotations

import json

import pytest
from test_browser import ARTIFACTS, browser, watch  # noqa: F401 (fixtures)
from test_history import build_repo

from audit.cli import main

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """compare.html (two revisions of the history fixture) and history.html (its commits)."""
    root = tmp_path_factory.mktemp("pages")
    (root / "repo").mkdir()
    repo = build_repo(root / "repo")
    cache = str(root / "cache")
    assert main(["compare", f"{repo}@main~6", f"{repo}@main", "--cache-dir", cache,
                 "--html", str(root / "cmp"), "--json", str(root / "cmp.json"), "-q"]) == 0
    assert main(["history", str(repo), "--cache-dir", cache, "--html", str(root / "hist"),
                 "--json", str(root / "hist.json"), "-q"]) == 0
    return root


def test_compare_page_renders(watch, pages):  # noqa: F811
    ARTIFACTS.mkdir(exist_ok=True)
    watch.open(pages / "cmp" / "compare.html")
    page = watch.page
    doc = json.loads((pages / "cmp.json").read_text())
    totals = page.eval_on_selector_all(
        "table.data", "ts => Array.from(ts[0].tBodies[0].rows, r => r.cells[0].textContent)")
    assert "functions (incl. tests)" in totals and "non-test functions" in totals
    text = page.text_content("main") or page.text_content("body")
    assert "src/side.rs" in text and "src/a.rs" in text  # the added file and the rename's origin
    assert doc["file_counts"]["moved"] == 1
    assert page.locator("table.data").first.bounding_box()["width"] > 300
    page.screenshot(path=str(ARTIFACTS / "compare.png"), full_page=True)
    assert watch.errors == [] and watch.remote() == [] and watch.dialogs == []


def test_history_charts_render(watch, pages):  # noqa: F811
    watch.open(pages / "hist" / "history.html")
    page = watch.page
    doc = json.loads((pages / "hist.json").read_text())
    charts = page.locator("figure.chart svg[role=img]")
    assert charts.count() >= 5
    paths = page.eval_on_selector_all("figure.chart svg path", "ps => ps.map(p => p.getAttribute('d'))")
    points = len(doc["points"])
    # one vertex per analysed commit in each series of the per-commit charts (M x,y L x,y ...);
    # the duplication chart has only the sampled commits
    full = [d for d in paths if d.count("L") == points - 1]
    assert len(full) >= 6 and all(d.startswith("M") for d in paths)
    box = charts.first.bounding_box()
    assert box["width"] > 200 and box["height"] > 80
    page.screenshot(path=str(ARTIFACTS / "history.png"), full_page=True)
    assert watch.errors == [] and watch.remote() == [] and watch.dialogs == []


# Each chart's text boxes in the svg's own units, with its viewBox: [cls, label, x, y, w, h, W, H].
CHART_TEXT = """svgs => svgs.map(svg => {
  const vb = svg.viewBox.baseVal;
  return Array.from(svg.querySelectorAll('text'), t => {
    const b = t.getBBox();
    return [t.getAttribute('class'), t.textContent, b.x, b.y, b.width, b.height, vb.width, vb.height];
  });
})"""


def _chart_texts(page):
    return page.eval_on_selector_all("figure.chart svg[role=img]", CHART_TEXT)


def _inside(box) -> bool:
    _, _, x, y, w, h, width, height = box
    return x >= 0 and y >= 0 and x + w <= width + 0.5 and y + h <= height + 0.5


def test_history_chart_labels_fit_and_differ(watch, pages):  # noqa: F811
    watch.open(pages / "hist" / "history.html")
    charts = _chart_texts(watch.page)
    assert len(charts) >= 5
    for texts in charts:
        assert all(_inside(t) for t in texts), [t for t in texts if not _inside(t)]
        xs = sorted((t for t in texts if t[3] + t[5] > t[7] - 12), key=lambda t: t[2])  # bottom row
        assert xs and len({t[1] for t in xs}) == len(xs)  # no date written twice
        for a, b in zip(xs, xs[1:]):
            assert a[2] + a[4] <= b[2]  # no two dates overlap


def _large_history():
    """A project of about 71,000 source lines whose size creeps up, with one real jump."""
    from audit.history import HistoryResult, jumps

    sloc = [71_000, 71_040, 71_090, 71_100, 71_230, 74_800, 74_950, 75_010]
    points = []
    for i, n in enumerate(sloc):
        points.append({"commit": f"{i:02d}" + "ab" * 19, "time": f"2026-02-{i + 1:02d}T10:00:00+00:00",
                       "subject": f"commit {i}", "merge": False, "files": 300 + i, "sloc": n,
                       "units": 7000 + i, "functions": 6900 + i, "functions_non_test": 6100 + i,
                       "cyclomatic_mean": 3.41 + i / 100, "cyclomatic_p90": 7.0,
                       "cyclomatic_max": 310, "findings_per_kloc": 45.2 + i / 10,
                       "findings_per_kloc_by_category": {"style": 30.1 + i / 10}})
    stats = {"commits_in_range": 8, "commits_excluded": 0, "commits_analysed": 8, "blobs": 400,
             "blobs_analysed": 400, "blobs_from_cache": 0, "cache_bytes": 0, "cache_path": "",
             "seconds": 1.0}
    config = {"rev_range": "HEAD", "exclude_commit_paths": []}
    return HistoryResult("ccc", config, points, jumps(points), stats)


def test_history_chart_of_a_large_project_is_honest(watch, tmp_path):  # noqa: F811
    from audit.render.history_html import write_page

    write_page(_large_history(), str(tmp_path))
    watch.open(tmp_path / "history.html")
    page = watch.page
    sloc_chart = _chart_texts(page)[0]
    ys = [t for t in sloc_chart if "ytick" in t[0]]
    assert all(_inside(t) for t in sloc_chart)  # "71,000" is not cut to "1,000"
    values = [float(t[1].replace(",", "")) for t in ys]
    assert 70_000 <= min(values) <= 71_000 and max(values) >= 75_010  # the axis spans the data
    line = page.eval_on_selector("figure.chart svg path", "p => p.getBBox().height")
    plot = max(t[3] for t in ys) - min(t[3] for t in ys)
    assert line > plot / 2  # the 5.6% growth fills the chart instead of a flat line at the top
    circles = page.eval_on_selector_all("figure.chart svg circle title", "ts => ts.map(t => t.textContent)")
    assert circles and all(c.split()[1:] == ["commit", "5"] for c in circles[:1])
    assert not any("commit 1" == " ".join(c.split()[1:]) for c in circles)  # +0.06% is not circled
    assert watch.errors == [] and watch.remote() == []


def test_compare_tables_name_their_columns(watch, pages):  # noqa: F811
    watch.open(pages / "cmp" / "compare.html")
    heads = watch.page.eval_on_selector_all(
        "table.data", "ts => ts.map(t => Array.from(t.tHead.rows[0].cells, c => c.textContent))")
    files = next(h for h in heads if h[1] == "file")
    assert files[2] == "language"
    units = watch.page.eval_on_selector_all(
        "table.data", "ts => ts.filter(t => t.tHead.rows[0].cells[1].textContent === 'function')"
        ".flatMap(t => Array.from(t.tBodies[0].rows, r => r.cells[2].textContent))")
    assert units and all(":" in w and w.rsplit(":", 1)[1].isdigit() for w in units)
