"""Structural evidence: order-preserving alignment of unit shapes, scored against a null model.

A port keeps its original's functions in nearly the same order, and each of
them roughly the same shape (branches, loops, calls, operators, constants),
even when every name, comment and string is gone. One shape agreeing is weak
evidence; many agreeing *in order* is strong. So each audited file is read as a
sequence of entry shapes (``sketch.entry_shapes``: functions, and fixed windows
over long ones) and aligned with the sequence of a candidate corpus file by
local alignment (Smith-Waterman, linear gaps) over a similarity matrix.

The null model is the same matrix with the corpus file's entries in random
order (PRSS-style shuffling, Pearson 1988): it keeps every pairwise similarity
(so code of the same domain that merely looks alike scores the same as
shuffled) and destroys only the order. The alignment scores of ``shuffles``
permutations are fitted with an extreme-value (Gumbel) distribution by the
method of moments; the p-value of the real score is its upper tail, and the
*expected number of chance alignments* this good is ``p`` times the number of
corpus files searched (an E-value, as in BLAST: every file of every loaded
corpus, not only the candidates aligned, so the figure holds however the
candidates were picked).
Permutations are seeded from the file pair, so results are reproducible.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field

import numpy as np

from audit.provenance.channels import CHANNELS
from audit.provenance.index import BandLookup
from audit.provenance.sketch import SHAPE_GROUPS, FileSketch

EULER_GAMMA = 0.5772156649015329


@dataclass(frozen=True)
class StructureConfig:
    """Alignment knobs; echoed into the report. Scoring choices change power, never validity:
    significance comes from the permutation null of the same matrix."""

    candidates: int = 8  # corpus files aligned per audited file (by shared LSH band keys)
    min_entries: int = 3  # shorter sequences carry no order to test
    offset: float = 0.5  # similarity z-score a pair must exceed to add to an alignment
    gap: float = 0.5
    min_pairs: int = 3  # agreeing pairs an alignment needs to count at all
    min_tokens: int = 8  # an entry with fewer structural tokens has too little shape to agree on
    first: int = 4  # shuffles that drop a pair at once when one of them does as well (p >= 0.2)
    screen: int = 19  # shuffles that screen a pair; a promising one gets ``shuffles`` more
    shuffles: int = 99
    refine: int = 1900  # more shuffles for a pair whose p-value is near the significance line
    near: float = 30.0  # "near": within this factor of it, either side
    screen_p: float = 0.05
    bucket_cap: int = 400


@dataclass
class Alignment:
    """The best order-preserving alignment of one audited file with one corpus file."""

    corpus: str
    corpus_path: str
    swhid: str
    score: float
    p_value: float
    expected_chance: float  # E-value: alignments this good expected by chance over the files compared
    pairs: list[tuple[int, int, float]] = field(default_factory=list)  # audited entry, corpus entry, z
    tested: int = 0
    corpus_spans: list[tuple[int, int]] = field(default_factory=list)
    corpus_names: list[str] = field(default_factory=list)

    def to_dict(self, sk: FileSketch) -> dict:
        return {"corpus": self.corpus, "corpus_path": self.corpus_path, "swhid": self.swhid,
                "score": round(self.score, 3), "p_value": float(f"{self.p_value:.3g}"),
                "expected_chance": float(f"{self.expected_chance:.3g}"), "files_compared": self.tested,
                "pairs": [{"unit": sk.entry_names[q], "lines": [int(sk.entry_start[q]), int(sk.entry_end[q])],
                           "corpus_unit": name, "corpus_lines": list(span), "z": round(z, 2)}
                          for (q, _, z), span, name in zip(self.pairs, self.corpus_spans, self.corpus_names)]}


def sequence(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Entries read in order, a long unit by its windows rather than as a whole."""
    order = np.lexsort((-(np.asarray(end, dtype=np.int64)), start))
    s, e = np.asarray(start)[order], np.asarray(end)[order]
    holds = (s[1:] >= s[:-1]) & (e[1:] <= e[:-1]) & ((s[1:] != s[:-1]) | (e[1:] != e[:-1]))
    return order[~np.append(holds, False)[:len(order)]].astype(np.int64)


def unit_vectors(shape: np.ndarray) -> np.ndarray:
    """Log-scaled shape counts, each row of unit length (an empty shape stays zero)."""
    v = np.log1p(np.asarray(shape, dtype=np.float64))
    norm = np.linalg.norm(v, axis=1, keepdims=True)
    return np.divide(v, norm, out=np.zeros_like(v), where=norm > 0)


def score_matrix(a: np.ndarray, b: np.ndarray, offset: float) -> np.ndarray:
    """Cosine similarities, centred by row and column, as z-scores, less ``offset``.

    Centring takes out what a unit shares with every unit of the other file (a small
    function of calls looks like all small functions of calls): only a pair that agrees
    more than its row and column do counts as a specific agreement.
    """
    sim = a @ b.T
    sim = sim - sim.mean(axis=1, keepdims=True) - sim.mean(axis=0, keepdims=True) + sim.mean()
    sd = float(sim.std())
    z = sim / sd if sd > 1e-9 else np.zeros_like(sim)
    return z - offset


def best_scores(m: np.ndarray, gap: float, perms: np.ndarray | None = None) -> np.ndarray:
    """Smith-Waterman best local score of ``m`` under each column order (rows of ``perms``).

    Row by row: H[i, j] = max(0, H[i-1, j-1] + m, H[i-1, j] - g, H[i, j-1] - g); the last
    term is a running maximum of (A[k] + g k) - g j, so each row is a few vector operations.
    """
    mats = (m[None, :, :] if perms is None else m[:, perms].transpose(1, 0, 2)).astype(np.float32)
    if mats.shape[1] > mats.shape[2]:  # the score is the same transposed: loop over the shorter side
        mats = mats.transpose(0, 2, 1)
    k, n, w = mats.shape
    ramp = (gap * np.arange(w + 1)).astype(np.float32)
    prev = np.zeros((k, w + 1), dtype=np.float32)
    best = np.zeros(k, dtype=np.float32)
    for i in range(n):
        a = np.maximum(np.maximum(prev[:, :-1] + mats[:, i, :], prev[:, 1:] - gap), 0.0)
        row = np.empty_like(prev)
        row[:, 0] = 0.0
        row[:, 1:] = np.maximum.accumulate(a + ramp[1:], axis=1) - ramp[1:]
        best = np.maximum(best, row.max(axis=1))
        prev = row
    return best


def traceback(m: np.ndarray, gap: float) -> tuple[float, list[tuple[int, int]]]:
    """The best local alignment of ``m`` and its matched (row, column) pairs that score > 0."""
    n, w = m.shape
    h = np.zeros((n + 1, w + 1))
    ramp = gap * np.arange(w + 1)
    for i in range(n):
        a = np.maximum(np.maximum(h[i, :-1] + m[i], h[i, 1:] - gap), 0.0)
        h[i + 1, 1:] = np.maximum.accumulate(a + ramp[1:]) - ramp[1:]
    i, j = np.unravel_index(int(np.argmax(h)), h.shape)
    score, pairs = float(h[i, j]), []
    while i > 0 and j > 0 and h[i, j] > 0:
        if math.isclose(h[i, j], h[i - 1, j - 1] + m[i - 1, j - 1], abs_tol=1e-9):
            if m[i - 1, j - 1] > 0:
                pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif math.isclose(h[i, j], h[i - 1, j] - gap, abs_tol=1e-9):
            i -= 1
        else:
            j -= 1
    return score, pairs[::-1]


def gumbel_p(score: float, null: np.ndarray) -> float:
    """Upper-tail p-value of ``score`` under a Gumbel fitted to ``null`` by moments.

    A Gumbel describes the best of many local alignments; where most shuffles align
    nothing at all, or a quarter of them reach one same score (an alignment inside one
    block that no shuffle changes), the fit would extrapolate wildly, so the plain
    permutation p-value ((r + 1) / (N + 1), never below 1/(N + 1)) is used instead.
    """
    sd = float(null.std())
    _, ties = np.unique(np.round(null, 4), return_counts=True)
    if sd <= 1e-12 or float(np.mean(null <= 0)) > 0.5 or ties.max() > 0.25 * len(null):
        return float((np.sum(null >= score) + 1) / (len(null) + 1))
    beta = sd * math.sqrt(6.0) / math.pi
    mu = float(null.mean()) - EULER_GAMMA * beta
    return float(min(1.0, -math.expm1(-math.exp(-(score - mu) / beta))))


def blocks_of(names: list[str], shapes: np.ndarray | None = None) -> list[np.ndarray]:
    """Runs of entries that must move together when shuffled: the windows of one function,
    and consecutive entries of one same shape.

    Windows over one long function (``name[0]``, ``name[120]``, ...) resemble each other;
    shuffled one by one they would leave a diagonal through two such runs looking like
    order the shuffles never reproduce. Moved as blocks, they keep their own order. A run
    of entries of identical shape (generated accessors, intrinsics by the thousand) is a
    low-complexity stretch of the same kind: any run of similar audited entries aligns
    along it, in the real order and in every shuffle alike.
    """
    same = np.zeros(len(names), dtype=bool)
    if shapes is not None and len(names) > 1:
        same[1:] = (shapes[1:] == shapes[:-1]).all(axis=1)
    out, start = [], 0
    for i in range(1, len(names) + 1):
        if i == len(names) or not (same[i] or _window_of(names[i], names[i - 1])):
            out.append(np.arange(start, i))
            start = i
    return out


def _window_of(name: str, before: str) -> bool:
    return "[" in name and name.split("[")[0] == before.split("[")[0]


def _shuffles(blocks: list[np.ndarray], count: int, rng) -> np.ndarray:
    """``count`` column orders, each a random order of the blocks (members keep theirs)."""
    width = sum(len(b) for b in blocks)
    if len(blocks) == width:
        return np.argsort(rng.random((count, width)), axis=1)
    bid = np.repeat(np.arange(len(blocks)), [len(b) for b in blocks])
    ranks = np.argsort(np.argsort(rng.random((count, len(blocks))), axis=1), axis=1)
    return np.argsort(ranks[:, bid] * width + np.arange(width), axis=1)


def _p_value(m: np.ndarray, score: float, cfg: StructureConfig, rng, blocks: list[np.ndarray],
             line: float = 0.0) -> float:
    """Shuffles in stages, so most pairs cost a few alignments: a pair that some of ``first``
    shuffles equal is done (permutation p-value); then ``screen`` more and a Gumbel fit; only a
    pair that may be significant gets the full ``shuffles``, and one whose p-value is within
    a factor ``near`` of the significance ``line`` gets ``refine`` more: fitted on ~120
    shuffles, a tail probability of 1e-8 varies about tenfold from one set of shuffles to
    another, so the decision is not left to that draw."""
    null = best_scores(m, cfg.gap, _shuffles(blocks, cfg.first, rng))
    if (null >= score).any():
        return tail_p(score, null)
    null = np.concatenate([null, best_scores(m, cfg.gap, _shuffles(blocks, cfg.screen, rng))])
    p = tail_p(score, null)
    if p > cfg.screen_p:
        return p
    null = np.concatenate([null, best_scores(m, cfg.gap, _shuffles(blocks, cfg.shuffles, rng))])
    p = tail_p(score, null)
    if line > 0 and line / cfg.near <= p <= line * cfg.near:
        p = tail_p(score, np.concatenate([null, best_scores(m, cfg.gap, _shuffles(blocks, cfg.refine, rng))]))
    return p


def tail_p(score: float, null: np.ndarray) -> float:
    """The permutation p-value ((r + 1) / (N + 1)) where some shuffles reach the score, which
    is exact; the fitted Gumbel tail only beyond all of them, where counting cannot reach.
    A Gumbel fitted to a few dozen shuffles misplaces moderate p-values (among random pairs
    that aligned, 6.9% came out under 0.05 with the fit alone)."""
    reached = int(np.sum(null >= score))
    if reached:
        return float((reached + 1) / (len(null) + 1))
    return gumbel_p(score, null)


def _seed(a: str, b: str) -> int:
    return zlib.crc32(f"{a}\0{b}".encode("utf-8"))


def _corpus_entries(ix, f: int) -> tuple[int, int]:
    ef = ix.a["entry_file"]
    return int(np.searchsorted(ef, f, "left")), int(np.searchsorted(ef, f, "right"))


def candidate_files(sk: FileSketch, indexes, cfg: StructureConfig,
                    lookup: BandLookup | None = None) -> list[tuple[object, int, float]]:
    """Corpus files sharing the most band keys with the audited file, each key weighing the
    inverse of how many entries of all loaded corpora hold it: (index, file, weight).

    Counted plainly, the biggest corpus files (thousands of entries) win on chance hits alone;
    weighed, a key shared with few entries counts for more than one shared with hundreds."""
    lookup = lookup or BandLookup(sk.bands, indexes, cfg.bucket_cap)
    weights: dict[tuple[int, int], float] = {}
    for c in CHANNELS:
        for n, ix in enumerate(indexes):
            _, e, bucket = lookup.pairs(n, c)
            if not len(e):
                continue
            files, inv = np.unique(np.asarray(ix.a["entry_file"][e]), return_inverse=True)
            for f, v in zip(files.tolist(), np.bincount(inv, weights=1.0 / bucket).tolist()):
                weights[(n, f)] = weights.get((n, f), 0.0) + v
    ranked, docs = [], set()
    for (n, f), h in sorted(weights.items(), key=lambda kv: (-kv[1], kv[0])):
        doc = (n, int(indexes[n].a["file_doc"][f]))
        if doc not in docs:  # one version of a path: its others would crowd out other files
            docs.add(doc)
            ranked.append(((n, f), h))
            if len(ranked) == cfg.candidates:
                break
    return [(indexes[n], f, h) for (n, f), h in ranked]


def align_file(sk: FileSketch, indexes, cfg: StructureConfig = StructureConfig(),
               lookup: BandLookup | None = None, n_files: int = 1, alpha: float = 0.0) -> list[Alignment]:
    """Alignments of one audited file with its candidate corpus files, most significant first;
    ``lookup``: the file's band keys already looked up (by matching), when there is one;
    ``n_files`` and ``alpha``: files in the whole audit and the family-wise level a verdict
    holds alignments to (Thresholds.structure_alpha): p-values near that line are refined."""
    query = query_side(sk, cfg)
    if len(query[0]) < cfg.min_entries:  # no candidate could align: not worth looking them up
        return []
    cands = candidate_files(sk, indexes, cfg, lookup if lookup and lookup.cap == cfg.bucket_cap else None)
    searched = sum(ix.n_files for ix in indexes)  # as in BLAST, E counts the whole database searched
    line = alpha / (searched * max(n_files, 1))  # the p-value of a just significant alignment
    out = [al for ix, f, _ in cands if (al := align_pair(sk, ix, f, cfg, searched, query, line)) is not None]
    out.sort(key=lambda a: (a.expected_chance, -a.score, a.corpus, a.corpus_path))
    return out


def _substantial(seq: np.ndarray, shape, cfg: StructureConfig) -> np.ndarray:
    """Entries with enough structure to agree on: a one-line wrapper (an intrinsic, a getter)
    looks like every other, and long runs of them align in any order of drift."""
    tokens = np.asarray(shape[seq])[:, :len(SHAPE_GROUPS)].sum(axis=1) if len(seq) else np.zeros(0)
    return seq[tokens >= cfg.min_tokens]


def query_side(sk: FileSketch, cfg: StructureConfig) -> tuple[np.ndarray, np.ndarray]:
    """The audited file's sequence of substantial entries and their shape vectors."""
    seq = _substantial(sequence(sk.entry_start, sk.entry_end), sk.entry_shape, cfg)
    return seq, unit_vectors(sk.entry_shape[seq])


def align_pair(sk: FileSketch, ix, f: int, cfg: StructureConfig, tests: int,
               query: tuple[np.ndarray, np.ndarray] | None = None, line: float = 0.0) -> Alignment | None:
    """The alignment of one audited file with corpus file ``f``; ``tests``: files compared in all;
    ``query``: the file's :func:`query_side`, when already computed; ``line``: the p-value at
    which it would be significant (p-values near it are refined)."""
    seq, qv = query if query is not None else query_side(sk, cfg)
    lo, hi = _corpus_entries(ix, f)
    cseq = lo + sequence(np.asarray(ix.a["entry_start"][lo:hi]), np.asarray(ix.a["entry_end"][lo:hi]))
    cseq = _substantial(cseq, ix.a["entry_shape"], cfg)
    if len(seq) < cfg.min_entries or len(cseq) < cfg.min_entries:
        return None
    shapes = np.asarray(ix.a["entry_shape"][cseq])
    m = score_matrix(qv, unit_vectors(shapes), cfg.offset)
    score, pairs = traceback(m, cfg.gap)
    if len(pairs) < cfg.min_pairs:
        return None
    blocks = blocks_of([ix.entry_names[int(e)] for e in cseq], shapes)
    if len(blocks) < cfg.min_entries:
        return None
    p = _p_value(m, score, cfg, np.random.default_rng(_seed(sk.sha1, ix.files[f].sha1)), blocks, line)
    row = ix.files[f]
    al = Alignment(ix.name, row.label, row.swhid, score, p, p * tests,
                   [(int(seq[i]), int(cseq[j]), float(m[i, j] + cfg.offset)) for i, j in pairs], tests)
    for _, e, _ in al.pairs:
        _, a, b, name = ix.entry(e)
        al.corpus_spans.append((a, b))
        al.corpus_names.append(name)
    return al
