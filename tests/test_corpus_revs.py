"""Versioned corpora: a git history or several releases indexed blob by blob, once.

The repository is written by the test (git CLI) from fixtures/versions: an
expression evaluator first written by recursive descent, then rewritten as a
shunting-yard machine. The audited file is a Rust port of the first version,
so only an old revision can match it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile

import pytest

from audit.cli import main
from audit.errors import CorpusIndexError, UsageError
from audit.provenance import api
from audit.provenance.build import build_index
from audit.provenance.index import MANIFEST, CorpusIndex
from audit.provenance.versions import runs, sample

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIX = os.path.join(REPO_ROOT, "fixtures", "versions")

# (subject, {path in the repository: fixture file or None to delete})
HISTORY = [
    ("Add lexer and driver", {"lexer.c": "lexer_v1.c", "main.c": "main.c"}),
    ("Add recursive-descent evaluator", {"eval.c": "eval_v1.c"}),
    ("Document the build", {"README": None}),
    ("Rewrite the evaluator as a shunting-yard machine", {"eval.c": "eval_v2.c"}),
    ("Lexer: accept tabs", {"lexer.c": "lexer_v2.c"}),
]


def _git(repo, *args, env=None) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True, env=env).stdout.strip()


def _make_history(root) -> list[str]:
    """The history above, one commit a day from 2020-01-01; returns commit ids, oldest first."""
    root.mkdir()
    _git(root, "init", "-q", "-b", "main")
    shas = []
    for day, (subject, changes) in enumerate(HISTORY, start=1):
        for path, fixture in changes.items():
            if fixture is None:
                (root / path).write_text("Build with: cc *.c -o calc\n")
            else:
                shutil.copy(os.path.join(FIX, fixture), root / path)
        _git(root, "add", "-A")
        date = f"2020-01-{day:02d}T12:00:00+00:00"
        env = {**os.environ, "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date,
               "GIT_AUTHOR_NAME": "A", "GIT_AUTHOR_EMAIL": "a@example.org",
               "GIT_COMMITTER_NAME": "A", "GIT_COMMITTER_EMAIL": "a@example.org"}
        _git(root, "commit", "-q", "-m", subject, env=env)
        shas.append(_git(root, "rev-parse", "HEAD"))
    return shas


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    base = tmp_path_factory.mktemp("versions")
    shas = _make_history(base / "calc")
    return base / "calc", shas


@pytest.fixture(scope="module")
def versioned(history, tmp_path_factory):
    repo, _ = history
    return build_index("calc-hist", [str(repo)], str(tmp_path_factory.mktemp("idx")), workers=1, revs="HEAD")


@pytest.fixture(scope="module")
def port(tmp_path_factory):
    target = tmp_path_factory.mktemp("port")
    shutil.copy(os.path.join(FIX, "eval_port.rs"), target / "eval.rs")
    return api.scan_tree(str(target), jobs=1)


def _distinct_code_blobs(repo, shas) -> set[str]:
    """Independently of audit: the distinct .c blobs of the commits, from git ls-tree."""
    blobs = set()
    for sha in shas:
        for line in _git(repo, "ls-tree", "-r", sha).splitlines():
            meta, path = line.split("\t")
            if path.endswith(".c"):
                blobs.add(meta.split()[2])
    return blobs


def test_every_distinct_blob_once(history, versioned):
    repo, shas = history
    blobs = _distinct_code_blobs(repo, shas)
    assert len(blobs) == 5  # lexer twice, eval twice, main once: 14 files over 5 commits
    assert sorted(f.sha1 for f in versioned.files) == sorted(blobs)
    v = versioned.manifest["versions"]
    assert (v["count"], v["blobs"], v["occurrences"], v["head"]) == (5, 5, 14, shas[-1])
    assert versioned.manifest["counts"]["documents"] == 3  # lexer.c, main.c, eval.c


def test_labels_and_revisions_name_the_versions_that_hold_a_blob(history, versioned):
    _, shas = history
    labels = {f.label for f in versioned.files}
    assert f"eval.c@{shas[1][:12]}" in labels and f"eval.c@{shas[3][:12]}" in labels
    old = versioned.revisions(f"eval.c@{shas[1][:12]}")
    assert old["first"] == {"commit": shas[1], "date": "2020-01-02T12:00:00+00:00",
                            "subject": "Add recursive-descent evaluator"}
    assert old["last"]["commit"] == shas[2] and (old["count"], old["of"]) == (2, 5)
    main_c = versioned.revisions(f"main.c@{shas[0][:12]}")
    assert (main_c["first"]["commit"], main_c["last"]["commit"], main_c["count"]) == (shas[0], shas[4], 5)


def _eval_report(index, port):
    result, payloads = port
    report = api.match_result(result, payloads, [index])
    return report.files[0], report


def test_only_an_old_revision_matches_and_the_match_names_it(history, versioned, port, tmp_path):
    repo, shas = history
    head = build_index("calc-head", [str(repo)], str(tmp_path), workers=1)  # the work tree: HEAD
    at_head, _ = _eval_report(head, port)
    assert at_head.verdict == "clean"
    assert not any(m.corpus_path == "eval.c" for m in at_head.matches)
    found, report = _eval_report(versioned, port)
    assert found.verdict == "derived"
    top = found.matches[0]
    assert top.corpus_path == f"eval.c@{shas[1][:12]}"
    assert top.revisions["first"]["subject"] == "Add recursive-descent evaluator"
    assert top.revisions["last"]["commit"] == shas[2]
    as_json = report.to_dict()["files"][0]["matches"][0]
    assert as_json["revisions"]["first"]["date"] == "2020-01-02T12:00:00+00:00"
    assert as_json["revisions"]["count"] == 2
    best = report.to_dict()["corpora"][0]["best_versions"]  # where the port most likely started
    assert (best["first"]["commit"], best["last"]["commit"], best["count"]) == (shas[1], shas[2], 2)
    assert best["share"] == 1.0


def test_structural_candidates_are_one_version_per_path(versioned, port):
    """Both versions of eval.c share band keys with the port; the candidates for alignment
    take the better one and leave the other slot to another file."""
    from audit.provenance.structure import StructureConfig, candidate_files

    _, payloads = port
    sk = payloads["eval.rs"]["sketch"]
    cands = candidate_files(sk, [versioned], StructureConfig(candidates=8))
    docs = [int(versioned.a["file_doc"][f]) for _, f, _ in cands]
    labels = [versioned.files[f].label for _, f, _ in cands]
    assert len(docs) == len(set(docs)), labels
    assert sum(label.startswith("eval.c@") for label in labels) == 1 and len(labels) >= 2, labels


def test_a_function_kept_through_versions_counts_once_in_document_frequency(versioned):
    # main.c is the same blob in all five commits and lexer.c differs by one line between
    # its two blobs: every fingerprint of lexer.c occurs in one document, not two
    ix = versioned
    lexer = [i for i, f in enumerate(ix.files) if f.label.startswith("lexer.c@")]
    assert len(lexer) == 2
    row = lexer[0]
    off = ix.a["fp_struct_offset"]
    hashes = ix.a["fp_struct_hash"][int(off[row]):int(off[row + 1])]
    assert ix.df("struct", hashes).max() == 1
    assert ix.n_docs == 3 and ix.n_files == 5


@pytest.mark.parametrize("every, kept, has_old_eval", [(1, [0, 1, 2, 3, 4], True),
                                                       (2, [0, 2, 4], True),
                                                       (4, [0, 4], False)])
def test_every_samples_revisions_keeping_first_and_last(history, tmp_path, every, kept, has_old_eval):
    repo, shas = history
    ix = build_index("calc", [str(repo)], str(tmp_path), workers=1, revs="HEAD", every=every)
    assert [v.id for v in ix.versions] == [shas[k] for k in kept]
    assert ix.manifest["versions"]["every"] == every
    assert (f"eval.c@{shas[1][:12]}" in {f.label for f in ix.files}
            or f"eval.c@{shas[2][:12]}" in {f.label for f in ix.files}) == has_old_eval
    assert len(ix.files) == len(_distinct_code_blobs(repo, [shas[k] for k in kept]))


def test_sample_keeps_first_and_last():
    assert sample(5, 3) == [0, 3, 4]
    assert sample(1, 10) == [0]
    assert sample(0, 2) == []
    with pytest.raises(UsageError):
        sample(5, 0)


def test_document_frequency_is_the_peak_over_versions():
    import numpy as np

    from audit.provenance.versions import peak_document_frequency

    # file 0 holds {1, 2} in versions 0-1; file 1 holds {1} in 2-3 (its path's next blob);
    # file 2 holds {1, 3} in 1-2; file 3 holds {4} in 0 and again in 3 (a revert)
    dfh = np.array([1, 2, 1, 1, 3, 4], dtype=np.uint64)
    ndf = np.array([2, 1, 2, 1])
    offset = np.array([0, 1, 2, 3, 5], dtype=np.uint64)
    runs = np.array([[0, 1], [2, 3], [1, 2], [0, 0], [3, 3]], dtype=np.uint32)
    hashes, counts = peak_document_frequency(dfh, ndf, offset, runs)
    assert dict(zip(hashes.tolist(), counts.tolist())) == {1: 2, 2: 1, 3: 1, 4: 1}


def test_runs_of_versions():
    assert runs([0, 1, 2, 5, 7, 8]) == [(0, 2), (5, 5), (7, 8)]


def test_range_and_bare_repository(history, tmp_path):
    repo, shas = history
    bare = tmp_path / "calc.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo), str(bare)], check=True)
    ix = build_index("calc", [str(bare)], str(tmp_path / "idx"), workers=1, revs=f"{shas[2]}..HEAD")
    assert [v.id for v in ix.versions] == shas[3:]
    assert sorted(f.sha1 for f in ix.files) == sorted(_distinct_code_blobs(repo, shas[3:]))
    assert not os.path.exists(bare / "eval.c")  # read from the object store, never checked out


def test_one_revision_alone(history, tmp_path):
    repo, shas = history
    ix = build_index("calc", [str(repo)], str(tmp_path), workers=1, revs=f"{shas[1][:10]}^!")
    assert [v.id for v in ix.versions] == [shas[1]]
    assert sorted(f.sha1 for f in ix.files) == sorted(_distinct_code_blobs(repo, [shas[1]]))


def test_a_huge_blob_in_the_history_is_skipped_from_its_header(history, tmp_path, forbid_inflating):
    """A generated table over the corpus size limit is counted as skipped without being
    inflated, in the history as it is in a folder or an archive."""
    repo = tmp_path / "calc"
    shutil.copytree(history[0], repo)
    (repo / "table.c").write_bytes(b"int t[] = {\n" + b"  1, 2, 3, 4, 5, 6, 7, 8,\n" * 120_000 + b"};\n")
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.name=A", "-c", "user.email=a@example.org", "commit", "-q", "-m", "Add a table")
    huge = _git(repo, "rev-parse", "HEAD:table.c")
    forbid_inflating(repo, huge)
    ix = build_index("calc", [str(repo)], str(tmp_path / "idx"), workers=1, revs="HEAD")
    assert ix.manifest["build"]["skipped"]["large"] == 1
    assert huge not in {f.sha1 for f in ix.files}


def test_releases_share_identical_files(tmp_path):
    old, new = tmp_path / "calc-1.0", tmp_path / "calc-2.0"
    for root, evaluator in ((old, "eval_v1.c"), (new, "eval_v2.c")):
        (root / "src").mkdir(parents=True)
        shutil.copy(os.path.join(FIX, "main.c"), root / "src" / "main.c")
        shutil.copy(os.path.join(FIX, evaluator), root / "src" / "eval.c")
    archive = tmp_path / "calc-2.0.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        tf.add(new, arcname="calc-2.0")
    ix = build_index("calc", [str(old), str(archive)], str(tmp_path / "idx"), workers=1, releases=True)
    assert sorted(f.label for f in ix.files) == ["src/eval.c@calc-1.0", "src/eval.c@calc-2.0",
                                                  "src/main.c@calc-1.0"]
    both = ix.revisions("src/main.c@calc-1.0")
    assert (both["first"]["version"], both["last"]["version"], both["count"]) == ("calc-1.0", "calc-2.0", 2)
    assert ix.revisions("src/eval.c@calc-2.0")["count"] == 1
    assert ix.n_docs == 2


def test_versions_options_are_checked(history, tmp_path):
    repo, _ = history
    with pytest.raises(UsageError, match="--every"):
        build_index("calc", [str(repo)], str(tmp_path), workers=1, every=3)
    with pytest.raises(UsageError, match="one git repository"):
        build_index("calc", [FIX], str(tmp_path), workers=1, revs="HEAD")
    assert main(["corpus", "build", "calc", str(repo), "--revs", "HEAD", "--every", "0",
                 "--index-dir", str(tmp_path)]) == 2
    with pytest.raises(UsageError, match="names no revision"):
        build_index("calc", [str(repo)], str(tmp_path), workers=1, revs="HEAD..HEAD")


def test_same_content_at_two_paths_counts_each_revision_once(tmp_path):
    repo = tmp_path / "copies"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    for name in ("a.c", "b.c"):
        shutil.copy(os.path.join(FIX, "main.c"), repo / name)
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.name=A", "-c", "user.email=a@example.org", "commit", "-q", "-m", "Two copies")
    ix = build_index("copies", [str(repo)], str(tmp_path / "idx"), workers=1, revs="HEAD")
    [row] = ix.files
    assert row.label.startswith("a.c@") and ix.revisions(row.label)["count"] == 1
    assert ix.manifest["versions"]["occurrences"] == 2


def test_cli_build_and_info(history, tmp_path, capsys):
    repo, shas = history
    idx = str(tmp_path)
    assert main(["corpus", "build", "calc", str(repo), "--revs", "HEAD", "--every", "2",
                 "--index-dir", idx]) == 0
    assert main(["corpus", "info", "calc", "--index-dir", idx]) == 0
    out = capsys.readouterr().out
    assert f"versions: 3 revisions of 5 in --revs HEAD, every 2 (repository HEAD {shas[-1][:12]})" in out
    assert main(["corpus", "info", "calc", "--index-dir", idx, "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["versions"]["revspec"] == "HEAD" and info["versions"]["count"] == 3


def test_old_format_index_is_refused_with_a_rebuild_hint(history, versioned, tmp_path):
    copy = tmp_path / "calc-hist"
    shutil.copytree(versioned.path, copy)
    with open(copy / MANIFEST, encoding="utf-8") as fh:
        manifest = json.load(fh)
    manifest["format"] = 1
    with open(copy / MANIFEST, "w", encoding="utf-8") as fh:
        json.dump(manifest, fh)
    with pytest.raises(CorpusIndexError) as err:
        CorpusIndex.load(str(copy))
    assert "--revs HEAD" in err.value.hint and "audit corpus build calc-hist" in err.value.hint


class _Interrupt(Exception):
    pass


def test_interrupted_versioned_build_resumes(history, versioned, tmp_path, monkeypatch):
    from audit.provenance import build as build_mod

    repo, _ = history
    real, calls = build_mod.sketch_member, []

    def flaky(member):
        calls.append(member.label)
        if len(calls) == 3:
            raise _Interrupt()
        return real(member)

    monkeypatch.setattr(build_mod, "sketch_member", flaky)
    with pytest.raises(_Interrupt):
        build_index("calc", [str(repo)], str(tmp_path), workers=1, revs="HEAD", shard_files=1)
    calls.clear()
    monkeypatch.setattr(build_mod, "sketch_member", lambda m: (calls.append(m.label), real(m))[1])
    ix = build_index("calc", [str(repo)], str(tmp_path), workers=1, revs="HEAD", shard_files=1)
    assert len(calls) == 3  # two blobs were done before the interruption
    assert sorted(f.label for f in ix.files) == sorted(f.label for f in versioned.files)
    assert [ix.revisions(f.label) for f in ix.files] == [versioned.revisions(f.label) for f in ix.files]
