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
    assert watch.page.locator("table.clone-index tbody tr").count() == 1
    watch.open(tmp_path / "clones-1.html")
    group = watch.page.locator("#G1")
    assert group.locator("table.run").count() == 1 and group.locator("h3").count() == 2
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


# Text of each matching element that the browser laid out on more than one line.
WRAPPED = """els => els.filter(e => {
  const r = document.createRange();
  r.selectNodeContents(e);
  return e.textContent.trim() && new Set(Array.from(r.getClientRects(), b => Math.round(b.top))).size > 1;
}).map(e => e.textContent)"""


def test_numbers_never_wrap_in_a_narrow_window(browser, default_report):
    w = Watch(browser)
    try:
        w.page.set_viewport_size({"width": 560, "height": 800})
        w.open(default_report / "hotspots.html")
        w.page.check("#hs-tests")  # every function, the longest names squeezing the columns
        cells = w.page.query_selector_all("#hs-table td.num")
        assert len(cells) > 100
        assert w.page.eval_on_selector_all("#hs-table td.num", WRAPPED) == []
        files = w.page.eval_on_selector_all("#hs-table td.path a", "as => as.map(a => a.href)")
        w.open(Path(files[0].split("#")[0].replace("file://", "")))
        w.page.click("details.functions summary")
        assert w.page.eval_on_selector_all("table.fn-table td:nth-child(n+2)", WRAPPED) == []
        assert w.errors == []
    finally:
        w.close()


def test_a_link_into_a_run_of_lines_finds_its_line(watch, default_report):
    watch.open(default_report / "hotspots.html")
    href = watch.page.eval_on_selector("#hs-table td.path a", "a => a.getAttribute('href')")
    page = default_report / href.split("#")[0]
    watch.open(page)
    numbers = watch.page.eval_on_selector_all(
        "table.source tr:not(.uh):not(.fx) td:first-child",
        "cs => cs.flatMap(c => c.textContent.split('\\n').map(Number))")
    assert numbers == list(range(1, len(numbers) + 1))  # every line numbered once, in order
    runs = watch.page.eval_on_selector_all(
        "table.source tr:not([id]):not(.uh):not(.fx) td:first-child",
        "cs => cs.map(c => c.textContent.split('\\n').map(Number)).filter(n => n.length > 4)")
    inside = runs[0][2]  # a line in the middle of a run: it has no id in the page
    watch.page.goto(f"{page.as_uri()}#L{inside}")
    row = watch.page.locator(f"#L{inside}")
    assert row.locator("td").first.text_content() == str(inside)
    assert "target" in row.get_attribute("class") and row.is_visible()
    top = row.bounding_box()["y"]
    assert 0 <= top < 900
    after = watch.page.eval_on_selector_all(
        "table.source tr:not(.uh):not(.fx) td:first-child",
        "cs => cs.flatMap(c => c.textContent.split('\\n').map(Number))")
    assert after == numbers  # splitting the run kept every line
    assert watch.errors == []


def test_clone_index_opens_groups_with_differences(watch, tmp_path):
    from audit.cli import main

    out = tmp_path / "report"
    assert main(["scan", os.path.join(REPO, "fixtures", "clones"), "--html", str(out), "-q"]) == 0
    watch.open(out / "clones.html")
    rows = watch.page.locator("table.clone-index tbody tr")
    assert rows.count() >= 1
    kinds = watch.page.eval_on_selector_all("table.clone-index tbody tr",
                                            "rs => rs.map(r => r.cells[1].textContent)")
    assert set(kinds) <= {"production", "test", "mixed"}
    assert kinds == sorted(kinds, key=["production", "mixed", "test"].index)  # production first
    rows.first.locator("a").first.click()
    watch.page.wait_for_load_state("load")
    group = watch.page.locator("#" + watch.page.url.split("#")[1])
    assert group.locator("table.run").count() == 1  # the first member in full
    changed = group.locator("table.diff tr.chg, table.diff tr.add, table.diff tr.del")
    assert changed.count() >= 1 and group.locator("ins, mark, tr.add").count() >= 1
    assert watch.errors == [] and watch.remote() == []


def test_single_file_report_navigates_every_kind_of_page(watch, tmp_path):
    from audit.cli import main

    single = tmp_path / "report.html"
    assert main(["scan", os.path.join(REPO, "fixtures", "clones"), "--html-single", str(single),
                 "-q"]) == 0
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]  # one file, nothing beside it
    watch.open(single)
    page = watch.page
    assert page.locator(".grade").count() >= 5 and page.title().startswith("Overview")
    page.click("header.top nav a:has-text('Hotspots')")
    page.locator("#hs-table tbody tr").first.wait_for()  # pages mount on hashchange: wait
    assert page.url.endswith("#/hotspots.html") and page.locator("#hs-table tbody tr").count() > 5
    page.locator("#hs-table tbody tr td.path a").first.click()  # a link the script drew
    page.locator("tr.target").wait_for()
    assert "/file-" in page.url and page.locator("tr.target").count() == 1
    assert page.locator("tr.target").is_visible()
    page.click("header.top nav a:has-text('Clones')")
    page.locator("table.clone-index tbody tr a").first.click()  # waits for the index
    page.locator("table.diff").first.wait_for()
    assert page.locator("table.diff").count() >= 1 and page.locator("table.run").count() >= 1
    page.go_back()
    page.locator("table.clone-index").wait_for()
    assert page.url.endswith("#/clones.html") and page.title().startswith("Clones")
    assert watch.errors == [] and watch.remote() == [] and watch.dialogs == []
