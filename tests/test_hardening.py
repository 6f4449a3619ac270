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
    os.symlink("/dev/stdin", tmp_path / "stdin.py")
    os.symlink("/dev/zero", tmp_path / "zero.rs")
    found = discover(ScanConfig(paths=(str(tmp_path),), follow_external_symlinks=True))
    assert [c.path for c in found.candidates] == ["ok.rs"]
    skipped = skipped_by_path(found)
    assert skipped["pipe.rs"] == ("not-a-file", "a FIFO, not a regular file")
    assert skipped["stdin.py"][0] == "not-a-file"
    assert skipped["zero.rs"] == ("not-a-file", "a character device, not a regular file")


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

def test_backtracking_gitignore_pattern_is_matched_in_linear_time(tmp_path, hang_guard):
    write(tmp_path, ".gitignore", "*a*a*a*a*a*a*a*a*b\n")
    long_name = "a" * 60
    write(tmp_path, f"{long_name}/{long_name}.py", "x = 1\n")  # folder and file: no match
    write(tmp_path, "aaaaaaaab/gone.rs", "fn gone() {}\n")  # the folder matches: ignored
    write(tmp_path, "xaxaxaxaxaxaxaxaxb/gone.py", "y = 2\n")
    found = discover(ScanConfig(paths=(str(tmp_path),)))
    assert [c.path for c in found.candidates] == [f"{long_name}/{long_name}.py"]


def test_backtracking_exclude_glob_is_matched_in_linear_time(tmp_path, hang_guard):
    long_name = "a" * 60
    write(tmp_path, f"{long_name}.py", "x = 1\n")
    write(tmp_path, "aaaaaaaab.py", "x = 1\n")
    found = discover(ScanConfig(paths=(str(tmp_path),), exclude=("*a*a*a*a*a*a*a*a*b.py",)))
    assert [c.path for c in found.candidates] == [f"{long_name}.py"]


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
    assert sorted(os.listdir(ix)) == ["calc"]
