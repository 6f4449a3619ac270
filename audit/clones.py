"""Near-duplicate functions inside the audited tree: token streams, sketches and clone groups.

Per function unit the worker builds a normalised token stream from the
tree-sitter tree (leaf node kinds and anonymous tokens kept; identifiers and
literals abstracted to category tokens for type-2 clones, or kept verbatim for
type-1), hashes every kgram of it, selects winnowing fingerprints (Schleimer,
Wilkerson and Aiken, 2003: the minimum hash in each window of kgrams) and a
MinHash sketch of the kgram set (datasketch, batch API). The project stage
(:func:`find_clones`) takes LSH candidate pairs, verifies each one exactly on
the shared fingerprints, and unions verified pairs into clone groups.

Vocabulary, kept fixed: a *kgram* is k consecutive tokens; a *window* is w
consecutive kgrams; a *fingerprint* is a selected kgram hash with its token
position; a *fragment* is a run of shared fingerprints in the same order on
both sides; a *span* is a range of source lines (1-based, inclusive).
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field

import numpy as np

from audit.clone_params import MODES, UNIT_KINDS, CloneParams  # noqa: F401  (re-exported)

# Leaf kinds abstracted to a category token in type-2 mode (kept verbatim in type-1).
CATEGORIES: dict[str, dict[str, str]] = {
    "rust": {
        "identifier": "$id", "field_identifier": "$id", "shorthand_field_identifier": "$id",
        "type_identifier": "$type", "primitive_type": "$type",
        "integer_literal": "$num", "float_literal": "$num", "negative_literal": "$num",
        "string_literal": "$str", "raw_string_literal": "$str", "char_literal": "$chr",
    },
    "python": {
        "identifier": "$id", "integer": "$num", "float": "$num",
        "string": "$str", "concatenated_string": "$str",
    },
}
_C_CATEGORIES = {
    "identifier": "$id", "field_identifier": "$id", "statement_identifier": "$id",
    "type_identifier": "$type", "primitive_type": "$type", "number_literal": "$num",
    "string_literal": "$str", "raw_string_literal": "$str", "char_literal": "$chr",
}
CATEGORIES["c"] = _C_CATEGORIES
CATEGORIES["cpp"] = {**_C_CATEGORIES, "namespace_identifier": "$id"}
# Kinds whose whole subtree is one token (literals with inner nodes) or none (comments).
LEAF_KINDS = {"string_literal", "raw_string_literal", "char_literal", "negative_literal",
              "string", "concatenated_string"}
SKIP_KINDS = {"line_comment", "block_comment", "comment"}
_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)
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


# -- token streams ------------------------------------------------------------------

_label_cache: dict[bytes, int] = {}


def _code(label: bytes) -> int:
    """A stable 64-bit code for a token label, equal in every process."""
    code = _label_cache.get(label)
    if code is None:
        code = int.from_bytes(hashlib.blake2b(label, digest_size=8).digest(), "little")
        _label_cache[label] = code
    return code


SKIP, TEXT, FIXED, PLAIN = 0, 1, 2, 3  # per-kind actions of the token walk


def _kind_table(ts_language, language: str, mode: str) -> tuple[list[int], list[int]]:
    """Per kind id: the walk's action and the token code.

    SKIP drops the subtree (comments), TEXT emits the node's own text (type-1
    identifiers and literals), FIXED emits the code without descending (category
    tokens, literals with inner nodes), PLAIN descends or, for a leaf, emits its kind.
    """
    cats = CATEGORIES.get(language, {})
    actions, codes = [], []
    for kid in range(ts_language.node_kind_count):
        kind = ts_language.node_kind_for_id(kid) or ""
        code = _code(kind.encode())
        if kind in SKIP_KINDS:
            action = SKIP
        elif kind in cats:
            action = TEXT if mode == "type1" else FIXED
            code = _code(cats[kind].encode())
        elif kind in LEAF_KINDS:
            action, code = FIXED, _code(f"${kind}".encode())
        else:
            action = PLAIN
        actions.append(action)
        codes.append(code)
    actions.append(PLAIN)  # last entry: ERROR nodes, whose kind id (65535) is past the table
    codes.append(_code(b"ERROR"))
    return actions, codes


_tables: dict[tuple, tuple] = {}


def _walk_tokens(node, actions, codes, data, out_codes, out_starts) -> None:
    """Append the tokens under node (one cursor walk, no recursion)."""
    cursor = node.walk()
    first_child, next_sibling, parent = (cursor.goto_first_child, cursor.goto_next_sibling,
                                         cursor.goto_parent)
    add_code, add_start = out_codes.append, out_starts.append  # bound once: this loop is hot
    while True:
        node = cursor.node
        kid = node.kind_id
        try:
            action = actions[kid]
        except IndexError:  # an ERROR node: walked like any other inner node
            kid = len(actions) - 1
            action = PLAIN
        if action == PLAIN:
            if first_child():
                continue
            add_code(codes[kid])
            add_start(node.start_byte)
        elif action == FIXED:
            add_code(codes[kid])
            add_start(node.start_byte)
        elif action == TEXT:
            add_code(_code(data[node.start_byte:node.end_byte]))
            add_start(node.start_byte)
        while not next_sibling():
            if not parent():
                return


def token_stream(parsed, roots, mode: str = "type2") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Normalised tokens under the root nodes (in tree order, not overlapping).

    Returns token codes (uint64), start bytes (int64) and 1-based lines (int32).
    """
    lang = parsed.tree.language
    key = (id(lang), parsed.language, mode)
    table = _tables.get(key)
    if table is None:
        table = _tables[key] = _kind_table(lang, parsed.language, mode)
    codes: list[int] = []
    starts: list[int] = []
    for root in roots:
        _walk_tokens(root, *table, parsed.data, codes, starts)
    starts_arr = np.array(starts, dtype=np.int64)
    newlines = np.flatnonzero(np.frombuffer(parsed.data, dtype=np.uint8) == 10)
    lines = (np.searchsorted(newlines, starts_arr) + 1).astype(np.int32)
    return np.array(codes, dtype=np.uint64), starts_arr, lines


def kgram_hashes(codes: np.ndarray, k: int) -> np.ndarray:
    """Rolling polynomial hash of every kgram (mod 2**64), then a mixing step."""
    n = len(codes) - k + 1
    if n <= 0:
        return np.zeros(0, dtype=np.uint64)
    with np.errstate(over="ignore"):
        h = codes[:n].copy()
        for j in range(1, k):
            h = h * _BASE + codes[j:j + n]
        h ^= h >> np.uint64(29)
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(32)
    return h


def winnow(hashes: np.ndarray, window: int) -> np.ndarray:
    """Positions of the winnowing fingerprints: the leftmost minimum of every window.

    The minimum is taken offset by offset over whole arrays (a strict ``<`` keeps
    the leftmost); consecutive windows' picks never decrease, so repeats are
    adjacent and dropped without a sort.
    """
    if len(hashes) <= window:
        return np.array([int(np.argmin(hashes))] if len(hashes) else [], dtype=np.int64)
    n = len(hashes) - window + 1
    best = hashes[:n].copy()
    offset = np.zeros(n, dtype=np.int64)
    for j in range(1, window):
        later = hashes[j:j + n]
        smaller = later < best
        best[smaller] = later[smaller]
        offset[smaller] = j
    picks = offset + np.arange(n)
    return picks[np.r_[True, picks[1:] != picks[:-1]]]


_permutations: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
# MurmurHash3's 64-bit finalizer, as datasketch's affine64 scheme pre-mixes its input
_FMIX = (np.uint64(33), np.uint64(0xFF51AFD7ED558CCD), np.uint64(0xC4CEB9FE1A85EC53))
_CHUNK = 256  # kgrams per block of the MinHash product: 256 KB stays in cache (4,096 is 6x slower)


def minhash_signature(values: np.ndarray, num_perm: int, seed: int) -> np.ndarray:
    """datasketch's ``MinHash(num_perm, seed, scheme="affine64")`` of a set of 64-bit
    values (identity hash), computed in numpy: the same hash values as its
    ``update_batch``, without a Python call per value. Tested against datasketch.
    """
    perm = _permutations.get((num_perm, seed))
    if perm is None:
        perm = _permutations[(num_perm, seed)] = affine64_permutations(num_perm, seed)
    a, b = perm
    shift, m1, m2 = _FMIX
    out = np.full(num_perm, np.iinfo(np.uint64).max, dtype=np.uint64)
    with np.errstate(over="ignore"):
        hv = values ^ (values >> shift)
        hv *= m1
        hv ^= hv >> shift
        hv *= m2
        hv ^= hv >> shift
        for lo in range(0, len(hv), _CHUNK):
            np.minimum(out, (hv[lo:lo + _CHUNK, None] * a + b).min(axis=0), out=out)
    return out


def affine64_permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """datasketch's affine64 permutation parameters (odd a, any b) for a seed: drawn
    the way its MinHash draws them, without importing datasketch (and scipy with it,
    about a second before the workers can start)."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 63, num_perm, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    b = gen.randint(0, 1 << 64, num_perm, dtype=np.uint64)
    return a, b


def lsh_bands(threshold: float, num_perm: int) -> list[tuple[int, int]]:
    """The band ranges datasketch's ``MinHashLSH(threshold, num_perm)`` uses.

    Its b bands of r rows minimise the equally weighted false positive and false
    negative probability areas; the integrals are taken here by Gauss-Legendre
    quadrature (exact for these polynomials up to degree 2 x 96) instead of scipy's
    ``quad``. Tested against datasketch over a grid of thresholds.
    """
    nodes, weights = np.polynomial.legendre.leggauss(96)
    lo_s = (nodes + 1) * threshold / 2  # [0, threshold]
    hi_s = threshold + (nodes + 1) * (1 - threshold) / 2  # [threshold, 1]
    best, opt = float("inf"), (0, 0)
    for b in range(1, num_perm + 1):
        for r in range(1, num_perm // b + 1):
            fp = float(weights @ (1 - (1 - lo_s ** r) ** b)) * threshold / 2
            fn = float(weights @ ((1 - hi_s ** r) ** b)) * (1 - threshold) / 2
            if fp * 0.5 + fn * 0.5 < best:
                best, opt = fp * 0.5 + fn * 0.5, (b, r)
    b, r = opt
    return [(i * r, (i + 1) * r) for i in range(b)]


def sketch_units(parsed, sloc_by_unit: list[int], params: CloneParams) -> list[UnitPrint]:
    """UnitPrints for the parsed file's function units that are big enough to compare."""
    wanted = [(cu, sloc) for cu, sloc in zip(parsed.units, sloc_by_unit)
              if cu.kind in UNIT_KINDS and sloc >= params.min_lines]
    roots = _outermost_nodes([cu for cu, _ in wanted])
    codes, starts, lines = token_stream(parsed, roots, params.mode)
    path, language = parsed.source.path, parsed.language
    out = []
    for cu, sloc in wanted:
        lo, hi = np.searchsorted(starts, [cu.start_byte, cu.end_byte])
        if hi - lo < params.min_tokens:
            continue
        hashes = kgram_hashes(codes[lo:hi], params.kgram)
        signature = minhash_signature(np.unique(hashes), params.num_perm, params.seed)
        out.append(unit_print(path, language, cu.qualname, (cu.start_line, cu.end_line), sloc,
                              codes[lo:hi], lines[lo:hi], signature, params, hashes))
    return out


def _outermost_nodes(units) -> list:
    """Nodes of the units not nested in another one of them, in tree order."""
    roots, end = [], -1
    for cu in sorted(units, key=lambda cu: (cu.start_byte, -cu.end_byte)):
        if cu.start_byte >= end:
            roots.append(cu.node)
            end = cu.end_byte
    return roots


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
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    first = np.r_[True, ordered[1:] != ordered[:-1]]
    starts = np.flatnonzero(first)
    counts = np.diff(np.r_[starts, len(values)]).astype(np.int32)
    ranks = np.empty(len(values), dtype=np.int32)
    ranks[order] = np.arange(len(values)) - starts[np.cumsum(first) - 1]
    return ordered[first], counts, ranks


def file_pass(parsed, file_result, options: dict):
    """Pipeline pass: sketch this file's function units (the FileResult is unchanged)."""
    params = CloneParams(**options.get("clones", {}))
    units = file_result.units
    if len(units) != len(parsed.units):  # measure() keeps one Unit per CodeUnit, in order
        raise RuntimeError(f"{parsed.source.path}: unit lists differ in length")
    return file_result, sketch_units(parsed, [u.metrics.sloc for u in units], params)


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

    Every unit's distinct fingerprint hashes and their counts go in one table,
    sorted by a 64-bit key mixing hash and unit; each side's fingerprints look
    their partner's count up there, and coverage is summed per pair. The lookup
    checks hash and unit, so a key shared by two entries is the only way to go
    wrong: then every pair is verified one by one instead. Same numbers as
    :func:`similarity` (tested on CCC's 16,802 candidate pairs).
    """
    if not pairs:
        return []
    table = _CountTable(units)
    if table.ambiguous:
        return [similarity(units[i], units[j], k) for i, j in pairs]
    left = np.array([i for i, _ in pairs], dtype=np.int64)
    right = np.array([j for _, j in pairs], dtype=np.int64)
    cover_a, shared = _covered(units, table, left, right, k)
    cover_b, _ = _covered(units, table, right, left, k)
    out = []
    for n, (i, j) in enumerate(pairs):
        a, b = units[i], units[j]
        if a.digest == b.digest:
            out.append((1.0, len(a.fp_set)))
        elif not shared[n]:
            out.append((0.0, 0))
        else:
            covered = int(cover_a[n]) + int(cover_b[n])
            out.append((min(1.0, covered / (a.tokens + b.tokens)), int(shared[n])))
    return out


_UNIT_MIX = np.uint64(0x9E3779B97F4A7C15)  # odd: spreads unit numbers over the key space


class _CountTable:
    """(unit, distinct fingerprint hash) -> occurrences, for a batch lookup."""

    def __init__(self, units: list[UnitPrint]):
        sizes = np.array([len(u.fp_set) for u in units], dtype=np.int64)
        unit = np.repeat(np.arange(len(units), dtype=np.int64), sizes)
        hashes = np.concatenate([u.fp_set for u in units])
        counts = np.concatenate([u.fp_count for u in units])
        keys = _key(hashes, unit)
        order = np.argsort(keys, kind="stable")
        self.keys, self.unit, self.hashes = keys[order], unit[order], hashes[order]
        self.counts = counts[order]
        self.ambiguous = bool(len(keys) > 1 and (self.keys[1:] == self.keys[:-1]).any())

    def lookup(self, unit: np.ndarray, hashes: np.ndarray) -> np.ndarray:
        """Occurrences of each hash in the given unit (0 when absent)."""
        keys = _key(hashes, unit)
        order = np.argsort(keys)  # sorted queries let the binary searches share their path
        at = np.empty(len(keys), dtype=np.int64)
        at[order] = np.searchsorted(self.keys, keys[order])
        at[at == len(self.keys)] = 0
        hit = (self.unit[at] == unit) & (self.hashes[at] == hashes)
        return np.where(hit, self.counts[at], 0)


def _key(hashes: np.ndarray, unit: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return hashes ^ (unit.astype(np.uint64) * _UNIT_MIX)


def _covered(units, table: _CountTable, side: np.ndarray, other: np.ndarray, k: int):
    """Per pair: tokens of ``side`` covered by fingerprints matched in ``other``, and how
    many of its fingerprints matched (occurrence by occurrence, as :func:`_matched`)."""
    sizes = np.array([len(units[u].fp_hash) for u in side.tolist()], dtype=np.int64)
    pair = np.repeat(np.arange(len(side)), sizes)
    hashes = np.concatenate([units[u].fp_hash for u in side.tolist()])
    ranks = np.concatenate([units[u].fp_rank for u in side.tolist()])
    pos = np.concatenate([units[u].fp_pos for u in side.tolist()]).astype(np.int64)
    matched = ranks < table.lookup(np.repeat(other, sizes), hashes)
    pair, pos = pair[matched], pos[matched]
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
    for i, h in enumerate(b.fp_hash.tolist()):
        where_b.setdefault(h, []).append(i)
    runs: list[list[tuple[int, int]]] = []
    for i, h in enumerate(a.fp_hash.tolist()):
        options = where_b.get(h)
        if not options:
            continue
        run = runs[-1] if runs else None
        j = _continuation(a, b, run, i, options, window) if run else None
        if j is None:
            runs.append([(i, options[0])])
        else:
            run.append((i, j))
    runs.sort(key=len, reverse=True)
    return [_fragment(a, b, run) for run in runs[:limit]]


def _continuation(a, b, run, i, options, window) -> int | None:
    last_i, last_j = run[-1]
    gap_a = int(a.fp_pos[i] - a.fp_pos[last_i])
    for j in options:
        gap_b = int(b.fp_pos[j] - b.fp_pos[last_j])
        if 0 < gap_b <= gap_a + window and gap_a <= 4 * window:
            return j
    return None


def _fragment(a: UnitPrint, b: UnitPrint, run) -> Fragment:
    (i0, j0), (i1, j1) = run[0], run[-1]
    return Fragment((int(a.fp_first[i0]), int(a.fp_last[i1])),
                    (int(b.fp_first[j0]), int(b.fp_last[j1])), len(run))


# -- grouping -----------------------------------------------------------------------

@dataclass
class CloneGroup:
    """Units joined by verified pairs; members sorted by path then line, first = original."""

    members: list[UnitPrint]
    pairs: list[tuple[int, int, float]]  # spanning pairs, member indices, best first
    evidence: list[list[Fragment]] = field(default_factory=list)

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
    ranges = lsh_bands(params.lsh_threshold, params.num_perm)
    signatures = np.stack([u.signature for u in units])
    pairs = set()
    for start, end in ranges:
        for bucket in _buckets(signatures[:, start:end]):
            for x, i in enumerate(bucket):
                for j in bucket[x + 1:]:
                    if units[i].language == units[j].language and not _nested(units[i], units[j]):
                        pairs.add((i, j))
    return pairs


def _buckets(band: np.ndarray) -> list[list[int]]:
    """Row indices grouped by equal rows (groups of two or more), each ascending."""
    rows = np.ascontiguousarray(band).view(np.dtype((np.void, band.dtype.itemsize * band.shape[1])))
    _, inverse = np.unique(rows.ravel(), return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    keys = inverse[order]
    bounds = np.r_[0, np.flatnonzero(np.diff(keys)) + 1, len(keys)]
    return [order[bounds[g]:bounds[g + 1]].tolist() for g in np.flatnonzero(np.diff(bounds) > 1)]


def _nested(a: UnitPrint, b: UnitPrint) -> bool:
    if a.path != b.path:
        return False
    return (a.start_line <= b.start_line and b.end_line <= a.end_line) or \
           (b.start_line <= a.start_line and a.end_line <= b.end_line)


def find_clones(units: list[UnitPrint], params: CloneParams, total_sloc: int) -> CloneReport:
    """Candidates by LSH, exact verification, then groups as connected components."""
    units = sorted(units, key=lambda u: (u.path, u.start_line, u.qualname))
    cands = candidate_pairs(units, params) if len(units) > 1 else set()
    reach = [(i, j) for i, j in sorted(cands)
             if _can_reach(units[i].tokens, units[j].tokens, params.threshold)]
    pairs = [Pair(i, j, sim, shared)
             for (i, j), (sim, shared) in zip(reach, similarities(units, reach, params.kgram))
             if sim >= params.threshold]
    groups = _components(units, pairs, params)
    groups.sort(key=lambda g: (-g.duplicated_sloc, -g.size, g.members[0].path,
                               g.members[0].start_line))
    return CloneReport(params, groups, len(units), len(cands), len(pairs), total_sloc)


def _can_reach(n: int, m: int, threshold: float) -> bool:
    """Whether units of n and m tokens can reach the threshold at all.

    Fingerprints match occurrence by occurrence, so the larger unit's covered
    tokens hardly exceed the smaller unit's: similarity is at most about
    2 * min(n, m) / (n + m) (on CCC, 2 of 3,276 verified pairs beat the bound by
    a kgram's width). A unit three times the size of the other is no clone at 0.7.
    """
    return 2 * min(n, m) >= threshold * (n + m)


def _components(units: list[UnitPrint], pairs: list[Pair], params: CloneParams) -> list[CloneGroup]:
    """Union verified pairs, best first, so each group keeps a maximum spanning tree."""
    parent = list(range(len(units)))

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    spanning = []
    for p in sorted(pairs, key=lambda p: (-p.similarity, p.a, p.b)):
        ra, rb = root(p.a), root(p.b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
            spanning.append(p)
    by_root: dict[int, list[Pair]] = {}
    for p in spanning:
        by_root.setdefault(root(p.a), []).append(p)
    return [_group(units, ps, params) for ps in by_root.values()]


def _group(units: list[UnitPrint], pairs: list[Pair], params: CloneParams) -> CloneGroup:
    index = sorted({i for p in pairs for i in (p.a, p.b)})
    local = {u: n for n, u in enumerate(index)}
    members = [units[i] for i in index]
    spans = [(local[p.a], local[p.b], p.similarity) for p in pairs]
    evidence = [fragments(members[i], members[j], params.window) for i, j, _ in spans]
    return CloneGroup(members, spans, evidence)
