"""Hostile trees, names, archives and options: no hang, no leak, a named exit code for each."""

from __future__ import annotations

import io
import json
import os
import signal
import struct
import tarfile
import zipfile

import pytest

from audit.config import ScanConfig
from audit.errors import EXIT_INDEX, EXIT_INPUT, EXIT_OK, EXIT_USAGE
from audit.walk import Candidate, discover, read_source

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(REPO, "fixtures", "provenance", "corpus")
SECRET = "TOP-SECRET-MARKER-7f3a"


@pytest.fixture
def hang_guard():
    """Turns a hang (the failure these tests look for) into an error after 60 s, not a stuck suite."""
    def fire(signum, frame):
        raise TimeoutError("no answer within 60 s: the code under test hangs")

    old = signal.signal(signal.SIGALRM, fire)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def write(root, rel, text):
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def skipped_by_path(discovery):
    return {s.path: (s.reason, s.detail) for s in discovery.skipped}


# -- item 3: only regular files are opened -----------------------------------------------

def test_fifos_and_devices_are_skipped_never_opened(tmp_path, hang_guard):
    write(tmp_path, "ok.rs", "fn ok() {}\n")
    os.mkfifo(tmp_path / "pipe.rs")
    os.symlink(tmp_path / "pipe.rs", tmp_path / "stdin.py")  # as /dev/stdin is when piped to
    os.symlink("/dev/zero", tmp_path / "zero.rs")
    os.symlink("/dev/null", tmp_path / "null.py")
    found = discover(ScanConfig(paths=(str(tmp_path),), follow_external_symlinks=True))
    assert [c.path for c in found.candidates] == ["ok.rs"]
    skipped = skipped_by_path(found)
    assert skipped["pipe.rs"] == skipped["stdin.py"] == ("not-a-file", "a FIFO, not a regular file")
    assert skipped["zero.rs"] == skipped["null.py"] == ("not-a-file", "a character device, not a regular file")


def test_reader_refuses_a_fifo_that_replaced_a_file(tmp_path, hang_guard):
    fifo = tmp_path / "late.rs"
    os.mkfifo(fifo)  # swapped in after discovery: the reader checks again
    got = read_source(Candidate(str(fifo), "late.rs", "rust"), 1 << 20)
    assert (got.reason, got.detail) == ("not-a-file", "a FIFO, not a regular file")


def test_a_fifo_gitignore_does_not_block(tmp_path, hang_guard):
    write(tmp_path, "a.py", "x = 1\n")
    os.mkfifo(tmp_path / ".gitignore")
    found = discover(ScanConfig(paths=(str(tmp_path),)))
    assert [c.path for c in found.candidates] == ["a.py"]
    assert skipped_by_path(found)[".gitignore"][0] == "bad-gitignore"


def test_scan_of_a_tree_with_a_fifo_finishes(tmp_path, run_cli, hang_guard):
    write(tmp_path, "t/ok.py", "def f():\n    return 1\n")
    os.mkfifo(tmp_path / "t" / "x.rs")
    out = tmp_path / "r.json"
    code, _, _ = run_cli("scan", str(tmp_path / "t"), "--json", str(out), "-q", "-j", "1")
    assert code == EXIT_OK
    doc = json.loads(out.read_text())
    assert [(s["path"], s["reason"]) for s in doc["skipped"]] == [("x.rs", "not-a-file")]


# -- item 4: .gitignore matching in linear time --------------------------------------------

@pytest.fixture
def backtracking_default(monkeypatch):
    """pathspec's default backend is RE2 only where google-re2 happens to be installed, else
    Python's backtracking re: the walker must ask for RE2 itself, so the default is set to re."""
    from pathspec._backends import agg

    monkeypatch.setattr(agg, "_BEST_BACKEND", "simple")


def test_backtracking_gitignore_pattern_is_matched_in_linear_time(tmp_path, hang_guard, backtracking_default):
    write(tmp_path, ".gitignore", "*a*a*a*a*a*a*a*a*b\n")
    long_name = "a" * 60
    write(tmp_path, f"{long_name}/{long_name}.py", "x = 1\n")  # folder and file: no match
    write(tmp_path, "aaaaaaaab/gone.rs", "fn gone() {}\n")  # the folder matches: ignored
    write(tmp_path, "xaxaxaxaxaxaxaxaxb/gone.py", "y = 2\n")
    found = discover(ScanConfig(paths=(str(tmp_path),)))
    assert [c.path for c in found.candidates] == [f"{long_name}/{long_name}.py"]


def test_backtracking_exclude_glob_is_matched_in_linear_time(tmp_path, hang_guard, backtracking_default):
    long_name = "a" * 60
    write(tmp_path, f"{long_name}.py", "x = 1\n")
    write(tmp_path, "aaaaaaaab.py", "x = 1\n")
    found = discover(ScanConfig(paths=(str(tmp_path),), exclude=("*a*a*a*a*a*a*a*a*b.py",)))
    assert [c.path for c in found.candidates] == [f"{long_name}.py"]


def test_history_path_filter_matches_in_linear_time_and_takes_any_name(hang_guard, backtracking_default):
    from audit.gitsource import path_filter

    keep = path_filter(ScanConfig(paths=(".",), exclude=("*a*a*a*a*a*a*a*a*b.py",)))
    assert keep(os.fsdecode(b"src/bad\xff.py")) and keep("a" * 60 + ".py")
    assert not keep("aaaaaaaab.py")


# -- item 5: symlinks out of the scanned roots ---------------------------------------------

@pytest.fixture
def linked_tree(tmp_path):
    outside = tmp_path / "outside"
    write(outside, "secret.py", f"PASSWORD = '{SECRET}'\n")
    write(outside, "pkg/mod.py", f"def leak():\n    return '{SECRET}'\n")
    tree = tmp_path / "tree"
    write(tree, "src/real.py", "def real():\n    return 1\n")
    os.symlink(outside / "secret.py", tree / "src" / "link.py")
    os.symlink(outside / "pkg", tree / "linked_pkg")
    os.symlink(tree / "src" / "real.py", tree / "alias.py")  # inside: followed
    os.symlink(tree / "src", tree / "src_alias")
    return tree


def test_symlinks_leaving_the_roots_are_skipped(linked_tree):
    found = discover(ScanConfig(paths=(str(linked_tree),)))
    assert sorted(c.path for c in found.candidates) == ["alias.py"]  # the same file as src/real.py
    skipped = skipped_by_path(found)
    assert skipped["linked_pkg"][0] == skipped["src/link.py"][0] == "symlink-outside"
    assert str(linked_tree.parent / "outside") not in json.dumps(skipped)


def test_follow_external_symlinks_allows_them(linked_tree):
    found = discover(ScanConfig(paths=(str(linked_tree),), follow_external_symlinks=True))
    assert sorted(c.path for c in found.candidates) == ["alias.py", "linked_pkg/mod.py", "src/link.py"]


def test_link_targets_never_reach_a_report(linked_tree, tmp_path, run_cli):
    out, html = tmp_path / "r.json", tmp_path / "report"
    code, stdout, _ = run_cli("scan", str(linked_tree), "--json", str(out), "--html", str(html),
                              "-j", "1", "--no-color")
    assert code == EXIT_OK
    texts = [out.read_text(), stdout] + [p.read_text(errors="replace") for p in html.iterdir()]
    assert not any(SECRET in t or str(tmp_path / "outside") in t for t in texts)
    assert {"src/link.py", "linked_pkg"} <= {s["path"] for s in json.loads(texts[0])["skipped"]}


# -- item 7 / 10: hostile file names --------------------------------------------------------

def test_hostile_file_names_are_escaped_in_every_output(tmp_path, run_cli):
    tree = tmp_path / "t"
    tree.mkdir()
    (tree / os.fsdecode(b"bad\xff.py")).write_text("def f():\n    return 1\n")
    (tree / "e\x1b[31mvil\u202e.py").write_text("def g():\n    return 2\n")
    out, html = tmp_path / "r.json", tmp_path / "report"
    code, stdout, stderr = run_cli("scan", str(tree), "--json", str(out), "--html", str(html),
                                   "--sarif", str(tmp_path / "r.sarif"), "-j", "1", "--hotspots", "5")
    assert code == EXIT_OK, stderr
    paths = sorted(f["path"] for f in json.loads(out.read_text())["files"])
    assert paths == ["bad\\xff.py", "e\\x1b[31mvil\\u202e.py"]
    assert "\x1b" not in stdout and "\u202e" not in stdout and "vil\\u202e.py" in stdout
    assert (html / "index.html").is_file()


# -- item 7: archives that cannot be read to the end -------------------------------------------

def _sources() -> dict[str, bytes]:
    out = {}
    for n in sorted(os.listdir(CORPUS)):
        with open(os.path.join(CORPUS, n), "rb") as fh:
            out[f"calc/{n}"] = fh.read()
    return out


def _tar(path, mode):
    with tarfile.open(path, mode) as tf:
        for name, data in _sources().items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))


def _zip(path):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for name, data in _sources().items():
            zf.writestr(name, data)


def _damage(path, how):
    data = bytearray(path.read_bytes())
    if how == "truncated":
        data = data[: len(data) // 2]
    elif how == "bad-crc":  # one byte of the first member's stored data flipped
        info = zipfile.ZipFile(path).infolist()[0]
        data[info.header_offset + 30 + len(info.filename) + 5] ^= 0x20
    elif how == "lying-size":  # the central directory claims 5 bytes for the first member
        struct.pack_into("<I", data, data.find(b"PK\x01\x02") + 24, 5)
    bad = path.with_name("bad-" + path.name)
    bad.write_bytes(bytes(data))
    return bad


@pytest.mark.parametrize("suffix, how", [(".tar.gz", "truncated"), (".tar.xz", "truncated"),
                                         (".zip", "bad-crc"), (".zip", "lying-size")])
def test_damaged_archives_are_a_clear_error_and_do_not_block_the_next_build(tmp_path, run_cli, suffix, how):
    good = tmp_path / f"calc{suffix}"
    _zip(good) if suffix == ".zip" else _tar(good, "w:" + suffix.rsplit(".", 1)[1])
    bad = _damage(good, how)
    ix = tmp_path / "ix"
    code, _, err = run_cli("corpus", "build", "calc", str(bad), "--index-dir", str(ix), "-j", "1")
    assert code == EXIT_INPUT, err
    assert f"cannot read archive {bad}" in err and "internal error" not in err
    os.replace(good, bad)  # the archive fetched again, at the same path: the build completes
    code, out, err = run_cli("corpus", "build", "calc", str(bad), "--index-dir", str(ix), "-j", "1")
    assert code == EXIT_OK, err
    assert (ix / "calc" / "manifest.json").is_file() and not (ix / "calc.partial").exists()


# -- item 7: output paths are checked before the scan ------------------------------------------

@pytest.fixture
def small_tree(tmp_path):
    write(tmp_path, "t/lib.rs", "pub fn f(x: i32) -> i32 { if x > 0 { x } else { -x } }\n")
    return tmp_path / "t"


@pytest.mark.parametrize("option", ["--json", "--sarif", "--baseline-write", "--html"])
@pytest.mark.parametrize("where, message", [
    ("/proc/self/audit-report", "inside /proc or /sys"),
    ("/sys/kernel/audit-report", "inside /proc or /sys"),
    ("a-folder", "folder"),
    ("a-file/report.out", "is a file, so nothing can be written under it"),
])
def test_unusable_output_paths_fail_before_the_scan(small_tree, tmp_path, run_cli, monkeypatch,
                                                    option, where, message):
    (tmp_path / "a-folder").mkdir()
    (tmp_path / "a-file").write_text("x")
    if option == "--html" and where == "a-folder":
        where, message = "a-file", "is a file, and --html needs a folder"
    target = where if where.startswith("/") else str(tmp_path / where)
    import audit.pipeline

    def no_scan(*a, **k):
        raise AssertionError("the scan started before the output path was checked")

    monkeypatch.setattr(audit.pipeline, "scan", no_scan)
    monkeypatch.setattr("audit.commands.scan.scan", no_scan)
    code, _, err = run_cli("scan", str(small_tree), option, target, "-q")
    assert code == EXIT_USAGE and message in err and "internal error" not in err


def test_two_outputs_on_one_file_are_refused(small_tree, tmp_path, run_cli):
    out = str(tmp_path / "same.json")
    code, _, err = run_cli("scan", str(small_tree), "--json", out, "--sarif", out, "-q")
    assert code == EXIT_USAGE and "--json and --sarif name the same file" in err
    assert not os.path.exists(out)


def test_reports_are_written_with_the_umask_and_to_pipes(small_tree, tmp_path, run_cli):
    old = os.umask(0o022)
    try:
        code, _, _ = run_cli("scan", str(small_tree), "--json", str(tmp_path / "r.json"),
                             "--sarif", str(tmp_path / "r.sarif"),
                             "--baseline-write", str(tmp_path / "b.json"), "-q", "-j", "1")
    finally:
        os.umask(old)
    assert code == EXIT_OK
    for name in ("r.json", "r.sarif", "b.json"):
        assert oct(os.stat(tmp_path / name).st_mode & 0o777) == oct(0o644), name
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".audit-")]  # no temp file left


def test_a_report_to_a_pipe_is_streamed_not_renamed_over_it(small_tree, tmp_path, run_cli, hang_guard):
    """As `--json /dev/stdout` in CI: renaming a temporary file over it would replace the
    device (as root, /dev/null itself) with a regular file."""
    import stat
    import threading

    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    got = []
    reader = threading.Thread(target=lambda: got.append(pipe.read_bytes()), daemon=True)
    reader.start()
    code, _, _ = run_cli("scan", str(small_tree), "--json", str(pipe), "-q", "-j", "1")
    assert code == EXIT_OK and stat.S_ISFIFO(os.stat(pipe).st_mode)
    reader.join()
    assert json.loads(got[0])["totals"]["files"] == 1


# -- item 7: manifests of the wrong shape -----------------------------------------------------

@pytest.fixture
def built_index(tmp_path):
    from audit.provenance.build import build_index

    ix = tmp_path / "ix"
    build_index("calc", [CORPUS], str(ix), workers=1)
    return ix


@pytest.mark.parametrize("damage", [
    lambda m: [m],
    lambda m: {**m, "checksums": ["files.tsv"]},
    lambda m: {**m, "counts": {"files": "many"}},
    lambda m: {**m, "params": 7},
    lambda m: {**m, "sources": 5},
    lambda m: {**m, "name": None},
    lambda m: {**m, "checksums": {**m["checksums"], "../../outside.npy": "00000000"}},
], ids=["list", "checksums-list", "counts-text", "params-number", "sources-number", "no-name",
        "checksum-path"])
def test_manifest_of_the_wrong_shape_is_refused(built_index, run_cli, damage):
    path = built_index / "calc" / "manifest.json"
    path.write_text(json.dumps(damage(json.loads(path.read_text()))))
    for argv in (("corpus", "info", "calc"), ("scan", CORPUS, "--corpus", "calc", "-q")):
        code, _, err = run_cli(*argv, "--index-dir", str(built_index))
        assert code == EXIT_INDEX, (argv, err)
        assert "damaged manifest" in err and "rebuild it" in err
    code, out, _ = run_cli("corpus", "list", "--index-dir", str(built_index))
    assert code == EXIT_OK and "unusable" in out


# -- item 8: one build per index name, index files written atomically ----------------------------

def test_a_second_build_of_the_same_name_is_refused_while_one_runs(tmp_path, run_cli):
    import fcntl

    ix = tmp_path / "ix"
    ix.mkdir()
    with open(ix / "calc.lock", "w") as held:  # another build holds the name
        fcntl.flock(held, fcntl.LOCK_EX)
        held.write("4242\n")
        held.flush()
        code, _, err = run_cli("corpus", "build", "calc", CORPUS, "--index-dir", str(ix), "-j", "1")
        assert code == EXIT_USAGE and "being built or removed by another process (process 4242)" in err
        assert not os.path.exists(ix / "calc.partial") and not os.path.exists(ix / "calc")
    code, _, err = run_cli("corpus", "build", "calc", CORPUS, "--index-dir", str(ix), "-j", "1")
    assert code == EXIT_OK, err  # the lock went with its holder


def test_a_torn_shard_label_list_does_not_block_later_builds(tmp_path, run_cli, monkeypatch):
    from audit.provenance import build as build_mod

    ix = tmp_path / "ix"
    real_merge = build_mod._merge

    def killed(*a, **k):
        raise KeyboardInterrupt  # the build stops after its shards, before the merge

    monkeypatch.setattr(build_mod, "_merge", killed)
    code, _, _ = run_cli("corpus", "build", "calc", CORPUS, "--index-dir", str(ix), "-j", "1")
    assert code == 130
    labels = sorted((ix / "calc.partial").glob("shard-*.labels.json"))
    assert labels
    labels[0].write_text('["calc/lex')  # cut off mid-write, as by kill -9 before it was atomic
    monkeypatch.setattr(build_mod, "_merge", real_merge)
    code, out, err = run_cli("corpus", "build", "calc", CORPUS, "--index-dir", str(ix), "-j", "1")
    assert code == EXIT_OK, err
    assert f"indexed {len(os.listdir(CORPUS))} files" in out


def test_shard_label_lists_are_renamed_into_place(tmp_path, monkeypatch):
    from audit.provenance import build as build_mod

    opened = []
    real_open = open

    def spy(path, *a, **k):
        opened.append(str(path))
        return real_open(path, *a, **k)

    monkeypatch.setattr("builtins.open", spy)
    build_mod.build_index("calc", [CORPUS], str(tmp_path / "ix"), workers=1, shard_files=2)
    written = [p for p in opened if "shard-" in p]
    assert written and not [p for p in written if p.endswith(".labels.json")]


# -- item 9: silent wrong results --------------------------------------------------------------

@pytest.mark.parametrize("rules_dir", ["missing", "empty"])
def test_rules_dir_that_holds_no_rule_is_an_error(small_tree, tmp_path, run_cli, rules_dir):
    (tmp_path / "empty" / "rust").mkdir(parents=True)
    code, _, err = run_cli("scan", str(small_tree), "--rules-dir", str(tmp_path / rules_dir),
                           "--fail-on", "info", "-q")
    assert code == EXIT_USAGE and "--rules-dir" in err


def test_damaged_rule_set_cache_is_rebuilt(tmp_path, monkeypatch):
    import shutil

    from audit.rules import registry

    monkeypatch.setenv("AUDIT_CACHE_DIR", str(tmp_path / "cache"))
    rules_dir = tmp_path / "rules"
    shutil.copytree(os.path.join(REPO, "rules"), rules_dir)
    fresh = registry.load(str(rules_dir))
    summaries = {(r.language, r.id): r.summary for r in fresh.rules}
    (cached,) = (tmp_path / "cache" / "rules-loaded").iterdir()
    data = bytearray(cached.read_bytes())
    word = fresh.rules[0].summary.encode()[:12]
    at = data.find(word)
    assert at > 0
    data[at] ^= 0x01  # one bit of a rule's text flipped on disk
    cached.write_bytes(bytes(data))
    again = registry.load(str(rules_dir) + os.sep)  # the same folder, past the per-process cache
    assert {(r.language, r.id): r.summary for r in again.rules} == summaries
    assert cached.read_bytes() != bytes(data)  # rewritten whole


def test_broken_pyproject_with_tool_audit_is_reported(small_tree, run_cli):
    (small_tree / "pyproject.toml").write_text('[tool.audit]\nignore = ["unwrap-used"\n')
    code, _, err = run_cli("scan", str(small_tree), "-q")
    assert code == EXIT_USAGE and "pyproject.toml: cannot read" in err


def test_broken_pyproject_without_tool_audit_is_not_ours(small_tree, run_cli):
    (small_tree / "pyproject.toml").write_text('[project\nname = "x"\n')
    code, _, err = run_cli("scan", str(small_tree), "-q", "-j", "1")
    assert code == EXIT_OK, err


@pytest.mark.parametrize("value", ["nan", "inf", "1e400"])
def test_thresholds_must_be_finite(small_tree, run_cli, value):
    (small_tree / "audit.toml").write_text(f"[thresholds]\nlong-function = {value}\n")
    code, _, err = run_cli("scan", str(small_tree), "-q")
    assert code == EXIT_USAGE and "finite, non-negative number" in err


@pytest.mark.parametrize("argv", [("--select", ""), ("--select", " , "), ("--ignore", "")])
def test_empty_rule_selection_is_refused(small_tree, run_cli, argv):
    code, _, err = run_cli("scan", str(small_tree), *argv, "-q")
    assert code == EXIT_USAGE and "names no rule" in err


def test_config_nested_too_deep_is_a_config_error(small_tree, run_cli):
    depth = 100_000
    (small_tree / "audit.toml").write_text("select = " + "[" * depth + "]" * depth + "\n")
    code, _, err = run_cli("scan", str(small_tree), "-q")
    assert code == EXIT_USAGE and "nested too deeply" in err


# -- item 10: an interrupted HTML report has no index.html ----------------------------------------

@pytest.mark.parametrize("earlier", [False, True])
def test_interrupted_html_report_leaves_no_index(small_tree, tmp_path, run_cli, monkeypatch, earlier):
    from audit.render import html

    report = tmp_path / "report"
    if earlier:  # a complete report from an earlier run is in the folder
        assert run_cli("scan", str(small_tree), "--html", str(report), "-q", "-j", "1")[0] == EXIT_OK
        assert (report / "index.html").exists()
    real = html._write_bytes
    calls = []

    def interrupted(path, data):
        calls.append(path)
        if len(calls) == 6:
            raise KeyboardInterrupt  # Ctrl-C while the pages are written
        real(path, data)

    monkeypatch.setattr(html, "_write_bytes", interrupted)
    code, _, _ = run_cli("scan", str(small_tree), "--html", str(report), "-q", "-j", "1")
    assert code == 130
    assert report.is_dir() and not (report / "index.html").exists()


def test_remove_waits_for_no_build_of_the_same_name(built_index, run_cli):
    import fcntl

    with open(built_index / "calc.lock", "w") as held:  # a rebuild of calc is running
        fcntl.flock(held, fcntl.LOCK_EX)
        code, _, err = run_cli("corpus", "remove", "calc", "--index-dir", str(built_index))
        assert code == EXIT_USAGE and "being built or removed" in err
        assert (built_index / "calc" / "manifest.json").is_file()
    assert run_cli("corpus", "remove", "calc", "--index-dir", str(built_index))[0] == EXIT_OK
