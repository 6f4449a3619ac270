"""The HTML report in Debian's Chromium, from file://: no errors, no network, working table.

Drives /usr/bin/chromium through Playwright (never a downloaded browser). Screenshots
of the overview and a file page go to test-artifacts/ for a person to look at.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from test_gold import REPO, SAMPLE, sample_result

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(REPO) / "test-artifacts"
HOSTILE = os.path.join(REPO, "fixtures", "hostile")
ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu",
        "--disable-component-update", "--no-first-run", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM} (.ci/run installs Debian's chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


class Watch:
    """A page with listeners for console errors, page errors, dialogs and requests."""

    def __init__(self, browser):
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.context.route("http*://**/*", lambda route: route.abort())
        self.page = self.context.new_page()
        self.errors, self.requests, self.dialogs = [], [], []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("dialog", self._dialog)

    def _dialog(self, dialog):
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def open(self, path: Path) -> None:
        self.page.goto(path.as_uri())
        self.page.wait_for_load_state("load")

    def remote(self) -> list[str]:
        return [u for u in self.requests if not u.startswith(("file:", "data:"))]

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def watch(browser):
    w = Watch(browser)
    yield w
    w.close()


@pytest.fixture(scope="module")
def default_report(tmp_path_factory):
    from audit.cli import main

    out = tmp_path_factory.mktemp("default") / "report"
    assert main(["scan", "--html", str(out), "-q"]) == 0  # no PATH: the bundled target
    return out


def _cells(page, col: int) -> list[str]:
    return page.eval_on_selector_all(
        "#hs-table tbody tr", f"rows => rows.map(r => r.cells[{col}].textContent)")


def test_overview_and_file_page_render_cleanly(watch, default_report):
    ARTIFACTS.mkdir(exist_ok=True)
    watch.open(default_report / "index.html")
    assert watch.page.locator(".grade").count() >= 5
    assert watch.page.locator("figure.treemap rect").count() > 5
    chips = watch.page.eval_on_selector_all(
        "svg.chip", "els => els.map(e => [e.getBoundingClientRect().width, e.getBoundingClientRect().height])")
    assert chips and all(w <= 16 and h <= 16 for w, h in chips), chips  # legend swatches stay inline
    watch.page.screenshot(path=str(ARTIFACTS / "report-overview.png"), full_page=True)
    href = watch.page.locator("ol.leads a").first.get_attribute("href")
    watch.open(default_report / href.split("#")[0])
    assert watch.page.locator("table.source tr:not(.uh):not(.fx)").count() > 20
    watch.page.locator(f"#{href.split('#')[1]}").scroll_into_view_if_needed()
    watch.page.screenshot(path=str(ARTIFACTS / "report-file.png"))
    assert watch.errors == [] and watch.remote() == [] and watch.dialogs == []


def test_hotspot_table_sorts_and_filters(watch, default_report):
    watch.open(default_report / "hotspots.html")
    page = watch.page
    cyclo = [int(x) for x in _cells(page, 3)]
    assert len(cyclo) > 50 and cyclo == sorted(cyclo, reverse=True)
    page.click("th[data-key=sloc]")
    sloc = [int(x) for x in _cells(page, 6)]
    assert sloc == sorted(sloc, reverse=True) and sloc != cyclo
    page.click("th[data-key=sloc]")
    assert [int(x) for x in _cells(page, 6)] == sorted(sloc)
    page.click("th[data-key=function]")
    names = _cells(page, 0)
    assert names == sorted(names, key=str.lower) or names == sorted(names)
    page.fill("#hs-text", "lexer")
    rows = page.eval_on_selector_all("#hs-table tbody tr", "rows => rows.map(r => r.textContent)")
    assert rows and all("lexer" in r.lower() for r in rows) and len(rows) < len(cyclo)
    page.fill("#hs-text", "")
    page.select_option("#hs-rank", "C")
    assert set(_cells(page, 2)) == {"C"}
    page.select_option("#hs-rank", "")
    page.fill("#hs-min", "10")
    assert all(int(x) >= 10 for x in _cells(page, 3))
    assert "matching functions" in page.text_content("#hs-status")
    assert watch.errors == [] and watch.remote() == []


def test_provenance_side_by_side_renders(watch, tmp_path):
    from audit.render import html

    result = sample_result()
    prov = result.sections["provenance"]

    def read(path):
        p = os.path.join(SAMPLE, path)
        return open(p, encoding="utf-8").read() if os.path.exists(p) else None

    html.write_report(result, str(tmp_path), read, None, prov.corpus_text)
    watch.open(tmp_path / "provenance.html")
    panes = watch.page.locator(".evidence").first.locator(".pane")
    assert panes.count() == 2
    left, right = panes.nth(0), panes.nth(1)
    assert "src/eval.rs" in left.locator(".pane-title").text_content()
    assert "src/expr.c" in right.locator(".pane-title").text_content()
    assert left.locator("tr.hit").count() == 16 and right.locator("tr.hit").count() == 15
    box_l, box_r = left.bounding_box(), right.bounding_box()
    assert box_r["x"] > box_l["x"] + box_l["width"] - 1  # side by side, not stacked
    watch.page.screenshot(path=str(ARTIFACTS / "report-provenance.png"))
    watch.open(tmp_path / "clones.html")
    assert watch.page.locator(".clone-group .pane").count() == 2
    assert watch.errors == [] and watch.remote() == []


def test_provenance_side_by_side_from_a_real_corpus_match(watch, tmp_path):
    pytest.importorskip("audit.provenance.scan_ext")
    from audit.cli import main

    fixtures = os.path.join(REPO, "fixtures", "provenance")
    index = str(tmp_path / "index")
    assert main(["corpus", "build", "tiny", os.path.join(fixtures, "corpus"),
                 "--index-dir", index]) == 0
    out = tmp_path / "report"
    assert main(["scan", os.path.join(fixtures, "rust_port"), "--corpus", "tiny",
                 "--index-dir", index, "--html", str(out), "-q"]) == 0
    watch.open(out / "provenance.html")
    evidence = watch.page.locator(".evidence").first
    left, right = evidence.locator(".pane").nth(0), evidence.locator(".pane").nth(1)
    assert left.locator("tr.hit").count() > 3 and right.locator("tr.hit").count() > 3
    assert ".c lines" in right.locator(".pane-title").text_content()
    assert "swh:1:cnt:" in watch.page.text_content(".match")
    watch.page.screenshot(path=str(ARTIFACTS / "report-provenance-real.png"))
    assert watch.errors == [] and watch.remote() == []


def test_hostile_fixture_runs_no_script(watch, tmp_path):
    from audit.cli import main

    tree = tmp_path / "tree"
    shutil.copytree(HOSTILE, tree)
    out = tmp_path / "report"
    assert main(["scan", str(tree), "--html", str(out), "-q"]) == 0
    pages = sorted(p for p in out.iterdir() if p.suffix == ".html")
    assert len(pages) > 8
    for p in pages:
        watch.open(p)
        flags = watch.page.evaluate("() => [typeof window.__pwned, document.images.length, "
                                    "document.querySelectorAll('iframe, [onerror], [onload]')"
                                    ".length]")
        assert flags == ["undefined", 0, 0], p.name
    watch.open(next(p for p in pages if p.name.startswith("file-evil.rs-")))
    assert "</script><script>" in watch.page.text_content("table.source")
    watch.page.screenshot(path=str(ARTIFACTS / "report-hostile.png"))
    assert watch.dialogs == [] and watch.errors == [] and watch.remote() == []
