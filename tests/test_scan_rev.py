"""`audit scan REPO@REV`: a revision read from git objects, never from a checkout.

The fixture repository (built here with the git command, dates and names fixed so its
commit ids do not change) holds the calculator ports of fixtures/provenance, a C
header that provenance compares, a C header that is not UTF-8, a binary and a
too-large Rust file, a symlink to a file outside the tree and a submodule. Its second
commit and an uncommitted edit must stay unseen when the first commit is scanned.
The corpus is a .tar.xz of the calculator made here, built with --exclude, so the
determination's scope shows the tarball's sha256 and the excluded glob. Update the
gold Markdown with ``AUDIT_UPDATE_GOLD=1 python -m pytest tests/test_scan_rev.py``.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile

import pytest
from test_browser import browser, watch  # noqa: F401 (fixtures)
from test_exports import scrub_markdown
from test_gold import GOLD, UPDATE

from audit.cli import main
from audit.errors import EXIT_INPUT, EXIT_USAGE

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIX = os.path.join(REPO, "fixtures", "provenance")
MAX_SIZE = 20_000  # --max-file-size for every scan here: rs/generated.rs is larger
SUBMODULE_COMMIT = "0123456789abcdef0123456789abcdef01234567"
GIT_ENV = {**os.environ, "GIT_AUTHOR_NAME": "Audit Test", "GIT_AUTHOR_EMAIL": "test@example.org",
           "GIT_COMMITTER_NAME": "Audit Test", "GIT_COMMITTER_EMAIL": "test@example.org",
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}


def git(repo, *args: str, date: str = "2026-01-02T03:04:05Z", data: bytes | None = None) -> str:
    env = {**GIT_ENV, "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
    out = subprocess.run(["git", "-C", str(repo), *args], env=env, input=data, check=True,
                         capture_output=True)
    return out.stdout.decode().strip()


def one_commit(repo, files: dict[str, str], message: str):
    """A new repository holding ``files`` (path -> text) in one commit on main."""
    for path, text in files.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return repo


def small_files(root) -> None:
    """Eight more small sources: enough files for a scan to start its worker pool."""
    for i in range(6):
        (root / "rs" / f"step{i}.rs").write_text(
            f"pub fn step{i}(v: Option<u32>) -> u32 {{\n    let x = v.unwrap();\n"
            f"    if x > {i} {{ x - {i} }} else {{ x + {i} }}\n}}\n")
    for i in range(2):
        (root / "py" / f"helper{i}.py").write_text(
            f"def helper{i}(items):\n    total = 0\n    for x in items:\n        if x % {i + 2}:\n"
            f"            total += x\n    return total\n")


def make_repo(root):
    """The fixture repository; returns it. HEAD~1 is the audited commit."""
    repo = root / "repo"
    (repo / "rs").mkdir(parents=True)
    shutil.copytree(os.path.join(FIX, "python_port"), repo / "py")
    shutil.copy(os.path.join(FIX, "rust_port", "lexer.rs"), repo / "rs" / "lexer.rs")
    small_files(repo)
    (repo / "include").mkdir()
    (repo / "include" / "calc.h").write_text("int calc_eval(const char *src);\n"
                                             "int calc_crc(const unsigned char *p, int n);\n")
    (repo / "include" / "latin1.h").write_bytes(b"/* caf\xe9 */\nint latin1(void);\n")
    (repo / "rs" / "table.rs").write_bytes(b"static T: [u8; 2] = [0, 1];\n\0\0")
    (repo / "rs" / "generated.rs").write_text(
        "pub const TABLE: [u32; 4000] = [\n" + "".join(f"    {i},\n" for i in range(4000)) + "];\n")
    (repo / "docs").mkdir()
    (repo / "docs" / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR")
    os.symlink("/etc/passwd", repo / "rs" / "outside.rs")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "update-index", "--add", "--cacheinfo", f"160000,{SUBMODULE_COMMIT},deps/calc")
    git(repo, "commit", "-q", "-m", "the audited revision")
    with open(repo / "rs" / "lexer.rs", "a") as fh:
        fh.write("\npub fn later_addition(n: u32) -> u32 {\n    if n > 1 { n * 2 } else { n }\n}\n")
    (repo / "py" / "later.py").write_text("def later():\n    return 1\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "a later commit", date="2026-01-03T03:04:05Z")
    with open(repo / "py" / "parser.py", "a") as fh:  # in the work tree only
        fh.write("\n\ndef uncommitted():\n    return 2\n")
    return repo


def make_tarball(root) -> str:
    """calc-1.0.tar.xz: the calculator, with a testsuite folder the index leaves out."""
    path = root / "calc-1.0.tar.xz"
    with tarfile.open(path, "w:xz") as tar:
        members = [(f"calc-1.0/{n}", open(os.path.join(FIX, "corpus", n), "rb").read())
                   for n in sorted(os.listdir(os.path.join(FIX, "corpus")))]
        members.append(("calc-1.0/testsuite/t1.c", b"int main(void) { return calc_eval(\"1+2\"); }\n"))
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 1_700_000_000, 0o644
            tar.addfile(info, io.BytesIO(data))
    return str(path)


def scan_json(target: str, out, *extra: str) -> tuple[int, dict]:
    code = main(["scan", target, "--json", str(out), "-q", "--max-file-size", str(MAX_SIZE), *extra])
    with open(out, encoding="utf-8") as fh:
        return code, json.load(fh)


@pytest.fixture(scope="module")
def fx(tmp_path_factory):
    root = tmp_path_factory.mktemp("rev")
    repo = make_repo(root)
    return {"root": root, "repo": repo, "commit": git(repo, "rev-parse", "HEAD~1"),
            "tree": git(repo, "rev-parse", "HEAD~1^{tree}")}


# -- what is read -----------------------------------------------------------------------
def checkout(fx, rev: str):
    """A plain folder holding the revision (git archive, nothing written into the repository)."""
    folder = fx["root"] / f"checkout-{rev.replace('~', '_')}"
    if not folder.exists():
        folder.mkdir()
        archive = subprocess.run(["git", "-C", str(fx["repo"]), "archive", rev], check=True,
                                 capture_output=True).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(folder, filter="tar")
    return folder


def comparable(doc: dict) -> dict:
    """What a scan measured, without when, where and how fast, and without the skips
    (compared on their own: git lists links and submodules as such)."""
    def strip(v):
        if isinstance(v, dict):
            return {k: strip(x) for k, x in v.items() if k != "elapsed"}
        return [strip(x) for x in v] if isinstance(v, list) else v

    sections = {k: v for k, v in doc.items() if k not in ("config", "created", "skipped")}
    sections["totals"] = {k: v for k, v in sections["totals"].items() if k != "skipped"}
    return strip(json.loads(json.dumps(sections).replace(doc["config"]["paths"][0], "<tree>")))


def test_revision_scan_equals_a_scan_of_its_checkout(fx):
    target = f"{fx['repo']}@HEAD~1"
    code_rev, rev = scan_json(target, fx["root"] / "rev.json", "-j", "2")  # a worker pool
    code_dir, folder = scan_json(str(checkout(fx, "HEAD~1")), fx["root"] / "dir.json", "-j", "1")
    assert code_rev == code_dir == 0
    assert len(rev["files"]) == 10 and rev["findings"]
    assert comparable(rev) == comparable(folder)
    # the same skips, but for what git holds as links and submodules
    git_only = {"symlink", "submodule"}
    assert {(s["path"], s["reason"]) for s in rev["skipped"] if s["reason"] not in git_only} == \
        {(s["path"], s["reason"]) for s in folder["skipped"] if s["reason"] != "symlink-outside"}


def test_later_commits_and_the_work_tree_are_not_seen(fx):
    _, early = scan_json(f"{fx['repo']}@HEAD~1", fx["root"] / "early.json", "-j", "1")
    _, late = scan_json(f"{fx['repo']}@main", fx["root"] / "late.json", "-j", "1")
    units = {f["path"]: {u["qualname"] for u in f["units"]} for f in early["files"]}
    assert "py/later.py" not in units and "rs::lexer::later_addition" not in units["rs/lexer.rs"]
    assert "py.parser.uncommitted" not in units["py/parser.py"]  # an edit never committed
    late_units = {f["path"]: {u["qualname"] for u in f["units"]} for f in late["files"]}
    assert "py/later.py" in late_units and "rs::lexer::later_addition" in late_units["rs/lexer.rs"]
    assert "py.parser.uncommitted" not in late_units["py/parser.py"]
    assert early["config"]["revision"] == {"repo": str(fx["repo"]), "rev": "HEAD~1",
                                           "commit": fx["commit"], "tree": fx["tree"]}
    blobs = {f["path"]: f["sha1"] for f in early["files"]}
    assert blobs["rs/lexer.rs"] == git(fx["repo"], "rev-parse", "HEAD~1:rs/lexer.rs")


def test_links_submodules_and_limits_are_listed_not_followed(fx):
    _, doc = scan_json(f"{fx['repo']}@HEAD~1", fx["root"] / "skips.json", "-j", "1")
    skipped = {s["path"]: (s["reason"], s["detail"]) for s in doc["skipped"]}
    assert skipped["rs/outside.rs"][0] == "symlink"
    assert skipped["deps/calc"] == ("submodule", f"submodule at commit {SUBMODULE_COMMIT}; its files "
                                                 "are in another repository")
    assert skipped["rs/table.rs"][0] == "binary"
    size = len((fx["repo"] / "rs" / "generated.rs").read_bytes())
    assert skipped["rs/generated.rs"] == ("too-large", f"{size} bytes > limit {MAX_SIZE}")
    assert skipped["include/calc.h"][0] == "language-not-audited"
    assert "docs/logo.png" not in skipped  # files of no known language are not listed, as in a folder
    assert "root:" not in json.dumps(doc)  # /etc/passwd was never read


def test_a_large_blob_is_refused_before_it_is_inflated(fx, monkeypatch):
    from audit.gitsource import GitSource

    big = git(fx["repo"], "rev-parse", "HEAD~1:rs/generated.rs")
    read = []
    real = GitSource.read_blob
    monkeypatch.setattr(GitSource, "read_blob", lambda self, blob: read.append(blob) or real(self, blob))
    code, _ = scan_json(f"{fx['repo']}@HEAD~1", fx["root"] / "big.json", "-j", "1")
    assert code == 0 and read and big not in read


def test_read_blob_refuses_past_the_limit_by_header_and_by_length(fx, monkeypatch):
    from audit.gitsource import GitSource
    from audit.walk import TooLarge

    blob = git(fx["repo"], "rev-parse", "HEAD~1:rs/generated.rs")
    with GitSource(str(fx["repo"])) as src:
        size = len(src.read_blob(blob))
        assert src.read_blob(blob, size) == src.read_blob(blob)
        with pytest.raises(TooLarge, match=f"^{size}$"):
            src.read_blob(blob, size - 1)
        monkeypatch.setattr(GitSource, "blob_size", lambda self, sha: None)  # an unreadable header
        with pytest.raises(TooLarge, match=f"^{size}$"):
            src.read_blob(blob, size - 1)


def test_blob_sizes_come_from_object_headers_loose_and_packed(fx, tmp_path):
    from audit.gitsource import GitSource

    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--no-local", str(fx["repo"]), str(clone)], check=True,
                   env=GIT_ENV, capture_output=True)
    for repo, packed in ((fx["repo"], False), (clone, True)):
        listing = git(repo, "cat-file", "--batch-all-objects",
                      "--batch-check=%(objectname) %(objecttype) %(objectsize)")
        sizes = {sha: int(n) for sha, kind, n in (line.split() for line in listing.splitlines())
                 if kind == "blob"}
        assert (repo / ".git" / "objects" / "pack").exists()
        assert bool(os.listdir(repo / ".git" / "objects" / "pack")) == packed
        with GitSource(str(repo)) as src:
            assert {sha: src.blob_size(sha) for sha in sizes} == sizes
    deltas = git(clone, "verify-pack", "-v", *[str(p) for p in (clone / ".git/objects/pack").glob("*.idx")])
    assert any(len(line.split()) >= 7 for line in deltas.splitlines()), "no delta in the pack"


def test_a_bare_repository_is_read_the_same(fx, tmp_path):
    bare = tmp_path / "bare.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(fx["repo"]), str(bare)], check=True,
                   env=GIT_ENV, capture_output=True)
    _, a = scan_json(f"{fx['repo']}@HEAD~1", tmp_path / "a.json", "-j", "1")
    _, b = scan_json(f"{bare}@{fx['commit'][:10]}", tmp_path / "b.json", "-j", "1")
    assert comparable(a) == comparable(b)
    assert b["config"]["revision"]["commit"] == fx["commit"]


def snapshot(folder) -> dict:
    out = {}
    for dirpath, _, names in os.walk(folder):
        for n in names:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            out[os.path.relpath(p, folder)] = (st.st_size, st.st_mtime_ns, st.st_mode)
    return out


def test_nothing_is_written_into_the_repository(fx, tmp_path):
    before = snapshot(fx["repo"])
    code = main(["scan", f"{fx['repo']}@HEAD~1", "-q", "-j", "2", "--max-file-size", str(MAX_SIZE),
                 "--json", str(tmp_path / "r.json"), "--html", str(tmp_path / "html"),
                 "--sarif", str(tmp_path / "r.sarif")])
    assert code == 0 and snapshot(fx["repo"]) == before


# -- what is refused --------------------------------------------------------------------
def test_a_bad_revision_or_a_folder_that_is_not_a_repository(fx, tmp_path, run_cli):
    code, _, err = run_cli("scan", f"{fx['repo']}@no-such-branch", "-q")
    assert code == EXIT_INPUT and "unknown revision 'no-such-branch'" in err and "hint:" in err
    plain = tmp_path / "plain"
    plain.mkdir()
    code, _, err = run_cli("scan", f"{plain}@HEAD", "-q")
    assert code == EXIT_INPUT and "is not a git repository" in err and "hint:" in err
    code, _, err = run_cli("scan", f"{fx['repo']}@", "-q")
    assert code == EXIT_INPUT and "no revision after the @" in err
    code, _, err = run_cli("scan", f"{fx['repo']}@HEAD~5", "-q")
    assert code == EXIT_INPUT and "goes past the first commit" in err
    assert "Traceback" not in err


def test_a_revision_is_scanned_alone(fx, run_cli):
    code, _, err = run_cli("scan", f"{fx['repo']}@HEAD", str(fx["repo"] / "py"), "-q")
    assert code == EXIT_USAGE and "scanned on its own" in err


def test_help_text_mentions_repo_at_rev(capsys):
    with pytest.raises(SystemExit):
        main(["scan", "--help"])
    assert "REPO@REV" in capsys.readouterr().out


# -- the determination ------------------------------------------------------------------
@pytest.fixture(scope="module")
def prov(fx):
    """REPO@HEAD~1 against the calculator tarball, every output written."""
    root = fx["root"]
    tarball = make_tarball(root)
    idx = root / "idx"
    assert main(["corpus", "build", "calc", tarball, "--index-dir", str(idx), "-j", "1",
                 "--exclude", "*/testsuite/*", "--license", "MIT"]) == 0
    out = root / "prov"
    code = main(["scan", f"{fx['repo']}@HEAD~1", "--corpus", "calc", "--index-dir", str(idx), "-q",
                 "-j", "1", "--max-file-size", str(MAX_SIZE), "--json", str(out / "r.json"),
                 "--markdown", str(out / "r.md"), "--html", str(out / "html"),
                 "--spdx", str(out / "r.spdx.json"), "--sarif", str(out / "r.sarif"),
                 "--csv", str(out / "csv")])
    assert code == 0
    with open(out / "r.json", encoding="utf-8") as fh:
        doc = json.load(fh)
    sha = hashlib.sha256(open(tarball, "rb").read()).hexdigest()
    return {**fx, "out": out, "doc": doc, "det": doc["provenance"]["determination"], "sha256": sha}


NOT_CHECKED = [("rs/table.rs", "binary"), ("include/latin1.h", "not-utf8"), ("deps/calc", "submodule"),
               ("rs/outside.rs", "symlink"), ("rs/generated.rs", "too-large"),
               ("docs/logo.png", "not-source")]  # in no language the audit reads: listed too


def test_scope_names_the_commit_tree_and_repository(prov):
    a = prov["det"]["scope"]["audited"]
    assert a == {"path": f"{prov['repo']}@HEAD~1", "kind": "git revision", "repository": str(prov["repo"]),
                 "rev": "HEAD~1", "commit": prov["commit"], "swhid": f"swh:1:dir:{prov['tree']}",
                 "swhid_covers": "the commit's tree", "commit_swhid": f"swh:1:rev:{prov['commit']}"}


def test_scope_names_the_tarball_and_what_its_index_left_out(prov):
    (c,) = prov["det"]["scope"]["corpora"]
    (s,) = c["sources"]
    assert s["kind"] == "archive" and s["sha256"] == prov["sha256"] and s["version"] == "1.0"
    assert c["excluded"] == ["*/testsuite/*"] and c["files"] == 4 and c["license"] == "MIT"


def test_scope_lists_every_file_not_checked_with_its_reason(prov):
    sc = prov["det"]["scope"]
    assert sorted((r["path"], r["reason"]) for r in sc["not_checked"]) == sorted(NOT_CHECKED)
    latin = next(r for r in sc["not_checked"] if r["path"] == "include/latin1.h")
    assert latin["detail"].startswith("c source: invalid UTF-8")
    # the readable header was read from the commit and compared, not listed
    assert sc["checked"]["compared_not_measured"] == ["include/calc.h"]
    assert sc["checked"]["files_compared"] == 11 and sc["checked"]["files_measured"] == 10


def test_provenance_equals_that_of_a_checkout(prov, tmp_path):
    folder = str(checkout(prov, "HEAD~1"))
    code, doc = scan_json(folder, tmp_path / "c.json", "--corpus", "calc", "--index-dir",
                          str(prov["root"] / "idx"), "-j", "1")
    assert code == 0
    rev, chk = prov["doc"]["provenance"], doc["provenance"]
    assert (rev["verdict"], rev["score"]) == (chk["verdict"], chk["score"]) and rev["verdict"] != "clean"
    assert rev["files"] == chk["files"]
    assert sorted(m["corpus_path"] for f in rev["files"] for m in f["matches"]) == [
        "calc-1.0/lexer.c", "calc-1.0/lexer.c", "calc-1.0/parser.c"]


def test_evidence_comes_from_the_commit(prov):
    spdx = json.loads((prov["out"] / "r.spdx.json").read_text(encoding="utf-8"))
    sums = {f["fileName"][2:]: {c["algorithm"]: c["checksumValue"] for c in f["checksums"]}
            for f in spdx["files"]}
    committed = subprocess.run(["git", "-C", str(prov["repo"]), "show", "HEAD~1:py/parser.py"],
                               check=True, capture_output=True).stdout
    assert sums["py/parser.py"]["SHA256"] == hashlib.sha256(committed).hexdigest()
    (page,) = (prov["out"] / "html").glob("file-parser.py-*.html")  # the committed text
    text = page.read_text(encoding="utf-8")
    assert "Consume the current token if it matches op" in text and "uncommitted" not in text
    header = subprocess.run(["git", "-C", str(prov["repo"]), "show", "HEAD~1:include/calc.h"],
                            check=True, capture_output=True).stdout
    assert sums["include/calc.h"]["SHA1"] == hashlib.sha1(header).hexdigest()


def test_sarif_and_csv_carry_the_revision(prov):
    from test_exports import _validator

    doc = json.loads((prov["out"] / "r.sarif").read_text(encoding="utf-8"))
    assert not list(_validator().iter_errors(doc))
    (det,) = [r for r in doc["runs"][0]["results"] if r["ruleId"] == "provenance/determination"]
    assert det["properties"]["determination"]["scope"]["audited"]["commit"] == prov["commit"]
    (vcs,) = doc["runs"][0]["versionControlProvenance"]
    assert vcs["revisionId"] == prov["commit"] and vcs["mappedTo"] == {"uriBaseId": "SRCROOT"}
    assert vcs["repositoryUri"].startswith("file:///") and vcs["properties"]["tree"] == prov["tree"]
    with open(prov["out"] / "csv" / "not_checked.csv", encoding="utf-8") as fh:
        rows = [line.split(",")[:2] for line in fh.read().splitlines()[1:]]
    assert sorted(tuple(r) for r in rows) == sorted(NOT_CHECKED)


def scrub(text: str, prov) -> str:
    """The run's varying parts as markers; the commit, tree and sha256 only where they are
    the right values (a wrong one stays and the gold comparison fails)."""
    text = scrub_markdown(text, prov["root"], prov["det"])
    for value, marker in ((prov["commit"], "<commit of HEAD~1>"), (prov["tree"], "<its tree>"),
                          (prov["sha256"], "<sha256 of calc-1.0.tar.xz>")):
        assert value in text, marker
        text = text.replace(value, marker)
    return text


def test_markdown_matches_gold(prov):
    actual = scrub((prov["out"] / "r.md").read_text(encoding="utf-8"), prov)
    path = os.path.join(GOLD, "provenance_rev.md")
    if UPDATE:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(actual)
    with open(path, encoding="utf-8") as fh:
        assert actual == fh.read(), f"differs from {path}; see the module docstring to update"


@pytest.mark.browser
def test_provenance_page_shows_the_commit_tarball_exclusions_and_every_file_not_checked(prov, watch):
    watch.open(prov["out"] / "html" / "provenance.html")
    lines = dict(zip(watch.page.locator("table.det-lines th").all_inner_texts(),
                     watch.page.locator("table.det-lines td").all_inner_texts()))
    assert f"commit {prov['commit']}" in lines["audited"]
    assert f"swh:1:dir:{prov['tree']}" in lines["audited"] and "@HEAD~1" in lines["audited"]
    assert f"sha256 {prov['sha256']}" in lines["corpus"]
    assert "excluded */testsuite/*" in lines["corpus"]
    table = watch.page.locator("table.not-checked")
    assert table.is_visible()
    rows = [r.split("\t")[:2] for r in table.locator("tbody tr").all_inner_texts()]
    assert sorted(tuple(r) for r in rows) == sorted(NOT_CHECKED)
    assert not watch.errors and not watch.remote()


def test_terminal_summary_names_the_commit(fx, run_cli):
    code, out, _ = run_cli("scan", f"{fx['repo']}@HEAD~1", "--no-color", "-j", "1", "--no-rules",
                           "--max-file-size", str(MAX_SIZE))
    assert code == 0 and fx["commit"] in out and "rs/lexer.rs" in out


def test_reader_after_the_scan_reads_the_pinned_commit_only(fx, tmp_path):
    from audit.gitsource import RepoRev
    from audit.revscan import pin, reader
    from audit.walk import TooLarge

    repo = one_commit(tmp_path / "odd", {"src/bad\x1bname.rs": "fn odd() {}\n"},
                      "a name with an escape character")
    read = reader(pin(RepoRev(str(repo), "main")), MAX_SIZE)
    assert read("src/bad\\x1bname.rs") == b"fn odd() {}\n"  # the name as reports show it
    with pytest.raises(FileNotFoundError):
        read("src/missing.rs")
    read = reader(pin(RepoRev(str(fx["repo"]), "HEAD~1")), MAX_SIZE)
    assert b"later_addition" not in read("rs/lexer.rs")
    with pytest.raises(FileNotFoundError):
        read("rs/outside.rs")  # a symlink is never read, nor what it points at
    for path in ("deps/calc", "deps/calc/calc.c", "rs/outside.rs/x.rs", "rs/lexer.rs/x", ""):
        with pytest.raises(FileNotFoundError):
            read(path)  # a submodule, through one, through a link or a file, the root
    with pytest.raises(TooLarge):
        read("rs/generated.rs")


def test_a_tree_bomb_is_refused(tmp_path, monkeypatch, run_cli):
    """One subtree named ten times at each of four levels: 10,000 paths from 5 objects."""
    import audit.gitsource

    repo = tmp_path / "bomb"
    git(tmp_path, "init", "-q", "-b", "main", str(repo))
    sha = git(repo, "hash-object", "-w", "--stdin", data=b"fn f() {}\n")
    entries = "".join(f"100644 blob {sha}\tf{i}.rs\n" for i in range(10))
    for _ in range(4):
        sha = git(repo, "mktree", data=entries.encode())
        entries = "".join(f"040000 tree {sha}\td{i}\n" for i in range(10))
    commit = git(repo, "commit-tree", sha, "-m", "bomb")
    monkeypatch.setattr(audit.gitsource, "MAX_TREE_ENTRIES", 1000)
    code, _, err = run_cli("scan", f"{repo}@{commit}", "-q", "-j", "1")
    assert code == EXIT_INPUT and "more than 1,000 entries" in err and "--exclude" in err


def test_a_corrupt_object_is_one_unreadable_file(tmp_path, run_cli):
    repo = one_commit(tmp_path / "corrupt", {"src/a.rs": "fn a() {}\n", "src/b.rs": "fn b() {}\n"},
                      "two files")
    blob = git(repo, "rev-parse", "HEAD:src/b.rs")
    loose = repo / ".git" / "objects" / blob[:2] / blob[2:]
    loose.chmod(0o644)
    loose.write_bytes(b"not a zlib stream")
    code, _, err = run_cli("scan", f"{repo}@main", "-q", "-j", "1", "--json", str(tmp_path / "r.json"))
    doc = json.loads((tmp_path / "r.json").read_text())
    assert code == 0 and "Traceback" not in err
    assert [f["path"] for f in doc["files"]] == ["src/a.rs"]
    assert [(s["path"], s["reason"]) for s in doc["skipped"]] == [("src/b.rs", "unreadable")]


def test_a_missing_tree_is_a_clear_error(tmp_path, run_cli):
    repo = one_commit(tmp_path / "holed", {"src/a.rs": "fn a() {}\n"}, "one folder")
    tree = git(repo, "rev-parse", "HEAD:src")
    (repo / ".git" / "objects" / tree[:2] / tree[2:]).unlink()
    code, _, err = run_cli("scan", f"{repo}@main", "-q", "-j", "1")
    assert code == EXIT_INPUT and f"cannot read the tree of src ({tree})" in err and "git fsck" in err
