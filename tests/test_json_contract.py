"""The JSON report's keys per format_version: removing or renaming one needs a new version."""

from __future__ import annotations

import json
import os

from audit.cli import main
from audit.results import FORMAT_VERSION

DOCS = os.path.join(os.path.dirname(__file__), "..", "docs", "json.md")

# format_version -> keys a consumer of that version relies on, by place in the report.
# A new version adds a row here and a line in docs/json.md; new keys may appear in
# any version (consumers ignore keys they do not know), so the test checks inclusion.
CONTRACT = {
    2: {
        "": {"format_version", "tool", "created", "config", "totals", "hotspots", "files",
             "skipped", "findings", "warnings", "rules", "clones", "fix_first"},
        "rules": {"active_rules", "config_file", "suppressed", "baselined", "debt", "by_category",
                  "by_rule", "files"},
        "rules.debt": {"hours", "advisory_hours", "ratio", "errors_and_warnings", "per_kloc",
                       "rating", "bands", "definition"},
        "rules.files[]": {"path", "sloc", "hours", "ratio", "rating"},
        "clones": {"parameters", "units_compared", "candidate_pairs", "verified_pairs",
                   "group_count", "duplicated_sloc", "total_sloc", "duplication_share", "groups"},
        "fix_first": {"formula", "include_tests", "items"},
    },
}

RUST = """\
pub fn parse(text: &str) -> i64 {
    let n: i64 = text.trim().parse().unwrap();
    if n < 0 {
        panic!("negative");
    }
    n
}
"""


def _at(doc: dict, place: str) -> dict:
    for part in filter(None, place.split(".")):
        doc = doc[part[:-2]][0] if part.endswith("[]") else doc[part]
    return doc


def test_the_report_holds_the_keys_of_its_format_version(tmp_path):
    (tmp_path / "lib.rs").write_text(RUST)
    out = tmp_path / "r.json"
    assert main(["scan", str(tmp_path), "-q", "-j", "1", "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["format_version"] == FORMAT_VERSION
    assert FORMAT_VERSION in CONTRACT, "a new format_version needs its row in CONTRACT"
    assert doc["rules"]["files"], "the sample needs a file with debt"
    for place, keys in CONTRACT[FORMAT_VERSION].items():
        missing = keys - set(_at(doc, place))
        assert not missing, f"{place or 'top level'} lost {sorted(missing)}: bump FORMAT_VERSION"


def test_every_format_version_is_documented():
    with open(DOCS, encoding="utf-8") as fh:
        text = fh.read()
    for version in range(1, FORMAT_VERSION + 1):
        assert f"\n| {version} | " in text, f"docs/json.md has no line for format_version {version}"
