"""`audit history` on small repositories built here: known metric changes, a rename, a deleted
file, a binary file, a merge and bookkeeping commits."""

from __future__ import annotations

import json
import os
import subprocess
from collections import Counter

import pytest

from audit.cache import BlobCache, job_namespace, make_job
from audit.cli import main
from audit.config import ScanConfig
from audit.gitsource import GitSource, parse_repo_rev, path_filter
from audit.history import (
    HistoryOptions,
    bookkeeping,
    histogram_percentile,
    jumps,
    select,
    walk_history,
)

ONE = "fn one(x: i32) -> i32 {\n    if x > 0 { 1 } else { 0 }\n}\n"  # cyclomatic 2
TWO = ONE + "\nfn two(x: i32) -> i32 {\n    match x { 1 => 1, 2 => 2, _ => 0 }\n}\n"  # + cyclomatic 3
PY = "def helper(a):\n    return a or 0\n"


def git(repo, *args, when: int = 0):
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@x", "GIT_AUTHOR_DATE": f"{1700000000 + when} +0000",
           "GIT_COMMITTER_DATE": f"{1700000000 + when} +0000"}
    out = subprocess.run(["git", "-C", str(repo), *args], env=env, check=True, capture_output=True, text=True)
    return out.stdout.strip()


def write(repo, path, text: str | bytes):
    full = repo / path
    full.parent.mkdir(parents=True, exist_ok=True)
    full.write_bytes(text if isinstance(text, bytes) else text.encode())


def commit(repo, message, when):
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message, when=when)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    """Eight commits on main (one of them a merge) and their expected totals."""
    return build_repo(tmp_path_factory.mktemp("hist"))


def build_repo(r):
    """The history fixture (also compared revision against revision in test_compare)."""
    git(r, "init", "-q", "-b", "main")
    write(r, "src/a.rs", ONE)
    write(r, "src/blob.rs", b"fn x() {}\n\0\0\0 not text")  # binary: skipped, not measured
    write(r, "logo.png", b"\x89PNG\0\0")  # other language: not read at all
    commit(r, "first", 1)
    write(r, "src/a.rs", TWO)
    commit(r, "add two", 2)
    git(r, "mv", "src/a.rs", "src/b.rs")
    commit(r, "rename a to b", 3)
    write(r, "tool/helper.py", PY)
    commit(r, "add helper", 4)
    write(r, "current_tasks/lock.txt", "taken")
    commit(r, "Lock task", 5)
    (r / "tool" / "helper.py").unlink()
    commit(r, "delete helper", 6)
    git(r, "checkout", "-q", "-b", "side")
    write(r, "src/side.rs", "fn side() {}\n")
    commit(r, "side work", 7)
    git(r, "checkout", "-q", "main")
    write(r, "src/b.rs", TWO + "\nfn three() {}\n")
    commit(r, "add three", 8)
    git(r, "merge", "-q", "--no-ff", "-m", "merge side", "side", when=9)
    return r


def run(repo, tmp_path, **kw):
    config = ScanConfig(paths=(str(repo),))
    job = make_job(config.max_file_size, rules=False)
    with BlobCache(str(tmp_path / "cache"), job_namespace(job)) as cache:
        opts = HistoryOptions(str(repo), **{"rev_range": "HEAD", **kw})
        return walk_history(opts, path_filter(config), job, cache)


# subject -> (files, functions, cyclomatic max, skipped)
EXPECTED = {
    "first": (1, 1, 2, 1),
    "add two": (1, 2, 3, 1),
    "rename a to b": (1, 2, 3, 1),
    "add helper": (2, 3, 3, 1),
    "Lock task": (2, 3, 3, 1),
    "delete helper": (1, 2, 3, 1),
    "side work": (2, 3, 3, 1),
    "add three": (1, 3, 3, 1),
    "merge side": (2, 4, 3, 1),
}


def test_every_commit_has_the_known_totals(repo, tmp_path):
    result = run(repo, tmp_path)
    got = {p["subject"]: (p["files"], p["functions"], p["cyclomatic_max"], p["skipped"])
           for p in result.points}
    assert got == EXPECTED
    assert [p["merge"] for p in result.points].count(True) == 1
    assert result.points[-1]["subject"] == "merge side"
    first, second = result.points[0], result.points[1]
    assert second["sloc"] - first["sloc"] == 3  # fn two( / match / } : three source lines


def test_each_blob_is_analysed_once_in_this_run_and_never_in_the_next(repo, tmp_path):
    cold = run(repo, tmp_path)
    # a.rs v1, a.rs v2, b.rs (renamed: new path, new key), b.rs v2, helper.py, side.rs, blob.rs
    assert cold.stats["blobs"] == 7
    assert cold.stats["blobs_analysed"] == 7
    warm = run(repo, tmp_path)
    assert warm.stats["blobs_analysed"] == 0 and warm.stats["blobs_from_cache"] == 7
    assert warm.points == cold.points


def test_bookkeeping_commits_are_left_out(repo, tmp_path):
    result = run(repo, tmp_path, exclude_commit_paths=("current_tasks/*",))
    assert "Lock task" not in {p["subject"] for p in result.points}
    assert result.stats["commits_excluded"] == 1
    assert result.stats["commits_analysed"] == len(EXPECTED) - 1


def test_rev_range_and_sampling(repo, tmp_path):
    second = git(repo, "rev-parse", "main~4")  # "add helper" on the first-parent chain
    result = run(repo, tmp_path, rev_range=f"{second}..main")
    assert {p["subject"] for p in result.points} == {"Lock task", "delete helper", "side work",
                                                      "add three", "merge side"}
    sampled = run(repo, tmp_path, max_commits=3)
    assert len(sampled.points) == 3 and sampled.points[-1]["subject"] == "merge side"


def test_last_n_commits(repo, tmp_path):
    every = run(repo, tmp_path)
    last = run(repo, tmp_path, last=3)
    assert [p["commit"] for p in last.points] == [p["commit"] for p in every.points][-3:]
    assert last.config["last"] == 3 and last.stats["commits_in_range"] == len(every.points)
    bookkept = run(repo, tmp_path, last=2, exclude_commit_paths=("current_tasks/*",))
    assert "Lock task" not in {p["subject"] for p in run(repo, tmp_path, last=5,
                                                        exclude_commit_paths=("current_tasks/*",)).points}
    assert [p["subject"] for p in bookkept.points] == [p["subject"] for p in every.points][-2:]


@pytest.mark.parametrize("n, every, max_commits, expected", [
    (10, 0, 0, list(range(10))),
    (10, 3, 0, [0, 3, 6, 9]),
    (10, 4, 0, [0, 4, 8, 9]),  # the last commit is always kept
    (10, 0, 4, [0, 3, 6, 9]),
    (3, 0, 5, [0, 1, 2]),
    (0, 2, 0, []),
])
def test_select(n, every, max_commits, expected):
    assert select(list(range(n)), every, max_commits) == expected


@pytest.mark.parametrize("paths, globs, expected", [
    (["current_tasks/a.txt"], ("current_tasks/*",), True),
    (["current_tasks/a.txt", "src/x.rs"], ("current_tasks/*",), False),
    (["current_tasks/a.txt"], (), False),
    ([], ("current_tasks/*",), False),  # an empty commit is not bookkeeping
])
def test_bookkeeping(paths, globs, expected):
    assert bookkeeping(paths, globs) is expected


@pytest.mark.parametrize("hist, q, expected", [
    ({1: 9, 10: 1}, 0.9, 1),
    ({1: 8, 10: 2}, 0.9, 10),
    ({5: 1}, 0.9, 5),
    ({}, 0.9, 0),
])
def test_histogram_percentile(hist, q, expected):
    assert histogram_percentile(Counter(hist), q) == expected


def test_jumps_rank_by_size_of_move():
    points = [{"commit": c, "subject": c, "sloc": v} for c, v in
              [("a", 100), ("b", 105), ("c", 300), ("d", 290)]]
    got = jumps(points, keys=("sloc",), n=2)["sloc"]
    assert [(j["commit"], j["delta"]) for j in got] == [("c", 195), ("d", -10)]
    assert got[0]["relative"] == pytest.approx(195 / 105, abs=1e-4)


def test_cli_writes_json_and_html(repo, tmp_path):
    out, html = tmp_path / "h.json", tmp_path / "html"
    code = main(["history", str(repo), "--cache-dir", str(tmp_path / "c"), "--json", str(out),
                 "--html", str(html), "--exclude-commit-paths", "current_tasks/*", "-q"])
    assert code == 0
    doc = json.loads(out.read_text())
    assert set(doc) == {"format_version", "repo", "config", "stats", "warnings", "jumps", "points"}
    assert doc["points"][-1]["functions"] == 4
    page = (html / "history.html").read_text()
    assert "<svg" in page and "merge side" in page


@pytest.mark.parametrize("argv, slug", [
    (["history", "/nonexistent/repo"], "input"),
    (["history", "{repo}", "--rev-range", "nosuchbranch"], "input"),
])
def test_cli_errors(repo, tmp_path, capsys, argv, slug):
    argv = [a.replace("{repo}", str(repo)) for a in argv]
    assert main(argv + ["--cache-dir", str(tmp_path)]) != 0
    assert f"[{slug}]" in capsys.readouterr().err


def test_git_source_reads_revisions(repo):
    with GitSource(str(repo)) as src:
        assert src.resolve("main~1") == git(repo, "rev-parse", "main~1")
        assert src.resolve("main^^") == git(repo, "rev-parse", "main~2")
        head = src.commit_info(src.resolve("HEAD"))
        assert len(head.parents) == 2 and head.subject == "merge side"
        files = dict(src.files(head.sha, lambda p: True))
        assert set(files) == {"logo.png", "src/b.rs", "src/blob.rs", "src/side.rs", "current_tasks/lock.txt"}
        assert src.read_blob(files["src/side.rs"]) == b"fn side() {}\n"
    assert parse_repo_rev(f"{repo}@main") is not None
    assert parse_repo_rev(f"{repo}/src@main") is None  # not a repository: a folder name with '@'


LONG = """fn {name}(items: &[i64], limit: i64) -> i64 {{
    let mut total = 0;
    for (index, value) in items.iter().enumerate() {{
        if *value > limit {{
            total += value * 2 - index as i64;
        }} else if *value < -limit {{
            total -= value / 3 + 7;
        }} else {{
            total += 1;
        }}
    }}
    total
}}
"""


def _duplication_history(tmp_path):
    """Three commits: one long function, a copy of it, an unrelated small one."""
    r = tmp_path / "dup"
    r.mkdir()
    git(r, "init", "-q", "-b", "main")
    write(r, "src/a.rs", LONG.format(name="first"))
    commit(r, "one function", 1)
    write(r, "src/b.rs", LONG.format(name="second"))
    commit(r, "copy it", 2)
    write(r, "src/c.rs", "fn small() {}\n")
    commit(r, "unrelated", 3)
    config = ScanConfig(paths=(str(r),))
    job = make_job(config.max_file_size, rules=False, clones=True)
    with BlobCache(str(tmp_path / "cache"), job_namespace(job)) as cache:
        opts = HistoryOptions(str(r), clone_samples=2)
        result = walk_history(opts, path_filter(config), job, cache)
    return r, config, job, result


def test_duplication_share_is_measured_on_sampled_commits(tmp_path):
    result = _duplication_history(tmp_path)[3]
    shares = [p["duplication_share"] for p in result.points]
    assert shares[0] == 0.0 and shares[1] is None and shares[2] > 0.4
    assert result.jumps["duplication_share"][0]["commit"] == result.points[2]["commit"]


def test_duplication_share_is_cached_per_commit(tmp_path, monkeypatch):
    r, config, job, first = _duplication_history(tmp_path)
    shares = [p["duplication_share"] for p in first.points]
    import audit.clones

    def no_grouping(*args, **kw):
        raise AssertionError("grouped again although the share is cached")

    monkeypatch.setattr(audit.clones, "find_clones", no_grouping)
    with BlobCache(str(tmp_path / "cache"), job_namespace(job)) as cache:
        again = walk_history(HistoryOptions(str(r), clone_samples=2), path_filter(config), job, cache)
    assert [p["duplication_share"] for p in again.points] == shares
    assert again.stats["blobs_analysed"] == 0


COUNTED = "fn top(x: i32) -> i32 { let f = |y: i32| y + 1; f(x) }\n" \
          "struct S;\nimpl S { fn m(&self) -> i32 { if true { 1 } else { 2 } } }\n"
TESTS = "#[cfg(test)]\nmod tests {\n    #[test]\n    fn t() { assert!(true); }\n}\n"


@pytest.mark.parametrize("source, functions, non_test", [
    (COUNTED, 3, 3),  # top, its named closure f, S::m
    (COUNTED + TESTS, 4, 3),  # plus the test t
    (TESTS, 1, 0),
])
def test_function_counts_agree_with_scan(tmp_path, source, functions, non_test):
    """history and compare count functions as `audit scan` does (tests and closures in);
    complexity is over the non-test ones."""
    from audit.compare import project_totals
    from audit.history import Totals, summarise
    from audit.pipeline import Job, scan

    write(tmp_path, "src/lib.rs", source)
    result, _ = scan(ScanConfig(paths=(str(tmp_path),)), Job(1 << 20))
    point = Totals.of_summary(summarise(result.files[0])).point()
    side = project_totals(result.files)
    assert result.totals.functions == functions
    assert (point["functions"], point["functions_non_test"]) == (functions, non_test)
    assert (side["functions"], side["functions_non_test"]) == (functions, non_test)
