"""The scan command end to end: exit codes, messages, JSON contract, help texts."""

import json
import subprocess
import sys

import pytest

from audit.cli import COMMANDS, build_parser
from audit.errors import EXIT_FINDINGS, EXIT_INPUT, EXIT_OK, EXIT_USAGE
from conftest import REPO

RUST = """
pub fn dispatch(op: u8, a: i64, b: i64) -> Option<i64> {
    match op {
        0 => Some(a + b),
        1 => Some(a - b),
        2 if b != 0 => Some(a / b),
        _ => None,
    }
}
"""
PY = "def ok(x):\n    return x if x else None\n"


@pytest.fixture
def project(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "ops.rs").write_text(RUST)
    (tmp_path / "tool.py").write_text(PY)
    return tmp_path


def test_json_contract(project, tmp_path, run_cli):
    out = tmp_path / "out.json"
    code, stdout, _ = run_cli("scan", str(project), "--json", str(out), "--no-color")
    assert code == EXIT_OK
    doc = json.loads(out.read_text())
    for key in ("format_version", "tool", "created", "config", "totals", "hotspots", "files",
                "skipped", "findings", "warnings"):
        assert key in doc, key
    assert doc["format_version"] == 2
    assert doc["config"]["paths"] == [str(project)]
    f = next(f for f in doc["files"] if f["path"] == "src/ops.rs")
    assert f["language"] == "rust"
    unit = f["units"][0]
    for key in ("qualname", "kind", "start_line", "end_line", "metrics"):
        assert key in unit, key
    for key in ("cyclomatic", "cognitive", "nesting", "params", "sloc"):
        assert key in unit["metrics"], key
    assert (unit["qualname"], unit["kind"], unit["start_line"], unit["end_line"]) == \
        ("ops::dispatch", "function", 2, 9)
    assert unit["metrics"]["cyclomatic"] == 5 and unit["metrics"]["params"] == 3
    assert doc["totals"]["files"] == 2 and doc["totals"]["functions"] == 2
    assert "ops::dispatch" in stdout


def test_json_is_deterministic_but_for_time(project, tmp_path, run_cli):
    docs = []
    for name in ("a.json", "b.json"):
        run_cli("scan", str(project), "--json", str(tmp_path / name), "-q")
        doc = json.loads((tmp_path / name).read_text())
        doc.pop("created")
        docs.append(doc)
    assert docs[0] == docs[1]


@pytest.mark.parametrize("setup,message", [
    ("missing", "path does not exist"),
    ("empty", "no rust or python source files"),
    ("unsupported", "no rust or python source files"),
])
def test_input_errors(tmp_path, run_cli, setup, message):
    target = tmp_path / "t"
    if setup != "missing":
        target.mkdir()
    if setup == "unsupported":
        (target / "notes.txt").write_text("hello")
        (target / "main.c").write_text("int main(void){return 0;}")
    code, _, err = run_cli("scan", str(target))
    assert code == EXIT_INPUT
    assert message in err and "hint:" in err and "Traceback" not in err


def test_bad_option_is_a_usage_error(project, run_cli):
    code, _, err = run_cli("scan", str(project), "--max-file-size", "0")
    assert code == EXIT_USAGE and "max file size must be positive" in err


def test_strict_fails_on_skipped_files(project, run_cli):
    (project / "blob.rs").write_bytes(b"\x00\x01")
    assert run_cli("scan", str(project), "-q")[0] == EXIT_OK
    assert run_cli("scan", str(project), "-q", "--strict")[0] != EXIT_OK


def test_fail_on_counts_findings_at_or_above_the_severity(tmp_path, run_cli):
    (tmp_path / "lib.rs").write_text(
        "pub fn first(v: &[u8]) -> u8 {\n    *v.first().unwrap()\n}\n")  # unwrap-used: a warning
    assert run_cli("scan", str(tmp_path), "-q", "--fail-on", "error")[0] == EXIT_OK
    code, _, err = run_cli("scan", str(tmp_path), "-q", "--fail-on", "warning")
    assert code == EXIT_FINDINGS and "1 finding(s) at severity warning or worse" in err
    (tmp_path / "lib.rs").write_text(
        "pub fn first(v: &[u8]) -> u8 {\n    *v.first().unwrap() // audit: allow(unwrap-used) never empty\n}\n")
    assert run_cli("scan", str(tmp_path), "-q", "--fail-on", "info")[0] == EXIT_OK  # suppressed


def test_fail_on_verdict_needs_a_corpus(project, run_cli):
    code, _, err = run_cli("scan", str(project), "-q", "--fail-on-verdict", "review")
    assert code == EXIT_USAGE and "needs a provenance check" in err


def test_every_command_has_help():
    parser = build_parser()
    sub = parser._subparsers._group_actions[0]  # noqa: SLF001
    assert set(sub.choices) <= set(COMMANDS)
    for name, p in sub.choices.items():
        assert p.description or p.format_help(), name
        for action in p._actions:  # noqa: SLF001
            if action.option_strings and action.dest != "help":
                assert action.help, f"{name} {action.option_strings} has no help text"


def test_python_dash_m_and_default_target():
    """`python -m audit` with no path audits the bundled reference compiler."""
    proc = subprocess.run([sys.executable, "-m", "audit", "--no-color"],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "audit summary" in proc.stdout and "refcc" in proc.stdout
