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
