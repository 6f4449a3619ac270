"""Build a CorpusIndex: read sources, sketch files in a process pool, write atomically.

Work goes to ``<index>.partial/`` in shards of a few thousand files. An
interrupted build leaves the previous index (if any) untouched; running the
same build again resumes from the finished shards (a build with other sources
or parameters starts over). The merged index is written to a temporary folder
and renamed into place, so readers see the old index or the new one, never a
mix.
"""

from __future__ import annotations

import glob
import json
import multiprocessing
import os
import shutil
import time
from typing import Callable

import numpy as np

from audit.errors import CorpusIndexError, UsageError
from audit.provenance.channels import CHANNELS
from audit.limits import Limits
from audit.provenance.digest import file_digest, index_digest
from audit.provenance.index import (CorpusIndex, check_name, crc_file, is_index, write_arrays,
                                    write_manifest)
from audit.provenance.licence import file_notes, source_identity, write_notes
from audit.provenance.sketch import PARAMS, Params, sketch_parsed
from audit.provenance.lock import locked_by_name
from audit.provenance.sources import SourceStats, iter_members, resolve
from audit.provenance import versions as ver

SHARD_FILES = 3000
BUILD_LIMITS = Limits()  # the per-file limits of a scan's defaults, for every corpus file
SHARD_LAYOUT = 2  # shards also hold per-file document-frequency counts (ndf_<channel>)
Progress = Callable[[int, float, str], None]  # files done, fraction of sources read, label


def sketch_member(member) -> dict:
    """Worker: parse and sketch one corpus file into plain arrays; a file beyond the per-file
    limits a scan applies (audit.limits: nesting, line length, CPU time, memory) is refused
    with its reason instead, so a hostile corpus file cannot stall a build."""
    from audit import limits

    try:
        out, refused = limits.bounded(member.data, BUILD_LIMITS, lambda: _sketch_member(member))
    except RecursionError:
        refused = ("too-deep", "")
    return out if refused is None else {"label": member.label, "failed": True, "reason": refused[0]}


def _sketch_member(member) -> dict:
    from audit.parse import parse
    from audit.walk import SourceFile, git_blob_sha1

    t0 = time.perf_counter()
    src = SourceFile(member.label, member.language, member.data, git_blob_sha1(member.data))
    parsed = parse(src)
    t1 = time.perf_counter()
    sk = sketch_parsed(parsed, PARAMS)
    out = {"label": member.label, "sha1": src.sha1, "language": member.language, "lines": sk.lines,
           "start": sk.entry_start, "end": sk.entry_end, "kind": sk.entry_kind, "names": sk.entry_names,
           "shape": sk.entry_shape, "errors": len(parsed.error_spans), "parse": t1 - t0, **{f"t_{k}": v for k, v in sk.timings.items()},
           "notes": file_notes(member.data)}
    for c in CHANNELS:
        out[f"bands_{c}"] = sk.bands[c]
        order = np.argsort(sk.fp_start[c], kind="stable")  # by first line: an entry's are one run
        out[f"fph_{c}"], out[f"fps_{c}"], out[f"fpe_{c}"] = (sk.fp_hash[c][order], sk.fp_start[c][order],
                                                            sk.fp_end[c][order])
        out[f"dfh_{c}"] = np.unique(sk.fp_hash[c])  # each file counts once towards document frequency
    out["digest"] = file_digest(out)
    return out


@locked_by_name  # a second build of the same name at the same time is refused
def build_index(name: str, specs: list[str], index_dir: str, workers: int = 0,
                progress: Progress | None = None, exclude: tuple[str, ...] = (),
                params: Params = PARAMS, shard_files: int = SHARD_FILES, license: str = "",
                revs: str | None = None, every: int = 1, releases: bool = False,
                cluster: str | None = None) -> CorpusIndex:
    """Index every C, C++, Rust and Python file of the sources as corpus ``name``.

    ``license``: an SPDX expression for the corpus, used for files that declare none.
    ``revs``: index every distinct blob of the revisions ``git rev-list REVS`` names in the
    one source (a git repository), sampling every ``every``-th; ``releases``: the sources
    are releases of one project, each distinct file indexed once (audit.provenance.versions).
    ``cluster``: a Dask scheduler address or ``local[:N]``: shards are built by its workers
    (audit.provenance.cluster) instead of a local process pool."""
    check_name(name)
    resolved = [(os.path.abspath(p), tuple(exclude) + ex) for p, ex in (resolve(s) for s in specs)]
    sources = [p for p, _ in resolved]
    final = os.path.join(index_dir, name)
    partial = final + ".partial"
    if os.path.lexists(final) and not is_index(final):
        raise UsageError(f"{final} exists and is not a corpus index; it is left as it is",
                         "choose another corpus name, or another --index-dir")
    excludes = {p: list(ex) for p, ex in resolved}
    state = {"name": name, "sources": sources, "exclude": excludes, "params": params.as_dict(),
             "versions": {"revs": revs, "every": every, "releases": releases}, "layout": SHARD_LAYOUT}
    _check_versions(resolved, revs, every, releases)
    done = _resume(partial, state)
    started = time.perf_counter()
    stats = SourceStats()
    plan, members = _plan(resolved, revs, every, releases, done, stats)
    if cluster:
        from audit.provenance.cluster import sketch_all as sketch_on_cluster

        shards = sketch_on_cluster(cluster, members, len(done), partial, progress, stats, shard_files)
    else:
        shards = _sketch_all(members, len(done), partial, workers, progress, stats, shard_files)
    index_path = _merge(name, sources, shards, partial, final, params, stats, excludes,
                        time.perf_counter() - started, license, plan)
    return CorpusIndex.load(index_path, params)


def _resume(partial: str, state: dict) -> set[str]:
    """Labels already sketched by an interrupted run of the same build."""
    state_path = os.path.join(partial, "state.json")
    if os.path.lexists(partial) and not os.path.isfile(state_path):
        raise UsageError(f"{partial} exists and is not an interrupted build of this tool; "
                         "it is left as it is", "move it away, or choose another corpus name")
    if os.path.isdir(partial):
        try:
            with open(state_path, encoding="utf-8") as fh:
                same = json.load(fh) == json.loads(json.dumps(state))
        except (OSError, ValueError):
            same = False
        if not same:
            shutil.rmtree(partial)
    os.makedirs(partial, exist_ok=True)
    with open(state_path, "w", encoding="utf-8") as fh:
        json.dump(state, fh)
    done: set[str] = set()
    for lab in glob.glob(os.path.join(partial, "shard-*.labels.json")):
        done.update(_shard_labels(lab))
    return done


def _shard_labels(path: str) -> list[str]:
    """A finished shard's labels; a damaged label list drops its shard, which is redone."""
    try:
        with open(path, encoding="utf-8") as fh:
            labels = json.load(fh)
        if isinstance(labels, list) and all(isinstance(x, str) for x in labels):
            return labels
    except (OSError, ValueError):
        pass
    for part in glob.glob(glob.escape(path[: -len(".labels.json")]) + ".*"):
        os.unlink(part)
    return []


def _check_versions(resolved, revs, every, releases) -> None:
    from audit.gitsource import is_git_repo

    if revs is not None and (len(resolved) != 1 or not is_git_repo(resolved[0][0])):
        raise UsageError("--revs reads the history of one git repository",
                         "give one repository (bare or with a work tree): "
                         "audit corpus build NAME REPO --revs HEAD")
    if revs is not None and releases:
        raise UsageError("--revs and --releases cannot be combined", "use one or the other")
    if every != 1 and revs is None:
        raise UsageError("--every samples the revisions of --revs", "add --revs REVSPEC")
    ver.sample(1, every)  # refuses a non-positive --every


def _plan(resolved, revs, every, releases, done, stats):
    """What the build reads (versions, and per blob the versions holding it) and its members."""
    if revs is not None:
        repo, exclude = resolved[0]
        plan = ver.git_plan(repo, revs, every, exclude, stats)
        return plan, ver.git_members(repo, plan, stats, done)
    if releases:
        plan = ver.release_plan([s for s, _ in resolved])
        return plan, ver.release_members(resolved, plan, stats, done)
    names = [os.path.basename(s.rstrip("/")) for s, _ in resolved]
    return ver.Plan("sources", [ver.Version(n, 0, n) for n in names]), _members(resolved, done, stats)


def _members(resolved, done, stats):
    multi = len(resolved) > 1
    for src, exclude in resolved:
        prefix = os.path.basename(src.rstrip("/")) + "/" if multi else ""
        for m in iter_members(src, exclude, stats, prefix):
            if m.label not in done:
                yield m


def _sketch_all(members, count, partial, workers, progress, stats, shard_files) -> list[str]:
    workers = workers or max(1, len(os.sched_getaffinity(0)))
    buffer: list[dict] = []
    ctx = multiprocessing.get_context("fork")
    pool = ctx.Pool(workers) if workers > 1 else None
    try:
        results = pool.imap(sketch_member, members, chunksize=4) if pool else map(sketch_member, members)
        for out in results:
            count += 1
            if not out.get("failed"):
                buffer.append(out)
            else:
                stats.refused[out.get("reason", "error")] = stats.refused.get(out.get("reason", "error"), 0) + 1
            if progress:
                progress(count, stats.fraction, out["label"])
            if len(buffer) >= shard_files:
                _write_shard(partial, buffer)
                buffer = []
        if buffer:
            _write_shard(partial, buffer)
    finally:
        if pool:
            pool.terminate()
    return finished_shards(partial)


def finished_shards(partial: str) -> list[str]:
    """Shards with their label list, written last: one without it was cut off mid-write."""
    labels = sorted(glob.glob(os.path.join(partial, "shard-*.labels.json")))
    return [p[: -len(".labels.json")] + ".npz" for p in labels]


def _write_shard(partial: str, results: list[dict], name: str | None = None) -> None:
    """One shard: concatenated arrays plus its labels, each renamed into place.

    ``name``: a cluster worker names its shard (see audit.provenance.cluster)."""
    n = len(glob.glob(os.path.join(partial, "shard-*.npz")))
    base = os.path.join(partial, name or f"shard-{n:05d}")
    arrays = {"n_entries": np.array([len(r["start"]) for r in results], dtype=np.int64)}
    for key in ("start", "end", "kind", "shape"):
        arrays[key] = np.concatenate([r[key] for r in results])
    for c in CHANNELS:
        arrays[f"bands_{c}"] = np.concatenate([r[f"bands_{c}"] for r in results])
        for key in ("fph", "fps", "fpe", "dfh"):
            arrays[f"{key}_{c}"] = np.concatenate([r[f"{key}_{c}"] for r in results])
        arrays[f"nfp_{c}"] = np.array([len(r[f"fph_{c}"]) for r in results], dtype=np.int64)
        arrays[f"ndf_{c}"] = np.array([len(r[f"dfh_{c}"]) for r in results], dtype=np.int64)
    meta = [{k: r[k] for k in ("label", "sha1", "language", "lines", "names", "errors", "parse",
                               "t_extract", "t_sketch", "notes", "digest")} for r in results]
    np.savez(base + ".tmp.npz", **arrays)
    with open(base + ".tmp.json", "w", encoding="utf-8") as fh:
        json.dump(meta, fh)
    os.replace(base + ".tmp.json", base + ".json")
    os.replace(base + ".tmp.npz", base + ".npz")
    with open(base + ".tmp.labels", "w", encoding="utf-8") as fh:  # written last: marks the shard done
        json.dump([m["label"] for m in meta], fh)
    os.replace(base + ".tmp.labels", base + ".labels.json")  # whole or absent, never torn


def _merge(name, sources, shards, partial, final, params, stats, exclude, elapsed, license="",
           plan=None) -> str:
    """Concatenate shards into the final arrays, then rename the folder into place."""
    if not shards:
        shutil.rmtree(partial, ignore_errors=True)
        raise CorpusIndexError(f"no C, C++, Rust or Python files in {', '.join(sources)}",
                               "check the source path and the exclude patterns")
    metas = []
    for shard in shards:
        with open(shard[:-4] + ".json", encoding="utf-8") as fh:
            metas.append(json.load(fh))
    files = [m for meta in metas for m in meta]
    tmp = os.path.join(partial, "index.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    plan = plan or ver.Plan("sources", [ver.Version(os.path.basename(s), 0, os.path.basename(s))
                                        for s in sources])
    # Shards stay on disk and each array is read when it is merged, one channel at a time,
    # and written before the next: a build holds one channel of the index, not all of it.
    parts = [_ShardArrays(shard) for shard in shards]
    arrays = _entry_arrays(parts)
    arrays.update(ver.file_arrays(plan, [m["sha1"] for m in files], [m["label"] for m in files]))
    versioned = plan.kind != "sources"
    held = (arrays["file_ver_offset"], arrays["file_ver_runs"]) if versioned else None
    lsh_keep = ver.representatives(parts, arrays["file_doc"][arrays["entry_file"]]) if versioned else None
    sums = write_arrays(tmp, arrays)
    n_fp = {}
    for c in CHANNELS:
        channel = _channel_arrays(parts, c, arrays["entry_file"], len(files), held, lsh_keep)
        n_fp[c] = int(len(channel[f"fp_{c}_hash"]))
        sums.update(write_arrays(tmp, channel))
        del channel
    _write_text(tmp, files)
    table = ver.write_table(tmp, plan)
    sums[table] = crc_file(os.path.join(tmp, table))
    timing = {k: round(sum(m[k] for m in files), 2) for k in ("parse", "t_extract", "t_sketch")}
    counts = {"files": len(files), "entries": int(len(arrays["entry_file"])),
              "lines": int(sum(m["lines"] for m in files)),
              "error_spans": int(sum(m["errors"] for m in files)),
              "fingerprints": n_fp,
              "documents": int(arrays["file_doc"].max(initial=0)) + 1 if files else 0, "versions": len(plan.versions)}
    extra = {"exclude": exclude, "build": {"wall_s": round(elapsed, 2), "cpu_s": timing,
             "skipped": {"language": stats.skipped_language, "large": stats.skipped_large,
                         "excluded": stats.skipped_excluded, "refused": dict(stats.refused)}},
             "license": license, "source_ids": plan.source_ids or [source_identity(s) for s in sources],
             "versions": plan.manifest(), "shards": len(shards),
             "digest": index_digest(params.as_dict(), [m.get("digest") for m in files])}
    notes = write_notes(tmp, {m["label"]: m["notes"] for m in files if m.get("notes")})
    sums[notes] = crc_file(os.path.join(tmp, notes))
    write_manifest(tmp, name, sources, counts, sums, params, extra)
    _swap(tmp, final)
    shutil.rmtree(partial, ignore_errors=True)
    return final


class _ShardArrays:
    """One shard's arrays, each read from disk when asked for: the merge keeps no shard in
    memory, and no file open (a cluster build can leave thousands of shards)."""

    def __init__(self, path: str):
        self.path = path

    def __getitem__(self, key: str) -> np.ndarray:
        with np.load(self.path) as z:
            return z[key]


def _entry_arrays(parts) -> dict[str, np.ndarray]:
    file_ids, offset = [], 0
    for p in parts:
        n = p["n_entries"]
        file_ids.append(np.repeat(np.arange(offset, offset + len(n), dtype=np.uint32), n))
        offset += len(n)
    return {"entry_file": np.concatenate(file_ids),
            "entry_start": np.concatenate([p["start"] for p in parts]).astype(np.uint32),
            "entry_end": np.concatenate([p["end"] for p in parts]).astype(np.uint32),
            "entry_kind": np.concatenate([p["kind"] for p in parts]).astype(np.uint8),
            "entry_shape": np.concatenate([p["shape"] for p in parts]).astype(np.uint16)}


def _channel_arrays(parts, c, entry_file, n_files, held=None, lsh_keep=None) -> dict[str, np.ndarray]:
    """Sorted LSH band keys, fingerprints grouped by file, and document frequencies.

    In a versioned corpus (``held``: per file the runs of versions holding it) a fingerprint's
    document frequency is its largest count in any one version, and only the first of identical
    entries of one path is in the LSH table (``lsh_keep``), so a function kept through many
    versions counts and fills a bucket slot once, not once per version."""
    bands = np.concatenate([p[f"bands_{c}"] for p in parts])
    rows, _ = np.nonzero(bands)
    keys = bands[bands != 0]
    if lsh_keep is not None:
        keys, rows = keys[lsh_keep[rows]], rows[lsh_keep[rows]]
    order = np.argsort(keys, kind="stable")
    fph = np.concatenate([p[f"fph_{c}"] for p in parts])
    nfp = np.concatenate([p[f"nfp_{c}"] for p in parts])
    offset = np.zeros(n_files + 1, dtype=np.uint64)
    np.cumsum(nfp, out=offset[1:])
    dfh = np.concatenate([p[f"dfh_{c}"] for p in parts])
    if held is not None:
        ndf = np.concatenate([p[f"ndf_{c}"] for p in parts])
        df_hash, df_count = ver.peak_document_frequency(dfh, ndf, *held)
    else:
        df_hash, df_count = np.unique(dfh, return_counts=True)
    return {
        f"lsh_{c}_key": keys[order], f"lsh_{c}_entry": rows[order].astype(np.uint32),
        f"fp_{c}_hash": fph, f"fp_{c}_offset": offset,
        f"fp_{c}_start": np.concatenate([p[f"fps_{c}"] for p in parts]).astype(np.uint32),
        f"fp_{c}_end": np.concatenate([p[f"fpe_{c}"] for p in parts]).astype(np.uint32),
        f"df_{c}_hash": df_hash, f"df_{c}_count": df_count.astype(np.uint32),
    }


def _write_text(tmp: str, files: list[dict]) -> None:
    with open(os.path.join(tmp, "files.tsv"), "w", encoding="utf-8") as fh:
        for m in files:
            label = m["label"].replace("\t", " ").replace("\n", " ")
            fh.write(f"{label}\t{m['sha1']}\t{m['language']}\t{m['lines']}\n")
    with open(os.path.join(tmp, "entry_names.txt"), "w", encoding="utf-8") as fh:
        for m in files:
            for n in m["names"]:
                fh.write(n.replace("\n", " ") + "\n")


def _swap(tmp: str, final: str) -> None:
    """Put the new index in place with renames; a crash leaves the old or the new one."""
    old = final + ".old"
    shutil.rmtree(old, ignore_errors=True)
    if os.path.exists(final):
        os.rename(final, old)
    os.rename(tmp, final)
    shutil.rmtree(old, ignore_errors=True)
