"""Exports of the determination: SPDX 2.3 (validated by spdx-tools), Markdown (gold file),
CSV, SARIF's determination result, the terminal and the provenance page in Chromium.

The fixture is the one of test_determination: the calculator corpus (MIT, parser.c
declaring BSD-2-Clause) against copies of its Python and Rust ports. Update the gold
Markdown with ``AUDIT_UPDATE_GOLD=1 python -m pytest tests/test_exports.py``.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import shutil

import pytest
from test_browser import browser, watch  # noqa: F401 (fixtures)
from test_determination import FIX, make_corpus, make_tree
from test_gold import GOLD, UPDATE

from audit.cli import main
from audit.render.determination_view import calibration_line

SCHEMA = os.path.join(os.path.dirname(GOLD), "data", "sarif-schema-2.1.0.json")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One scan of the fixture with every export; returns the folder holding them."""
    root = tmp_path_factory.mktemp("exports")
    idx = make_corpus(root)
    tree = make_tree(root)
    code = main(["scan", tree, "--corpus", "calc", "--index-dir", idx, "-q", "-j", "1",
                 "--json", str(root / "r.json"), "--spdx", str(root / "r.spdx.json"),
                 "--markdown", str(root / "r.md"), "--csv", str(root / "csv"),
                 "--sarif", str(root / "r.sarif"), "--html", str(root / "html")])
    assert code == 0
    return root


def _json(path) -> dict:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def _fragments(doc: dict) -> list[tuple]:
    return [(f["path"], m["corpus_path"], tuple(e["lines"]), tuple(e["corpus_lines"]))
            for f in doc["provenance"]["files"] for m in f["matches"] for e in m["evidence"]]


# -- SPDX ------------------------------------------------------------------------------
def test_spdx_is_valid_per_spdx_tools(run):
    from spdx_tools.spdx.parser.parse_anything import parse_file
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

    doc = parse_file(str(run / "r.spdx.json"))
    problems = validate_full_spdx_document(doc)
    assert not problems, [p.validation_message for p in problems[:5]]
    assert len(doc.snippets) == len(_fragments(_json(run / "r.json"))) > 0


def test_spdx_snippets_cite_the_corpus_by_swhid_lines_and_licence(run):
    spdx, doc = _json(run / "r.spdx.json"), _json(run / "r.json")
    swhids = {m["corpus_path"]: m["swhid"] for f in doc["provenance"]["files"] for m in f["matches"]}
    files = {f["SPDXID"]: f["fileName"] for f in spdx["files"]}
    for sn, (path, cpath, lines, clines) in zip(spdx["snippets"], _fragments(doc)):
        assert files[sn["snippetFromFile"]] == "./" + path
        assert f"{swhids[cpath]};lines={clines[0]}-{clines[1]}" in sn["comment"]
        licence = "BSD-2-Clause" if cpath == "parser.c" else "MIT"
        assert f"licence {licence}" in sn["comment"]
        line_range = next(r for r in sn["ranges"] if "lineNumber" in r["startPointer"])
        assert (line_range["startPointer"]["lineNumber"], line_range["endPointer"]["lineNumber"]) == lines


def test_spdx_files_carry_real_checksums_and_relationships(run):
    spdx = _json(run / "r.spdx.json")
    tree = run / "audited"
    for f in spdx["files"]:
        data = (tree / f["fileName"][2:]).read_bytes()
        sums = {c["algorithm"]: c["checksumValue"] for c in f["checksums"]}
        assert sums == {"SHA1": hashlib.sha1(data).hexdigest(), "SHA256": hashlib.sha256(data).hexdigest()}
    kinds = {r["relationshipType"] for r in spdx["relationships"]}
    assert {"DESCRIBES", "CONTAINS", "OTHER"} <= kinds
    refs = [r["referenceLocator"] for p in spdx["packages"] for r in p.get("externalRefs", [])]
    assert any(r.startswith("swh:1:cnt:") for r in refs) and any(r.startswith("swh:1:dir:") for r in refs)
    corpus = next(p for p in spdx["packages"] if p["name"] == "calc")
    assert corpus["licenseDeclared"] == "MIT"


# -- Markdown --------------------------------------------------------------------------
def scrub_markdown(text: str, root, det: dict) -> str:
    """Fixed markers for what changes between runs and when the calibration is re-measured."""
    text = text.replace(str(root), "<tmp>")
    text = re.sub(r"Generated \S+ by audit \S+\.", "Generated <time> by audit <version>.", text)
    text = text.replace(calibration_line(det["calibration"]), "<calibration>")
    text = re.sub(r"Calibrated on \d+ known pairs \([^)]*\): precision \S+, recall [\d.]+\.",
                  "Calibrated on <calibration>.", text)
    text = re.sub(r"scored [\d.]+ \(review", "scored <score> (review", text)
    return re.sub(r"rests on \d+ known pairs: its false-positive rate of \S+ has an upper 95% "
                  r"bound of [\d.]+", "rests on <calibration>", text)


def test_markdown_matches_gold(run):
    det = _json(run / "r.json")["provenance"]["determination"]
    actual = scrub_markdown((run / "r.md").read_text(encoding="utf-8"), run, det)
    path = os.path.join(GOLD, "provenance.md")
    if UPDATE:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(actual)
    with open(path, encoding="utf-8") as fh:
        assert actual == fh.read(), f"differs from {path}; see the module docstring to update"


def test_markdown_leads_with_the_determination(run):
    text = (run / "r.md").read_text(encoding="utf-8")
    heads = re.findall(r"^## (.+)$", text, re.M)
    assert heads[:2] == ["Determination", "Scope"] and "Hotspots" in heads
    assert "`rs/table.rs` | binary" in text


# -- CSV -------------------------------------------------------------------------------
def _rows(path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_csv_tables(run):
    doc = _json(run / "r.json")
    det = doc["provenance"]["determination"]
    names = sorted(os.listdir(run / "csv"))
    assert names == ["determination.csv", "evidence.csv", "files.csv", "findings.csv", "hotspots.csv", "matches.csv",
                     "not_checked.csv"]
    first = _rows(run / "csv" / "determination.csv")[:3]
    assert [r["item"] for r in first] == ["verdict", "score", "verdict after review"]
    assert first[0]["value"] == det["verdict"]
    assert len(_rows(run / "csv" / "matches.csv")) == len(det["matches"])
    assert len(_rows(run / "csv" / "evidence.csv")) == len(_fragments(doc))
    files = {r["path"]: r for r in _rows(run / "csv" / "files.csv")}
    assert set(files) == {f["path"] for f in doc["files"]}
    assert files["py/parser.py"]["provenance_verdict"] in ("review", "derived")
    assert files["py/parser.py"]["swhid"].startswith("swh:1:cnt:")
    assert [r["path"] for r in _rows(run / "csv" / "not_checked.csv")] == ["rs/table.rs"]
    assert len(_rows(run / "csv" / "hotspots.csv")) == len(doc["hotspots"])


# -- SARIF -----------------------------------------------------------------------------
def _validator():
    import jsonschema

    with open(SCHEMA, encoding="utf-8") as fh:
        return jsonschema.Draft7Validator(json.load(fh))


def test_sarif_has_a_determination_result(run):
    doc = _json(run / "r.sarif")
    assert not list(_validator().iter_errors(doc))
    res = [r for r in doc["runs"][0]["results"] if r["ruleId"] == "provenance/determination"]
    assert len(res) == 1 and res[0]["level"] == "warning"
    det = res[0]["properties"]["determination"]
    assert det["thresholds"]["project"]["review"] == 0.02 and det["scope"]["corpora"][0]["name"] == "calc"


def test_clean_run_still_leaves_a_note(tmp_path):
    idx = make_corpus(tmp_path)
    shutil.copytree(os.path.join(FIX, "independent"), tmp_path / "indep")
    out = tmp_path / "r.sarif"
    assert main(["scan", str(tmp_path / "indep"), "--corpus", "calc", "--index-dir", idx, "-q",
                 "-j", "1", "--sarif", str(out), "--html", str(tmp_path / "html")]) == 0
    doc = _json(out)
    assert not list(_validator().iter_errors(doc))
    (res,) = [r for r in doc["runs"][0]["results"] if r["ruleId"] == "provenance/determination"]
    assert res["level"] == "note" and res["message"]["text"].startswith("clean:")
    uris = [r.get("helpUri", "") for r in doc["runs"][0]["tool"]["driver"]["rules"]]
    assert not [u for u in uris if u.startswith("file:")]  # links that die with the upload


# -- terminal --------------------------------------------------------------------------
def test_terminal_opens_provenance_with_the_determination(run, run_cli):
    idx = str(run / "idx")
    code, out, _ = run_cli("scan", str(run / "audited"), "--corpus", "calc", "--index-dir", idx,
                           "-j", "1", "--no-color")
    assert code == 0
    assert out.index("provenance determination") < out.index("provenance: ")
    assert "not checked: rs/table.rs (binary)" in out


# -- the provenance page in Chromium --------------------------------------------------
@pytest.mark.browser
def test_provenance_page_shows_the_determination_first(run, watch):
    watch.open(run / "html" / "provenance.html")
    page = watch.page
    assert page.locator("main h2, body h2").first.inner_text() == "Determination"
    rows = page.locator("table.det-lines th").all_inner_texts()
    assert rows[:4] == ["determination", "thresholds", "calibration", "audited"]
    assert "rs/table.rs" in page.locator("table.not-checked").inner_text()
    lic = page.locator("table.licences").inner_text()
    assert "BSD-2-Clause" in lic and "MIT" in lic and "The Calc Authors" in lic
    watch.open(run / "html" / "index.html")
    assert "Provenance determination" in page.locator("section.determination").inner_text()
    assert not watch.errors and not watch.remote()
