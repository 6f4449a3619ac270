"""Versioned corpora: every distinct blob of a git history, or of several releases, once.

A port follows its original as it was when the port was made, so a corpus can
hold many versions of one project. Each distinct file content (git blob SHA-1)
is indexed once and labelled ``PATH@VERSION`` after the first version that
holds it; the index records every version that holds it (as runs of version
numbers, oldest first). All the blobs of one path form one *document*, so a
function kept unchanged through 150 revisions counts once towards document
frequency, as it would in an index of one revision (a fingerprint's document frequency
is its count in the version where it is most widespread).

Histories are read through dulwich (audit.gitsource), never checked out;
releases (folders or archives, e.g. gcc-11 and gcc-12 source tarballs) are
streamed in place like any corpus source.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Iterator

import numpy as np

from audit.errors import UsageError
from audit.lang import language_for
from audit.walk import TooLarge
from audit.provenance.sources import (MAX_CORPUS_FILE, TAR_SUFFIXES, Member, SourceStats,
                                      _SKIP_DIRS, iter_members)

ARCHIVE_SUFFIXES = TAR_SUFFIXES + (".zip",)


@dataclass(frozen=True)
class Version:
    """One version of the corpus: a commit (id, author time, subject) or a release."""

    id: str
    time: int
    subject: str

    def to_dict(self, kind: str) -> dict:
        if kind == "git":
            date = datetime.fromtimestamp(self.time, timezone.utc).isoformat(timespec="seconds")
            return {"commit": self.id, "date": date, "subject": self.subject}
        return {"version": self.id, "source": self.subject}


@dataclass
class Plan:
    """What a versioned build reads: its versions, and per blob the versions that hold it."""

    kind: str  # "git", "releases", or "sources" for a plain build
    versions: list[Version]
    held: dict[str, list[int]] = field(default_factory=dict)  # blob sha1 -> version numbers
    path: dict[str, str] = field(default_factory=dict)  # blob sha1 -> path (its document)
    occurrences: int = 0  # files seen over all versions, before blobs are deduplicated
    meta: dict = field(default_factory=dict)  # revspec, every, head, repo: echoed in the manifest
    source_ids: list[dict] | None = None  # how to cite the sources again, when known here

    def manifest(self) -> dict:
        return {"kind": self.kind, "count": len(self.versions), "blobs": len(self.held),
                "occurrences": self.occurrences, **self.meta}


def sample(n: int, every: int) -> list[int]:
    """Every ``every``-th of n revisions (oldest first), always keeping the first and last."""
    if every < 1:
        raise UsageError(f"--every {every} is not a positive number", "use --every 1 (every revision) or more")
    keep = list(range(0, n, every))
    if n and keep[-1] != n - 1:
        keep.append(n - 1)
    return keep


def version_name(source: str) -> str:
    """A release's name: its folder or archive name without the archive suffix."""
    base = os.path.basename(source.rstrip("/"))
    for suf in ARCHIVE_SUFFIXES:
        if base.endswith(suf):
            return base[:-len(suf)]
    return base


class _Labels:
    """Unique ``PATH@VERSION`` labels (a resumed build finds its files by label)."""

    def __init__(self):
        self.used: set[str] = set()

    def make(self, path: str, version: str) -> str:
        label, n = f"{path}@{version}", 1
        while label in self.used:
            n += 1
            label = f"{path}@{version}#{n}"
        self.used.add(label)
        return label


def _excluded(path: str, exclude: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatch(path, p) or fnmatch.fnmatch("/" + path, p) for p in exclude)


# -- git histories --------------------------------------------------------------

def git_plan(repo: str, revspec: str, every: int, exclude: tuple[str, ...], stats: SourceStats) -> Plan:
    """The sampled revisions of ``git rev-list REVSPEC`` and the code blobs each holds."""
    from audit.gitsource import GitSource

    with GitSource(repo) as src:
        commits = src.commits(revspec)
        if not commits:
            raise UsageError(f"--revs {revspec} names no revision in {repo}",
                             "give a range with commits in it, e.g. HEAD (the whole history) or A..B")
        picked = [commits[i] for i in sample(len(commits), every)]
        head = src.resolve("HEAD")
        plan = Plan("git", [Version(c.sha, c.time, c.subject) for c in picked],
                    meta={"repo": os.path.abspath(repo), "revspec": revspec, "every": every,
                          "head": head, "revisions_in_range": len(commits)})
        # cited by commit and tree (a tree id is its swh:1:dir: SWHID), bare repositories too
        plan.source_ids = [{"path": os.path.abspath(repo), "kind": "git", "version": head[:12],
                            "commit": head, "repository": os.path.abspath(repo),
                            "tree_swhid": f"swh:1:dir:{src.commit_info(head).tree}"}]
        skipped: dict[str, str] = {}
        for k, c in enumerate(picked):
            for path, blob in src.files(c.sha, _tree_keep):
                if blob in skipped or (blob not in plan.held and _skip(path, exclude, blob, skipped)):
                    continue
                plan.occurrences += 1
                held = plan.held.setdefault(blob, [])
                if not held or held[-1] != k:  # the same content at two paths of one revision
                    held.append(k)
                plan.path.setdefault(blob, path)
    stats.skipped_language += sum(1 for r in skipped.values() if r == "language")
    stats.skipped_excluded += sum(1 for r in skipped.values() if r == "excluded")
    return plan


def _skip(path: str, exclude: tuple[str, ...], blob: str, skipped: dict[str, str]) -> bool:
    """Whether a blob, first seen at ``path``, is left out (recorded once, by reason)."""
    if language_for(path) is None:
        skipped[blob] = "language"
    elif _excluded(path, exclude):
        skipped[blob] = "excluded"
    return blob in skipped


def _tree_keep(path: str) -> bool:
    """Folders the corpus walker skips are skipped here too; every file is listed."""
    if path.endswith("/"):
        return path.rstrip("/").rsplit("/", 1)[-1] not in _SKIP_DIRS
    return True


def git_members(repo: str, plan: Plan, stats: SourceStats, done: set[str]) -> Iterator[Member]:
    """Each distinct code blob once, in order of first appearance, labelled PATH@COMMIT."""
    from audit.gitsource import GitSource

    labels = _Labels()
    order = sorted(plan.held, key=lambda b: (plan.held[b][0], plan.path[b]))
    with GitSource(repo) as src:
        for i, blob in enumerate(order):
            stats.fraction = i / len(order)
            stats.seen += 1
            path = plan.path[blob]
            label = labels.make(path, plan.versions[plan.held[blob][0]].id[:12])
            if label in done:
                continue
            try:
                data = src.read_blob(blob, MAX_CORPUS_FILE)
            except TooLarge:  # refused from its header, before it is inflated
                stats.skipped_large += 1
                continue
            stats.indexed += 1
            yield Member(label, data, language_for(path).name)


# -- releases (folders or archives) ---------------------------------------------

def release_plan(sources: list[str]) -> Plan:
    """Releases in the order given (oldest first, by convention); filled while reading."""
    names = [version_name(s) for s in sources]
    if len(set(names)) != len(names):
        raise UsageError(f"two releases have the same name: {', '.join(names)}",
                         "give each release a distinct folder or archive name")
    return Plan("releases", [Version(n, 0, os.path.basename(s.rstrip("/"))) for n, s in zip(names, sources)])


def release_members(resolved: list[tuple[str, tuple[str, ...]]], plan: Plan, stats: SourceStats,
                    done: set[str]) -> Iterator[Member]:
    """Every distinct file of the releases once, labelled PATH@RELEASE (archives' top folder dropped)."""
    from audit.walk import git_blob_sha1

    labels = _Labels()
    for k, (src, exclude) in enumerate(resolved):
        archive = not os.path.isdir(src)
        for m in iter_members(src, exclude, stats):
            path = m.label.split("/", 1)[1] if archive and "/" in m.label else m.label
            sha1 = git_blob_sha1(m.data)
            plan.occurrences += 1
            held = plan.held.setdefault(sha1, [])
            if held and held[-1] == k:
                continue  # the same content twice in one release
            held.append(k)
            if len(held) == 1:
                plan.path[sha1] = path
                label = labels.make(path, plan.versions[k].id)
                if label not in done:
                    yield Member(label, m.data, m.language)


# -- arrays for the index ---------------------------------------------------------

def runs(numbers: list[int]) -> list[tuple[int, int]]:
    """Ascending version numbers as runs of consecutive numbers: [1,2,3,7] -> [(1,3),(7,7)]."""
    out: list[list[int]] = []
    for n in numbers:
        if out and n == out[-1][1] + 1:
            out[-1][1] = n
        else:
            out.append([n, n])
    return [(a, b) for a, b in out]


def file_arrays(plan: Plan, sha1s: list[str], labels: list[str]) -> dict[str, np.ndarray]:
    """Per indexed file: its document (path) id and the runs of versions that hold it."""
    if plan.kind == "sources":  # a plain build: each file is its own document
        return _plain_arrays(plan, labels)
    docs: dict[str, int] = {}
    doc = [docs.setdefault(plan.path[s], len(docs)) for s in sha1s]
    all_runs = [runs(plan.held[s]) for s in sha1s]
    return _pack(doc, all_runs)


def _plain_arrays(plan: Plan, labels: list[str]) -> dict[str, np.ndarray]:
    prefixes = [v.subject + "/" for v in plan.versions]
    held = []
    for label in labels:
        k = next((i for i, p in enumerate(prefixes) if label.startswith(p)), 0)
        held.append([(k, k)])
    return _pack(list(range(len(labels))), held)


def _pack(doc: list[int], all_runs: list[list[tuple[int, int]]]) -> dict[str, np.ndarray]:
    offset = np.zeros(len(all_runs) + 1, dtype=np.uint64)
    np.cumsum([len(r) for r in all_runs], out=offset[1:])
    flat = [pair for r in all_runs for pair in r]
    return {"file_doc": np.array(doc, dtype=np.uint32),
            "file_ver_offset": offset,
            "file_ver_runs": np.array(flat, dtype=np.uint32).reshape(-1, 2)}


def peak_document_frequency(dfh: np.ndarray, ndf: np.ndarray, offset: np.ndarray,
                            runs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each fingerprint's document frequency in the version where it is most widespread.

    ``dfh``: per file its distinct fingerprints (``ndf`` of them), ``offset``/``runs``: per file
    the runs of versions holding it. A path holds one blob per version, so counting the blobs
    that hold a fingerprint at one version counts paths: a function kept through 150 versions
    counts once, and code that moved between files over time is not counted in both (as a
    union over versions would).
    """
    file_of = np.repeat(np.arange(len(ndf)), ndf)
    reps = np.diff(offset.astype(np.int64))[file_of]
    h = np.repeat(dfh, reps)
    k = np.arange(len(h)) - np.repeat(np.cumsum(reps) - reps, reps)
    r = np.asarray(runs, dtype=np.int64)[np.repeat(offset[:-1].astype(np.int64)[file_of], reps) + k]
    # +1 where a run starts, -1 after it ends; at one version the ends go first
    hashes = np.concatenate([h, h])
    at = np.concatenate([r[:, 0], r[:, 1] + 1])
    step = np.concatenate([np.ones(len(h), np.int64), -np.ones(len(h), np.int64)])
    order = np.lexsort((step, at, hashes))
    hashes, level = hashes[order], np.cumsum(step[order])
    if len(hashes) == 0:
        return hashes, np.zeros(0, dtype=np.uint32)
    starts = np.concatenate(([0], np.nonzero(hashes[1:] != hashes[:-1])[0] + 1))
    before = np.concatenate(([0], level))[starts]
    level = level - np.repeat(before, np.diff(np.append(starts, len(hashes))))
    return hashes[starts], np.maximum.reduceat(level, starts).astype(np.uint32)


_MIX = np.uint64(0x9E3779B97F4A7C15)


def representatives(parts: list[dict], entry_doc: np.ndarray) -> np.ndarray:
    """True for the first entry of each group of identical entries (same document, same band
    keys on every channel): the copies a history repeats stay out of the LSH table."""
    from audit.provenance.channels import CHANNELS

    h = entry_doc.astype(np.uint64)
    with np.errstate(over="ignore"):
        for c in CHANNELS:
            bands = np.concatenate([p[f"bands_{c}"] for p in parts])
            for j in range(bands.shape[1]):
                h = (h * _MIX) ^ bands[:, j]
    keep = np.zeros(len(h), dtype=bool)
    keep[np.unique(h, return_index=True)[1]] = True
    return keep


TABLE = "versions.tsv"


def write_table(folder: str, plan: Plan) -> str:
    """The versions table: one line per version, oldest first (id, time, subject)."""
    with open(os.path.join(folder, TABLE), "w", encoding="utf-8") as fh:
        for v in plan.versions:
            subject = v.subject.replace("\t", " ").replace("\n", " ")
            fh.write(f"{v.id}\t{v.time}\t{subject}\n")
    return TABLE


def read_table(folder: str) -> list[Version]:
    out = []
    with open(os.path.join(folder, TABLE), encoding="utf-8") as fh:
        for line in fh:
            vid, t, subject = line.rstrip("\n").split("\t", 2)
            out.append(Version(vid, int(t), subject))
    return out


def file_runs(ix, f: int) -> np.ndarray:
    """The runs (first, last version) that hold file ``f`` of a loaded index."""
    off = ix.a["file_ver_offset"]
    return np.asarray(ix.a["file_ver_runs"][int(off[f]):int(off[f + 1])], dtype=np.int64).reshape(-1, 2)


def best_versions(ix, weights: dict[int, float]) -> dict | None:
    """The versions that hold the largest weight of matched corpus files (file id -> weight,
    e.g. audited lines covered): where a port most likely started. The first run of versions
    reaching the maximum, and the share of the weight they hold."""
    total = sum(weights.values())
    if ix.versioned is None or total <= 0:
        return None
    acc = np.zeros(len(ix.versions) + 1)
    for f, w in weights.items():
        for a, b in file_runs(ix, f).tolist():
            acc[a] += w
            acc[b + 1] -= w
    held = np.cumsum(acc)[:-1]
    first = int(np.argmax(held))
    last = first
    while last + 1 < len(held) and np.isclose(held[last + 1], held[first]):
        last += 1
    kind = ix.versioned
    return {"first": ix.versions[first].to_dict(kind), "last": ix.versions[last].to_dict(kind),
            "count": last - first + 1, "share": round(float(held[first] / total), 4)}
