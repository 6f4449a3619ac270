"""The HTML report: escaping of untrusted text, view models, pages, determinism."""

from __future__ import annotations

import json
import os
import re
from dataclasses import replace

import pytest
from test_gold import REPO, SAMPLE, corpus_source, sample_result

from audit.render import charts, html, sidebyside
from audit.render import viewmodels as vm
from audit.render.highlight import highlight_lines, visible

HOSTILE = os.path.join(REPO, "fixtures", "hostile")
OUR_SCRIPT = re.compile(r'<script src="report\.[0-9a-f]{12}\.js"></script>')
OUR_DATA = '<script type="application/json" id="hotspot-data">'


@pytest.mark.parametrize("source, language, expected", [
    ("x = '</script>'", "python", "x = <s>'&lt;/script&gt;'</s>"),
    ('let s = "<img src=x onerror=alert(1)>";', "rust",
     '<b>let</b> s = <s>"&lt;img src=x onerror=alert(1)&gt;"</s>;'),
    ("// a & b", "rust", "<i>// a &amp; b</i>"),
    ("a\u202eb", "rust", 'a<span class="cc" title="U+202E">U+202E</span>b'),
    ("a\x00b", "python", 'a<span class="cc" title="U+0000">U+0000</span>b'),
    ("fn f() {}", "rust", "<b>fn</b> f() {}"),
    ('r#"x</script>"#', "rust", '<s>r#"x&lt;/script&gt;"#</s>'),
    ("<b>", "unknown", "&lt;b&gt;"),
])
def test_highlight_escapes_every_token(source, language, expected):
    assert highlight_lines(source, language) == [expected]


def test_multiline_tokens_are_split_into_lines():
    lines = highlight_lines('/* a\n<b> */\nfn x() {}\n', "rust")
    assert lines == ["<i>/* a</i>", "<i>&lt;b&gt; */</i>", "<b>fn</b> x() {}"]


def test_long_lines_are_cut_with_a_note():
    (line,) = highlight_lines("x" * 10_000, "rust", max_chars=100)
    assert line.count("x") == 100 and "9,900 more characters not shown" in line


@pytest.mark.parametrize("text, expected", [
    ("plain", "plain"), ("a\u2066b\u2069", "a\u27e8U+2066\u27e9b\u27e8U+2069\u27e9"),
    ("zero\u200bwidth", "zero\u27e8U+200B\u27e9width"), ("tab\tok", "tab\tok"),
])
def test_visible_marks_invisible_characters(text, expected):
    assert visible(text) == expected


def test_script_json_cannot_close_its_element():
    text = vm.script_json({"name": "</script><!--<script>&\u2028"})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"name": "</script><!--<script>&\u2028"}


@pytest.mark.parametrize("path", ["javascript:alert(1).rs", "../../etc/passwd.rs",
                                  '"><img src=x>.py', "a/b c.rs"])
def test_page_names_are_safe(path):
    name = vm.page_slug("file", path)
    assert re.fullmatch(r"file-[A-Za-z0-9_.-]+-[0-9a-f]{10}\.html", name)
    assert ":" not in name and "/" not in name


@pytest.mark.parametrize("value, letter", [(0.0, "A"), (0.049, "A"), (0.05, "B"), (0.15, "C"),
                                           (0.25, "D"), (0.35, "E"), (0.4, "F"), (0.9, "F")])
def test_share_bands(value, letter):
    assert vm.band(value, vm.SHARE_BANDS) == letter


def test_squarify_fills_the_area_without_overlap():
    rects = charts.squarify([50, 30, 10, 5, 5], 0, 0, 100, 50)
    assert abs(sum(w * h for _, _, w, h in rects) - 5000) < 1e-6
    assert all(0 <= x and x + w <= 100.001 and 0 <= y and y + h <= 50.001 for x, y, w, h in rects)


@pytest.fixture(scope="module")
def result():
    return sample_result()


def _sources():
    def read(path):
        p = os.path.join(SAMPLE, path)
        if not os.path.exists(p):
            return None
        with open(p, encoding="utf-8") as fh:
            return fh.read()
    return read


def test_side_by_side_from_a_hand_made_provenance_section(result):
    prov = result.sections["provenance"]
    page = sidebyside.provenance_page(prov.to_dict(), _sources(), prov.corpus_text,
                              {"src/eval.rs": "rust"})
    assert page.summary.verdict == "review" and page.clean_files == 1
    (match,) = page.files[0].matches
    assert match.swhid.startswith("swh:1:cnt:") and match.chance == "0.0042"
    assert [c.label for c in match.channels] == ["comments", "identifiers", "structure"]
    ev = match.evidence[0]
    left_hits = [line.no for line in ev.left.lines if line.hit]
    right_hits = [line.no for line in ev.right.lines if line.hit]
    assert left_hits == list(range(10, 26)) and right_hits == list(range(10, 25))
    assert "fn</b> sum" in str(ev.left.lines[2].html)
    assert "</b> sum(<b>struct</b> token" in str(ev.right.lines[2].html)
    assert [d.label for d in page.discounted] == ["allow-listed names", "common across the corpus"]


def test_side_by_side_without_corpus_text_says_so(result):
    prov = result.sections["provenance"].to_dict()
    page = sidebyside.provenance_page(prov, _sources(), lambda m: None, {})
    right = page.files[0].matches[0].evidence[0].right
    assert right.lines == [] and "not available" in right.note


@pytest.mark.parametrize("section", ["provenance", "clones"])
def test_pages_degrade_when_a_section_is_absent(result, section, tmp_path):
    bare = replace(result, sections={k: v for k, v in result.sections.items() if k != section},
                   files=tuple(replace(f, findings=()) for f in result.files))
    html.write_report(bare, str(tmp_path), _sources())
    page = (tmp_path / f"{section}.html").read_text(encoding="utf-8")
    assert ("No corpus was compared" if section == "provenance"
            else "Clone detection did not run") in page
    assert "Rules did not run" in (tmp_path / "rules.html").read_text(encoding="utf-8")


def test_grades_and_leads(result):
    sections = {k: v.to_dict() for k, v in result.sections.items()}
    grades = {g.area: g.letter for g in vm.grades(result, sections)}
    assert grades == {"complexity": "A", "maintainability": "A", "findings": "F",
                      "duplication": "B"}
    kinds = [lead.kind for lead in vm.leads(result, sections)]
    assert kinds == ["provenance"] + ["function"] * 3 + ["clones", "rule"]


def test_file_page_puts_findings_at_their_lines(result):
    f = next(f for f in result.files if f.path == "src/eval.rs")
    page = vm.file_page(f, _sources()("src/eval.rs"))
    at = {line.no: [x.rule for x in line.findings] for line in page.lines if line.findings}
    assert at == {40: ["panic-macro"], 60: ["panic-macro"]}
    assert page.note == ""
    rows = {r.qualname: r.findings for r in page.functions}
    assert page.module == "eval::" and rows == {"eval": 0, "sum": 0, "product": 0, "atom": 1}
    anchored = [line.no for line in page.lines if line.anchor]
    assert {40, 60} <= set(anchored) and len(anchored) < len(page.lines) / 2


def test_file_page_flags_a_changed_file(result):
    f = result.files[0]
    assert "changed" in vm.file_page(f, "something else\n").note
    assert "could not be read" in vm.file_page(f, None).note


@pytest.fixture(scope="module")
def report(tmp_path_factory, result):
    out = tmp_path_factory.mktemp("report")
    prov = result.sections["provenance"]
    stats = html.write_report(result, str(out), _sources(), None, prov.corpus_text)
    return out, stats


def test_report_has_every_page_and_hashed_assets(report, result):
    out, stats = report
    names = sorted(os.listdir(out))
    for page in ("index.html", "hotspots.html", "files.html", "rules.html", "provenance.html",
                 "clones.html"):
        assert page in names
    assert sum(n.startswith("file-") for n in names) == len(result.files)
    assert {n for n in names if n.startswith("rule-")} == {
        vm.rule_href(r) for r in ("panic-macro", "unwrap-used", "print-call")}
    assert any(re.fullmatch(r"report\.[0-9a-f]{12}\.css", n) for n in names)
    assert stats.pages == len([n for n in names if n.endswith(".html")])


def test_pages_load_nothing_remote(report):
    out, _ = report
    for name in os.listdir(out):
        if name.endswith(".html"):
            text = (out / name).read_text(encoding="utf-8")
            assert not re.search(r'(src|href)="(https?:)?//', text), name
            assert "Content-Security-Policy" in text


def test_provenance_page_shows_both_sides(report):
    text = (report[0] / "provenance.html").read_text(encoding="utf-8")
    assert "src/expr.c" in text and "swh:1:cnt:" in text and 'class="hit"' in text
    assert "static long sum" in text.replace("<b>", "").replace("</b>", "")


def test_html_differs_only_in_the_timestamp(tmp_path, result):
    prov = result.sections["provenance"]
    a, b = tmp_path / "a", tmp_path / "b"
    html.write_report(result, str(a), _sources(), None, prov.corpus_text)
    later = replace(result, created="2027-01-01T00:00:00+00:00")
    html.write_report(later, str(b), _sources(), None, prov.corpus_text)
    assert sorted(os.listdir(a)) == sorted(os.listdir(b))
    for name in os.listdir(a):
        ta = (a / name).read_bytes().replace(result.created.encode(), b"T")
        tb = (b / name).read_bytes().replace(later.created.encode(), b"T")
        assert ta == tb, name


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory):
    from audit.cli import main

    out = tmp_path_factory.mktemp("hostile")
    assert main(["scan", HOSTILE, "--html", str(out), "-q"]) == 0
    return out


def test_hostile_content_is_escaped_everywhere(hostile_report):
    for name in os.listdir(hostile_report):
        if not name.endswith(".html"):
            continue
        text = (hostile_report / name).read_text(encoding="utf-8")
        body = OUR_SCRIPT.sub("", text).replace(OUR_DATA, "")
        assert "<script" not in body.lower(), name
        assert not re.search(r"<(img|iframe|svg onload|style)\b", body.split("</header>")[-1]), name
        assert " onerror=" not in body.replace("onerror=alert", "").lower() or \
            "&lt;img" in body, name
        for ch in ("\u202e", "\u2066", "\u2069", "\u200b", "\x00"):
            assert ch not in text, (name, hex(ord(ch)))


def test_hostile_names_and_sources_appear_as_text(hostile_report):
    names = os.listdir(hostile_report)
    evil = next(n for n in names if n.startswith("file-evil.rs-"))
    text = (hostile_report / evil).read_text(encoding="utf-8")
    assert "javascript:alert(1)/evil.rs" in text
    assert "&lt;/script&gt;&lt;script&gt;" in text and "U+202E" in text
    nul = (hostile_report / next(n for n in names if n.startswith("file-nul_late.py-")))
    assert 'title="U+0000"' in nul.read_text(encoding="utf-8")
    index = (hostile_report / "index.html").read_text(encoding="utf-8")
    assert "binary" in index  # nul_early.rs is skipped and counted


def test_a_10_mb_single_line_renders_cut(tmp_path):
    from audit.cli import main

    src = tmp_path / "tree"
    src.mkdir()
    (src / "long.py").write_text("x = '" + "<script>" * 1_310_000 + "'\n", encoding="utf-8")
    assert (src / "long.py").stat().st_size > 10_000_000
    out = tmp_path / "out"
    assert main(["scan", str(src), "--html", str(out), "--max-file-size", "20000000",
                 "--max-line-length", "0", "-q"]) == 0
    page = next(p for p in out.iterdir() if p.name.startswith("file-long.py-"))
    text = page.read_text(encoding="utf-8")
    assert page.stat().st_size < 200_000
    assert "more characters not shown" in text and "<script>" not in OUR_SCRIPT.sub("", text)


def _prov_for(corpus_path: str, swhid: str, sources: list[str]) -> dict:
    return {"corpora": [{"name": "tinyc", "sources": sources}],
            "files": [{"path": "src/eval.rs", "matches": [
                {"corpus": "tinyc", "corpus_path": corpus_path, "swhid": swhid}]}]}


@pytest.mark.parametrize("corpus_path, good_id, found", [
    ("expr.c", True, True),
    ("expr.c", False, False),  # the file changed since it was indexed: not shown
    ("../src/eval.rs", True, False),  # a label never leaves the source folder
    ("missing.c", True, False),
])
def test_corpus_files_are_read_from_their_source_and_checked(corpus_path, good_id, found):
    from audit.render.outputs_ext import CorpusFiles
    from audit.walk import git_blob_sha1

    target = os.path.join(SAMPLE, "corpus", corpus_path)
    data = b""
    if os.path.isfile(target):
        with open(target, "rb") as fh:
            data = fh.read()
    swhid = "swh:1:cnt:" + (git_blob_sha1(data) if good_id else "0" * 40)
    prov = _prov_for(corpus_path, swhid, [os.path.join(SAMPLE, "corpus")])
    text = CorpusFiles(prov).text(prov["files"][0]["matches"][0])
    assert (text == corpus_source()) if found else text is None


def test_real_provenance_contract_renders(result):
    """The shape audit.provenance's to_dict() emits: nested discounted, units, fragments."""
    prov = {"version": 1, "verdict": "derived", "score": 0.7, "top_corpus": "tinyc",
            "corpora": [{"name": "tinyc", "sources": [], "files": 1}],
            "files_clean_without_matches": 3,
            "discounted": {"interface": {"identifiers": 4, "structure": 0},
                           "common": {"strings": 2}, "total": 6,
                           "examples": [{"path": "src/eval.rs", "kind": "text", "lines": [15, 15],
                                         "tokens": "rdi rsi rdx", "corpus_files": 1,
                                         "reason": "interface"}]},
            "files": [{"path": "src/eval.rs", "verdict": "derived", "score": 0.7,
                       "discounted": {"interface": {"identifiers": 1}, "common": {}, "total": 1},
                       "matches": [{"corpus": "tinyc", "corpus_path": "src/expr.c",
                                    "swhid": "swh:1:cnt:" + "1" * 40, "score": 0.7,
                                    "channels": {"structure": 0.7},
                                    "units": [{"unit": "eval::sum", "lines": [10, 26],
                                               "corpus_unit": "sum", "corpus_lines": [10, 25],
                                               "score": 0.8}],
                                    "evidence": [{"kind": "structure", "lines": [10 + i, 12 + i],
                                                  "corpus_lines": [11, 13], "fingerprints": 9,
                                                  "max_df": 1,
                                                  "expected_chance": (0.4, 0.9, 2.5, 7.0, 30.0)[i]}
                                                 for i in range(5)]}]}]}
    page = sidebyside.provenance_page(prov, _sources(), lambda m: corpus_source(), {})
    assert page.clean_files == 3
    assert [(d.label, d.value) for d in page.discounted] == [
        ("common: strings", "2"), ("interface: identifiers", "4")]
    (example,) = page.examples
    assert (example.tokens, example.reason, example.href) == (
        "rdi rsi rdx", "interface", vm.file_href("src/eval.rs", 15))
    (m,) = page.files[0].matches
    assert len(m.evidence) == sidebyside.EVIDENCE_SHOWN and len(m.more_evidence) == 2
    assert m.chance == "0.40" and m.units[0].corpus_unit == "sum"
    assert m.evidence[0].fingerprints == "9" and m.evidence[0].right.lines


def test_cli_report_has_rule_docs_from_the_packs(tmp_path, run_cli):
    pytest.importorskip("audit.rules.registry")
    from audit.render.outputs_ext import rule_metadata

    out, js = tmp_path / "html", tmp_path / "r.json"
    code, _, err = run_cli("scan", SAMPLE, "--html", str(out), "--json", str(js), "-q")
    assert code == 0, err
    findings = json.loads(js.read_text(encoding="utf-8"))["findings"]
    assert findings, "the sample has unwrap() and panic!() calls for the rules to find"
    from audit.rules.registry import rule_key

    meta = rule_metadata()
    for rule in sorted({f["rule"] for f in findings}):
        hits = [f for f in findings if f["rule"] == rule]
        key = rule_key(rule, hits[0]["path"])  # ids shared by two languages' packs: one page each
        page = (out / vm.rule_href(key)).read_text(encoding="utf-8")
        for heading in meta.get(key, meta.get(rule))["docs"]:
            assert f"<h2>{heading}</h2>" in page, (rule, heading)
        assert f"{hits[0]['path']}:{hits[0]['line']}</a>" in page


@pytest.mark.parametrize("kind", ["tar.gz", "zip"])
def test_corpus_files_are_streamed_from_archives(tmp_path, kind):
    import tarfile
    import zipfile

    from audit.render.outputs_ext import CorpusFiles
    from audit.walk import git_blob_sha1

    src = os.path.join(SAMPLE, "corpus", "expr.c")
    archive = str(tmp_path / f"corpus.{kind}")
    if kind == "zip":
        with zipfile.ZipFile(archive, "w") as zf:
            zf.write(src, "tinyc-1.0/src/expr.c")
    else:
        with tarfile.open(archive, "w:gz") as tf:
            tf.add(src, "tinyc-1.0/src/expr.c")
    sha = git_blob_sha1(corpus_source().encode())
    prov = _prov_for("tinyc-1.0/src/expr.c", "swh:1:cnt:" + sha, [archive])
    assert CorpusFiles(prov).text(prov["files"][0]["matches"][0]) == corpus_source()


def test_html_into_a_file_is_a_usage_error(tmp_path, run_cli):
    target = tmp_path / "report"
    target.write_text("not a folder")
    code, _, err = run_cli("scan", SAMPLE, "--html", str(target), "-q")
    assert code == 2 and "needs a folder" in err
    assert target.read_text() == "not a folder"


def test_a_second_report_removes_only_its_own_stale_pages(tmp_path, result):
    keep = tmp_path / "notes.txt"
    keep.write_text("mine")
    stale = [tmp_path / vm.page_slug("file", "gone.rs"), tmp_path / "report.0123456789ab.css"]
    for p in stale:
        p.write_text("old")
    html.write_report(result, str(tmp_path), _sources())
    assert keep.read_text() == "mine"
    assert not any(p.exists() for p in stale)
    assert (tmp_path / vm.file_href("src/eval.rs")).exists()


def test_single_file_report_holds_every_page_and_allows_only_its_own_assets(tmp_path, result):
    import base64
    import hashlib

    from audit.render.single import write_single

    prov = result.sections["provenance"]
    folder = tmp_path / "folder"
    html.write_report(result, str(folder), _sources(), None, prov.corpus_text)
    single = tmp_path / "one.html"
    stats = write_single(result, str(single), _sources(), None, prov.corpus_text)
    text = single.read_text(encoding="utf-8")
    pages = sorted(n for n in os.listdir(folder) if n.endswith(".html"))
    assert sorted(re.findall(r'<template data-page="([^"]+)"', text)) == pages
    assert stats.pages == len(pages) and stats.bytes == len(text.encode("utf-8"))
    for tag in ("style", "script"):
        body = re.search(rf"<{tag}>(.*?)</{tag}>", text, re.S).group(1)
        digest = base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode()
        assert f"{tag}-src &#39;sha256-{digest}&#39;" in text
    assert not re.search(r'(src|href)="(https?:)?//', text)
    assert "'unsafe-inline'" not in text and "&#39;unsafe-inline&#39;" not in text
