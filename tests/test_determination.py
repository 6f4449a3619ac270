"""The provenance determination: thresholds, calibration, blind spots, scope and licences.

Corpus: fixtures/provenance/corpus (a small C calculator), with an SPDX identifier and
a copyright line added to parser.c in a temporary copy. Audited: copies of the Python
and Rust ports, a C file (compared for provenance, not measured) and a binary file
(neither).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tarfile

import pytest

from audit.cli import main
from audit.provenance import determination as dt
from audit.provenance.licence import check_expression, file_notes, nearest_copyright, version_from_name
from audit.provenance.scope import audited_identity
from audit.provenance.swhid import dir_swhid, tree_id
from audit.provenance.verdict import Thresholds

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIX = os.path.join(REPO, "fixtures", "provenance")
HEADER = b"// SPDX-License-Identifier: BSD-2-Clause\n/* Copyright (C) 2021 The Calc Authors */\n"


def make_corpus(root, license: str = "MIT") -> str:
    """A corpus index of the calculator sources, one file declaring its own licence."""
    src = root / "calc-src"
    shutil.copytree(os.path.join(FIX, "corpus"), src)
    parser = src / "parser.c"
    parser.write_bytes(HEADER + parser.read_bytes())
    idx = root / "idx"
    args = ["corpus", "build", "calc", str(src), "--index-dir", str(idx), "-j", "1"]
    assert main(args + (["--license", license] if license else [])) == 0
    return str(idx)


def make_tree(root) -> str:
    tree = root / "audited"
    shutil.copytree(os.path.join(FIX, "python_port"), tree / "py")
    shutil.copytree(os.path.join(FIX, "rust_port"), tree / "rs")
    (tree / "legacy.c").write_text("int legacy(void) { return 1; }\n")
    (tree / "rs" / "table.rs").write_bytes(b"static T: [u8; 2] = [0, 1];\n\0\0")
    return str(tree)


def scan(tree: str, idx: str, out, *extra: str) -> tuple[int, dict]:
    code = main(["scan", tree, "--corpus", "calc", "--index-dir", idx, "--json", str(out), "-q",
                 "-j", "1", *extra])
    with open(out, encoding="utf-8") as fh:
        return code, json.load(fh)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="module")
def det(corpus, tmp_path_factory):
    root = tmp_path_factory.mktemp("tree")
    _, doc = scan(make_tree(root), corpus, root / "r.json")
    return doc["provenance"]["determination"]


def test_record_has_every_part(det):
    assert {"verdict", "score", "statement", "thresholds", "calibration", "blind_spots", "scope",
            "licenses", "review", "matches"} <= set(det)
    assert det["verdict"] in ("review", "derived")
    assert det["statement"].startswith(det["verdict"] + ":")


def test_thresholds_place_each_flagged_file(det):
    th = det["thresholds"]
    assert th["project"]["review"] == 0.02 and th["project"]["derived"] == 0.15
    assert th["flagged_files"], "the ports are flagged"
    for f in th["flagged_files"]:
        above = f["score"] >= th["file"]["derived"]
        assert ("above the derived threshold" in f["position"]) == above


def test_calibration_is_computed_from_the_rows(det):
    cal = det["calibration"]
    rows = dt.load_calibration()["pairs"]
    assert cal["pairs"] == len(rows) == 8
    assert cal["precision"] == 1.0 and cal["recall"] == 1.0 and cal["false_positives"] == 0
    assert cal["false_positive_rate_upper_95"] == pytest.approx(1 - 0.05 ** (1 / 4), abs=1e-3)
    assert cal["date"] and "devset.py" in cal["command"]


def test_calibration_counts_a_miss_and_a_false_alarm():
    data = {"pairs": [
        {"expected": "derived", "original": "a", "verdict": "review", "top_corpus": "a", "score": 0.1},
        {"expected": "derived", "original": "b", "verdict": "review", "top_corpus": "a", "score": 0.1},
        {"expected": "independent", "original": "a", "verdict": "review", "top_corpus": "a", "score": 0.03},
        {"expected": "independent", "original": "a", "verdict": "clean", "top_corpus": "a", "score": 0}]}
    cal = dt.calibration(data, Thresholds())
    assert (cal["precision"], cal["recall"], cal["false_positive_rate"]) == (0.5, 0.5, 0.5)


def test_upper_bound_matches_the_closed_form():
    assert dt.upper_bound(0, 10) == pytest.approx(1 - 0.05 ** 0.1, abs=1e-6)
    assert 0.3 < dt.upper_bound(1, 10) < 0.5
    assert dt.upper_bound(3, 3) == 1.0


def test_scope_lists_what_was_not_checked(det):
    sc = det["scope"]
    assert sc["checked"]["files_compared"] == 3 and sc["checked"]["files_measured"] == 2
    assert sc["checked"]["compared_not_measured"] == ["legacy.c"]  # the tree's own C, matched too
    assert [(r["path"], r["reason"]) for r in sc["not_checked"]] == [("rs/table.rs", "binary")]
    assert sc["not_checked_by_reason"] == {"binary": 1}


def test_files_that_could_not_be_analysed_are_named_in_the_statement(corpus, tmp_path):
    """A verdict over the few files that could be read is not one over the project: the
    sentence a reviewer quotes says how many were not analysed, and why."""
    _, doc = scan(make_tree(tmp_path), corpus, tmp_path / "r.json", "--file-timeout", "0.000001")
    det = doc["provenance"]["determination"]
    failed = sum(n for why, n in det["scope"]["not_checked_by_reason"].items() if why == "timeout")
    assert failed >= 2
    assert f"Incomplete: {failed} source file(s) could not be analysed ({failed} timeout)" in det["statement"]


def test_a_complete_scan_states_no_gap(det):
    assert "Incomplete" not in det["statement"]


def test_scope_names_the_corpus_with_checksums_licence_and_digest(det):
    (c,) = det["scope"]["corpora"]
    assert c["name"] == "calc" and c["license"] == "MIT" and c["identity_recorded"]
    (s,) = c["sources"]
    assert s["kind"] == "directory" and s["swhid"].startswith("swh:1:dir:")
    assert c["digest"].startswith("sha256:") and c["params"]["num_perm"] > 0


def test_scope_cites_the_digest_corpus_info_reports(det, corpus, capsys):
    """One content digest for a corpus everywhere: a reviewer checks the determination's
    against `audit corpus info --json` of a rebuild."""
    (c,) = det["scope"]["corpora"]
    assert main(["corpus", "info", "calc", "--index-dir", corpus, "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert c["digest"] == info["digest"]
    assert c["files_digest"].startswith("sha256:") and c["files_digest"] != c["digest"]


def test_audited_folder_gets_a_directory_swhid(det, tmp_path):
    a = det["scope"]["audited"]
    assert a["kind"] == "directory" and a["swhid"].startswith("swh:1:dir:")


def test_licences_come_from_the_file_else_the_corpus(det):
    lic = {r["corpus_path"]: r for r in det["licenses"]}
    assert lic["parser.c"]["license"] == "BSD-2-Clause" and lic["parser.c"]["license_source"] == "file"
    assert lic["parser.c"]["copyright"] == ["Copyright (C) 2021 The Calc Authors"]
    others = [r for p, r in lic.items() if p != "parser.c"]
    assert others and all(r["license"] == "MIT" and r["license_source"] == "corpus" for r in others)


def test_without_a_corpus_licence_it_is_noassertion(tmp_path):
    idx = make_corpus(tmp_path, license="")
    _, doc = scan(make_tree(tmp_path), idx, tmp_path / "r.json")
    lic = {r["corpus_path"]: r["license"] for r in doc["provenance"]["determination"]["licenses"]}
    assert lic.pop("parser.c") == "BSD-2-Clause"
    assert set(lic.values()) == {"NOASSERTION"}
    spots = " ".join(doc["provenance"]["determination"]["blind_spots"])
    assert "Only the corpora listed" in spots


def test_blind_spots_name_excluded_corpus_paths(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(os.path.join(FIX, "corpus"), src / "calc")
    idx = tmp_path / "idx"
    assert main(["corpus", "build", "calc", str(src / "calc"), "--index-dir", str(idx), "-j", "1",
                 "--exclude", "*/driver.c", "--license", "MIT"]) == 0
    _, doc = scan(make_tree(tmp_path), str(idx), tmp_path / "r.json")
    det = doc["provenance"]["determination"]
    assert det["scope"]["corpora"][0]["excluded"] == ["*/driver.c"]
    assert any("*/driver.c" in s for s in det["blind_spots"])


def test_archive_source_records_sha256_and_version(tmp_path):
    archive = tmp_path / "calc-1.4.2.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        tf.add(os.path.join(FIX, "corpus"), arcname="calc-1.4.2")
    idx = tmp_path / "idx"
    assert main(["corpus", "build", "calc", str(archive), "--index-dir", str(idx), "-j", "1",
                 "--license", "GPL-3.0-or-later WITH GCC-exception-3.1"]) == 0
    with open(idx / "calc" / "manifest.json", encoding="utf-8") as fh:
        m = json.load(fh)
    (s,) = m["source_ids"]
    assert s["sha256"] == hashlib.sha256(archive.read_bytes()).hexdigest()
    assert s["version"] == "1.4.2" and s["kind"] == "archive"
    assert m["license"] == "GPL-3.0-or-later WITH GCC-exception-3.1"


@pytest.mark.parametrize("expr", ["MIT AND", "OR MIT", "MIT)", "(MIT", "MIT; rm -rf", "MIT OR OR X"])
def test_bad_licence_expression_is_a_usage_error(tmp_path, expr, capsys):
    code = main(["corpus", "build", "calc", os.path.join(FIX, "corpus"), "--index-dir",
                 str(tmp_path), "--license", expr])
    assert code == 2
    assert "not an SPDX licence expression" in capsys.readouterr().err


@pytest.mark.parametrize("expr", ["MIT", "(MIT OR Apache-2.0) AND BSD-3-Clause", "GPL-2.0+",
                                  "LicenseRef-Calc-1"])
def test_good_licence_expressions_pass(expr):
    assert check_expression(expr) == expr


def test_file_notes_read_identifier_and_copyright_lines():
    notes = file_notes(b"/* SPDX-License-Identifier: MIT */\n\n# Copyright 2019 A\nx = 1\n"
                       b"/* (c) 2020 B */\n")
    assert notes == {"spdx": "MIT", "copyright": [[3, "Copyright 2019 A"], [5, "(c) 2020 B"]]}
    assert file_notes(b"int x;\n") is None
    assert nearest_copyright(notes, (5, 9), 1) == ["(c) 2020 B"]


def test_version_from_archive_names():
    assert version_from_name("gcc-12.2.0-dfsg.tar.xz") == "12.2.0-dfsg"
    assert version_from_name("binutils-2.40.tar.xz") == "2.40"
    assert version_from_name("src.zip") == ""


def _git(cwd, *args):
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@x", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@x", GIT_AUTHOR_DATE="2026-01-01T00:00:00Z",
               GIT_COMMITTER_DATE="2026-01-01T00:00:00Z")
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture
def checkout(tmp_path):
    if shutil.which("git") is None:
        pytest.skip("no git")
    repo = tmp_path / "repo"
    shutil.copytree(os.path.join(FIX, "python_port"), repo / "src")
    (repo / "run.sh").write_text("#!/bin/sh\necho hi\n")
    (repo / "run.sh").chmod(0o755)
    (repo / "src" / "empty").mkdir()
    (repo / ".gitignore").write_text("build/\n")
    (repo / "build").mkdir()
    (repo / "build" / "out.txt").write_text("ignored\n")
    os.symlink("src/parser.py", repo / "link.py")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "one")
    return repo


def test_folder_swhid_equals_the_git_tree_id(checkout):
    assert dir_swhid(str(checkout))["swhid"] == "swh:1:dir:" + _git(checkout, "rev-parse", "HEAD^{tree}")
    assert dir_swhid(str(checkout / "src"))["swhid"] == "swh:1:dir:" + _git(
        checkout, "rev-parse", "HEAD:src")


def test_tree_id_of_nothing_is_gits_empty_tree():
    assert tree_id([]) == "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


def test_checkout_names_its_commit_and_says_when_it_was_edited(checkout):
    head = _git(checkout, "rev-parse", "HEAD")
    a = audited_identity([str(checkout)], {})
    assert (a["kind"], a["commit"], a["worktree"]) == ("git checkout", head, "as committed")
    assert a["swhid"] == a["commit_tree_swhid"]
    (checkout / "src" / "parser.py").write_text("changed = 1\n")
    b = audited_identity([str(checkout)], {})
    assert b["worktree"] == "differs from the commit" and b["swhid"] != b["commit_tree_swhid"]


def test_repo_at_rev_names_commit_and_tree(checkout):
    head = _git(checkout, "rev-parse", "HEAD")
    a = audited_identity([f"{checkout}@HEAD"], {})
    assert a["kind"] == "git revision" and a["commit"] == head
    assert a["swhid"] == "swh:1:dir:" + _git(checkout, "rev-parse", "HEAD^{tree}")


def test_files_in_no_audited_language_are_listed_as_not_checked(corpus, tmp_path):
    """A script or a document shipped beside the code is named in the scope, not passed over;
    what --exclude leaves out is not."""
    tree = make_tree(tmp_path)
    os.makedirs(os.path.join(tree, "scripts"))
    with open(os.path.join(tree, "scripts", "build.sh"), "w") as fh:
        fh.write("#!/bin/sh\ncc -O2 *.c\n")
    with open(os.path.join(tree, "NOTES.md"), "w") as fh:
        fh.write("notes\n")
    _, doc = scan(tree, corpus, tmp_path / "r.json", "--exclude", "NOTES.md")
    rows = {r["path"]: r["reason"] for r in doc["provenance"]["determination"]["scope"]["not_checked"]}
    assert rows["scripts/build.sh"] == "not-source"
    assert "NOTES.md" not in rows
