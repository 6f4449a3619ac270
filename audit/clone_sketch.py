"""Clone fingerprints in the worker: kgram hashes, winnowing and MinHash per function unit.

Every kgram of a unit's token stream is hashed; winnowing (Schleimer, Wilkerson
and Aiken, 2003) keeps the minimum hash of every window of kgrams as the
unit's fingerprints, and a MinHash of its kgram set (datasketch's affine64
scheme, computed in numpy) goes to the LSH of the project stage. A file's units
are sketched together: one token walk, one pass of kgram hashes, window minima
and MinHash products over the whole stream, each unit then reading its own
range, which gives exactly what sketching each unit's slice alone gives.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from audit.clone_params import UNIT_KINDS, CloneParams
from audit.clone_tokens import outermost_nodes, token_stream

_BASE = np.uint64(0x100000001B3)  # FNV prime: odd, so the rolling kgram hash mixes every token


@dataclass(frozen=True, eq=False)
class UnitPrint:
    """What the project stage needs of one function unit: where it is and its fingerprints."""

    path: str
    language: str
    qualname: str
    start_line: int
    end_line: int
    sloc: int
    tokens: int
    digest: bytes  # of the whole token stream: equal digests are identical streams
    signature: np.ndarray  # MinHash hash values (uint64, num_perm)
    fp_hash: np.ndarray  # fingerprint hashes (uint64), in token order
    fp_set: np.ndarray  # the distinct fingerprint hashes, sorted (for fast membership)
    fp_count: np.ndarray  # occurrences of each fp_set hash (int32)
    fp_rank: np.ndarray  # per fingerprint: how many earlier fingerprints have its hash (int32)
    fp_pos: np.ndarray  # token index of each fingerprint's kgram (int32)
    fp_first: np.ndarray  # source line of the kgram's first token (int32)
    fp_last: np.ndarray  # source line of the kgram's last token (int32)


_PER_FP = ("fp_hash", "fp_rank", "fp_pos", "fp_first", "fp_last")  # one entry per fingerprint
_PER_SET = ("fp_set", "fp_count")  # one entry per distinct fingerprint hash
_SCALARS = ("path", "language", "qualname", "start_line", "end_line", "sloc", "tokens", "digest")


class UnitPrints(list):
    """A file's UnitPrints, pickled as one array per field for all of them.

    The workers send every file's prints to the parent; pickled one by one,
    the seven small arrays of each unit cost about twice the time (CCC: 0.32
    s -> 0.15 s of CPU, sending and receiving). Unpickled, each unit's arrays
    are views of the file's.
    """

    def __reduce__(self):
        if not self:
            return UnitPrints, ()
        scalars = [tuple(getattr(u, name) for name in _SCALARS) for u in self]
        sizes = [(len(u.fp_hash), len(u.fp_set)) for u in self]
        arrays = {name: np.concatenate([getattr(u, name) for u in self])
                  for name in _PER_FP + _PER_SET}
        return _unpack, (scalars, sizes, arrays, np.stack([u.signature for u in self]))


def _unpack(scalars, sizes, arrays, signatures) -> UnitPrints:
    out, f0, s0 = UnitPrints(), 0, 0
    for n, (row, (fps, sets)) in enumerate(zip(scalars, sizes)):
        f1, s1 = f0 + fps, s0 + sets
        fields = dict(zip(_SCALARS, row))
        fields.update((name, arrays[name][f0:f1]) for name in _PER_FP)
        fields.update((name, arrays[name][s0:s1]) for name in _PER_SET)
        out.append(UnitPrint(signature=signatures[n], **fields))
        f0, s0 = f1, s1
    return out


# -- kgrams, windows, MinHash ---------------------------------------------------------

def kgram_hashes(codes: np.ndarray, k: int) -> np.ndarray:
    """Rolling polynomial hash of every kgram (mod 2**64), then a mixing step."""
    n = len(codes) - k + 1
    if n <= 0:
        return np.zeros(0, dtype=np.uint64)
    with np.errstate(over="ignore"):
        h = codes[:n].copy()
        for j in range(1, k):  # in place: no new array per step
            h *= _BASE
            h += codes[j:j + n]
        h ^= h >> np.uint64(29)
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(32)
    return h


def window_minima(hashes: np.ndarray, window: int) -> np.ndarray:
    """Per window start: the position of the window's leftmost minimum (at least one window).

    The minimum is taken offset by offset over whole arrays; a strict ``<``
    keeps the leftmost.
    """
    n = max(1, len(hashes) - window + 1)
    best = hashes[:n].copy()
    offset = np.zeros(n, dtype=np.int64)
    for j in range(1, min(window, len(hashes))):
        later = hashes[j:j + n]
        smaller = later < best
        best[smaller] = later[smaller]
        offset[smaller] = j
    return offset + np.arange(n)


def winnow(hashes: np.ndarray, window: int) -> np.ndarray:
    """Positions of the winnowing fingerprints: the leftmost minimum of every window.

    Consecutive windows' picks never decrease, so repeats are adjacent and
    dropped without a sort.
    """
    if not len(hashes):
        return np.zeros(0, dtype=np.int64)
    picks = window_minima(hashes, window)
    keep = np.ones(len(picks), dtype=bool)
    keep[1:] = picks[1:] != picks[:-1]
    return picks[keep]


_permutations: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
# MurmurHash3's 64-bit finalizer, as datasketch's affine64 scheme pre-mixes its input
_FMIX = (np.uint64(33), np.uint64(0xFF51AFD7ED558CCD), np.uint64(0xC4CEB9FE1A85EC53))
_CHUNK = 256  # kgrams per block of minhash_signature's product: 256 KB stays in cache (4,096 is 6x slower)
_BLOCK = 16  # permutations per pass of range_signatures' product over a file's kgrams
_STREAM = 32768  # kgrams per pass of it: a block of 16 x 32,768 values is 4 MB


def _fmix(values: np.ndarray) -> np.ndarray:
    shift, m1, m2 = _FMIX
    with np.errstate(over="ignore"):
        hv = values ^ (values >> shift)
        hv *= m1
        hv ^= hv >> shift
        hv *= m2
        hv ^= hv >> shift
    return hv


def _perm(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    perm = _permutations.get((num_perm, seed))
    if perm is None:
        perm = _permutations[(num_perm, seed)] = affine64_permutations(num_perm, seed)
    return perm


def minhash_signature(values: np.ndarray, num_perm: int, seed: int) -> np.ndarray:
    """datasketch's ``MinHash(num_perm, seed, scheme="affine64")`` of a set of 64-bit
    values (identity hash), computed in numpy: the same hash values as its
    ``update_batch``, without a Python call per value. Tested against datasketch.
    """
    a, b = _perm(num_perm, seed)
    out = np.full(num_perm, np.iinfo(np.uint64).max, dtype=np.uint64)
    hv = _fmix(values)
    with np.errstate(over="ignore"):
        for lo in range(0, len(hv), _CHUNK):
            np.minimum(out, (hv[lo:lo + _CHUNK, None] * a + b).min(axis=0), out=out)
    return out


def range_signatures(values: np.ndarray, lo: np.ndarray, hi: np.ndarray, num_perm: int,
                     seed: int) -> np.ndarray:
    """:func:`minhash_signature` of the values in each range [lo, hi) (non-empty; ranges
    may nest or overlap), one row per range.

    The ranges' values are laid end to end (a nested range's again) and the
    product is taken for a block of permutations at a time, one row per
    permutation: the multiply, the add and each range's minimum then run along
    contiguous memory (CCC: 0.61-0.78 s -> 0.19-0.31 s against a row per value).
    A long stream is taken ``_STREAM`` values at a time, which bounds the block's
    memory (4 MB): the stream is cut there and at every range's start, each piece's
    minimum is taken, and a range's signature is the minimum over its pieces.
    """
    a, b = _perm(num_perm, seed)
    count = hi - lo
    hv = _fmix(values[_ranges(lo, count)])
    starts = np.cumsum(count) - count
    cuts = np.union1d(starts, np.arange(0, len(hv), _STREAM))
    pieces = np.empty((len(cuts), num_perm), dtype=np.uint64)
    block = np.empty((min(_BLOCK, num_perm), min(_STREAM, len(hv))), dtype=np.uint64)
    edges = np.searchsorted(cuts, np.arange(0, len(hv) + _STREAM, _STREAM)).tolist()
    with np.errstate(over="ignore"):
        for n, at in enumerate(range(0, len(hv), _STREAM)):
            part = hv[at:at + _STREAM]
            here = cuts[edges[n]:edges[n + 1]] - at
            for first in range(0, num_perm, _BLOCK):
                rows = block[:min(_BLOCK, num_perm - first), :len(part)]
                np.multiply.outer(a[first:first + len(rows)], part, out=rows)
                rows += b[first:first + len(rows), None]
                pieces[edges[n]:edges[n + 1], first:first + len(rows)] = \
                    np.minimum.reduceat(rows, here, axis=1).T
    if len(cuts) == len(starts):  # the stream fit in one piece per range
        return pieces
    return np.minimum.reduceat(pieces, np.searchsorted(cuts, starts), axis=0)


def affine64_permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """datasketch's affine64 permutation parameters (odd a, any b) for a seed: drawn
    the way its MinHash draws them, without importing datasketch (and scipy with it,
    about a second before the workers can start)."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 63, num_perm, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    b = gen.randint(0, 1 << 64, num_perm, dtype=np.uint64)
    return a, b


# band_shape's answer for the default parameters (threshold 0.3, 128 permutations): a
# scan does not spend about 0.02 s of its serial end finding it (numpy.polynomial's import
# and the quadrature); a test checks the entry against band_shape
KNOWN_BANDS = {(0.3, 128): (37, 3)}


def lsh_bands(threshold: float, num_perm: int) -> list[tuple[int, int]]:
    """The band ranges datasketch's ``MinHashLSH(threshold, num_perm)`` uses."""
    bands, rows = KNOWN_BANDS.get((threshold, num_perm)) or band_shape(threshold, num_perm)
    return [(i * rows, (i + 1) * rows) for i in range(bands)]


def band_shape(threshold: float, num_perm: int) -> tuple[int, int]:
    """datasketch's b bands of r rows for ``MinHashLSH(threshold, num_perm)``.

    They minimise the equally weighted false positive and false negative
    probability areas; the integrals are taken here by Gauss-Legendre quadrature
    (exact for these polynomials up to degree 2 x 96) instead of scipy's ``quad``.
    Tested against datasketch over a grid of thresholds.
    """
    nodes, weights = np.polynomial.legendre.leggauss(96)
    lo_s = (nodes + 1) * threshold / 2  # [0, threshold]
    hi_s = threshold + (nodes + 1) * (1 - threshold) / 2  # [threshold, 1]
    # every (b, r) with b * r <= num_perm, b then r ascending: the first best one wins
    b = np.repeat(np.arange(1, num_perm + 1), num_perm // np.arange(1, num_perm + 1))[:, None]
    r = (np.arange(len(b)) - np.searchsorted(b[:, 0], b[:, 0]) + 1)[:, None]
    fp = ((1 - (1 - lo_s ** r) ** b) * weights).sum(axis=1) * threshold / 2
    fn = (((1 - hi_s ** r) ** b) * weights).sum(axis=1) * (1 - threshold) / 2
    best = int(np.argmin(fp * 0.5 + fn * 0.5))
    return int(b[best, 0]), int(r[best, 0])


# -- one unit at a time (the definition; tests and small callers) --------------------

def unit_print(path: str, language: str, qualname: str, span: tuple[int, int], sloc: int,
               codes: np.ndarray, lines: np.ndarray, signature, params: CloneParams,
               hashes: np.ndarray | None = None) -> UnitPrint:
    """Fingerprint one unit's token stream (codes with their source lines)."""
    if hashes is None:
        hashes = kgram_hashes(codes, params.kgram)
    pos = winnow(hashes, params.window)
    fp = hashes[pos]
    fp_set, counts, ranks = _occurrences(fp)
    return UnitPrint(
        path=path, language=language, qualname=qualname, start_line=span[0], end_line=span[1],
        sloc=sloc, tokens=len(codes),
        digest=hashlib.blake2b(codes.tobytes(), digest_size=16).digest(),
        signature=np.asarray(signature, dtype=np.uint64), fp_hash=fp,
        fp_set=fp_set, fp_count=counts, fp_rank=ranks,
        fp_pos=pos.astype(np.int32), fp_first=lines[pos], fp_last=lines[pos + params.kgram - 1],
    )


def _occurrences(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct values (sorted, as ``np.unique``), their counts (int32) and, per
    item, how many earlier items hold its value (int32), from one stable sort."""
    groups = np.zeros(len(values), dtype=np.int64)
    fp_set, _, counts, ranks = _grouped_occurrences(values, groups)
    return fp_set, counts, ranks


def _grouped_occurrences(values: np.ndarray, groups: np.ndarray):
    """:func:`_occurrences` within each group (groups ascending): the distinct values
    sorted per group, the group of each, their counts and every item's rank."""
    order = np.lexsort((values, groups))  # by group, then value; stable
    ordered, owner = values[order], groups[order]
    first = np.ones(len(values), dtype=bool)
    first[1:] = (ordered[1:] != ordered[:-1]) | (owner[1:] != owner[:-1])
    starts = np.flatnonzero(first)
    counts = np.diff(np.append(starts, len(values))).astype(np.int32)
    ranks = np.empty(len(values), dtype=np.int32)
    ranks[order] = np.arange(len(values)) - starts[np.cumsum(first) - 1]
    return ordered[first], owner[first], counts, ranks


# -- a whole file's units at once ------------------------------------------------------

def sketch_units(parsed, sloc_by_unit: list[int], params: CloneParams) -> list[UnitPrint]:
    """UnitPrints for the parsed file's function units that are big enough to compare."""
    wanted = [(cu, sloc) for cu, sloc in zip(parsed.units, sloc_by_unit)
              if cu.kind in UNIT_KINDS and sloc >= params.min_lines]
    if not wanted:
        return []
    codes, starts, lines = token_stream(parsed, outermost_nodes([cu for cu, _ in wanted]),
                                        params.mode)
    lo, hi = np.searchsorted(starts, [[cu.start_byte for cu, _ in wanted],
                                      [cu.end_byte for cu, _ in wanted]])
    keep = np.flatnonzero(hi - lo >= params.min_tokens)
    if not len(keep):
        return []
    batch = _Batch(codes, lines, lo[keep], hi[keep], params)
    path, language = parsed.source.path, parsed.language
    return UnitPrints(batch.unit(n, path, language, wanted[u][0], wanted[u][1])
                      for n, u in enumerate(keep.tolist()))


class _Batch:
    """One file's token stream with the fingerprints and signatures of its units' ranges."""

    def __init__(self, codes, lines, lo, hi, params: CloneParams):
        k = params.kgram
        self.codes, self.lo, self.hi = codes, lo, hi
        hashes = kgram_hashes(codes, k)
        kgram_end = hi - k + 1  # each unit's kgrams: [lo, kgram_end)
        self.signatures = range_signatures(hashes, lo, kgram_end, params.num_perm, params.seed)
        unit, at = _unit_fingerprints(hashes, lo, kgram_end, params.window)
        self.fp_hash = hashes[at]
        self.fp_pos = (at - lo[unit]).astype(np.int32)
        self.fp_first, self.fp_last = lines[at], lines[at + k - 1]
        sets, owner, self.counts, self.ranks = _grouped_occurrences(self.fp_hash, unit)
        self.sets = sets
        units = np.arange(len(lo) + 1)
        self.fp_bounds = np.searchsorted(unit, units).tolist()
        self.set_bounds = np.searchsorted(owner, units).tolist()

    def unit(self, n: int, path: str, language: str, cu, sloc: int) -> UnitPrint:
        """The n-th range's UnitPrint (array fields are views of the batch's arrays)."""
        f0, f1 = self.fp_bounds[n], self.fp_bounds[n + 1]
        s0, s1 = self.set_bounds[n], self.set_bounds[n + 1]
        codes = self.codes[self.lo[n]:self.hi[n]]
        return UnitPrint(
            path=path, language=language, qualname=cu.qualname, start_line=cu.start_line,
            end_line=cu.end_line, sloc=sloc, tokens=len(codes),
            digest=hashlib.blake2b(codes.tobytes(), digest_size=16).digest(),
            signature=self.signatures[n], fp_hash=self.fp_hash[f0:f1],
            fp_set=self.sets[s0:s1], fp_count=self.counts[s0:s1], fp_rank=self.ranks[f0:f1],
            fp_pos=self.fp_pos[f0:f1], fp_first=self.fp_first[f0:f1],
            fp_last=self.fp_last[f0:f1],
        )


def _unit_fingerprints(hashes: np.ndarray, lo: np.ndarray, end: np.ndarray, window: int):
    """Winnowing of every range [lo, end) of ``hashes`` at once: per fingerprint, its
    range's index and its position in ``hashes``, ranges in order, positions ascending.

    A window's leftmost minimum does not depend on what lies around it, so the
    minima are found once over the whole stream and each range reads those of
    the windows inside it; a range no longer than a window keeps its minimum.
    """
    n = end - lo
    full = n > window
    count = np.where(full, n - window + 1, 0)
    unit = np.repeat(np.arange(len(lo)), count)
    if len(unit):
        at = window_minima(hashes, window)[_ranges(lo, count)]
        keep = np.ones(len(at), dtype=bool)
        keep[1:] = (at[1:] != at[:-1]) | (unit[1:] != unit[:-1])
        unit, at = unit[keep], at[keep]
    else:
        at = np.zeros(0, dtype=np.int64)
    short = np.flatnonzero(~full)
    if len(short):  # only with settings where a unit can hold fewer kgrams than a window
        picks = [lo[u] + int(np.argmin(hashes[lo[u]:end[u]])) for u in short.tolist()]
        unit, at = np.concatenate([unit, short]), np.concatenate([at, picks]).astype(np.int64)
        order = np.argsort(unit, kind="stable")
        unit, at = unit[order], at[order]
    return unit, at


def _ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The concatenated ranges [start, start + count), without a Python loop."""
    offsets = np.cumsum(counts) - counts
    return np.arange(int(counts.sum())) - np.repeat(offsets - starts, counts)


def file_pass(parsed, file_result, options: dict):
    """Pipeline pass: sketch this file's function units (the FileResult is unchanged)."""
    params = CloneParams(**options.get("clones", {}))
    units = file_result.units
    if len(units) != len(parsed.units):  # measure() keeps one Unit per CodeUnit, in order
        raise RuntimeError(f"{parsed.source.path}: unit lists differ in length")
    return file_result, sketch_units(parsed, [u.metrics.sloc for u in units], params)
