"""`audit compare`: file and unit pairing (added, removed, changed, moved), hotspots, findings,
git revisions and the CLI."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess

import pytest

from audit.cache import analyse_bytes
from audit.cli import main
from audit.compare import (
    Snapshot,
    compare,
    line_hashes,
    local_name,
    percentile,
    tracked_delta,
)
from audit.pipeline import Job
from audit.results import Finding

JOB = Job(1_000_000)

ALPHA = """fn alpha(x: i32) -> i32 {
    if x > 0 { return x * 2; }
    let y = x + 1;
    let z = y * 3;
    z - 7
}
"""
ALPHA_EDITED = ALPHA.replace("    let y = x + 1;\n", "    if x < -5 { return 0; }\n    let y = x + 1;\n")
BETA = """fn beta(v: &Vec<i32>) -> i32 {
    let mut total = 0;
    for item in v.iter() { total += item; }
    let doubled = total * 2;
    doubled + 1
}
"""
GAMMA = """fn gamma(a: u32) -> u32 {
    let first = a + 10;
    let second = first * first;
    let third = second - first;
    third
}
"""
DEEP = """fn deep(a: i32) -> i32 {
    match a { 1 => 1, 2 => 2, 3 => 3, 4 => 4, 5 => 5, 6 => 6, 7 => 7, 8 => 8, _ => 0 }
}
"""


def snap(label: str, files: dict[str, str]) -> Snapshot:
    results = tuple(analyse_bytes(p, "rust", t.encode(), JOB) for p, t in sorted(files.items()))
    return Snapshot(label, results, (), {p: line_hashes(t.encode()) for p, t in files.items()})


def statuses(result, kind="units") -> dict[str, str]:
    if kind == "files":
        return {f.path: f.status for f in result.files}
    return {u.qualname.rsplit("::", 1)[-1]: u.status for u in result.units}


# name, A files, B files, expected file statuses, expected unit statuses (by short name)
CASES = [
    ("identical", {"src/a.rs": ALPHA}, {"src/a.rs": ALPHA},
     {"src/a.rs": "unchanged"}, {"alpha": "unchanged"}),
    ("edited function", {"src/a.rs": ALPHA + BETA}, {"src/a.rs": ALPHA_EDITED + BETA},
     {"src/a.rs": "changed"}, {"alpha": "changed", "beta": "unchanged"}),
    ("added and removed", {"src/a.rs": ALPHA, "src/g.rs": GAMMA}, {"src/a.rs": ALPHA + BETA},
     {"src/a.rs": "changed", "src/g.rs": "removed"}, {"alpha": "unchanged", "beta": "added",
                                                       "gamma": "removed"}),
    ("file renamed as is", {"src/a.rs": ALPHA}, {"src/b/c.rs": ALPHA},
     {"src/b/c.rs": "moved"}, {"alpha": "unchanged"}),
    ("file renamed and edited", {"src/a.rs": ALPHA + BETA + GAMMA},
     {"src/z.rs": ALPHA_EDITED + BETA + GAMMA},
     {"src/z.rs": "moved"}, {"alpha": "changed", "beta": "unchanged", "gamma": "unchanged"}),
    ("function moved to another file", {"src/a.rs": ALPHA + GAMMA}, {"src/a.rs": ALPHA, "src/n.rs": GAMMA},
     {"src/a.rs": "changed", "src/n.rs": "added"}, {"alpha": "unchanged", "gamma": "moved"}),
    ("function renamed", {"src/a.rs": ALPHA + GAMMA},
     {"src/a.rs": ALPHA + GAMMA.replace("fn gamma", "fn gamma_two")},
     {"src/a.rs": "changed"}, {"alpha": "unchanged", "gamma_two": "moved"}),
    ("near miss is not a move", {"src/a.rs": ALPHA + GAMMA},
     {"src/a.rs": ALPHA + "fn other(a: u32) -> u32 {\n    let first = a + 10;\n    first\n}\n"},
     {"src/a.rs": "changed"}, {"alpha": "unchanged", "gamma": "removed", "other": "added"}),
]


@pytest.mark.parametrize("name, a, b, files, units", CASES, ids=[c[0] for c in CASES])
def test_pairing(name, a, b, files, units):
    result = compare(snap("A", a), snap("B", b))
    assert statuses(result, "files") == files
    assert statuses(result) == units


def test_moves_record_where_they_came_from():
    result = compare(snap("A", {"src/a.rs": ALPHA + GAMMA}), snap("B", {"src/a.rs": ALPHA, "src/n.rs": GAMMA}))
    moved = [u for u in result.units if u.status == "moved"]
    assert len(moved) == 1
    assert (moved[0].old_path, moved[0].old_qualname, moved[0].qualname) == ("src/a.rs", "a::gamma", "n::gamma")
    assert moved[0].similarity == 1.0


def test_totals_and_deltas():
    result = compare(snap("A", {"src/a.rs": ALPHA}), snap("B", {"src/a.rs": ALPHA_EDITED + DEEP}))
    a, b = result.totals
    assert (a["functions"], b["functions"]) == (1, 2)
    assert (a["cyclomatic_max"], b["cyclomatic_max"]) == (2, 9)
    assert b["sloc"] - a["sloc"] == 1 + 3
    doc = result.to_dict()
    assert doc["totals"]["delta"]["functions"] == 1
    assert doc["unit_counts"] == {"added": 1, "removed": 0, "changed": 1, "moved": 0, "unchanged": 0}


def test_hotspots_new_and_fixed():
    a = snap("A", {"src/a.rs": DEEP + ALPHA})
    b = snap("B", {"src/a.rs": ALPHA + BETA, "src/d.rs": DEEP.replace("fn deep", "fn deeper")
                   .replace("8 => 8, ", "8 => 8, 9 => 9, ")})
    result = compare(a, b, hotspots=1)
    assert [u.qualname for u in result.hotspots_new] == ["d::deeper"]
    assert [u.qualname for u in result.hotspots_fixed] == ["a::deep"]
    assert result.hotspots_new[0].cyclomatic == (0, 10)  # no counterpart: a different function


def test_findings_new_and_fixed_ignore_line_shifts():
    def with_findings(s: Snapshot, rules: list[tuple[str, int]]) -> Snapshot:
        f = s.files[0]
        found = tuple(Finding(r, "warning", "style", f.path, line, line, f"msg {r}") for r, line in rules)
        return dataclasses.replace(s, files=(dataclasses.replace(f, findings=found),))

    a = with_findings(snap("A", {"src/a.rs": ALPHA}), [("r1", 1), ("r2", 2)])
    b = with_findings(snap("B", {"src/a.rs": ALPHA_EDITED}), [("r1", 3), ("r3", 4)])
    result = compare(a, b)
    assert [f["rule"] for f in result.findings_new] == ["r3"]
    assert [f["rule"] for f in result.findings_fixed] == ["r2"]


@pytest.mark.parametrize("path, language, qualname, expected", [
    ("src/backend/arm/mod.rs", "rust", "backend::arm::emit", "emit"),
    ("src/lib.rs", "rust", "Foo::bar", "Foo::bar"),
    ("pkg/mod.py", "python", "pkg.mod.K.m", "K.m"),
    ("pkg/mod.py", "python", "other.K", "other.K"),
])
def test_local_name(path, language, qualname, expected):
    assert local_name(path, language, qualname) == expected


@pytest.mark.parametrize("values, q, expected", [([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9, 9),
                                                 ([5], 0.9, 5), ([], 0.9, 0)])
def test_percentile(values, q, expected):
    assert percentile(values, q) == expected


def test_line_hashes_ignore_layout_and_trivia():
    assert line_hashes(b"  let x = 1;\n}\n") == line_hashes(b"let  x=1;\n    }\n")
    assert line_hashes(b"}\n")[0] == 0 and line_hashes(b"let x = 1;")[0] != 0


def test_tracked_delta_names_unmeasured_files():
    got = tracked_delta({"a.rs": "1", "Cargo.toml": "2", "x.md": "3"},
                        {"a.rs": "1", "Cargo.toml": "9", "new.rs": "4", "cfg.toml": "5"}, {"a.rs", "new.rs"})
    assert got["counts"] == {"added": 2, "removed": 1, "changed": 1, "unchanged": 1}
    assert got["not_measured"] == [{"status": "added", "path": "cfg.toml"},
                                   {"status": "changed", "path": "Cargo.toml"},
                                   {"status": "removed", "path": "x.md"}]


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    """Two commits: v1 has a.rs, g.rs and README; v2 edits a.rs, adds a backend copied from g.rs,
    deletes README, adds a binary .rs and a Cargo.toml."""
    r = tmp_path_factory.mktemp("cmp")

    def git(*args):
        subprocess.run(["git", "-C", str(r), "-c", "user.name=t", "-c", "user.email=t@x", *args],
                       check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    (r / "src").mkdir()
    (r / "src/a.rs").write_text(ALPHA + BETA)
    (r / "src/g.rs").write_text(GAMMA + DEEP)
    (r / "README.md").write_text("hello\n")
    git("add", "-A")
    git("commit", "-q", "-m", "v1")
    (r / "src/a.rs").write_text(ALPHA_EDITED + BETA)
    (r / "src/new").mkdir()
    (r / "src/new/g2.rs").write_text(GAMMA.replace("gamma", "gamma2") + DEEP)
    (r / "src/new/data.rs").write_bytes(b"\0\0binary")
    (r / "Cargo.toml").write_text("[package]\n")
    (r / "README.md").unlink()
    git("add", "-A")
    git("commit", "-q", "-m", "v2")
    return r


def test_cli_compares_git_revisions(repo, tmp_path):
    out, html = tmp_path / "c.json", tmp_path / "html"
    code = main(["compare", f"{repo}@main~1", f"{repo}@main", "--cache-dir", str(tmp_path / "cache"),
                 "--json", str(out), "--html", str(html), "-q"])
    assert code == 0
    doc = json.loads(out.read_text())
    assert doc["file_counts"] == {"added": 1, "removed": 0, "changed": 1, "moved": 0, "unchanged": 1}
    assert doc["tracked"]["counts"] == {"added": 3, "removed": 1, "changed": 1, "unchanged": 1}
    assert {r["path"] for r in doc["tracked"]["not_measured"]} == {"Cargo.toml", "README.md", "src/new/data.rs"}
    assert doc["unit_counts"]["changed"] == 1 and doc["unit_counts"]["unchanged"] == 3
    assert doc["added_by_directory"] == [{"directory": "src/new", "files": 1}]
    deriv = doc["derivation"]
    assert deriv["files_added"] == 1 and deriv["files_matched"] == 1
    assert deriv["by_source"][0]["target"] == "src/new" and deriv["by_source"][0]["source"] == "src"
    assert (deriv["by_subfolder"][0]["target"], deriv["by_subfolder"][0]["source"]) == ("src/new", "src")
    assert deriv["examples"] and "g.rs" in deriv["examples"][0]["source"]
    page = (html / "compare.html").read_text()
    assert "src/new/g2.rs" in page and "How much of B derives from A" in page
    # drill-down: the added file's page shows B's lines beside A's, the changed file its diff
    from audit.render.compare_pages import file_page_href

    assert f'href="{file_page_href("src/new/g2.rs")}"' in page
    added = (html / file_page_href("src/new/g2.rs")).read_text()
    assert "What derives from A" in added and added.count('class="pane"') >= 2
    assert "B src/new/g2.rs lines" in added and "A src/g.rs lines" in added
    assert added.count('class="hit"') >= 4  # matched lines flagged on both sides
    changed = (html / file_page_href("src/a.rs")).read_text()
    assert "Lines that differ" in changed and ("<tr class=chg>" in changed or "<tr class=add>" in changed)


def test_a_huge_blob_is_refused_from_its_header_not_inflated(tmp_path, forbid_inflating):
    """A blob over the size limit costs its header only, in compare and history alike:
    a few compressed kilobytes in a hostile repository can inflate to gigabytes."""
    import subprocess

    r = tmp_path / "r"
    r.mkdir()

    def git(*args):
        env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x",
               "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@x"}
        return subprocess.run(["git", "-C", str(r), *args], env=env, check=True,
                              capture_output=True, text=True).stdout.strip()

    git("init", "-q", "-b", "main")
    (r / "a.rs").write_text(ALPHA)
    git("add", "-A")
    git("commit", "-q", "-m", "v1")
    (r / "huge.rs").write_bytes(b"fn f() {}\n" * 600_000)  # 6 MB, over the 4 MiB default
    git("add", "-A")
    git("commit", "-q", "-m", "v2")
    forbid_inflating(r, git("rev-parse", "main:huge.rs"))
    out = tmp_path / "c.json"
    assert main(["compare", f"{r}@main~1", f"{r}@main", "--cache-dir", str(tmp_path / "cache"),
                 "--json", str(out), "-q", "-j", "1", "--no-provenance"]) == 0
    assert [x["path"] for x in json.loads(out.read_text())["tracked"]["not_measured"]] == ["huge.rs"]
    assert main(["history", str(r), "--cache-dir", str(tmp_path / "cache2"), "-q", "-j", "1",
                 "--json", str(tmp_path / "h.json")]) == 0
    last = json.loads((tmp_path / "h.json").read_text())["points"][-1]
    assert (last["files"], last["skipped"]) == (1, 1)


def test_cli_compares_folders(tmp_path, capsys):
    for side, text in (("a", ALPHA), ("b", ALPHA_EDITED + BETA)):
        (tmp_path / side).mkdir()
        (tmp_path / side / "lib.rs").write_text(text)
    assert main(["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--no-provenance"]) == 0
    out = capsys.readouterr().out
    assert "1 added" in out and "1 changed" in out


@pytest.mark.parametrize("a, b", [("/nonexistent/a", "/nonexistent/b"), ("{repo}@nosuchrev", "{repo}@main")])
def test_cli_errors(repo, tmp_path, capsys, a, b):
    argv = ["compare", a.replace("{repo}", str(repo)), b.replace("{repo}", str(repo)),
            "--cache-dir", str(tmp_path)]
    assert main(argv) == 3
    assert "[input]" in capsys.readouterr().err


@pytest.fixture(scope="module")
def history_repo(tmp_path_factory):
    from test_history import build_repo

    return build_repo(tmp_path_factory.mktemp("hist"))


# A, B (first-parent steps back from main, a merge) -> measured file statuses, renames (old path,
# similarity), unit statuses, tracked-file counts
HISTORY_CASES = [
    # a.rs renamed to b.rs and given a third function; side.rs arrives through the merge
    # (four of b.rs's five distinct lines were a.rs's: similarity 0.8)
    ("main~6", "main", {"src/b.rs": "moved", "src/side.rs": "added"}, {"src/b.rs": ("src/a.rs", 0.8)},
     {"one": "unchanged", "two": "unchanged", "three": "added", "side": "added"},
     {"added": 3, "removed": 1, "changed": 0, "unchanged": 2}),
    # tool/helper.py deleted; b.rs edited in place
    ("main~4", "main~2", {"src/b.rs": "unchanged", "tool/helper.py": "removed"}, {},
     {"one": "unchanged", "two": "unchanged", "helper": "removed"},
     {"added": 1, "removed": 1, "changed": 0, "unchanged": 3}),
]


@pytest.mark.parametrize("a, b, files, old_paths, units, tracked", HISTORY_CASES)
def test_cli_compares_revisions_across_rename_delete_binary_and_merge(
        history_repo, tmp_path, a, b, files, old_paths, units, tracked):
    out = tmp_path / "c.json"
    argv = ["compare", f"{history_repo}@{a}", f"{history_repo}@{b}", "--cache-dir", str(tmp_path),
            "--json", str(out), "-q", "--no-provenance"]
    assert main(argv) == 0
    doc = json.loads(out.read_text())
    got = {f["path"]: f["status"] for f in doc["files"]}
    assert {p: s for p, s in got.items() if s != "unchanged"} == \
        {p: s for p, s in files.items() if s != "unchanged"}
    assert {f["path"]: (f["old_path"], f["similarity"]) for f in doc["files"] if f["old_path"]} == old_paths
    unit_status = {u["qualname"].rsplit("::", 1)[-1].rsplit(".", 1)[-1]: u["status"] for u in doc["units"]}
    assert unit_status == {n: s for n, s in units.items() if s != "unchanged"}
    assert doc["tracked"]["counts"] == tracked
    # the binary src/blob.rs is skipped on both sides, never measured
    assert doc["totals"]["a"]["skipped"] == doc["totals"]["b"]["skipped"] == 1


def test_derivation_shares_by_component_and_by_folder():
    from types import SimpleNamespace as NS

    from audit.compare import derivation

    def file(path, score, lines, *matches):
        return NS(path=path, score=score, code_lines=lines, verdict="derived" if score > 0.3 else "clean",
                  matches=[NS(corpus_path=p, score=s, units=[], evidence=[]) for p, s in matches])

    report = NS(score=0.5, verdict="derived", to_dict=dict, files=[
        file("src/be/armv7/linker/a.rs", 0.8, 100, ("src/be/i686/linker/a.rs", 0.6),
             ("src/be/arm/linker/a.rs", 0.2)),
        file("src/be/armv7/codegen/b.rs", 0.1, 300, ("src/be/arm/codegen/b.rs", 0.1)),
        file("src/be/armv7/codegen/c.rs", 0.0, 100),
    ])
    result = compare(snap("A", {}), snap("B", {}))
    got = derivation(result, report)
    rows = {(r["target"], r["source"]): (r["covered_lines"], r["code_lines"], r["share"]) for r in got.by_source}
    # a.rs: 0.8 * 100 = 80 lines covered, shared 3:1 between i686 and arm; b.rs: 0.1 * 300 = 30
    assert rows == {("src/be/armv7", "src/be/i686"): (60, 500, 0.12),
                    ("src/be/armv7", "src/be/arm"): (50, 500, 0.1)}
    sub = {(r["target"], r["source"]): r["share"] for r in got.by_subfolder}
    assert sub == {("src/be/armv7/linker", "src/be/i686/linker"): 0.6,
                   ("src/be/armv7/linker", "src/be/arm/linker"): 0.2,
                   ("src/be/armv7/codegen", "src/be/arm/codegen"): 0.075}
    assert got.verdicts == {"clean": 2, "derived": 1}


def test_corpus_index_of_a_revision_is_built_once(repo, tmp_path, monkeypatch):
    import audit.provenance.build

    cache = tmp_path / "cache"

    def derivation_of(name):
        out = tmp_path / f"{name}.json"
        assert main(["compare", f"{repo}@main~1", f"{repo}@main", "--cache-dir", str(cache),
                     "--json", str(out), "-q"]) == 0
        doc = json.loads(out.read_text())["derivation"]
        return {k: doc[k] for k in ("by_source", "by_subfolder", "examples", "verdicts")}

    first = derivation_of("first")
    [index] = [p for p in (cache / "corpora").iterdir()]  # one index, no build leftovers
    built = audit.provenance.build.build_index

    def refuse(*args, **kw):
        raise AssertionError("A was indexed again")

    monkeypatch.setattr(audit.provenance.build, "build_index", refuse)
    assert derivation_of("second") == first
    next(index.glob("*.npy")).write_bytes(b"corrupt")  # a damaged index is rebuilt, not trusted
    monkeypatch.setattr(audit.provenance.build, "build_index", built)
    assert derivation_of("third") == first
    assert [p.name for p in (cache / "corpora").iterdir()] == [index.name]
