"""Gold-file tests of the JSON, SARIF and terminal output over fixtures/report_sample.

The result is the real metrics scan of the fixture plus hand-made findings and
provenance and clone sections (fixed here, so a change in another stage does not
move these files). Volatile parts (timestamps, elapsed times, the tool version,
absolute paths) are scrubbed. After an intended change of the output, rewrite
the gold files with ``AUDIT_UPDATE_GOLD=1 python -m pytest tests/test_gold.py``
and review the diff.
"""

from __future__ import annotations

import io
import os
import re
from dataclasses import replace

import pytest

from audit.config import ScanConfig
from audit.pipeline import Job, scan
from audit.render import json as json_render
from audit.render import sarif
from audit.render.terminal import make_console, render
from audit.results import Finding
from audit.walk import git_blob_sha1

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE = os.path.join(REPO, "fixtures", "report_sample")
CORPUS_FILE = os.path.join(SAMPLE, "corpus", "expr.c")
GOLD = os.path.join(REPO, "tests", "gold")
UPDATE = os.environ.get("AUDIT_UPDATE_GOLD") == "1"


class Section:
    """A stand-in for a later stage's section: plain data behind ``to_dict()``."""

    def __init__(self, data: dict, corpus: dict[str, str] | None = None):
        self.data = data
        self.corpus = corpus or {}

    def to_dict(self) -> dict:
        return self.data

    def corpus_text(self, match: dict) -> str | None:
        return self.corpus.get(match["corpus_path"])


def corpus_source() -> str:
    with open(CORPUS_FILE, encoding="utf-8") as fh:
        return fh.read()


def provenance_section() -> Section:
    """One derived file (eval.rs's `sum` against expr.c's `sum`) and one clean file."""
    text = corpus_source()
    match = {
        "corpus": "tinyc", "corpus_path": "src/expr.c",
        "swhid": "swh:1:cnt:" + git_blob_sha1(text.encode()), "score": 0.81,
        "channels": {"structure": 0.77, "identifiers": 0.64, "comments": 0.0},
        "discounted": ["NUM", "PUNCT"],
        "evidence": [{"kind": "structure", "lines": [10, 25], "corpus_lines": [10, 24],
                      "expected_chance": 0.0042, "beyond_calibration": False},
                     {"kind": "identifiers", "lines": [5, 8], "corpus_lines": [9, 11],
                      "expected_chance": 3.1, "beyond_calibration": False}],
    }
    data = {"verdict": "review", "score": 0.81,
            "corpora": [{"name": "tinyc", "source": "fixtures/report_sample/corpus", "files": 1}],
            "discounted": {"allow-listed names": 3, "common across the corpus": 12},
            "files": [{"path": "src/eval.rs", "verdict": "derived", "score": 0.81,
                       "matches": [match]},
                      {"path": "src/lexer.rs", "verdict": "clean", "score": 0.02, "matches": []}]}
    return Section(data, {"src/expr.c": text})


def clones_section() -> Section:
    members = [{"path": "tools/report.py", "qualname": "report.classify", "start_line": 6,
                "end_line": 13, "sloc": 7, "tokens": 60},
               {"path": "tools/report_copy.py", "qualname": "report_copy.band_of",
                "start_line": 4, "end_line": 11, "sloc": 7, "tokens": 60}]
    return Section({"group_count": 1, "duplicated_sloc": 7, "total_sloc": 120,
                    "duplication_share": 0.0583,
                    "groups": [{"size": 2, "similarity": 0.93, "min_similarity": 0.93,
                                "duplicated_sloc": 7, "members": members}]})


FINDINGS = (
    ("src/lexer.rs", "unwrap-used", "warning", "correctness", 25, 48,
     "`unwrap()` panics on bad input; return a Result", None),
    ("src/lexer.rs", "panic-macro", "warning", "correctness", 36, 13,
     "`panic!` in library code", None),
    ("src/eval.rs", "panic-macro", "warning", "correctness", 40, 21,
     "`panic!` in library code", "division by zero is a bug in the caller"),
    ("src/eval.rs", "panic-macro", "error", "correctness", 60, 14,
     "`panic!` in library code", None),
    ("tools/report.py", "print-call", "info", "agent-artefacts", 25, 9,
     "writes to an output stream directly", None),
)

RULE_META = {
    "panic-macro": {"name": "panic-macro", "category": "correctness", "severity": "warning",
                    "summary": "panic! in library code",
                    "docs": {"what": "Finds panic! calls.", "why": "A compiler should report "
                             "errors, not abort.", "instead": "Return an error."},
                    "language": "rust"},
    "unwrap-used": {"name": "unwrap-used", "category": "correctness", "severity": "warning",
                    "summary": "unwrap() on Option or Result",
                    "docs": {"what": "Finds unwrap() calls.", "why": "It panics."},
                    "language": "rust"},
}


def _unit_at(file_result, line: int) -> str:
    inner = [u for u in file_result.units if u.start_line <= line <= u.end_line]
    return inner[-1].qualname if inner else ""


def sample_result(path: str = SAMPLE):
    """The fixture's real metrics plus the hand-made findings and sections above."""
    result, _ = scan(ScanConfig(paths=(path,), jobs=1), Job(4 * 1024 * 1024))
    files = []
    for f in result.files:
        mine = tuple(Finding(rule, sev, cat, f.path, line, line, msg, col, col + 5,
                             _unit_at(f, line), supp)
                     for p, rule, sev, cat, line, col, msg, supp in FINDINGS if p == f.path)
        files.append(replace(f, findings=mine))
    return replace(result, files=tuple(files), created="2026-11-24T12:00:00+00:00", elapsed=1.25,
                   sections={"provenance": provenance_section(), "clones": clones_section()})


def scrub(text: str) -> str:
    """Replace what changes between runs and machines with fixed markers."""
    from audit import __version__

    text = text.replace(REPO, "<repo>")
    text = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:[+-]\d\d:\d\d|Z)?", "<time>", text)
    text = re.sub(r'"elapsed": [0-9.]+', '"elapsed": "<elapsed>"', text)
    text = re.sub(r"(\btime\b[^\n]*?)[0-9]+\.[0-9]+ s", r"\1<elapsed> s", text)
    return text.replace(f'"{__version__}"', '"<version>"')


def terminal_text(result) -> str:
    # the audited path is a table cell: scrub it before rendering so the column
    # width does not depend on where the checkout lives
    config = dict(result.config, paths=[p.replace(REPO, "<repo>") for p in result.config["paths"]])
    buf = io.StringIO()
    render(replace(result, config=config), make_console(no_color=True, file=buf), 5)
    return buf.getvalue()


OUTPUTS = {
    "sample.json": lambda r: json_render.dumps(r, 5),
    "sample.sarif": lambda r: sarif.dumps(r, RULE_META, "https://example.org/rules/{rule}"),
    "sample.txt": terminal_text,
}


@pytest.fixture(scope="module")
def result():
    return sample_result()


@pytest.mark.parametrize("name", sorted(OUTPUTS))
def test_output_matches_gold(result, name):
    actual = scrub(OUTPUTS[name](result))
    path = os.path.join(GOLD, name)
    if UPDATE:
        os.makedirs(GOLD, exist_ok=True)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(actual)
    with open(path, encoding="utf-8") as fh:
        expected = fh.read()
    assert actual == expected, f"{name} differs from {path}; see the module docstring to update"


@pytest.mark.parametrize("name", ["sample.json", "sample.sarif"])
def test_same_input_gives_identical_bytes(result, name):
    again = replace(sample_result(), created=result.created, elapsed=result.elapsed)
    assert OUTPUTS[name](again) == OUTPUTS[name](result)


def test_scrub_removes_volatile_parts(result):
    text = scrub(OUTPUTS["sample.json"](result) + OUTPUTS["sample.txt"](result))
    assert REPO not in text
    assert "2026-11-24T12:00:00" not in text
    assert "<elapsed> s" in text
