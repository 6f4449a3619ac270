"""Corpus builds and matching on a Dask LocalCluster: same index digest and verdicts as local runs."""

from __future__ import annotations

import json
import os
import shutil
import signal

import pytest

from audit.cli import main
from audit.errors import UsageError
from audit.provenance import cluster
from audit.provenance.build import build_index
from audit.provenance.index import CorpusIndex

distributed = pytest.importorskip("distributed")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIX = os.path.join(REPO, "fixtures")
SOURCES = [os.path.join(FIX, "refcc"), os.path.join(FIX, "provenance"), os.path.join(FIX, "clones")]
PORTS = [os.path.join(FIX, "provenance", d) for d in ("rust_port", "python_port", "independent",
                                                        "interface_only")]


@pytest.fixture(scope="module")
def dask_cluster():
    """Two single-threaded worker processes, as `dask worker --nworkers 2 --nthreads 1` starts."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as lc, distributed.Client(lc) as client:
        yield lc.scheduler_address, client


@pytest.fixture(scope="module")
def local_index(tmp_path_factory):
    idx = str(tmp_path_factory.mktemp("local"))
    return build_index("fixtures", SOURCES, idx, workers=1)


def _digest(ix: CorpusIndex) -> str:
    return ix.manifest["digest"]


def test_cluster_build_has_the_digest_of_the_local_build(dask_cluster, local_index, tmp_path):
    address, _ = dask_cluster
    ix = build_index("fixtures", SOURCES, str(tmp_path), shard_files=4, cluster=address)
    assert _digest(ix).startswith("sha256:") and _digest(ix) == _digest(local_index)
    assert ix.manifest["shards"] == -(-ix.n_files // 4) > 1
    assert ix.n_files == local_index.n_files > 30
    assert sorted((f.label, f.sha1) for f in ix.files) == sorted((f.label, f.sha1) for f in local_index.files)


def test_digest_ignores_paths_and_shards_but_not_content(local_index, tmp_path):
    moved = tmp_path / "elsewhere"
    for src in SOURCES:  # same files under other folder names: labels differ, content does not
        shutil.copytree(src, moved / ("copy-of-" + os.path.basename(src)))
    same = build_index("moved", sorted(str(p) for p in moved.iterdir()), str(tmp_path), workers=2,
                       shard_files=7)
    assert same.files[0].label.startswith("copy-of-")
    assert _digest(same) == _digest(local_index)
    with open(moved / "copy-of-refcc" / "errors.py", "a", encoding="utf-8") as fh:
        fh.write("\nEXTRA = 1\n")
    changed = build_index("moved", sorted(str(p) for p in moved.iterdir()), str(tmp_path), workers=1)
    assert _digest(changed) != _digest(local_index)


class _Stop(Exception):
    pass


def test_interrupted_cluster_build_resumes_from_its_shards(dask_cluster, local_index, tmp_path):
    address, _ = dask_cluster
    seen = []

    def stop_after_two_shards(done, fraction, label):
        seen.append(done)
        if len(seen) == 2:
            raise _Stop()

    with pytest.raises(_Stop):
        build_index("fixtures", SOURCES, str(tmp_path), shard_files=4, cluster=address,
                    progress=stop_after_two_shards)
    partial = tmp_path / "fixtures.partial"
    kept = {p.name: p.stat().st_mtime_ns for p in partial.glob("shard-*.npz")}
    assert len(kept) >= 2
    ix = build_index("fixtures", SOURCES, str(tmp_path), shard_files=4, cluster=address)
    assert _digest(ix) == _digest(local_index)
    assert ix.manifest["shards"] >= len(kept)


def test_a_worker_killed_during_the_build_costs_a_shard_not_the_build(dask_cluster, local_index, tmp_path):
    address, client = dask_cluster
    killed = []

    def kill_a_busy_worker(done, fraction, label):
        if killed:
            return
        busy = {w: keys for w, keys in client.processing().items() if keys}
        pids = client.run(os.getpid)
        victim = sorted(busy)[0]
        killed.append((victim, len(busy[victim])))
        os.kill(pids[victim], signal.SIGKILL)  # its nanny starts a fresh worker

    ix = build_index("fixtures", SOURCES, str(tmp_path), shard_files=1, cluster=address,
                     progress=kill_a_busy_worker)
    assert killed and killed[0][1] >= 1  # the dead worker held shards in progress
    assert _digest(ix) == _digest(local_index)
    client.wait_for_workers(2, timeout=60)


def test_scan_with_cluster_gives_the_same_verdicts_and_scores(dask_cluster, tmp_path):
    address, _ = dask_cluster
    idx = str(tmp_path)
    assert main(["corpus", "build", "calc", os.path.join(FIX, "provenance", "corpus"),
                 "--index-dir", idx]) == 0
    reports = []
    for extra in ([], ["--cluster", address]):
        out = str(tmp_path / f"scan{len(reports)}.json")
        main(["scan", *PORTS, "--corpus", "calc", "--index-dir", idx, "--json", out, "-q", *extra])
        with open(out, encoding="utf-8") as fh:
            reports.append(json.load(fh)["provenance"])
    local, dist = reports
    assert local["verdict"] == dist["verdict"] and local["score"] == dist["score"]
    assert local["verdict"] != "clean"  # the ports are found, so the comparison means something
    assert [(f["path"], f["verdict"], f["score"]) for f in local["files"]] == \
        [(f["path"], f["verdict"], f["score"]) for f in dist["files"]]
    assert local["files"] == dist["files"]  # evidence and structure records too
    assert local["corpora"] == dist["corpora"]


def test_corpus_build_on_a_local_cluster_from_the_command_line(tmp_path, capsys):
    idx = str(tmp_path)
    assert main(["corpus", "build", "calc", os.path.join(FIX, "provenance", "corpus"),
                 "--index-dir", idx, "--cluster", "local:2"]) == 0
    capsys.readouterr()
    assert main(["corpus", "info", "calc", "--index-dir", idx, "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["shards"] == 1 and info["digest"].startswith("sha256:")
    assert info["counts"]["files"] == 4 and info["params"]["num_perm"] > 0


@pytest.mark.parametrize("address", ["127.0.0.1:8786", "local:x", "cluster", ""])
def test_bad_cluster_addresses_are_usage_errors(address):
    with pytest.raises(UsageError):
        cluster.check_address(address)


def test_a_missing_dask_is_a_usage_error_with_the_extra_to_install(monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "distributed", None)
    with pytest.raises(UsageError) as err, cluster.connect("local:1"):
        pass
    assert "[cluster]" in err.value.hint


def test_an_unreachable_scheduler_is_a_usage_error(tmp_path, monkeypatch):
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", "3s")
    with pytest.raises(UsageError):
        build_index("x", [os.path.join(FIX, "provenance", "corpus")], str(tmp_path),
                    cluster="tcp://127.0.0.1:9")


def test_shards_are_named_after_their_files():
    assert cluster.shard_name(["a.c", "b.c"]) == cluster.shard_name(["a.c", "b.c"])
    assert cluster.shard_name(["a.c", "b.c"]) != cluster.shard_name(["a.c", "c.c"])


TOOLCHAIN = ("gcc-12", "binutils", "glibc", "linux", "newlib")


def test_the_debian_toolchain_resolves_by_name_with_versions():
    from audit.provenance.licence import source_identity
    from audit.provenance.sources import resolve

    from audit.errors import InputError

    try:
        paths = [resolve(n)[0] for n in TOOLCHAIN]
    except InputError as exc:
        pytest.skip(f"{exc.message} (apt-get install gcc-12-source binutils-source glibc-source "
                    "linux-source-6.1 newlib-source)")
    for path in paths:
        assert path.startswith("/usr/src/") and ".tar." in path
        ident = source_identity(path)
        assert ident["version"][0].isdigit() and len(ident["sha256"]) == 64
        assert ident.get("package", "").endswith(("-source", "-source-6.1"))


def test_shard_tasks_are_cut_by_files_and_by_bytes():
    from audit.provenance.sources import Member

    members = [Member(f"f{i}.c", b"x" * size, "c") for i, size in enumerate([5, 5, 5, 30, 5, 5])]
    cut = [[m.label for m in c] for c in cluster._chunks(iter(members), 2, max_bytes=20)]
    assert cut == [["f0.c", "f1.c"], ["f2.c"], ["f3.c"], ["f4.c", "f5.c"]]
