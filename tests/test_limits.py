"""Per-file limits: the file deadline, the checks before parsing and the supervised pool.

No test here times anything: each asserts that the scan ends and how each file
came out (measured, or skipped with its reason).
"""

from __future__ import annotations

import base64
import json
import os
import signal

import pytest

import audit.pipeline as pipeline
import audit.workers as workers
from audit.config import ScanConfig
from audit.limits import Limits, bracket_depth, precheck
from audit.pipeline import Job, scan

# The 539-byte Rust file of issue 14: tree-sitter's error recovery never ends on it.
HANG_RS = base64.b64decode("""
Lw0vIiAiQSBzPT5tYWxsIGNyYXRlIHdjbGFzcyBpdGggaV1kaW9tIGZpbVxwbCBpbmRpbmdzIGlA
ZGVjb3JhdHIjIm9yCm4ga25vd24gcGxh4oCuY2VzIChzZWVtYVx1ZDgwMGNyb19ydWxlcyEgbSB7
ICgkeDpleHByKSA9XD4geycnJyAkeCB9fSB9IHRlc3QNcy86OnRlc3RfcmltcGwgdWxlc2RlZiBf
I2VuZ2luZS5weSkjIGF1ZGkjIGF1ZGl0OiBhbCNsb3codDogZiJ7YWxsb3coLgpwdShiIGZuIGFz
eW5jIGZpcnN0KHY6ICZbdThdKScn4oCoJyAtPiB1OCB7ClwKICAgOyBmb3JtYXQhKCJ2YWx1OmUg
eyN9IG9mXCB7O30iLApwdWIjIGZuIG5lc2End2FpdCB0ZWQoeDogT3B0fWlvbjxyIyJ5PT5pXCJl
bGQgQGRlY29yYXRvci0+CnU4PjwpIOKAri0+ICJTIlxbO3Q7LypyaTo6fG5nIiB7Cj0+ICBhd2Fp
dCAgIGYvLy8vb3I6bW1hdGNoIGFmbiB0ISgie1x9IiwgZm9ybWF0YXN5bmMgISgie30bWzMxbSIs
PCB4LnVud3JhcCgpKSkvKgpwdWIgZm4gPmFs4oCubG93ZWQoeDppbXBsICBdT3B0DGlvbidc77u/
PF1jbGFyIyJzcyB1OD4pIC3igKg+IHU4IHs=
""")
# What remains of it when every character that the hang does not need is removed.
HANG_CORE = '""(.t(t!{""\\t;/*"\u202em]]r#"8>'.encode()


def write(folder, name: str, data: bytes | str):
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def good_files(folder, count: int) -> set[str]:
    for i in range(count):
        write(folder, f"ok{i}.rs", f"fn ok{i}(x: i32) -> i32 {{ if x > {i} {{ x }} else {{ -x }} }}\n")
    return {f"ok{i}.rs" for i in range(count)}


def run(folder, jobs: int, **limits):
    config = ScanConfig(paths=(str(folder),), jobs=jobs, limits=Limits(**limits))
    result, _ = scan(config, Job(config.max_file_size, limits=config.limits))
    return {f.path for f in result.files}, {s.path: (s.reason, s.detail) for s in result.skipped}


@pytest.mark.parametrize("jobs", [1, 2])
@pytest.mark.parametrize("data", [HANG_RS, HANG_CORE], ids=["issue-file", "core"])
def test_the_hanging_rust_file_ends_as_a_timeout(tmp_path, jobs, data):
    """Found in the parser, not a query: the parse is stopped at the deadline, the
    parser reset (else the next file would resume it) and the other files measured."""
    write(tmp_path, "hang.rs", data)
    good = good_files(tmp_path, 9)  # enough for a pool with two workers
    measured, skipped = run(tmp_path, jobs, file_timeout=0.5)
    assert skipped["hang.rs"][0] == "timeout"
    assert measured == good


@pytest.mark.parametrize("name, text, reason", [
    ("open.rs", "fn f() { g(" + "(" * 500_000 + "\n", "too-deep"),
    ("open.py", "x = " + "[" * 5_000 + "\n", "too-deep"),
    ("line.py", "x = [" + ", ".join(str(i) for i in range(300_000)) + "]\n", "line-too-long"),
])
def test_deep_or_long_files_are_refused_before_parsing(tmp_path, name, text, reason):
    write(tmp_path, name, text)
    good = good_files(tmp_path, 2)
    measured, skipped = run(tmp_path, 1)
    assert skipped[name][0] == reason
    assert measured == good


def test_a_run_of_unmatched_tokens_is_refused_before_the_tree_query(tmp_path):
    """With the bracket limit off, 20,000 unclosed brackets still do not reach the
    query cursor (quadratic over one error node's anonymous children)."""
    write(tmp_path, "flood.rs", "[" * 20_000)
    write(tmp_path, "fine.rs", "fn f() { g(" + "(" * 300 + "\n")  # an error, but a short run
    measured, skipped = run(tmp_path, 1, max_nesting=0)
    assert skipped["flood.rs"][0] == "error-flood"
    assert "20,000 unmatched tokens" in skipped["flood.rs"][1]
    assert measured == {"fine.rs"}


def test_nesting_within_the_limit_is_measured(tmp_path):
    write(tmp_path, "deep.rs", "fn f() -> i32 { " + "(" * 400 + "1" + ")" * 400 + " }\n")
    measured, skipped = run(tmp_path, 1, max_nesting=500)
    assert measured == {"deep.rs"} and skipped == {}


@pytest.mark.parametrize("data, depth", [
    (b"", 0), (b"()", 1), (b"([{}])", 3), (b")))(", 1), (b"((x)(y))", 2), (b"(" * 7, 7),
])
def test_bracket_depth(data, depth):
    assert bracket_depth(data) == depth


def test_precheck_leaves_ordinary_code_alone():
    assert precheck(b"fn f() { g([1, 2], {3}) }\n" * 2000, Limits()) is None
    assert precheck(b"(" * 10, Limits(max_nesting=5)) == ("too-deep", "brackets nested 10 deep (limit 5)")


# -- the watchdog ------------------------------------------------------------------
def misbehave_on(monkeypatch, name: str, action) -> None:
    """Make the measuring of one file run ``action`` (forked workers inherit this)."""
    real = pipeline.measure

    def measure(parsed, engine):
        if os.path.basename(parsed.source.path) == name:
            action()
        return real(parsed, engine)

    monkeypatch.setattr(pipeline, "measure", measure)


def spin():
    while True:
        pass


def test_a_slow_file_is_skipped_in_process(tmp_path, monkeypatch):
    misbehave_on(monkeypatch, "slow.rs", spin)
    write(tmp_path, "slow.rs", "fn slow() {}\n")
    good = good_files(tmp_path, 3)
    measured, skipped = run(tmp_path, 1, file_timeout=0.3)
    assert skipped == {"slow.rs": ("timeout", "not done in 0.3 s of CPU time")}
    assert measured == good


def parse_without_deadline():
    from audit.lang import LANGUAGES

    LANGUAGES["rust"].parser().parse(HANG_CORE)  # bytes: no progress callback, never ends


def test_a_worker_stuck_in_c_is_killed_and_replaced(tmp_path, monkeypatch):
    """A parse run without the progress callback holds the worker in C, where its own
    timer cannot reach: the pool kills the worker and goes on."""
    monkeypatch.setattr(workers, "GRACE", 0.5)
    monkeypatch.setattr(workers, "POLL", 0.1)
    misbehave_on(monkeypatch, "stuck.rs", parse_without_deadline)
    write(tmp_path, "stuck.rs", "fn stuck() {}\n")
    good = good_files(tmp_path, 12)
    measured, skipped = run(tmp_path, 2, file_timeout=0.2)
    assert skipped["stuck.rs"][0] == "timeout"
    assert "worker stopped and replaced" in skipped["stuck.rs"][1]
    assert measured == good


def test_a_worker_that_dies_costs_only_its_file(tmp_path, monkeypatch):
    misbehave_on(monkeypatch, "boom.rs", lambda: os.kill(os.getpid(), signal.SIGKILL))
    write(tmp_path, "boom.rs", "fn boom() {}\n")
    good = good_files(tmp_path, 12)
    measured, skipped = run(tmp_path, 2)
    assert skipped == {"boom.rs": ("crashed", "worker process ended (signal SIGKILL; "
                                              "memory limit 2048 MiB)")}
    assert measured == good


def test_a_file_past_the_memory_limit_is_skipped(tmp_path, monkeypatch):
    misbehave_on(monkeypatch, "big.rs", lambda: bytearray(3 << 30))
    write(tmp_path, "big.rs", "fn big() {}\n")
    good = good_files(tmp_path, 12)
    measured, skipped = run(tmp_path, 2, max_memory=2048)
    assert skipped == {"big.rs": ("too-much-memory", "memory limit 2048 MiB")}
    assert measured == good


def test_the_memory_limit_counts_from_what_a_worker_inherits(tmp_path):
    """Workers fork after corpus indexes are memory-mapped: gigabytes of mapping count
    towards no file, so every file is still measured under a 2 GiB limit."""
    import mmap

    good = good_files(tmp_path / "src", 12)
    sparse = tmp_path / "index.npy"
    with open(sparse, "wb") as fh:
        fh.truncate(3 << 30)  # a 3 GiB file taking no disk: mapped, never read
    with open(sparse, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ):
        measured, skipped = run(tmp_path / "src", 2, max_memory=2048)
    assert skipped == {}
    assert measured == good


def test_limits_are_validated():
    from audit.errors import ConfigError

    with pytest.raises(ConfigError, match="file timeout"):
        ScanConfig(paths=("x",), limits=Limits(file_timeout=float("nan")))
    with pytest.raises(ConfigError, match="max nesting"):
        ScanConfig(paths=("x",), limits=Limits(max_nesting=-1))


# -- settings ----------------------------------------------------------------------
def test_limits_from_audit_toml_and_the_command_line(tmp_path, run_cli):
    write(tmp_path, "audit.toml", "[limits]\nmax-nesting = 10\nfile-timeout = 5\n")
    write(tmp_path, "deep.rs", "fn f() -> i32 { " + "(" * 20 + "1" + ")" * 20 + " }\n")
    out = tmp_path / "out.json"
    assert run_cli("scan", str(tmp_path), "--json", str(out), "-q")[0] == 0
    doc = json.loads(out.read_text())
    assert [(s["path"], s["reason"]) for s in doc["skipped"]] == [("deep.rs", "too-deep")]
    assert doc["config"]["limits"]["file_timeout"] == 5
    assert run_cli("scan", str(tmp_path), "--json", str(out), "-q", "--max-nesting", "0")[0] == 0
    doc = json.loads(out.read_text())
    assert [f["path"] for f in doc["files"]] == ["deep.rs"] and doc["skipped"] == []


@pytest.mark.parametrize("table, problem", [
    ("max-nesting = -1", "max nesting must be 0 (none) or more"),
    ("max-depth = 3", "unknown key 'max-depth'"),
    ("file-timeout = \"10\"", "must be a number"),
    ("max-memory = 1.5", "must be a whole number"),
    ("file-timeout = nan", "file timeout must be"),
])
def test_bad_limits_in_audit_toml_are_refused(tmp_path, run_cli, table, problem):
    write(tmp_path, "audit.toml", f"[limits]\n{table}\n")
    write(tmp_path, "a.rs", "fn a() {}\n")
    code, _out, err = run_cli("scan", str(tmp_path), "-q")
    assert code == 2 and problem in err


def test_a_hanging_file_in_a_corpus_is_refused_not_waited_for(tmp_path, monkeypatch):
    """The corpus build applies the scan's per-file limits: the hanging file is left out as a
    timeout (counted in the manifest) and the other files are indexed."""
    import json

    from audit.provenance import build

    src = tmp_path / "src"
    write(src, "hang.rs", HANG_CORE)
    write(src, "open.rs", "fn f() { g(" + "(" * 200_000 + "\n")
    good = good_files(src, 3)
    monkeypatch.setattr(build, "BUILD_LIMITS", Limits(file_timeout=0.5))
    build.build_index("hostile", [str(src)], str(tmp_path / "idx"), workers=1)
    manifest = json.loads((tmp_path / "idx" / "hostile" / "manifest.json").read_text())
    assert manifest["build"]["skipped"]["refused"] == {"timeout": 1, "too-deep": 1}
    labels = {line.split("\t")[0] for line in (tmp_path / "idx" / "hostile" / "files.tsv").read_text().splitlines()}
    assert labels == good


def test_a_timeout_reported_by_cpython_as_a_system_error_is_a_timeout(monkeypatch):
    """When the CPU timer's FileTimeout lands while a builtin returns, CPython raises
    SystemError from it; the file is then a timeout, not an analysis error."""
    from audit import pipeline
    from audit.walk import SourceFile

    def returning_builtin(source, job):
        try:
            raise limits_module.FileTimeout
        except limits_module.FileTimeout as exc:
            raise SystemError("<built-in function process_time> returned a result with an exception set") from exc

    import audit.limits as limits_module
    monkeypatch.setattr(pipeline, "_analyse", returning_builtin)
    out, _ = pipeline.analyse_source(SourceFile("x.rs", "rust", b"fn f() {}\n", "0" * 40), Job(1 << 20))
    assert (out.reason, out.detail.startswith("not done in")) == ("timeout", True)


def test_the_deadline_reads_the_cpu_clock_only_once_its_wall_time_has_gone_by(monkeypatch):
    """The parse's progress callback runs tens of thousands of times per file: before the
    allowance has passed in wall time the CPU time cannot have, and no system call is made."""
    import time

    from audit import limits

    wall, cpu, reads = [100.0], [5.0], []
    monkeypatch.setattr(time, "perf_counter", lambda: wall[0])
    monkeypatch.setattr(time, "process_time", lambda: reads.append(1) or cpu[0])
    with limits.deadline(2.0):
        reads.clear()
        wall[0], cpu[0] = 101.9, 7.5  # CPU ahead of wall cannot happen on one thread
        assert not limits.expired() and reads == []
        wall[0], cpu[0] = 102.5, 6.5  # the wall allowance is gone, the CPU one is not
        assert not limits.expired() and reads == [1]
        cpu[0] = 7.5
        assert limits.expired()
    assert not limits.expired()  # no deadline outside the block
