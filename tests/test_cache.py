"""The per-blob result cache: lossless round trip, shared use, interruption, key versioning."""

from __future__ import annotations

import dataclasses
import os
import multiprocessing
import sqlite3

import pytest

from audit.cache import (BlobCache, Entry, analyse_bytes, code_digest, decode_result, encode_result,
                         job_namespace, make_job, namespace)
from audit.pipeline import Job
from audit.results import Finding
from audit.walk import SkippedFile

RUST = b"""fn pick(x: i32) -> i32 {
    if x > 1 { 2 } else if x < -1 { 3 } else { 4 }
}

struct S;
impl S {
    fn run(&self) { let f = |y: i32| y + 1; f(2); }
}
"""
PYTHON = b"""class K:
    def m(self, a):
        return a if a else None

def top(x):  # comment
    for i in range(x):
        yield i
"""


def _entry(fr, summary=None) -> Entry:
    return Entry(fr.sha1, fr.path, summary or {"n": len(fr.units)}, encode_result(fr))


@pytest.mark.parametrize("path, language, data", [
    ("src/lib.rs", "rust", RUST),
    ("pkg/mod.py", "python", PYTHON),
    ("src/broken.rs", "rust", b"fn x( {\n"),  # parse errors and warnings survive too
])
def test_round_trip_is_lossless(path, language, data):
    fr = analyse_bytes(path, language, data, Job(10_000))
    finding = Finding("r1", "warning", "complexity", path, 1, 2, "msg", 3, 4, "u", None)
    fr = dataclasses.replace(fr, findings=(finding, dataclasses.replace(finding, suppressed="why")))
    assert decode_result(encode_result(fr)) == fr
    assert len(encode_result(fr)) < len(repr(fr)) / 3


@pytest.mark.parametrize("data, reason", [
    (b"fn a() {}\n\0\0binary", "binary"),
    (b"fn a() { let s = \"\xff\"; }\n", "not-utf8"),
    (b"x" * 50, "too-large"),
])
def test_bad_blobs_are_skipped_like_files(data, reason):
    out = analyse_bytes("src/x.rs", "rust", data, Job(40))
    assert isinstance(out, SkippedFile) and out.reason == reason


def test_put_flush_and_read_back(tmp_path):
    fr = analyse_bytes("src/lib.rs", "rust", RUST, Job(10_000))
    with BlobCache(str(tmp_path), "ns1") as cache:
        cache.put(_entry(fr, {"units": 4}))
        cache.put(Entry("b" * 40, "src/bin.rs", {"skipped": "binary", "detail": "NUL"}, b""))
    with BlobCache(str(tmp_path), "ns1") as cache:
        keys = [(fr.sha1, fr.path), ("b" * 40, "src/bin.rs"), ("c" * 40, "src/none.rs")]
        assert cache.known(keys) == set(keys[:2])
        assert cache.summaries(keys)[keys[0]] == {"units": 4}
        got = cache.results(keys)
        assert got[keys[0]] == fr
        assert got[keys[1]] == SkippedFile("src/bin.rs", "binary", "NUL")
        assert keys[2] not in got


def test_namespaces_keep_versions_apart(tmp_path):
    fr = analyse_bytes("src/lib.rs", "rust", RUST, Job(10_000))
    with BlobCache(str(tmp_path), namespace("radon")) as cache:
        cache.put(_entry(fr))
    with BlobCache(str(tmp_path), namespace("tree-sitter")) as other:
        assert other.known([(fr.sha1, fr.path)]) == set()
    assert namespace("radon", ("rules",)) != namespace("radon")
    assert namespace("radon", (), {"a": 1}) != namespace("radon", (), {"a": 2})
    assert job_namespace(make_job(100, rules=False)) != job_namespace(make_job(100, "tree-sitter", rules=False))
    assert len(code_digest()) == 16


def test_same_key_twice_keeps_the_first(tmp_path):
    fr = analyse_bytes("src/lib.rs", "rust", RUST, Job(10_000))
    with BlobCache(str(tmp_path), "ns") as a, BlobCache(str(tmp_path), "ns") as b:
        a.put(_entry(fr, {"who": "a"}))
        a.flush()
        b.put(_entry(fr, {"who": "b"}))
        b.flush()  # INSERT OR IGNORE: no error, no overwrite
        assert b.summaries([(fr.sha1, fr.path)]) == {(fr.sha1, fr.path): {"who": "a"}}


def test_interrupted_run_keeps_flushed_batches(tmp_path):
    cache = BlobCache(str(tmp_path), "ns")
    for i in range(5):
        cache.put(Entry(f"{i:040x}", "a.rs", {"i": i}, b"x"))
    cache.flush()
    cache.put(Entry("f" * 40, "a.rs", {"i": 99}, b"x"))  # queued, never flushed
    cache.db.close()  # the process dies here, without close()
    with BlobCache(str(tmp_path), "ns") as again:
        keys = [(f"{i:040x}", "a.rs") for i in range(5)] + [("f" * 40, "a.rs")]
        assert again.known(keys) == set(keys[:5])


def _writer(args):
    directory, start = args
    with BlobCache(directory, "ns") as cache:
        for i in range(start, start + 300):  # overlapping ranges: both write keys 200..299
            cache.put(Entry(f"{i:040x}", "a.rs", {"i": i}, b"x"))
    return start


def test_two_processes_share_one_cache(tmp_path):
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(2) as pool:
        assert sorted(pool.map(_writer, [(str(tmp_path), 0), (str(tmp_path), 200)])) == [0, 200]
    db = sqlite3.connect(tmp_path / "blobs.sqlite")
    assert db.execute("SELECT count(*) FROM blobs").fetchone()[0] == 500
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_unwritable_cache_is_a_clear_error(tmp_path):
    from audit.errors import InputError

    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(InputError, match="cannot open the result cache"):
        BlobCache(str(blocker / "sub"), "ns")


def test_memory_cache_needs_no_folder():
    with BlobCache(None, "ns") as cache:
        cache.put(Entry("a" * 40, "a.rs", {}, b"x"))
        cache.flush()
        assert cache.known([("a" * 40, "a.rs")]) == {("a" * 40, "a.rs")}
        assert cache.size_bytes() == 0


def test_clone_sketches_round_trip():
    import numpy as np

    from audit.cache import PAYLOAD_CODECS, analyse_with_payload

    body = "".join(f"    let v{i} = x * {i} + {i * 3};\n" for i in range(12))
    data = f"fn long(x: i64) -> i64 {{\n{body}    x\n}}\n".encode()
    fr, payload = analyse_with_payload("src/l.rs", "rust", data, make_job(10_000, rules=False, clones=True))
    prints = payload["clones"]
    assert prints, "the fixture must be big enough to sketch"
    encode, decode = PAYLOAD_CODECS["clones"]
    back = decode(encode(prints))
    for a, b in zip(prints, back, strict=True):
        for f in dataclasses.fields(a):
            x, y = getattr(a, f.name), getattr(b, f.name)
            assert np.array_equal(x, y) if isinstance(x, np.ndarray) else x == y, f.name


def test_per_file_limits_are_part_of_the_cache_namespace():
    """A result cached under one --max-nesting is not reused under another, and a change to
    the limits' code changes the namespace as a change to the pipeline's does."""
    import dataclasses

    from audit import limits
    from audit.cache import _PIPELINE_CODE, job_namespace
    from audit.pipeline import Job

    base = Job(1 << 20)
    tighter = dataclasses.replace(base, limits=dataclasses.replace(limits.Limits(), max_nesting=10))
    assert job_namespace(base) != job_namespace(tighter)
    assert job_namespace(base) == job_namespace(Job(1 << 20))
    assert {"limits.py", "workers.py"} <= set(_PIPELINE_CODE)


def test_the_clone_pass_namespace_covers_the_modules_it_sketches_with(tmp_path, monkeypatch):
    """The clone pass's fingerprints are made in clone_sketch.py and clone_tokens.py, not in
    clones.py: a change to either must leave the cached sketches behind."""
    import shutil

    import audit
    from audit import cache

    package = os.path.dirname(audit.__file__)
    copy = tmp_path / "audit"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(cache, "__file__", str(copy / "cache.py"))
    before = cache.code_digest(("clones",))
    for name in cache._PASS_CODE["clones"]:
        path = copy / name
        text = path.read_text()
        path.write_text(text + "\n# changed\n")
        assert cache.code_digest(("clones",)) != before, name
        path.write_text(text)
    assert cache.code_digest(("clones",)) == before
