"""Matching: LSH candidates from corpus indexes, then exact verification with evidence.

For each audited entry (unit or window), band keys shared with corpus entries
propose candidates (buckets bigger than ``bucket_cap`` hold shapes common to
much of the corpus and are skipped). Each candidate is verified by
intersecting winnowed fingerprints channel by channel: the similarity of a
channel is the share of the audited entry's fingerprint *weight* found in the
corpus entry, where a fingerprint weighs its inverse document frequency over
all loaded corpora. Fingerprints that are interface-forced (allow-list) or
common (in more than ``common_share`` of corpus files) weigh nothing and are
counted as discounted.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from audit.provenance.channels import CHANNELS
from audit.provenance.index import BandLookup, expand_ranges
from audit.provenance.sketch import KIND_WINDOW, FileSketch


MAX_EXAMPLES = 3  # interface-forced examples kept per file and channel
PASSAGE_CHANNEL = "text"  # free prose: the channel whose separate passages are counted per file


@dataclass(frozen=True)
class MatchConfig:
    """Matching knobs; echoed into the report."""

    bucket_cap: int = 400
    top_candidates: int = 12
    common_share: float = 0.01  # fingerprints in more corpus files than this share are common
    common_min_df: int = 8
    weights: tuple = (("struct", 0.35), ("ident", 0.2), ("text", 0.35), ("num", 0.1))
    min_mass: tuple = (("struct", 6.0), ("ident", 3.0), ("text", 2.0), ("num", 3.0))
    single_channel: float = 0.6  # one channel alone is weaker evidence than two that agree


@dataclass
class Fragment:
    """A run of shared fingerprints: paired line spans on both sides.

    ``expected_chance`` (set once the audited file's size is known, audit.provenance.chance)
    is how many runs at least this large, on this channel, independent code of the same
    domain shows in a file of this size; ``group`` numbers the passage it belongs to
    (audit.provenance.evidence) when one passage shows up in several places.
    """

    kind: str
    lines: tuple[int, int]
    corpus_lines: tuple[int, int]
    fingerprints: int
    max_df: int  # corpus files holding the commonest fingerprint of the run
    expected_chance: float | None = None
    beyond_calibration: bool = False  # larger than any calibration fragment: expected_chance is a bound
    group: int | None = None
    keys: frozenset = field(default=frozenset(), repr=False, compare=False)  # its shared hashes (text only)

    def to_dict(self) -> dict:
        chance = None if self.expected_chance is None else float(f"{self.expected_chance:.3g}")
        return {"kind": self.kind, "lines": list(self.lines), "corpus_lines": list(self.corpus_lines),
                "fingerprints": self.fingerprints, "max_df": self.max_df, "expected_chance": chance,
                "beyond_calibration": self.beyond_calibration, "group": self.group}


@dataclass
class EntryMatch:
    """The best verified corpus entry for one audited entry."""

    entry: int
    corpus: str
    corpus_path: str
    swhid: str
    corpus_unit: str
    corpus_lines: tuple[int, int]
    score: float
    channels: dict[str, float]
    shared: dict = field(default_factory=dict, repr=False)  # channel -> (selection, mask, corpus fps)
    corpus_entry: int = -1
    corpus_doc: int = -1  # the corpus file's document (all versions of one path are one)
    fragments: list[Fragment] = field(default_factory=list)


@dataclass
class Discounted:
    """Shared fingerprints that did not count, by reason and channel."""

    interface: dict[str, int] = field(default_factory=lambda: {c: 0 for c in CHANNELS})
    common: dict[str, int] = field(default_factory=lambda: {c: 0 for c in CHANNELS})
    examples: list[dict] = field(default_factory=list)

    def add(self, other: "Discounted") -> None:
        for c in CHANNELS:
            self.interface[c] += other.interface[c]
            self.common[c] += other.common[c]
        self.examples.extend(other.examples)

    def to_dict(self, examples: int = 20) -> dict:
        ranked = sorted(self.examples, key=lambda e: (-e["corpus_files"], e["path"], e["lines"]))
        return {"interface": dict(self.interface), "common": dict(self.common),
                "total": sum(self.interface.values()) + sum(self.common.values()),
                "examples": ranked[:examples]}


@dataclass
class Timing:
    candidates: float = 0.0
    verification: float = 0.0


class DocFreq:
    """Document frequency summed over every loaded corpus."""

    def __init__(self, indexes):
        self.indexes = indexes
        self.n = max(1, sum(ix.n_docs for ix in indexes))  # versions of one path count once

    def df(self, channel: str, hashes: np.ndarray) -> np.ndarray:
        total = np.zeros(len(hashes), dtype=np.int64)
        for ix in self.indexes:
            total += ix.df(channel, hashes)
        return total

    def weight(self, df: np.ndarray) -> np.ndarray:
        """Inverse document frequency, 1.0 for a fingerprint in a single file."""
        return np.log1p(self.n / np.maximum(df, 1)) / math.log1p(self.n)


class FileMatcher:
    """Match one audited file's sketch against the loaded indexes."""

    def __init__(self, sk: FileSketch, indexes, docfreq: DocFreq, cfg: MatchConfig, timing: Timing,
                 lookup: BandLookup | None = None):
        self.sk, self.indexes, self.dfm, self.cfg, self.timing = sk, indexes, docfreq, cfg, timing
        self.lookup = lookup or BandLookup(sk.bands, indexes, cfg.bucket_cap)
        self.discounted = Discounted()
        self.q = {c: self._query_channel(c) for c in CHANNELS}
        self._corpus_fp: dict = {}  # (corpus, channel, entry) -> fingerprints; windows share entries
        self._query_sel: dict = {}  # (entry, channel) -> selection

    def _corpus_fingerprints(self, ix, c: str, e: int):
        key = (ix.name, c, e)
        got = self._corpus_fp.get(key)
        if got is None:
            got = self._corpus_fp[key] = ix.fingerprints(c, e)
        return got

    def _selection(self, q: int, c: str):
        got = self._query_sel.get((q, c))
        if got is None:
            lo, hi = int(self.sk.entry_start[q]), int(self.sk.entry_end[q])
            qc = self.q[c]
            sel = (qc["start"] >= lo) & (qc["start"] <= hi) & (qc["end"] <= hi)
            qh = qc["hash"][sel]
            # a repeated fingerprint weighs once: sixty identical emit() lines are one
            # shape, not sixty pieces of evidence (similarity is set containment)
            first = np.zeros(len(qh), dtype=bool)
            first[np.unique(qh, return_index=True)[1]] = True
            got = self._query_sel[(q, c)] = (sel, qh, qc["weight"][sel] * first)
        return got

    def _query_channel(self, c: str) -> dict:
        sk, cfg = self.sk, self.cfg
        h = sk.fp_hash[c]
        df = self.dfm.df(c, h)
        iface = sk.fp_iface[c] if sk.fp_iface is not None else np.zeros(len(h), dtype=bool)
        common = (df >= cfg.common_min_df) & (df > cfg.common_share * self.dfm.n)
        return {"hash": h, "start": sk.fp_start[c], "end": sk.fp_end[c], "df": df,
                "weight": np.where(iface | common, 0.0, self.dfm.weight(df)),
                "iface": iface, "common": common & ~iface}

    def run(self) -> list[EntryMatch]:
        best: dict[int, EntryMatch] = {}
        t0 = time.perf_counter()
        pairs = self._candidates()
        t1 = time.perf_counter()
        for n, q, e in self._winners(pairs):
            m = self._verify(self.indexes[n], q, e)
            if m is not None:
                best[q] = m
        self.timing.candidates += t1 - t0
        self.timing.verification += time.perf_counter() - t1
        for m in best.values():
            m.fragments = self.fragments(m)
            m.shared = {}
        self._count_discounted()
        return sorted(best.values(), key=lambda m: m.entry)

    def _candidates(self) -> list[tuple[int, int, int]]:
        """(index number, audited entry, corpus entry): the entries sharing the most band keys
        with each audited entry over all loaded corpora, as if they were one index; a bucket
        over ``bucket_cap`` across all of them is a common shape and proposes nothing."""
        ns, qs, es = [], [], []
        for c in CHANNELS:
            for n in range(len(self.indexes)):
                q, e, _ = self.lookup.pairs(n, c)
                ns.append(np.full(len(q), n, dtype=np.int64))
                qs.append(q)
                es.append(e)
        if not qs or sum(len(q) for q in qs) == 0:
            return []
        n, q, e = np.concatenate(ns), np.concatenate(qs), np.concatenate(es)
        key = (q << np.int64(40)) | (n << np.int64(32)) | e
        uniq, hits = np.unique(key, return_counts=True)
        q, n, e = uniq >> 40, (uniq >> 32) & 0xFF, uniq & 0xFFFFFFFF
        order = np.lexsort((-hits, q))
        q, n, e = q[order], n[order], e[order]
        first = np.searchsorted(q, q, "left")
        keep = (np.arange(len(q)) - first) < self.cfg.top_candidates
        return list(zip(n[keep].tolist(), q[keep].tolist(), e[keep].tolist()))

    def _winners(self, pairs: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
        """The best-scoring candidate of each audited entry (the first of equals, in candidate
        order), scored for all candidates at once; only the winners are verified one by one."""
        if not pairs:
            return []
        arr = np.array(pairs, dtype=np.int64)
        score = self._pair_scores(arr[:, 0], arr[:, 1], arr[:, 2])
        best: dict[int, int] = {}
        for i, (_, q, _) in enumerate(pairs):
            if score[i] > 0 and (q not in best or score[i] > score[best[q]]):
                best[q] = i
        return [pairs[i] for i in sorted(best.values())]

    def _pair_scores(self, ns: np.ndarray, qs: np.ndarray, es: np.ndarray) -> np.ndarray:
        """:meth:`_verify`'s score for every (index, audited entry, corpus entry) candidate,
        through one join per channel of the audited entries' fingerprints with the candidates'."""
        weights, mins = dict(self.cfg.weights), dict(self.cfg.min_mass)
        uq, qinv = np.unique(qs, return_inverse=True)
        ue, einv = np.unique((ns << np.int64(32)) | es, return_inverse=True)
        num, total_w, voters = np.zeros(len(qs)), np.zeros(len(uq)), np.zeros(len(uq), dtype=np.int64)
        for c in CHANNELS:
            qh, qw, qoff, mass = self._query_fingerprints(uq, c)
            votes = (mass > 0) & (mass >= mins[c])
            total_w += np.where(votes, weights[c], 0.0)
            voters += votes
            pidx = np.nonzero(votes[qinv])[0]
            corpus_keys = self._candidate_keys(ue, c) if len(pidx) and len(qh) else np.zeros(0, np.uint64)
            if not len(corpus_keys):
                continue
            owner, at = expand_ranges(qoff[qinv[pidx]], qoff[qinv[pidx] + 1])
            keys = _pair_key(qh[at], einv[pidx[owner]])
            hit = corpus_keys[np.minimum(np.searchsorted(corpus_keys, keys), len(corpus_keys) - 1)] == keys
            shared = np.bincount(owner, weights=qw[at] * hit, minlength=len(pidx))
            num[pidx] += weights[c] * shared / mass[qinv[pidx]]
        single = np.where(voters > 1, 1.0, self.cfg.single_channel)
        return np.divide(num * single[qinv], total_w[qinv], out=np.zeros(len(qs)), where=total_w[qinv] > 0)

    def _query_fingerprints(self, uq: np.ndarray, c: str):
        """The weighted fingerprints of audited entries ``uq`` on channel ``c``, concatenated:
        hashes, weights, each entry's offset into them, and each entry's total weight."""
        sel = [self._selection(int(q), c) for q in uq.tolist()]
        pos = [w > 0 for _, _, w in sel]
        qh = np.concatenate([h[k] for (_, h, _), k in zip(sel, pos)] + [np.zeros(0, np.uint64)])
        qw = np.concatenate([w[k] for (_, _, w), k in zip(sel, pos)] + [np.zeros(0)])
        qoff = np.cumsum([0] + [int(k.sum()) for k in pos])
        return qh, qw, qoff, np.array([float(w.sum()) for _, _, w in sel])

    def _candidate_keys(self, ue: np.ndarray, c: str) -> np.ndarray:
        """The fingerprints of candidate corpus entries ``ue`` (index << 32 | entry), each made
        specific to its position in ``ue``, sorted and unique."""
        keys = []
        for n in np.unique(ue >> np.int64(32)).tolist():
            rows = np.nonzero((ue >> np.int64(32)) == n)[0]
            owner, hashes = self.indexes[n].entry_fingerprints(c, ue[rows] & np.int64(0xFFFFFFFF))
            keys.append(_pair_key(hashes, rows[owner]))
        return np.unique(np.concatenate(keys)) if keys else np.zeros(0, np.uint64)

    def _verify(self, ix, q: int, e: int) -> EntryMatch | None:
        sims, shared_by, score_w, total_w, voters = {}, {}, 0.0, 0.0, 0
        weights, mins = dict(self.cfg.weights), dict(self.cfg.min_mass)
        for c in CHANNELS:
            sel, qh, qw = self._selection(q, c)
            mass = float(qw.sum())
            if mass <= 0:
                continue
            fps = self._corpus_fingerprints(ix, c, e)
            shared = np.isin(qh, fps[0])
            sim = float(qw[shared].sum()) / mass
            sims[c] = round(sim, 4)
            if mass >= mins[c]:  # a channel with too little material does not vote
                score_w += weights[c] * sim
                total_w += weights[c]
                voters += 1
            if shared.any():
                shared_by[c] = (sel, shared, fps)
        if total_w == 0 or score_w == 0:
            return None
        score = score_w / total_w * (1.0 if voters > 1 else self.cfg.single_channel)
        row, cstart, cend, cname = ix.entry(e)
        doc = int(ix.a["file_doc"][ix.a["entry_file"][e]])
        return EntryMatch(q, ix.name, row.label, row.swhid, cname, (cstart, cend), score, sims,
                          shared_by, e, doc)

    def fragments(self, m: "EntryMatch") -> list[Fragment]:
        """Evidence for a kept match (built only for the best match of each entry)."""
        out = []
        for c, (sel, shared, (ch, cs, ce)) in m.shared.items():
            out.extend(self._fragments(c, sel, shared, ch, cs, ce))
        return out

    def _fragments(self, c, sel, shared, ch, cs, ce) -> list[Fragment]:
        """Group shared, weighted fingerprints into runs of nearby lines on both sides."""
        qc = self.q[c]
        idx = np.nonzero(sel)[0][shared]
        idx = idx[qc["weight"][idx] > 0]
        if len(idx) == 0:
            return []
        first = {}
        for h, s, t in zip(ch.tolist(), cs.tolist(), ce.tolist()):
            first.setdefault(h, (s, t))
        runs: list[list] = []
        for i in idx.tolist():
            qs, qe = int(qc["start"][i]), int(qc["end"][i])
            h = int(qc["hash"][i])
            cs_, ce_ = first[h]
            df = int(qc["df"][i])
            last = runs[-1] if runs else None
            if last and qs - last[1] <= 3 and abs(cs_ - last[3]) <= 8:
                last[1], last[2], last[3] = max(last[1], qe), min(last[2], cs_), max(last[3], ce_)
                last[4] += 1
                last[5] = max(last[5], df)
                last[6].append(h)
            else:
                runs.append([qs, qe, cs_, ce_, 1, df, [h]])
        keep = c == PASSAGE_CHANNEL  # only the passage test (audit.provenance.passages) reads them
        return [Fragment(c, (r[0], r[1]), (r[2], r[3]), r[4], r[5],
                         keys=frozenset(r[6]) if keep else frozenset()) for r in runs]

    def _count_discounted(self) -> None:
        """Count audited fingerprints that also occur in the corpus but weigh nothing, with examples."""
        sk = self.sk
        for c in CHANNELS:
            qc = self.q[c]
            iface = qc["iface"] & (qc["df"] > 0)
            self.discounted.interface[c] += int(iface.sum())
            self.discounted.common[c] += int(qc["common"].sum())
            texts = (sk.fp_text or {}).get(c, {})
            for i in np.nonzero(iface)[0][:MAX_EXAMPLES].tolist():
                self.discounted.examples.append({
                    "path": sk.path, "kind": c, "lines": [int(qc["start"][i]), int(qc["end"][i])],
                    "tokens": texts.get(i, ""), "corpus_files": int(qc["df"][i]), "reason": "interface"})


def _pair_key(hashes: np.ndarray, owner: np.ndarray) -> np.ndarray:
    """A fingerprint hash made specific to one corpus entry (an odd-multiplier mix of the
    entry number, xor-ed in: distinct within an entry, colliding across entries with
    chance 2^-64, which could only reorder candidates before the exact check)."""
    return np.asarray(hashes, dtype=np.uint64) ^ (np.asarray(owner, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
                                                  + np.uint64(0x632BE59BD9B4E019))


def match_sketch(sk: FileSketch, indexes, docfreq: DocFreq, cfg: MatchConfig,
                 timing: Timing, lookup: BandLookup | None = None) -> tuple[list[EntryMatch], Discounted]:
    """Verified best matches for every entry of one audited file, and what was discounted."""
    fm = FileMatcher(sk, indexes, docfreq, cfg, timing, lookup)
    matches = fm.run()
    return matches, fm.discounted


def is_window(sk: FileSketch, entry: int) -> bool:
    return int(sk.entry_kind[entry]) == KIND_WINDOW
