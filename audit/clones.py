"""Near-duplicate functions inside the audited tree: candidates, verification and clone groups.

The workers send one UnitPrint per function unit (audit.clone_tokens builds the
normalised token stream, audit.clone_sketch its winnowing fingerprints and
MinHash signature). The project stage (:func:`find_clones`) takes LSH candidate
pairs, verifies each one exactly on the shared fingerprints, and unions
verified pairs into clone groups.

Vocabulary, kept fixed: a *kgram* is k consecutive tokens; a *window* is w
consecutive kgrams; a *fingerprint* is a selected kgram hash with its token
position; a *fragment* is a run of shared fingerprints in the same order on
both sides; a *span* is a range of source lines (1-based, inclusive).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from audit.clone_params import MODES, UNIT_KINDS, CloneParams  # noqa: F401  (re-exported)
# The worker side, re-exported where the pipeline pass, the cache and the tests find it.
from audit.clone_sketch import (UnitPrint, _occurrences, _ranges,  # noqa: F401
                                affine64_permutations, file_pass, kgram_hashes, lsh_bands,
                                minhash_signature, sketch_units, unit_print, winnow)
from audit.disjoint import DisjointSets


# -- verification -------------------------------------------------------------------

@dataclass(frozen=True)
class Fragment:
    """A run of shared fingerprints in the same order on both sides, as two spans."""

    left: tuple[int, int]
    right: tuple[int, int]
    fingerprints: int


@dataclass(frozen=True)
class Pair:
    """A verified clone pair: indices into the unit list and the similarity found."""

    a: int
    b: int
    similarity: float
    shared: int  # distinct shared fingerprint hashes


def _coverage(pos: np.ndarray, k: int) -> int:
    """Tokens covered by the kgrams starting at the sorted positions."""
    if not len(pos):
        return 0
    return int(np.minimum(np.diff(pos), k).sum()) + k


def similarity(a: UnitPrint, b: UnitPrint, k: int) -> tuple[float, int]:
    """Share of both units' tokens covered by shared fingerprints, and the shared count.

    (covered_a + covered_b) / (tokens_a + tokens_b), as Dolos does; identical token
    streams score exactly 1.0.
    """
    if a.digest == b.digest:
        return 1.0, len(np.unique(a.fp_hash))
    in_b = _matched(a, b)
    if not in_b.any():
        return 0.0, 0
    in_a = _matched(b, a)
    covered = _coverage(a.fp_pos[in_b], k) + _coverage(b.fp_pos[in_a], k)
    return min(1.0, covered / (a.tokens + b.tokens)), int(in_b.sum())


def similarities(units: list[UnitPrint], pairs: list[tuple[int, int]], k: int) -> list[tuple[float, int]]:
    """:func:`similarity` of many pairs at once, with whole-array operations.

    Every fingerprint hash of every unit is numbered (one sort); each side's
    fingerprints then read their partner's count of that number from a dense
    table filled with one partner at a time, and coverage is summed per pair.
    Same numbers as :func:`similarity` (tested on CCC's 16,802 candidate pairs).
    """
    if not pairs:
        return []
    left = np.array([i for i, _ in pairs], dtype=np.int64)
    right = np.array([j for _, j in pairs], dtype=np.int64)
    sims, shared = _similarity_arrays(units, left, right, k)
    return list(zip(sims.tolist(), shared.tolist()))


def _similarity_arrays(units: list[UnitPrint], left: np.ndarray, right: np.ndarray,
                       k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per pair (left[n], right[n]): the similarity (float64) and the shared count (int64),
    as :func:`similarity` gives them (the same divisions of the same whole numbers)."""
    if not len(left):
        return np.zeros(0), np.zeros(0, dtype=np.int64)
    # only the units in a pair are flattened (CCC: 2,606 of 3,959, 56% of the fingerprints);
    # renumbered in the same order, so the pairs group and sort as before
    involved = np.unique(np.concatenate([left, right]))
    prints = _FlatPrints([units[i] for i in involved.tolist()])
    mine, theirs = np.searchsorted(involved, left), np.searchsorted(involved, right)
    cover_a, shared = _covered(prints, mine, theirs, k)
    cover_b, _ = _covered(prints, theirs, mine, k)
    tokens = np.array([u.tokens for u in units], dtype=np.int64)
    covered = cover_a.astype(np.int64) + cover_b.astype(np.int64)  # whole numbers, as floats
    sims = np.minimum(1.0, covered / (tokens[left] + tokens[right]))
    sims[shared == 0] = 0.0
    shared = shared.astype(np.int64)
    digests: dict[bytes, int] = {}
    digest = np.array([digests.setdefault(u.digest, len(digests)) for u in units])
    same = np.flatnonzero(digest[left] == digest[right])  # identical streams: exactly 1.0
    sims[same] = 1.0
    shared[same] = [len(units[i].fp_set) for i in left[same].tolist()]
    return sims, shared


class _FlatPrints:
    """Every unit's fingerprints in flat arrays (unit u's at ``fp_off[u]``), with the
    hashes numbered 0..size-1 across all units, and its distinct ones with counts."""

    def __init__(self, units: list[UnitPrint]):
        self.fp_len = np.array([len(u.fp_hash) for u in units], dtype=np.int64)
        self.fp_off = np.cumsum(self.fp_len) - self.fp_len
        distinct, self.fp_id = np.unique(np.concatenate([u.fp_hash for u in units]),
                                         return_inverse=True)
        self.size = len(distinct)
        self.rank = np.concatenate([u.fp_rank for u in units])
        self.pos = np.concatenate([u.fp_pos for u in units]).astype(np.int64)
        set_len = [len(u.fp_set) for u in units]
        self.set_bounds = np.concatenate([[0], np.cumsum(set_len)]).tolist()
        self.set_id = np.searchsorted(distinct, np.concatenate([u.fp_set for u in units]))
        self.set_count = np.concatenate([u.fp_count for u in units])

    def occurrences(self, other: np.ndarray, sizes: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """Per element of ``ids`` (``sizes[p]`` of them for pair p): how often its hash
        occurs in the unit ``other[p]``. Pairs must come grouped by ``other``."""
        table = np.zeros(self.size, dtype=np.int32)
        out = np.empty(len(ids), dtype=np.int32)
        ends = np.concatenate([[0], np.cumsum(sizes)]).tolist()
        runs = np.concatenate([[0], np.flatnonzero(np.diff(other)) + 1, [len(other)]]).tolist()
        for p0, p1 in zip(runs, runs[1:]):
            u = int(other[p0])
            held = self.set_id[self.set_bounds[u]:self.set_bounds[u + 1]]
            table[held] = self.set_count[self.set_bounds[u]:self.set_bounds[u + 1]]
            out[ends[p0]:ends[p1]] = table[ids[ends[p0]:ends[p1]]]
            table[held] = 0
        return out


def _covered(prints: _FlatPrints, side: np.ndarray, other: np.ndarray, k: int):
    """Per pair: tokens of ``side`` covered by fingerprints matched in ``other``, and how
    many of its fingerprints matched (occurrence by occurrence, as :func:`_matched`)."""
    order = np.argsort(other, kind="stable")  # grouped by the unit whose counts are read
    side, other = side[order], other[order]
    sizes = prints.fp_len[side]
    at = _ranges(prints.fp_off[side], sizes)
    ids, ranks, pos = prints.fp_id[at], prints.rank[at], prints.pos[at]
    matched = ranks < prints.occurrences(other, sizes, ids)
    pair = np.repeat(order, sizes)[matched]  # each element's pair, in the caller's numbering
    pos = pos[matched]
    shared = np.bincount(pair, minlength=len(side))
    same = pair[1:] == pair[:-1]
    gaps = np.where(same, np.minimum(np.diff(pos), k), 0)
    covered = np.bincount(pair[1:], weights=gaps, minlength=len(side)) + k * (shared > 0)
    return covered, shared


def _matched(a: UnitPrint, b: UnitPrint) -> np.ndarray:
    """Mask of a's fingerprints matched in b, occurrence by occurrence.

    A hash seen m times in a and n times in b matches its first min(m, n)
    occurrences, so a pattern repeated in one unit cannot cover more of it than
    the other unit repeats it.
    """
    idx = np.searchsorted(b.fp_set, a.fp_hash)
    idx[idx == len(b.fp_set)] = 0
    found = b.fp_set[idx] == a.fp_hash
    return found & (a.fp_rank < b.fp_count[idx])


def fragments(a: UnitPrint, b: UnitPrint, window: int, limit: int = 5) -> list[Fragment]:
    """The longest fragments shared by a and b, in a's order.

    Shared fingerprints are walked in a's order; each is paired with the
    occurrence in b that continues the current fragment (b advances by at most
    a window's worth of kgrams more than a does), else starts a new fragment.
    """
    where_b: dict[int, list[int]] = {}
    for j, h in enumerate(b.fp_hash.tolist()):
        where_b.setdefault(h, []).append(j)
    pos_a, pos_b = a.fp_pos.tolist(), b.fp_pos.tolist()  # plain ints: this loop is hot
    runs: list[list[tuple[int, int]]] = []
    for i, h in enumerate(a.fp_hash.tolist()):
        options = where_b.get(h)
        if not options:
            continue
        j = _continuation(pos_a, pos_b, runs[-1], i, options, window) if runs else None
        if j is None:
            runs.append([(i, options[0])])
        else:
            runs[-1].append((i, j))
    runs.sort(key=len, reverse=True)
    return [_fragment(a, b, run) for run in runs[:limit]]


def _continuation(pos_a: list[int], pos_b: list[int], run, i: int, options: list[int],
                  window: int) -> int | None:
    """The first occurrence in b that continues the run with a's fingerprint i, if any."""
    last_i, last_j = run[-1]
    gap_a = pos_a[i] - pos_a[last_i]
    if gap_a > 4 * window:
        return None
    base = pos_b[last_j]
    for j in options:
        if 0 < pos_b[j] - base <= gap_a + window:
            return j
    return None


def _fragment(a: UnitPrint, b: UnitPrint, run) -> Fragment:
    (i0, j0), (i1, j1) = run[0], run[-1]
    return Fragment((int(a.fp_first[i0]), int(a.fp_last[i1])),
                    (int(b.fp_first[j0]), int(b.fp_last[j1])), len(run))


# -- grouping -----------------------------------------------------------------------

@dataclass
class CloneGroup:
    """Units joined by verified pairs; members sorted by path then line, first = original.

    ``evidence`` (each spanning pair's fragments) is found when first read: the JSON
    and HTML reports read it, the terminal summary and the fix-first list do not
    (CCC: 1,202 pairs, about 0.2 s of the scan's serial end).
    """

    members: list[UnitPrint]
    pairs: list[tuple[int, int, float]]  # spanning pairs, member indices, best first
    window: int = 0  # the winnowing window the fragments are found with
    _evidence: list[list[Fragment]] | None = field(default=None, repr=False, compare=False)

    @property
    def evidence(self) -> list[list[Fragment]]:
        """Per spanning pair, the longest fragments the two members share (see fragments)."""
        if self._evidence is None:
            self._evidence = [fragments(self.members[i], self.members[j], self.window)
                              for i, j, _ in self.pairs]
        return self._evidence

    @property
    def size(self) -> int:
        return len(self.members)

    @property
    def similarity(self) -> float:
        """Mean similarity of the pairs that joined the group."""
        return sum(s for _, _, s in self.pairs) / len(self.pairs)

    @property
    def min_similarity(self) -> float:
        """The weakest joining pair (groups chain: A~B, B~C)."""
        return min(s for _, _, s in self.pairs)

    @property
    def duplicated_sloc(self) -> int:
        """Source lines of every member but the first (nested members counted once)."""
        return sum(m.sloc for m in _outermost(self.members[1:]))


def _outermost(units: list[UnitPrint]) -> list[UnitPrint]:
    """Drop units nested inside another unit of the list (same file, enclosing span)."""
    out: list[UnitPrint] = []
    for u in sorted(units, key=lambda u: (u.path, u.start_line, -u.end_line)):
        last = out[-1] if out else None
        if last is not None and last.path == u.path and u.end_line <= last.end_line:
            continue  # spans come from a tree: overlapping means nested
        out.append(u)
    return out


@dataclass
class CloneReport:
    """Clone groups of one scan, with counts, the duplication share and the parameters."""

    params: CloneParams
    groups: list[CloneGroup]
    units: int  # units sketched (big enough to compare)
    candidates: int  # LSH candidate pairs
    verified: int  # candidates at or above the similarity threshold
    total_sloc: int  # source lines of the whole scan
    elapsed: float = 0.0
    skipped_small: int = 0  # functions and methods left out for size: counted, not hidden

    @property
    def duplicated_sloc(self) -> int:
        """Source lines in group members beyond each group's first, nested units once."""
        return sum(m.sloc for m in _outermost([m for g in self.groups for m in g.members[1:]]))

    @property
    def duplication_share(self) -> float:
        """duplicated_sloc over the scan's source lines (see docs/clones.md)."""
        return self.duplicated_sloc / self.total_sloc if self.total_sloc else 0.0

    @property
    def cloned_units(self) -> int:
        return sum(g.size for g in self.groups)

    def to_dict(self) -> dict:
        """Plain data for the JSON report (the ``clones`` key)."""
        return {
            "parameters": asdict(self.params),
            "definition": "duplication_share = duplicated_sloc / total_sloc; duplicated_sloc "
                          "sums the source lines of every clone-group member except the "
                          "group's first (by path, then line), nested units counted once",
            "units_compared": self.units, "units_skipped_small": self.skipped_small,
            "candidate_pairs": self.candidates,
            "verified_pairs": self.verified, "group_count": len(self.groups),
            "cloned_units": self.cloned_units, "duplicated_sloc": self.duplicated_sloc,
            "total_sloc": self.total_sloc, "duplication_share": round(self.duplication_share, 4),
            "elapsed": round(self.elapsed, 3),
            "groups": [_group_dict(g) for g in self.groups],
        }


def _group_dict(g: CloneGroup) -> dict:
    return {
        "size": g.size, "similarity": round(g.similarity, 4),
        "min_similarity": round(g.min_similarity, 4), "duplicated_sloc": g.duplicated_sloc,
        "members": [{"path": m.path, "qualname": m.qualname, "start_line": m.start_line,
                     "end_line": m.end_line, "sloc": m.sloc, "tokens": m.tokens}
                    for m in g.members],
        "pairs": [{"members": [i, j], "similarity": round(s, 4),
                   "fragments": [{"lines": list(f.left), "other_lines": list(f.right),
                                  "fingerprints": f.fingerprints} for f in ev]}
                  for (i, j, s), ev in zip(g.pairs, g.evidence)],
    }


def candidate_pairs(units: list[UnitPrint], params: CloneParams) -> set[tuple[int, int]]:
    """Index pairs (i < j) that MinHash LSH puts in a common bucket, same language only.

    The bands are datasketch ``MinHashLSH``'s (its optimal b and r for the
    threshold); a pair is a candidate when any band of the two signatures is
    equal, which is what the LSH's bucket lookup finds. Bucketed here with numpy
    sorts instead of one dictionary insert and lookup per unit and band.
    """
    left, right = _candidate_arrays(units, params)
    return set(zip(left.tolist(), right.tolist()))


def _candidate_arrays(units: list[UnitPrint], params: CloneParams) -> tuple[np.ndarray, np.ndarray]:
    """:func:`candidate_pairs` as two index arrays, in ascending (i, j) order."""
    if len(units) < 2:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    signatures = np.stack([u.signature for u in units])
    found = [_bucket_pairs(signatures[:, start:end])
             for start, end in lsh_bands(params.lsh_threshold, params.num_perm)]
    keys = np.unique(np.concatenate([i * len(units) + j for i, j in found]))
    left, right = keys // len(units), keys % len(units)
    keep = _comparable(units, left, right)
    return left[keep], right[keep]


def _bucket_pairs(band: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every pair (i < j) of row indices whose rows are equal."""
    order = np.lexsort(band.T[::-1])  # equal rows adjacent, ascending inside (stable)
    rows = band[order]
    first = np.ones(len(rows), dtype=bool)
    first[1:] = (rows[1:] != rows[:-1]).any(axis=1)
    starts = np.flatnonzero(first)
    size = np.diff(np.append(starts, len(rows)))
    bucket = np.cumsum(first) - 1
    later = size[bucket] - (np.arange(len(rows)) - starts[bucket]) - 1  # members after it
    return np.repeat(order, later), order[_ranges(np.arange(1, len(rows) + 1), later)]


def _comparable(units: list[UnitPrint], left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Mask of the pairs of the same language where neither unit is nested in the other."""
    languages: dict[str, int] = {}
    paths: dict[str, int] = {}
    lang = np.array([languages.setdefault(u.language, len(languages)) for u in units])
    path = np.array([paths.setdefault(u.path, len(paths)) for u in units])
    start = np.array([u.start_line for u in units])
    end = np.array([u.end_line for u in units])
    sl, sr, el, er = start[left], start[right], end[left], end[right]
    nested = (path[left] == path[right]) & (((sl <= sr) & (er <= el)) | ((sr <= sl) & (el <= er)))
    return (lang[left] == lang[right]) & ~nested


def find_clones(units: list[UnitPrint], params: CloneParams, total_sloc: int) -> CloneReport:
    """Candidates by LSH, exact verification, then groups as connected components."""
    units = sorted(units, key=lambda u: (u.path, u.start_line, u.qualname))
    left, right = _candidate_arrays(units, params)
    tokens = np.array([u.tokens for u in units], dtype=np.int64)
    candidates = len(left)
    reach = _can_reach(tokens[left], tokens[right], params.threshold)
    left, right = left[reach], right[reach]
    sims, shared = _similarity_arrays(units, left, right, params.kgram)
    verified = np.flatnonzero(sims >= params.threshold)
    pairs = [Pair(*row) for row in zip(left[verified].tolist(), right[verified].tolist(),
                                       sims[verified].tolist(), shared[verified].tolist())]
    groups = _components(units, pairs, params)
    groups.sort(key=lambda g: (-g.duplicated_sloc, -g.size, g.members[0].path,
                               g.members[0].start_line))
    return CloneReport(params, groups, len(units), candidates, len(pairs), total_sloc)


def _can_reach(n: np.ndarray, m: np.ndarray, threshold: float) -> np.ndarray:
    """Whether units of n and m tokens (whole arrays of them) can reach the threshold at all.

    Fingerprints match occurrence by occurrence, so the larger unit's covered
    tokens hardly exceed the smaller unit's: similarity is at most about
    2 * min(n, m) / (n + m) (on CCC, 2 of 3,276 verified pairs beat the bound by
    a kgram's width). A unit three times the size of the other is no clone at 0.7.
    """
    return 2 * np.minimum(n, m) >= threshold * (n + m)  # exact: counts stay far below 2**53


def _components(units: list[UnitPrint], pairs: list[Pair], params: CloneParams) -> list[CloneGroup]:
    """Union verified pairs, best first, so each group keeps a maximum spanning tree."""
    sets = DisjointSets(len(units))
    spanning = [p for p in sorted(pairs, key=lambda p: (-p.similarity, p.a, p.b)) if sets.union(p.a, p.b)]
    by_root: dict[int, list[Pair]] = {}
    for p in spanning:
        by_root.setdefault(sets.find(p.a), []).append(p)
    return [_group(units, ps, params) for ps in by_root.values()]


def _group(units: list[UnitPrint], pairs: list[Pair], params: CloneParams) -> CloneGroup:
    index = sorted({i for p in pairs for i in (p.a, p.b)})
    local = {u: n for n, u in enumerate(index)}
    members = [units[i] for i in index]
    spans = [(local[p.a], local[p.b], p.similarity) for p in pairs]
    return CloneGroup(members, spans, params.window)
