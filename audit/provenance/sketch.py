"""Sketches: per-unit MinHash band keys and per-file winnowed fingerprints.

A file becomes *entries* (top-level functions and methods, fixed windows over
long ones, and windows over code outside any function such as data tables)
and, per channel, a stream of k-gram hashes. Each entry gets a MinHash
signature per channel (datasketch MinHash, ``affine32`` scheme, over our own
32-bit k-gram hashes; see _Permuted) cut into LSH band keys; the
file gets winnowed fingerprints (hash, first line, last line) that verification
intersects to produce line-level evidence. Token hashes are CRC-32 and k-gram
hashes a polynomial over them with a splitmix64 finaliser: stable across runs
and machines, unlike Python's ``hash``.
"""

from __future__ import annotations

import functools
import time
import zlib
from dataclasses import asdict, dataclass, field

import datasketch
import numpy as np
from datasketch.minhash import _fmix
from numpy.lib.stride_tricks import sliding_window_view

from audit.provenance.channels import CHANNELS, NORMALISER_VERSION, extract

KIND_UNIT, KIND_WINDOW, KIND_TOPLEVEL = 0, 1, 2
_M = np.uint64(0x100000001B3)
_EMPTY_U64 = np.zeros(0, dtype=np.uint64)
_EMPTY_U32 = np.zeros(0, dtype=np.uint32)
_VOID = np.uint64(0xFFFFFFFFFFFFFFFF)  # a k-gram that carries no structure (see _structure_only)
# Structural categories that are only data: a run made of nothing else (a table of
# strings, a list of names) says nothing about how code is built.
_LEAVES = frozenset({"ID", "NUM", "STR", "BOOL", "NULL", "LIST"})
# An entry's shape: counts of coarse structural categories, then numeric constants
# hashed into a few buckets. It survives renaming, blanked strings and dropped
# comments; audit.provenance.structure aligns sequences of shapes.
SHAPE_GROUPS = (
    ("IF", "COND"), ("ELSE",), ("LOOP",), ("SWITCH",), ("CASE",), ("RET",), ("BREAK", "CONT"),
    ("CALL",), ("ASSIGN",),
    ("ASSIGN_ADD", "ASSIGN_SUB", "ASSIGN_MUL", "ASSIGN_DIV", "ASSIGN_MOD", "ASSIGN_SHL", "ASSIGN_SHR",
     "ASSIGN_BAND", "ASSIGN_BOR", "ASSIGN_BXOR"),
    ("ADD", "SUB", "MUL", "DIV", "MOD", "NEG", "POS"), ("EQ", "NE", "LT", "GT", "LE", "GE", "IN"),
    ("AND", "OR", "NOT"), ("BAND", "BOR", "BXOR", "SHL", "SHR", "BNOT"),
    ("INDEX", "DEREF", "ADDR"), ("FIELD",), ("NUM", "BOOL", "NULL"), ("STR",), ("ID",),
)
SHAPE_NUM_BUCKETS = 8
SHAPE_DIM = len(SHAPE_GROUPS) + SHAPE_NUM_BUCKETS
_SHAPE_OF = {t: i for i, group in enumerate(SHAPE_GROUPS) for t in group}
_PLAIN_NUMBERS = frozenset({"0", "1", "2"})  # too common to tell code apart


@dataclass(frozen=True)
class Params:
    """Everything that changes a sketch; an index records it and matching checks it."""

    num_perm: int = 64
    seed: int = 7
    scheme: str = "affine32"
    bands: int = 32
    rows: int = 2
    shingle: tuple = (("struct", 5), ("ident", 1), ("text", 3), ("num", 3))
    kgram: tuple = (("struct", 6), ("ident", 2), ("text", 3), ("num", 3))
    winnow: tuple = (("struct", 3), ("ident", 1), ("text", 1), ("num", 1))
    min_shingles: tuple = (("struct", 12), ("ident", 5), ("text", 3), ("num", 4))
    window: int = 240  # struct tokens per window over a long unit
    stride: int = 120
    normaliser: int = NORMALISER_VERSION
    datasketch: str = datasketch.__version__

    def as_dict(self) -> dict:
        return {k: (dict(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}

    def get(self, name: str, channel: str) -> int:
        return dict(getattr(self, name))[channel]


PARAMS = Params()


@dataclass
class FileSketch:
    """What matching needs from one file; plain arrays, so it pickles cheaply."""

    path: str
    language: str
    sha1: str
    lines: int
    entry_start: np.ndarray
    entry_end: np.ndarray
    entry_kind: np.ndarray
    entry_names: list[str]
    entry_shape: np.ndarray  # (entries, SHAPE_DIM) uint16, see SHAPE_GROUPS
    bands: dict[str, np.ndarray]  # channel -> (entries, bands) uint64, a zero row = too little
    fp_hash: dict[str, np.ndarray]
    fp_start: dict[str, np.ndarray]
    fp_end: dict[str, np.ndarray]
    fp_iface: dict[str, np.ndarray] | None = None  # audited side only: allow-listed fingerprints
    fp_text: dict[str, dict[int, str]] | None = None  # audited side: tokens of a few allow-listed ones
    tokens: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


_TOKEN_HASH: dict[str, int] = {}


def token_hashes(tokens: list[str]) -> np.ndarray:
    """Stable 32-bit hashes of tokens (cached: vocabularies are small)."""
    cache = _TOKEN_HASH
    out = []
    for t in tokens:
        h = cache.get(t)
        if h is None:
            h = cache[t] = zlib.crc32(t.encode("utf-8")) + 1
        out.append(h)
    return np.array(out, dtype=np.uint64)


def mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: spreads polynomial hashes over all 64 bits."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def kgram_hashes(h: np.ndarray, k: int, void: np.ndarray | None = None) -> np.ndarray:
    """Hash of every run of k consecutive tokens; runs made only of ``void`` tokens get _VOID."""
    n = len(h) - k + 1
    if n <= 0:
        return _EMPTY_U64
    out = np.zeros(n, dtype=np.uint64)
    for j in range(k):
        out = out * _M + h[j:j + n]
    out = mix64(out)
    if void is not None:
        out[sliding_window_view(void, k).all(axis=1)] = _VOID
    return out


def winnow(hashes: np.ndarray, w: int) -> np.ndarray:
    """Positions chosen by winnowing (Schleimer et al.): the minimum of each window."""
    if len(hashes) == 0:
        return np.zeros(0, dtype=np.int64)
    if len(hashes) <= w:
        return np.array([int(np.argmin(hashes))])
    picks = sliding_window_view(hashes, w).argmin(axis=1) + np.arange(len(hashes) - w + 1)
    return np.unique(picks)


def sketch_parsed(parsed, params: Params = PARAMS, allow=None) -> FileSketch:
    """Sketch one parsed file; ``allow`` (an AllowList) flags interface-forced fingerprints."""
    t0 = time.perf_counter()
    streams = extract(parsed)
    t1 = time.perf_counter()
    lines = {c: np.array(streams.lines[c], dtype=np.uint32) for c in CHANNELS}
    hashes = {c: token_hashes(streams.tokens[c]) for c in CHANNELS}
    leaves = np.fromiter((t in _LEAVES for t in streams.tokens["struct"]), dtype=bool,
                         count=len(streams.tokens["struct"]))
    entries = _entries(parsed, lines)
    start = np.array([e[0] for e in entries], dtype=np.uint32)
    end = np.array([e[1] for e in entries], dtype=np.uint32)
    flags = allow.token_flags(streams) if allow is not None else None
    sk = FileSketch(
        parsed.source.path, parsed.language, parsed.source.sha1, parsed.data.count(b"\n") + 1,
        start, end, np.array([e[2] for e in entries], dtype=np.uint8), [e[3] for e in entries],
        entry_shapes(streams, lines, start, end), {}, {}, {}, {}, {} if flags is not None else None,
        tokens={c: len(streams.tokens[c]) for c in CHANNELS},
    )
    for c in CHANNELS:
        void = leaves if c == "struct" else None
        sk.bands[c] = _bands(hashes[c], lines[c], start, end, c, params, void)
        _fingerprints(sk, c, hashes[c], lines[c], flags[c] if flags is not None else None, params, void,
                      streams.tokens[c])
    sk.timings = {"extract": t1 - t0, "sketch": time.perf_counter() - t1}
    return sk


def entry_shapes(streams, lines, start, end) -> np.ndarray:
    """Each entry's shape vector: category counts, then numeric constants by hashed bucket."""
    n_groups = len(SHAPE_GROUPS)
    cat = np.fromiter((_SHAPE_OF.get(t, -1) for t in streams.tokens["struct"]), dtype=np.int64,
                      count=len(streams.tokens["struct"]))
    nums = streams.tokens["num"]
    bucket = np.fromiter((-1 if v in _PLAIN_NUMBERS else n_groups + zlib.crc32(v.encode()) % SHAPE_NUM_BUCKETS
                          for v in nums), dtype=np.int64, count=len(nums))
    bucket[np.asarray(streams.num_chars, dtype=np.int64)] = -1  # character codes: text, not structure
    out = np.zeros((len(start), SHAPE_DIM), dtype=np.uint16)
    for codes, where in ((cat, lines["struct"]), (bucket, lines["num"])):
        lo = np.searchsorted(where, start, "left")
        hi = np.searchsorted(where, end, "right")
        for i in range(len(start)):
            sel = codes[lo[i]:hi[i]]
            sel = sel[sel >= 0]
            if len(sel):
                out[i] += np.minimum(np.bincount(sel, minlength=SHAPE_DIM), 65535).astype(np.uint16)
    return out


def _entries(parsed, lines) -> list[tuple[int, int, int, str]]:
    """Units, windows over long units, and windows over code outside any unit."""
    params = PARAMS
    out = []
    tops = [u for u in parsed.units if u.kind != "class"
            and (u.parent is None or u.parent.kind == "class")]
    struct_lines = lines["struct"]
    covered = []
    rows = parsed.data.split(b"\n")
    heads = _comment_heads(parsed.comments, rows)
    last_end = 0
    for u in sorted(tops, key=lambda u: (u.start_line, -u.end_line)):
        start = _leading_comment(heads, _head_line(u.node, last_end), last_end)
        out.append((start, u.end_line, KIND_UNIT, u.qualname))
        out.extend(_windows(struct_lines, u.start_line, u.end_line, u.qualname, KIND_WINDOW, params))
        covered.append((start, u.end_line))
        last_end = max(last_end, u.end_line)
    for a, b in _gaps(covered, len(rows)):
        n_struct = _count(struct_lines, a, b)
        if n_struct >= params.window // 4 or _count(lines["num"], a, b) >= 24:
            out.append((a, b, KIND_TOPLEVEL, f"<top level {a}-{b}>"))
            out.extend(_windows(struct_lines, a, b, "<top level>", KIND_TOPLEVEL, params))
    return out


def _comment_heads(comments, rows: list[bytes]) -> dict[int, int]:
    """Comment blocks by their last line (1-based): where the block starts, a run of
    comments on consecutive lines read as one block. Only comments that begin their line
    count: a remark after code on the same line belongs to that code."""
    heads: dict[int, int] = {}
    for sr, sc, er, ec in sorted(comments):
        if sr < len(rows) and rows[sr][:sc].strip():
            continue
        last = er - 1 if ec == 0 and er > sr else er  # a line comment's node ends at column 0 of the next row
        start = heads.pop(sr, sr + 1)  # a comment on the line after another continues its block
        heads[last + 1] = min(start, heads.get(last + 1, start))
    return heads


def _head_line(node, after: int) -> int:
    """The first line of a unit with its decorators (Python), attributes (Rust) or template
    header (C++) above it, never reaching line ``after`` (the end of the unit before it)."""
    first = node.start_point[0] + 1
    if node.parent is not None and node.parent.type in ("decorated_definition", "template_declaration"):
        node = node.parent
    start = node.start_point[0]
    prev = node.prev_named_sibling
    while prev is not None and prev.type == "attribute_item" and prev.end_point[0] >= start - 1:
        start, prev = prev.start_point[0], prev.prev_named_sibling
    return start + 1 if start + 1 > after else first


def _leading_comment(heads: dict[int, int], start: int, after: int) -> int:
    """A unit's first line, moved up over the comment block right above it (a doc or grammar
    comment says what the unit is, and a port carries it over with the unit), never into the
    unit before it."""
    head = heads.get(start - 1)
    return start if head is None or head <= after else head


def _count(lines: np.ndarray, a: int, b: int) -> int:
    return int(np.searchsorted(lines, b, "right") - np.searchsorted(lines, a, "left"))


def _windows(struct_lines, a, b, name, kind, params):
    lo, hi = np.searchsorted(struct_lines, a, "left"), np.searchsorted(struct_lines, b, "right")
    if hi - lo <= params.window:
        return []
    out = []
    for off in range(lo, hi - params.stride, params.stride):
        last = min(off + params.window, hi) - 1
        out.append((int(struct_lines[off]), int(struct_lines[last]), kind, f"{name}[{off - lo}]"))
    return out


def _gaps(covered, n_lines):
    covered = sorted(covered)
    pos, out = 1, []
    for a, b in covered:
        if a > pos:
            out.append((pos, a - 1))
        pos = max(pos, b + 1)
    if pos <= n_lines:
        out.append((pos, n_lines))
    return out


def _bands(h, lines, start, end, channel, params: Params, void=None) -> np.ndarray:
    """LSH band keys per entry; entries with too few shingles get a zero row."""
    k = params.get("shingle", channel)
    kg = kgram_hashes(h, k, void)
    keys = np.zeros((len(start), params.bands), dtype=np.uint64)
    if len(kg) == 0 or len(start) == 0:
        return keys
    first, last = lines[:len(kg)], lines[k - 1:]
    real = kg != _VOID
    # Tokens come nearly in source order (C's `for` puts its step after the body), so an
    # entry's k-grams lie between the first whose running-maximum first line reaches its
    # start and the first whose remaining-minimum last line passes its end.
    los = np.searchsorted(np.maximum.accumulate(first), start, "left")
    his = np.searchsorted(np.minimum.accumulate(last[::-1])[::-1], end, "right")
    perm = _Permuted(kg, params)
    minimum = params.get("min_shingles", channel)
    rows, sigs = [], []
    for i in range(len(start)):
        lo, hi = int(los[i]), int(his[i])
        if hi - lo < minimum:
            continue
        inside = real[lo:hi] & (first[lo:hi] >= start[i]) & (last[lo:hi] <= end[i])
        if np.count_nonzero(inside) >= minimum:
            rows.append(i)
            sigs.append(perm.signature(lo, hi, inside))
    if rows:
        keys[rows] = band_keys(np.stack(sigs).astype(np.uint64), params)
    return keys


class _Permuted:
    """datasketch MinHash over many overlapping slices of one file's k-grams at once.

    A MinHash signature is the minimum, per permutation, of the permuted element hashes,
    and a minimum ignores duplicates, so each k-gram is permuted once and every entry takes
    the minimum over its slice: the values ``MinHash.bulk`` gives for the entries' sets of
    k-gram hashes (the upper 32 bits; tests/test_provenance.py checks the two agree). The
    permutations and the pre-mix are datasketch's own, for the pinned version."""

    CACHE_ROWS = 1 << 18  # k-grams permuted ahead at most (x num_perm x 4 bytes: 64 MiB)

    def __init__(self, kg, params: Params):
        self.a, self.b = _permutations(params)
        self.values = _fmix((kg >> np.uint64(32)).astype(np.uint32), 32)
        self.table = self._permute(0, len(kg)) if len(kg) <= self.CACHE_ROWS else None

    def _permute(self, lo: int, hi: int) -> np.ndarray:
        return self.values[lo:hi, None] * self.a + self.b

    def signature(self, lo: int, hi: int, inside: np.ndarray) -> np.ndarray:
        rows = self.table[lo:hi] if self.table is not None else self._permute(lo, hi)
        return rows[inside].min(axis=0)


@functools.lru_cache(maxsize=4)
def _permutations(params: Params) -> tuple[np.ndarray, np.ndarray]:
    a, b = datasketch.MinHash(params.num_perm, seed=params.seed, scheme=params.scheme).permutations
    return a, b


def band_keys(sig: np.ndarray, params: Params) -> np.ndarray:
    """Fold each band of ``rows`` signature values into one 64-bit key (never 0)."""
    n = sig.shape[0]
    cube = sig.reshape(n, params.bands, params.rows)
    acc = np.zeros((n, params.bands), dtype=np.uint64)
    for r in range(params.rows):
        acc = acc * _M + cube[:, :, r]
    acc = mix64(acc + np.arange(1, params.bands + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15))
    acc[acc == 0] = 1
    return acc


def _fingerprints(sk: FileSketch, channel, h, lines, flags, params: Params, void=None,
                  tokens=None) -> None:
    k = params.get("kgram", channel)
    kg = kgram_hashes(h, k, void)
    pos = winnow(kg, params.get("winnow", channel))
    pos = pos[kg[pos] != _VOID] if len(pos) else pos
    sk.fp_hash[channel] = kg[pos] if len(pos) else _EMPTY_U64
    sk.fp_start[channel] = lines[pos] if len(pos) else _EMPTY_U32
    sk.fp_end[channel] = lines[pos + k - 1] if len(pos) else _EMPTY_U32
    if flags is not None:
        if len(pos):
            run = sliding_window_view(flags, k).all(axis=1)
            sk.fp_iface[channel] = run[pos]
            # the words of the first few allow-listed fingerprints, to show in the report
            sk.fp_text = sk.fp_text if sk.fp_text is not None else {}
            sk.fp_text[channel] = {i: " ".join(tokens[p:p + k]) for i, p in
                                   zip(np.nonzero(run[pos])[0][:24].tolist(), pos[run[pos]][:24].tolist())}
        else:
            sk.fp_iface[channel] = np.zeros(0, dtype=bool)


def file_pass(parsed, file_result, options):
    """Pipeline pass: the audited file's sketch, with allow-listed fingerprints flagged."""
    from audit.provenance import allow

    if not parsed.units and not parsed.data.strip():
        return file_result, None
    return file_result, sketch_parsed(parsed, PARAMS, allow.load(options.get("allow_dir")))
