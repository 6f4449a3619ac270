"""A corpus index's content digest: equal for equal content, whatever the build's layout.

Two builds of the same sources (one process pool, or Dask workers writing
shards in any order, or a build resumed after a crash) must be comparable
without comparing folders byte by byte, and paths, times and shard boundaries
must not matter. So the digest is taken over the *set* of indexed files:

* per file, SHA-256 over its git blob SHA-1, language and line count, then
  each sketch array in a fixed order (entry first lines, last lines, kinds and
  shape vectors; then per channel, in ``CHANNELS`` order, the LSH band keys and the winnowed
  fingerprint hashes, first and last lines), each cast to a fixed little-endian
  dtype and preceded by its name and length;
* the index digest is SHA-256 over a version tag, the sketch parameters as
  canonical JSON, and the sorted per-file digests, one per line.

A file's label (its path) is not part of it: the same blob at two paths counts
twice, the same blob under another name hashes the same.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np

from audit.provenance.channels import CHANNELS

VERSION = "audit-corpus-digest 1"
_ENTRY = (("start", "<u4"), ("end", "<u4"), ("kind", "u1"), ("shape", "<u2"))
_CHANNEL = (("bands", "<u8"), ("fph", "<u8"), ("fps", "<u4"), ("fpe", "<u4"))


def file_digest(out: dict) -> str:
    """SHA-256 of one sketched file (a build worker's result dict) without its label."""
    h = hashlib.sha256(f"{out['sha1']}\n{out['language']}\n{out['lines']}\n".encode())
    for key, dtype in _ENTRY:
        _update(h, key, out[key], dtype)
    for c in CHANNELS:
        for key, dtype in _CHANNEL:
            _update(h, f"{key}_{c}", out[f"{key}_{c}"], dtype)
    return h.hexdigest()


def index_digest(params: dict, file_digests: list[str | None]) -> str | None:
    """The digest of a set of files; None when any file's digest is unknown (an older shard)."""
    if any(d is None for d in file_digests):
        return None
    h = hashlib.sha256(f"{VERSION}\n{json.dumps(params, sort_keys=True)}\n".encode())
    for d in sorted(file_digests):
        h.update(d.encode() + b"\n")
    return "sha256:" + h.hexdigest()


def _update(h, name: str, arr, dtype: str) -> None:
    a = np.ascontiguousarray(np.asarray(arr), dtype=dtype)
    h.update(f"{name}:{a.shape}\n".encode())
    h.update(a.tobytes())
