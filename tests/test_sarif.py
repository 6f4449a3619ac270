"""SARIF 2.1.0 output: schema-valid, stable fingerprints, related locations, GitHub limits."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import replace

import pytest
from test_gold import REPO, RULE_META, SAMPLE, sample_result

from audit.render import sarif

# the official OASIS schema (errata 01), kept with the tests so the check never depends on
# what sits beside the checkout
SCHEMA = os.path.join(REPO, "tests", "data", "sarif-schema-2.1.0.json")


@pytest.fixture(scope="module")
def result():
    return sample_result()


@pytest.fixture(scope="module")
def validator():
    import jsonschema

    with open(SCHEMA, encoding="utf-8") as fh:
        schema = json.load(fh)
    return jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())


def _run(doc: dict) -> dict:
    return doc["runs"][0]


@pytest.mark.parametrize("help_uri", ["", "https://example.org/rules/{rule}",
                                      "file:///tmp/report/{page}"])
def test_validates_against_the_schema(result, validator, help_uri):
    doc = json.loads(sarif.dumps(result, RULE_META, help_uri))
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]
    assert len(doc["runs"]) == 1


def test_cli_writes_valid_sarif(tmp_path, validator, run_cli):
    out = tmp_path / "out.sarif"
    code, _, err = run_cli("scan", SAMPLE, "--sarif", str(out), "-q")
    assert code == 0, err
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert not list(validator.iter_errors(doc))
    assert _run(doc)["tool"]["driver"]["name"] == "audit"


def test_rules_carry_descriptions_and_help(result):
    rules = {r["id"]: r for r in _run(sarif.to_sarif(result, RULE_META, "https://x.org/{rule}"))
             ["tool"]["driver"]["rules"]}
    panic = rules["panic-macro"]
    assert panic["shortDescription"]["text"] == "panic! in library code"
    assert panic["fullDescription"]["text"] == "Finds panic! calls."
    assert "Return an error." in panic["help"]["text"]
    assert panic["helpUri"] == "https://x.org/panic-macro"
    assert "provenance/corpus-match" in rules and "clones/duplicate-function" in rules


@pytest.mark.parametrize("rule, path, line, level", [
    ("panic-macro", "src/eval.rs", 60, "error"),
    ("unwrap-used", "src/lexer.rs", 25, "warning"),
    ("print-call", "tools/report.py", 25, "note"),
    ("provenance/corpus-match", "src/eval.rs", 10, "warning"),
    ("clones/duplicate-function", "tools/report_copy.py", 4, "note"),
])
def test_results_have_level_location_and_rule_index(result, rule, path, line, level):
    run = _run(sarif.to_sarif(result, RULE_META))
    rules = [r["id"] for r in run["tool"]["driver"]["rules"]]
    hits = [r for r in run["results"] if r["ruleId"] == rule
            and r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == path
            and r["locations"][0]["physicalLocation"]["region"]["startLine"] == line]
    assert len(hits) == 1
    assert hits[0]["level"] == level
    assert rules[hits[0]["ruleIndex"]] == rule


def test_corpus_matches_are_related_locations(result):
    run = _run(sarif.to_sarif(result, RULE_META))
    match = next(r for r in run["results"] if r["ruleId"] == "provenance/corpus-match")
    related = match["relatedLocations"]
    assert [r["physicalLocation"]["region"]["startLine"] for r in related] == [10, 9]
    assert related[0]["physicalLocation"]["artifactLocation"] == {
        "uri": "src/expr.c", "uriBaseId": "CORPUS_TINYC"}
    assert "CORPUS_TINYC" in run["originalUriBaseIds"]
    assert match["properties"]["swhid"].startswith("swh:1:cnt:")


def test_suppressed_finding_keeps_its_reason(result):
    run = _run(sarif.to_sarif(result, RULE_META))
    supp = [r for r in run["results"] if "suppressions" in r]
    assert [s["suppressions"][0]["justification"] for s in supp] == [
        "division by zero is a bug in the caller"]


def _fingerprints(res) -> dict:
    run = _run(sarif.to_sarif(res, RULE_META))
    return {(r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]):
            r["partialFingerprints"][sarif.FINGERPRINT_KEY] for r in run["results"]
            if r["ruleId"] in ("unwrap-used", "print-call")}


def test_fingerprints_survive_lines_moving(tmp_path, result):
    moved = tmp_path / "sample"
    shutil.copytree(SAMPLE, moved)
    for rel in ("src/lexer.rs", "tools/report.py"):
        p = moved / rel
        p.write_text("\n\n\n" + p.read_text(encoding="utf-8"), encoding="utf-8")
    shifted = sample_result(str(moved))
    # The hand-made findings sit at fixed lines; move them with the code, as a rule would.
    files = tuple(replace(f, findings=tuple(replace(x, line=x.line + 3, end_line=x.end_line + 3)
                                            for x in f.findings)) for f in shifted.files)
    before, after = _fingerprints(result), _fingerprints(replace(shifted, files=files))
    assert before == after and len(before) == 2


def test_identical_findings_get_distinct_fingerprints(result):
    run = _run(sarif.to_sarif(result, RULE_META))
    prints = [r["partialFingerprints"][sarif.FINGERPRINT_KEY] for r in run["results"]]
    assert len(prints) == len(set(prints))


def test_truncation_keeps_the_most_severe_and_says_so(result):
    run = _run(sarif.to_sarif(result, RULE_META, max_results=2))
    assert [r["level"] for r in run["results"]] == ["error", "warning"]
    assert "suppressions" not in run["results"][1]
    note = run["invocations"][0]["toolExecutionNotifications"][0]
    assert "left out" in note["message"]["text"]
    assert run["properties"]["omittedResults"] == len(
        _run(sarif.to_sarif(result, RULE_META))["results"]) - 2


def test_size_limit_cuts_results_instead_of_failing(result):
    full = sarif.dumps(result, RULE_META)
    small = sarif.dumps(result, RULE_META, max_bytes=len(full.encode()) - 1500)
    assert len(small.encode()) <= len(full.encode()) - 1500
    run = _run(json.loads(small))
    assert run["properties"]["omittedResults"] > 0
    assert run["results"][0]["level"] == "error"


def test_paths_are_percent_encoded_uris():
    assert sarif._uri("a b/c#d.rs") == "a%20b/c%23d.rs"
    assert sarif._uri('"><img src=x>.py') == "%22%3E%3Cimg%20src%3Dx%3E.py"
