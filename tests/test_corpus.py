"""Corpus indexes: archives read in place, atomic and resumed builds, refusal of bad indexes."""

from __future__ import annotations

import io
import json
import os
import tarfile
import zipfile

import numpy as np
import pytest

from audit.cli import main
from audit.errors import CorpusIndexError, InputError, UsageError
from audit.provenance import build as build_mod
from audit.provenance.build import build_index
from audit.provenance.index import CorpusIndex
from audit.provenance.sketch import PARAMS
from audit.provenance.sources import iter_members, resolve, safe_label

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(REPO, "fixtures", "provenance", "corpus")
NAMES = sorted(os.listdir(CORPUS))


def _files() -> dict[str, bytes]:
    out = {}
    for n in NAMES:
        with open(os.path.join(CORPUS, n), "rb") as fh:
            out[n] = fh.read()
    return out


def _tar(path, mode, members):
    with tarfile.open(path, mode) as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))


@pytest.mark.parametrize("suffix, mode", [(".tar.gz", "w:gz"), (".tar.xz", "w:xz"),
                                          (".tar.bz2", "w:bz2"), (".zip", None)])
def test_archives_are_read_in_place(tmp_path, suffix, mode):
    members = {f"calc-1.0/src/{n}": d for n, d in _files().items()}
    members["calc-1.0/README"] = b"not code"
    path = str(tmp_path / f"calc{suffix}")
    if mode:
        _tar(path, mode, members)
    else:
        with zipfile.ZipFile(path, "w") as zf:
            for name, data in members.items():
                zf.writestr(name, data)
    before = set(os.listdir(tmp_path))
    got = {m.label: m.data for m in iter_members(path)}
    assert got == {k: v for k, v in members.items() if k.endswith(".c")}
    assert set(os.listdir(tmp_path)) == before  # nothing extracted


def test_corpus_info_names_each_source_as_a_determination_cites_it(tmp_path, capsys):
    import hashlib

    archive = tmp_path / "calc-1.0.tar.gz"
    _tar(str(archive), "w:gz", {f"calc-1.0/src/{n}": d for n, d in _files().items()})
    idx = str(tmp_path / "idx")
    assert main(["corpus", "build", "calc", str(archive), "--index-dir", idx, "-j", "1",
                 "--license", "MIT"]) == 0
    capsys.readouterr()
    assert main(["corpus", "info", "calc", "--index-dir", idx, "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    (sid,) = info["source_ids"]
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    assert sid["sha256"] == digest and sid["version"] == "1.0" and info["license"] == "MIT"
    assert info["digest"].startswith("sha256:") and info["shards"] == 1
    assert info["build"]["skipped"]["language"] == 0
    assert main(["corpus", "info", "calc", "--index-dir", idx]) == 0
    assert f"calc-1.0.tar.gz: version 1.0; sha256 {digest}" in capsys.readouterr().out


@pytest.mark.parametrize("name, label", [
    ("../../etc/passwd.c", "etc/passwd.c"),
    ("/abs/path/x.c", "abs/path/x.c"),
    ("a/./b/../../../c.c", "c.c"),
    ("evil\nname.c", "evil?name.c"),
    ("dir\\win.c", "dir/win.c"),
])
def test_member_paths_are_only_labels(name, label):
    assert safe_label(name) == label


def test_hostile_tar_member_is_labelled_not_written(tmp_path):
    path = str(tmp_path / "evil.tar.gz")
    _tar(path, "w:gz", {"../../outside.c": b"int f(void) { return 1; }\n"})
    ix = build_index("evil", [path], str(tmp_path / "idx"), workers=1)
    assert [f.label for f in ix.files] == ["outside.c"]
    assert not os.path.exists(tmp_path.parent / "outside.c")


def test_exclude_patterns(tmp_path):
    labels = [m.label for m in iter_members(CORPUS, exclude=("*crc*",))]
    assert "crc.c" not in labels and "lexer.c" in labels


def test_unknown_source_is_a_clear_error():
    with pytest.raises(InputError, match="does not exist"):
        resolve("/no/such/corpus")


def test_index_records_its_parameters_and_blobs(tmp_path):
    ix = build_index("calc", [CORPUS], str(tmp_path), workers=1)
    m = ix.manifest
    assert m["params"]["num_perm"] == PARAMS.num_perm and m["params"]["scheme"] == "affine32"
    assert m["params"]["datasketch"] == "2.0.0" and "normaliser" in m["params"]
    assert m["counts"]["files"] == len(NAMES)
    assert all(len(f.sha1) == 40 for f in ix.files)
    assert not any(f.endswith(".pkl") for f in os.listdir(ix.path))
    assert np.load(os.path.join(ix.path, "lsh_struct_key.npy")).dtype == np.uint64


class _Interrupt(Exception):
    pass


def test_interrupted_build_keeps_old_index_and_resumes(tmp_path, monkeypatch):
    idx = str(tmp_path)
    old = build_index("calc", [CORPUS], idx, workers=1)
    old_created = old.manifest["created"]
    real, calls = build_mod.sketch_member, []

    def flaky(member):
        calls.append(member.label)
        if len(calls) == 3:
            raise _Interrupt()
        return real(member)

    monkeypatch.setattr(build_mod, "sketch_member", flaky)
    with pytest.raises(_Interrupt):
        build_index("calc", [CORPUS, os.path.join(REPO, "fixtures", "provenance", "rust_port")],
                    idx, workers=1, shard_files=1)
    # the interrupted rebuild left the previous index usable and untouched
    assert CorpusIndex.load(os.path.join(idx, "calc")).manifest["created"] == old_created
    assert os.path.isdir(os.path.join(idx, "calc.partial"))
    calls.clear()
    monkeypatch.setattr(build_mod, "sketch_member", lambda m: (calls.append(m.label), real(m))[1])
    new = build_index("calc", [CORPUS, os.path.join(REPO, "fixtures", "provenance", "rust_port")],
                      idx, workers=1, shard_files=1)
    assert len(calls) == len(NAMES) + 1 - 2  # two files were done before the interruption
    assert new.n_files == len(NAMES) + 1
    assert not os.path.exists(os.path.join(idx, "calc.partial"))


def test_the_merge_holds_no_shard_open(tmp_path):
    """Each shard's arrays are read as the merge needs them, with the file closed again: a
    build of thousands of shards must not run out of file descriptors."""
    import resource

    src = tmp_path / "many"
    src.mkdir()
    for i in range(120):
        (src / f"f{i}.c").write_text(f"int f{i}(int x) {{ if (x > {i}) return x * {i}; return -x; }}\n")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    open_now = len(os.listdir("/proc/self/fd"))
    # fewer than the 120 shards, enough for the index's memory-mapped arrays (a descriptor each)
    resource.setrlimit(resource.RLIMIT_NOFILE, (open_now + 80, hard))
    try:
        ix = build_index("many", [str(src)], str(tmp_path / "idx"), workers=1, shard_files=1)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert ix.n_files == 120 and ix.manifest["shards"] == 120


def test_build_with_other_sources_restarts_cleanly(tmp_path, monkeypatch):
    partial = tmp_path / "calc.partial"
    partial.mkdir()
    (partial / "state.json").write_text(json.dumps({"name": "other"}))
    (partial / "shard-00000.labels.json").write_text(json.dumps(NAMES))
    ix = build_index("calc", [CORPUS], str(tmp_path), workers=1)
    assert ix.n_files == len(NAMES)


@pytest.fixture
def built(tmp_path):
    return build_index("calc", [CORPUS], str(tmp_path), workers=1).path


def _corrupt_array(path):
    with open(os.path.join(path, "fp_struct_hash.npy"), "r+b") as fh:
        fh.seek(-8, os.SEEK_END)
        fh.write(b"\xff" * 8)


def _truncate_array(path):
    f = os.path.join(path, "lsh_text_key.npy")
    os.truncate(f, os.path.getsize(f) // 2)


def _drop_manifest(path):
    os.remove(os.path.join(path, "manifest.json"))


def _other_params(path):
    m = json.load(open(os.path.join(path, "manifest.json")))
    m["params"]["num_perm"] = 128
    json.dump(m, open(os.path.join(path, "manifest.json"), "w"))


def _old_normaliser(path):
    m = json.load(open(os.path.join(path, "manifest.json")))
    m["params"]["normaliser"] = 0
    json.dump(m, open(os.path.join(path, "manifest.json"), "w"))


@pytest.mark.parametrize("damage, message", [
    (_corrupt_array, "corrupt"), (_truncate_array, "corrupt"), (_drop_manifest, "no readable manifest"),
    (_other_params, "other parameters"), (_old_normaliser, "normaliser"),
])
def test_bad_indexes_are_refused_with_a_rebuild_hint(built, damage, message):
    damage(built)
    with pytest.raises(CorpusIndexError, match=message) as exc:
        CorpusIndex.load(built)
    assert "audit corpus build" in exc.value.hint


def test_scan_refuses_a_bad_index_before_reading_files(built, capsys):
    _other_params(built)
    code = main(["scan", os.path.join(REPO, "fixtures", "provenance", "rust_port"), "--corpus", built, "-q"])
    assert code == 4
    assert "rebuild it: audit corpus build calc" in capsys.readouterr().err


def test_corpus_command(tmp_path, capsys):
    idx = str(tmp_path)
    assert main(["corpus", "build", "calc", CORPUS, "--index-dir", idx]) == 0
    assert main(["corpus", "list", "--index-dir", idx]) == 0
    assert "calc" in capsys.readouterr().out
    assert main(["corpus", "info", "calc", "--index-dir", idx, "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["counts"]["files"] == len(NAMES)
    assert main(["corpus", "remove", "calc", "--index-dir", idx]) == 0
    assert main(["corpus", "info", "calc", "--index-dir", idx]) == 4


def test_known_debian_sources_resolve_without_a_path():
    if not os.path.isdir("/usr/src/binutils"):
        pytest.skip("binutils-source is not installed")
    path, exclude = resolve("binutils")
    assert path.startswith("/usr/src/binutils/binutils-") and ".tar." in path
    gcc_path, gcc_exclude = resolve("gcc-12") if os.path.isdir("/usr/src/gcc-12") else ("", ("*/gcc/testsuite/*",))
    assert "*/gcc/testsuite/*" in gcc_exclude


@pytest.mark.parametrize("name", ["/abs/dir", "../x", "a/b", "..", ".hidden", "x.partial", "", "a\\b"])
def test_corpus_names_that_are_paths_are_refused(tmp_path, name):
    with pytest.raises(UsageError):
        build_index(name, [CORPUS], str(tmp_path / "idx"), workers=1)


def _tree(root) -> dict[str, bytes]:
    out = {}
    for d, _, files in os.walk(root):
        for f in files:
            with open(os.path.join(d, f), "rb") as fh:
                out[os.path.relpath(os.path.join(d, f), root)] = fh.read()
    return out


def test_corpus_build_and_remove_never_touch_folders_outside_the_index_dir(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "keep.c").write_text("int keep(void) { return 1; }\n")
    archive = tmp_path / "keep.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("k.c", "int k(void) { return 2; }\n")
    outside = tmp_path / "x"
    outside.mkdir()
    (outside / "manifest.json").write_text("{}")  # looks like an index, but sits outside
    idx = tmp_path / "idx"
    idx.mkdir()
    before = {p: _tree(p) for p in (src, outside)}
    assert main(["corpus", "build", str(src), "--index-dir", str(idx)]) == 2
    assert main(["corpus", "build", str(archive), "--index-dir", str(idx)]) == 2
    assert main(["corpus", "build", "../src", str(src), "--index-dir", str(idx)]) == 2
    assert main(["corpus", "remove", "../x", "--index-dir", str(idx)]) == 2
    assert main(["corpus", "remove", str(outside), "--index-dir", str(idx)]) == 2
    assert {p: _tree(p) for p in (src, outside)} == before
    assert archive.is_file()


def test_a_folder_that_is_not_an_index_is_never_replaced(tmp_path):
    idx = tmp_path / "idx"
    (idx / "mine").mkdir(parents=True)
    (idx / "mine" / "notes.txt").write_text("precious")
    with pytest.raises(UsageError):
        build_index("mine", [CORPUS], str(idx), workers=1)
    assert (idx / "mine" / "notes.txt").read_text() == "precious"
    (idx / "other.partial").mkdir()
    (idx / "other.partial" / "data").write_text("precious")
    with pytest.raises(UsageError):
        build_index("other", [CORPUS], str(idx), workers=1)
    assert (idx / "other.partial" / "data").read_text() == "precious"
