"""CorpusIndex: a directory of compact arrays plus a manifest, and its queries.

Layout (``FORMAT``; every array is a ``.npy`` file with a CRC-32 in the manifest):

* ``manifest.json`` corpus name and sources, tool, normaliser and datasketch
  versions, the sketch parameters (permutation scheme, seed, num_perm, bands,
  shingle and k-gram sizes), counts, and the checksum of every other file.
* ``files.tsv``     one line per file: label, git blob SHA-1 (cite it as
  ``swh:1:cnt:<sha1>``), language, line count.
* ``entry_*.npy``   per entry (unit or window): file id, first and last line, kind;
  ``entry_names.txt`` their qualified names.
* ``lsh_<channel>_key.npy`` / ``_entry.npy``: band keys sorted, with their entry.
* ``fp_<channel>_{hash,start,end}.npy`` winnowed fingerprints grouped by file and
  sorted by first line within it, ``fp_<channel>_offset.npy`` where each file's run
  starts.
* ``df_<channel>_{hash,count}.npy`` in how many documents each fingerprint occurs.
* ``versions.tsv``  the versions indexed, oldest first: a commit (id, author time,
  subject), a release, or for a plain build each source; ``file_ver_offset.npy``
  and ``file_ver_runs.npy`` per file the runs of versions that hold it;
  ``file_doc.npy`` per file its document. In a corpus built from a history or from
  releases (audit.provenance.versions) all blobs of one path are one document;
  otherwise each file is its own.

Arrays are memory-mapped on load, so opening a GCC-sized index is instant.
"""

from __future__ import annotations

import json
import os
import re
import zlib
from dataclasses import dataclass

import numpy as np

from audit import __version__
from audit.errors import CorpusIndexError, UsageError
from audit.provenance.channels import CHANNELS
from audit.provenance.sketch import PARAMS, Params
from audit.provenance.versions import read_table

FORMAT = 3  # 2: versions table, per-file versions and documents; 3: fingerprints by line
MANIFEST = "manifest.json"
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,99}")


def check_name(name: str) -> str:
    """A corpus name is a name, never a path: no separators, no ``..``, not absolute.

    An index lives at ``INDEX_DIR/NAME``; a name that could point elsewhere would
    let a build or a removal replace or delete a folder outside the index folder.
    """
    if not NAME_RE.fullmatch(name or "") or ".." in name or name.endswith((".partial", ".old", ".lock")):
        raise UsageError(f"{name!r} is not a corpus name",
                         "a name is letters, digits, '.', '_', '+' or '-' (no '/', no '..'), "
                         "e.g. `audit corpus build gcc-12` or `audit corpus build mylib /path/to/src`")
    return name


def is_index(path: str) -> bool:
    """Whether a folder holds a corpus index (its manifest)."""
    return os.path.isfile(os.path.join(path, MANIFEST))


def crc_file(path: str) -> str:
    """CRC-32 of a file, streamed (fast enough to check a GB on every load)."""
    crc = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 22):
            crc = zlib.crc32(chunk, crc)
    return f"{crc:08x}"


def rebuild_hint(manifest: dict | None, path: str) -> str:
    name = (manifest or {}).get("name") or os.path.basename(path.rstrip("/"))
    sources = " ".join((manifest or {}).get("sources", [])) or "SOURCE..."
    v = (manifest or {}).get("versions") or {}
    if v.get("kind") == "git":
        sources += f" --revs {v.get('revspec')}" + (f" --every {v['every']}" if v.get("every", 1) != 1 else "")
    elif v.get("kind") == "releases":
        sources += " --releases"
    return f"rebuild it: audit corpus build {name} {sources} --index-dir {os.path.dirname(path.rstrip('/'))}"


@dataclass
class FileRow:
    label: str
    sha1: str
    language: str
    lines: int

    @property
    def swhid(self) -> str:
        return f"swh:1:cnt:{self.sha1}"


class CorpusIndex:
    """A loaded index: read-only arrays and the lookups matching needs."""

    def __init__(self, path: str, manifest: dict, arrays: dict[str, np.ndarray], files: list[FileRow],
                 entry_names: list[str], versions: list | None = None):
        self.path = path
        self.manifest = manifest
        self.a = arrays
        self.files = files
        self.entry_names = entry_names
        self.versions = versions or []
        self._by_label: dict[str, int] | None = None

    @property
    def name(self) -> str:
        return self.manifest["name"]

    @property
    def n_files(self) -> int:
        return len(self.files)

    @property
    def n_docs(self) -> int:
        """Independent documents: in a versioned corpus all versions of one path count once."""
        return int(self.manifest["counts"].get("documents", self.n_files))

    @property
    def versioned(self) -> str | None:
        """"git" or "releases" for a corpus of many versions, else None."""
        kind = (self.manifest.get("versions") or {}).get("kind")
        return kind if kind in ("git", "releases") else None

    def revisions(self, label: str) -> dict | None:
        """The versions that hold a file (first, last, how many of how many), or None."""
        if self.versioned is None:
            return None
        if self._by_label is None:
            self._by_label = {row.label: i for i, row in enumerate(self.files)}
        f = self._by_label.get(label)
        if f is None:
            return None
        off = self.a["file_ver_offset"]
        runs = np.asarray(self.a["file_ver_runs"][int(off[f]):int(off[f + 1])], dtype=np.int64)
        kind = self.versioned
        return {"first": self.versions[int(runs[0, 0])].to_dict(kind),
                "last": self.versions[int(runs[-1, 1])].to_dict(kind),
                "count": int((runs[:, 1] - runs[:, 0] + 1).sum()), "of": len(self.versions)}

    # -- loading -------------------------------------------------------------
    @classmethod
    def load(cls, path: str, params: Params = PARAMS, verify: bool = True) -> "CorpusIndex":
        """Open an index; refuse one that is corrupt, truncated or built with other parameters."""
        manifest = read_manifest(path)
        check_params(manifest, params, path)
        if verify:
            for fname, crc in manifest["checksums"].items():
                full = os.path.join(path, fname)
                if not os.path.isfile(full) or crc_file(full) != crc:
                    raise CorpusIndexError(f"corpus index {path} is corrupt: {fname} is missing or "
                                           "does not match its checksum", rebuild_hint(manifest, path))
        try:
            # plain views of the mappings: nothing is read until used, and indexing them
            # costs what indexing an array costs (a memmap wraps every result)
            arrays = {f[:-4]: np.asarray(np.load(os.path.join(path, f), mmap_mode="r"))
                      for f in manifest["checksums"] if f.endswith(".npy")}
            files = _read_files(os.path.join(path, "files.tsv"))
            with open(os.path.join(path, "entry_names.txt"), encoding="utf-8") as fh:
                names = fh.read().split("\n")[:-1]
            versions = read_table(path)
        except (OSError, ValueError) as exc:
            raise CorpusIndexError(f"corpus index {path} cannot be read: {exc}", rebuild_hint(manifest, path))
        counts = manifest["counts"]
        if (len(files), len(names), len(versions)) != (counts["files"], counts["entries"], counts["versions"]):
            raise CorpusIndexError(f"corpus index {path} is truncated", rebuild_hint(manifest, path))
        return cls(path, manifest, arrays, files, names, versions)

    # -- queries -------------------------------------------------------------
    def buckets(self, channel: str, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Where each band key's bucket starts and ends in the sorted table (an empty key's
        is empty); same shape as ``keys``."""
        skeys = self.a[f"lsh_{channel}_key"]
        lo, hi = np.searchsorted(skeys, keys, "left"), np.searchsorted(skeys, keys, "right")
        hi[keys == 0] = lo[keys == 0]
        return lo, hi

    def shared(self, channel: str, keys: np.ndarray, cap: int, total: np.ndarray | None = None,
               ranges: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(query row, entry, bucket size) for every shared band key; buckets over ``cap`` are
        common shapes, skipped. ``total``: bucket sizes summed over every loaded corpus (same
        shape as ``keys``), whose size is then the one given and tested; ``ranges``: this
        index's :meth:`buckets` of ``keys``, when already looked up."""
        rows, cols = np.nonzero(keys)
        lo, hi = ranges if ranges is not None else self.buckets(channel, keys)
        lo, size = lo[rows, cols], hi[rows, cols] - lo[rows, cols]
        bucket = size if total is None else total[rows, cols]
        keep = (size > 0) & (bucket <= cap)
        rows, lo, size, bucket = rows[keep], lo[keep], size[keep], bucket[keep]
        if len(rows) == 0:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty
        owner, idx = expand_ranges(lo, lo + size)
        sent = self.a[f"lsh_{channel}_entry"]
        return rows[owner], np.asarray(sent[idx], dtype=np.int64), bucket[owner]

    def fingerprints(self, channel: str, entry: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The winnowed fingerprints of one entry (first and last line within it): hashes,
        first and last lines."""
        f = int(self.a["entry_file"][entry])
        off, start = self.a[f"fp_{channel}_offset"], self.a[f"fp_{channel}_start"]
        first, last = int(off[f]), int(off[f + 1])
        run = start[first:last]
        a = first + int(np.searchsorted(run, self.a["entry_start"][entry], "left"))
        b = first + int(np.searchsorted(run, self.a["entry_end"][entry], "right"))
        end = np.asarray(self.a[f"fp_{channel}_end"][a:b])
        sel = end <= int(self.a["entry_end"][entry])
        return (np.asarray(self.a[f"fp_{channel}_hash"][a:b])[sel],
                np.asarray(self.a[f"fp_{channel}_start"][a:b])[sel], end[sel])

    def entry_fingerprints(self, channel: str, entries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The fingerprint hashes of many entries at once: (position in ``entries``, hash)."""
        entries = np.asarray(entries, dtype=np.int64)
        first, last = self._fp_runs(channel, entries)
        owner, pos = expand_ranges(first, last)
        hi = np.asarray(self.a["entry_end"][entries], dtype=np.int64)
        keep = np.asarray(self.a[f"fp_{channel}_end"][pos], dtype=np.int64) <= hi[owner]
        return owner[keep], np.asarray(self.a[f"fp_{channel}_hash"][pos[keep]])

    def _fp_runs(self, channel: str, entries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each entry, the run of its file's fingerprints whose first line lies in the
        entry's lines: a binary search of all entries at once (a file's fingerprints are
        sorted by first line), reading a few values per entry, not whole files."""
        f = np.asarray(self.a["entry_file"][entries], dtype=np.int64)
        off = self.a[f"fp_{channel}_offset"]
        start = self.a[f"fp_{channel}_start"]
        a, b = np.asarray(off[f], dtype=np.int64), np.asarray(off[f + 1], dtype=np.int64)
        lo = np.asarray(self.a["entry_start"][entries], dtype=np.int64)
        hi = np.asarray(self.a["entry_end"][entries], dtype=np.int64)
        return _bisect(start, a, b, lo, False), _bisect(start, a, b, hi, True)

    def df(self, channel: str, hashes: np.ndarray) -> np.ndarray:
        """In how many corpus files each hash occurs (0 when never)."""
        keys, counts = self.a[f"df_{channel}_hash"], self.a[f"df_{channel}_count"]
        if len(keys) == 0:
            return np.zeros(len(hashes), dtype=np.int64)
        pos = np.minimum(np.searchsorted(keys, hashes), len(keys) - 1)
        found = np.asarray(keys[pos]) == hashes
        return np.where(found, np.asarray(counts[pos]), 0).astype(np.int64)

    def entry(self, e: int) -> tuple[FileRow, int, int, str]:
        f = int(self.a["entry_file"][e])
        return (self.files[f], int(self.a["entry_start"][e]), int(self.a["entry_end"][e]),
                self.entry_names[e])

    def info(self) -> dict:
        m = self.manifest
        size = sum(os.path.getsize(os.path.join(self.path, f)) for f in os.listdir(self.path))
        return {"name": m["name"], "path": self.path, "sources": m["sources"], "created": m["created"],
                "counts": m["counts"], "bytes": size, "params": m["params"],
                "tool_version": m["tool_version"], "versions": m.get("versions")}


def read_manifest(path: str) -> dict:
    mpath = os.path.join(path, MANIFEST)
    if not os.path.isdir(path):
        raise CorpusIndexError(f"no corpus index at {path}",
                               "build one: audit corpus build NAME SOURCE... (see `audit corpus list`)")
    try:
        with open(mpath, encoding="utf-8") as fh:
            manifest = json.load(fh)
    except (OSError, ValueError, RecursionError) as exc:
        raise CorpusIndexError(f"corpus index {path} has no readable manifest ({exc})",
                               rebuild_hint(None, path))
    problem = manifest_problem(manifest)
    if problem:
        raise CorpusIndexError(f"corpus index {path} has a damaged manifest: {problem}",
                               rebuild_hint(None, path))
    if manifest.get("format") != FORMAT:
        raise CorpusIndexError(f"corpus index {path} has format {manifest.get('format')}, "
                               f"this audit reads format {FORMAT}", rebuild_hint(manifest, path))
    return manifest


# The manifest keys every reader relies on, and their types (optional ones checked when present).
_REQUIRED = {"format": int, "name": str, "sources": list, "created": str, "tool_version": str,
             "params": dict, "counts": dict, "checksums": dict}
_OPTIONAL = {"versions": (dict, type(None)), "exclude": dict, "build": dict, "license": str,
             "source_ids": list}
_COUNTS = ("files", "entries", "lines")


def manifest_problem(manifest) -> str:
    """What is wrong with a manifest's shape ('' when nothing): valid JSON of the wrong
    types must be refused like a corrupt file, not crash a reader later."""
    if not isinstance(manifest, dict):
        return f"a JSON {type(manifest).__name__}, not an object"
    for key, kind in _REQUIRED.items():
        if not isinstance(manifest.get(key), kind) or isinstance(manifest.get(key), bool):
            return f"{key!r} missing or not a {kind.__name__}"
    for key, kinds in _OPTIONAL.items():
        if key in manifest and not isinstance(manifest[key], kinds):
            return f"{key!r} has the wrong type"
    if not all(isinstance(s, str) for s in manifest["sources"]):
        return "'sources' must be a list of paths"
    counts = manifest["counts"]
    if not all(type(counts.get(k)) is int and counts[k] >= 0 for k in _COUNTS):
        return f"'counts' needs whole numbers for {', '.join(_COUNTS)}"
    for fname, crc in manifest["checksums"].items():
        if not isinstance(crc, str) or fname != os.path.basename(fname) or fname in ("", ".", ".."):
            return f"checksum entry {fname!r} is not a file name with a checksum"
    return ""


def check_params(manifest: dict, params: Params, path: str) -> None:
    """Refuse an index whose sketches cannot be compared with ours."""
    want = json.loads(json.dumps(params.as_dict()))
    have = manifest["params"]
    diff = sorted(k for k in set(want) | set(have) if want.get(k) != have.get(k))
    if diff:
        detail = ", ".join(f"{k}: index {have.get(k)!r} vs audit {want.get(k)!r}" for k in diff)
        raise CorpusIndexError(f"corpus index {path} was built with other parameters ({detail})",
                               rebuild_hint(manifest, path))


def _read_files(path: str) -> list[FileRow]:
    rows = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            label, sha1, lang, lines = line.rstrip("\n").split("\t")
            rows.append(FileRow(label, sha1, lang, int(lines)))
    return rows


def write_arrays(tmp: str, arrays: dict[str, np.ndarray]) -> dict[str, str]:
    """Write arrays as .npy files and return their checksums."""
    sums = {}
    for name, arr in arrays.items():
        fname = f"{name}.npy"
        np.save(os.path.join(tmp, fname), np.ascontiguousarray(arr))
        sums[fname] = crc_file(os.path.join(tmp, fname))
    return sums


def write_manifest(tmp: str, name: str, sources: list[str], counts: dict, sums: dict,
                   params: Params, extra: dict) -> None:
    from datetime import datetime, timezone

    for fname in ("files.tsv", "entry_names.txt"):
        sums[fname] = crc_file(os.path.join(tmp, fname))
    manifest = {
        "format": FORMAT, "name": name, "sources": sources, "tool_version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "params": params.as_dict(), "channels": list(CHANNELS), "counts": counts,
        "hash": {"token": "crc32+1", "kgram": "polynomial 0x100000001b3 + splitmix64",
                 "minhash": "datasketch MinHash.bulk, identity hashfunc over kgram>>32"},
        **extra, "checksums": sums,
    }
    with open(os.path.join(tmp, MANIFEST), "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, indent=1, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())


class BandLookup:
    """One audited file's band keys looked up in every loaded index, once: matching's
    candidates and the structural alignment's candidate files both read these pairs.

    A bucket over ``cap`` entries summed over all loaded corpora is a common shape and
    proposes nothing, as it would in one index of their union."""

    def __init__(self, bands: dict, indexes, cap: int):
        self.bands, self.indexes, self.cap = bands, indexes, cap
        self._totals: dict = {}
        self._pairs: dict = {}

    def pairs(self, n: int, channel: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(audited entry, corpus entry, bucket size) of index ``n`` on ``channel``."""
        got = self._pairs.get((n, channel))
        if got is None:
            total, ranges = self._ranges(channel)
            got = self._pairs[(n, channel)] = self.indexes[n].shared(
                channel, self.bands[channel], self.cap, total, ranges[n])
        return got

    def _ranges(self, channel: str) -> tuple[np.ndarray | None, list]:
        """Every index's buckets of the keys, and their sizes summed (None for one index)."""
        if channel not in self._totals:
            ranges = [ix.buckets(channel, self.bands[channel]) for ix in self.indexes]
            total = sum(hi - lo for lo, hi in ranges) if len(ranges) > 1 else None
            self._totals[channel] = (total, ranges)
        return self._totals[channel]


def _bisect(values, lo: np.ndarray, hi: np.ndarray, x: np.ndarray, right: bool) -> np.ndarray:
    """Vectorised ``searchsorted`` of ``x[i]`` in the sorted run ``values[lo[i]:hi[i]]``
    (left or right side), as positions in ``values``."""
    lo, hi = lo.copy(), hi.copy()
    while True:
        live = lo < hi
        if not live.any():
            return lo
        mid = (lo + hi) // 2
        v = np.asarray(values[np.where(live, mid, 0)], dtype=np.int64)
        go_right = live & ((v <= x) if right else (v < x))
        lo = np.where(go_right, mid + 1, lo)
        hi = np.where(live & ~go_right, mid, hi)


def expand_ranges(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every position of the ranges [lo[i], hi[i]) in order, with the range ``i`` it came from."""
    size = np.maximum(np.asarray(hi, dtype=np.int64) - lo, 0)
    owner = np.repeat(np.arange(len(size), dtype=np.int64), size)
    before = np.cumsum(size) - size
    return owner, np.arange(len(owner), dtype=np.int64) + np.repeat(np.asarray(lo, dtype=np.int64) - before, size)
