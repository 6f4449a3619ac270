"""Walking: what is found, what is skipped and why; bad files never stop a run."""

import os

import pytest

from audit.config import ScanConfig
from audit.errors import InputError
from audit.pipeline import Job, scan
from audit.walk import discover, git_blob_sha1


def write(root, rel, data):
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


@pytest.fixture
def tree(tmp_path):
    write(tmp_path, "src/main.rs", "fn main() {}\n")
    write(tmp_path, "src/lib.rs", "pub fn f(x: i32) -> i32 { x }\n")
    write(tmp_path, "tools/gen.py", "def gen():\n    return 1\n")
    write(tmp_path, "target/debug/build.rs", "fn built() {}\n")
    write(tmp_path, "node_modules/x/a.py", "def x(): pass\n")
    write(tmp_path, ".venv/lib/site.py", "def s(): pass\n")
    write(tmp_path, "env2/pyvenv.cfg", "home = /usr\n")
    write(tmp_path, "env2/lib/mod.py", "def m(): pass\n")
    write(tmp_path, "generated/out.rs", "fn gen() {}\n")
    write(tmp_path, "generated/keep.rs", "fn keep() {}\n")
    write(tmp_path, ".gitignore", "generated/*\n!generated/keep.rs\n*.tmp.py\n")
    write(tmp_path, "scratch.tmp.py", "x = 1\n")
    write(tmp_path, "c/helper.c", "int main(void) { return 0; }\n")
    write(tmp_path, "README.md", "# readme\n")
    return tmp_path


def paths(config):
    return sorted(c.path for c in discover(config).candidates)


def test_default_skips_and_gitignore(tree):
    found = paths(ScanConfig(paths=(str(tree),)))
    assert found == ["generated/keep.rs", "src/lib.rs", "src/main.rs", "tools/gen.py"]


def test_other_languages_are_counted_not_measured(tree):
    skipped = discover(ScanConfig(paths=(str(tree),))).skipped
    assert [(s.path, s.reason) for s in skipped] == [("c/helper.c", "language-not-audited")]


def test_no_gitignore_and_globs(tree):
    found = paths(ScanConfig(paths=(str(tree),), use_gitignore=False, exclude=("tools/",)))
    assert "generated/out.rs" in found and "tools/gen.py" not in found
    assert paths(ScanConfig(paths=(str(tree),), include=("src/*.rs",))) == ["src/lib.rs", "src/main.rs"]


def test_language_selection(tree):
    assert paths(ScanConfig(paths=(str(tree),), languages=("python",))) == ["tools/gen.py"]


def test_explicit_file_argument(tree):
    assert paths(ScanConfig(paths=(str(tree / "src" / "lib.rs"),))) == ["lib.rs"]


BAD_FILES = [
    ("binary", "bin.rs", b"fn a() {}\x00\x01\x02"),
    ("not-utf8", "latin.py", "x = 'caf\xe9'\n".encode("latin-1")),
    ("too-large", "big.rs", b"// " + b"x" * 5000 + b"\n"),
]


@pytest.mark.parametrize("reason,name,data", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_files_are_skipped_with_a_reason(tmp_path, reason, name, data):
    write(tmp_path, name, data)
    write(tmp_path, "good.rs", "fn good() {}\n")
    result, _ = scan(ScanConfig(paths=(str(tmp_path),), max_file_size=4096, jobs=1))
    assert [f.path for f in result.files] == ["good.rs"]
    assert [(s.path, s.reason) for s in result.skipped] == [(name, reason)]
    assert result.totals.skipped == 1


def test_symlink_loops_and_dangling_links(tmp_path):
    write(tmp_path, "a/real.rs", "fn real() {}\n")
    os.symlink(str(tmp_path / "a"), str(tmp_path / "a" / "again"))  # folder loop
    os.symlink("self.rs", str(tmp_path / "self.rs"))  # a link to itself
    os.symlink("missing.rs", str(tmp_path / "dangling.rs"))
    result, _ = scan(ScanConfig(paths=(str(tmp_path),), jobs=1))
    assert [f.path for f in result.files] == ["a/real.rs"]
    reasons = {s.path: s.reason for s in result.skipped}
    assert reasons == {"a/again": "symlink-loop", "self.rs": "symlink-loop", "dangling.rs": "unreadable"}


def test_file_vanishing_between_walk_and_read(tmp_path):
    write(tmp_path, "a.rs", "fn a() {}\n")
    gone = write(tmp_path, "b.rs", "fn b() {}\n")
    config = ScanConfig(paths=(str(tmp_path),), jobs=1)
    from audit.pipeline import run_files

    cands = list(discover(config).candidates)
    gone.unlink()
    outs = [o for o, _ in run_files(cands, Job(1 << 20), 1)]
    assert {getattr(o, "reason", "ok") for o in outs} == {"ok", "unreadable"}


def test_errors_for_missing_and_empty(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        discover(ScanConfig(paths=(str(tmp_path / "nope"),)))
    with pytest.raises(InputError, match="no rust or python source files"):
        scan(ScanConfig(paths=(str(tmp_path),)))


def test_blob_sha_matches_git():
    assert git_blob_sha1(b"hello\n") == "ce013625030ba8dba906f756967f9e9ca394464a"


def test_pool_and_serial_agree(tree):
    for i in range(12):
        write(tree, f"src/gen{i}.rs", f"fn g{i}(x: i32) -> i32 {{ if x > {i} {{ 1 }} else {{ 0 }} }}\n")
    serial, _ = scan(ScanConfig(paths=(str(tree),), jobs=1))
    pooled, _ = scan(ScanConfig(paths=(str(tree),), jobs=2))
    assert serial.files == pooled.files


def test_workers_start_during_discovery_and_give_the_serial_results(tree, monkeypatch):
    """With enough files for a pool, the workers are started (and compile the rules'
    queries) and given their first files while discovery goes on; every file is
    measured once, and findings and metrics match the in-process run."""
    import audit.pipeline as pipeline
    from audit.workers import DEPTH

    for i in range(12):
        write(tree, f"src/gen{i}.rs", f"fn g{i}(x: Option<i32>) -> i32 {{ x.unwrap() + {i} }}\n")
    started, discovering, pools, in_flight = [], [], [], []
    real_start, real_discover = pipeline.start_pool, pipeline.discover

    def start_pool(job, workers, languages, *analyse):
        started.append((bool(discovering), sorted(languages)))  # (during discovery?, languages)
        pools.append(real_start(job, workers, languages, *analyse))
        return pools[-1]

    def discover(config, on_found=None):
        discovering.append(1)
        try:
            return real_discover(config, on_found)
        finally:
            discovering.clear()
            in_flight.extend(len(w.inflight) for p in pools for w in p.workers)

    monkeypatch.setattr(pipeline, "start_pool", start_pool)
    monkeypatch.setattr(pipeline, "discover", discover)
    job = Job(1 << 20, passes=("rules",), options={"rules": {}})
    serial, _ = scan(ScanConfig(paths=(str(tree),), jobs=1), job)
    assert started == []  # one worker: measured in-process
    pooled, _ = scan(ScanConfig(paths=(str(tree),), jobs=2), job)
    assert started == [(True, ["rust"])]
    assert in_flight == [DEPTH, DEPTH]  # sent before discovery ended
    assert serial.files == pooled.files
    assert sum(1 for f in pooled.findings if f.rule == "unwrap-used") == 12


def test_a_failure_during_discovery_stops_the_started_workers(tree, monkeypatch):
    import audit.pipeline as pipeline

    for i in range(12):
        write(tree, f"src/gen{i}.rs", f"fn g{i}() {{}}\n")
    pools, real_start, real_discover = [], pipeline.start_pool, pipeline.discover

    def discover(config, on_found=None):
        real_discover(config, on_found)  # the workers start on the way
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "start_pool", lambda *a: pools.append(real_start(*a)) or pools[-1])
    monkeypatch.setattr(pipeline, "discover", discover)
    with pytest.raises(KeyboardInterrupt):
        scan(ScanConfig(paths=(str(tree),), jobs=2))
    assert len(pools) == 1 and pools[0].terminated
    assert not any(w.process.is_alive() for w in pools[0].workers)


def test_read_regular_reads_the_whole_file_up_to_the_limit(tmp_path):
    from audit.walk import TooLarge, read_regular

    exact, over, empty = tmp_path / "exact.rs", tmp_path / "over.rs", tmp_path / "empty.rs"
    exact.write_bytes(b"x" * 4096)
    over.write_bytes(b"x" * 4097)
    empty.write_bytes(b"")
    assert read_regular(str(exact), 4096) == b"x" * 4096
    assert read_regular(str(empty), 4096) == b""
    with pytest.raises(TooLarge):
        read_regular(str(over), 4096)
