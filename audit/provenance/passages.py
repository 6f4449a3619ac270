"""Many separate shared text passages with one corpus file: a file-level test with a null.

One shared comment line or message is weak evidence: independent code of the same domain
shares a text run with some corpus file about 2.3 times per 1,000 lines (the dev-set
calibration, audit.provenance.chance), and such a run scores below ``entry_min`` on its own.
A port that rewrote the code but kept its original's comments shares *many separate*
passages, and with one corpus file: each weak, together far beyond chance.

A passage is a text fragment of some entry's best match; fragments that share a fingerprint,
or cover the same lines of one corpus file, are one passage (a docstring repeated forty
times, all matching one corpus line, is one piece of evidence, not forty). Versions of one
path in a versioned corpus count as one corpus file.

The null: independent code of ``n`` code lines produces text fragments, with any corpus file,
as a Poisson count with the calibrated rate; a file's passages with one corpus file are
fewer than its fragments with all of them, so ``P(Poisson(mu) >= K)`` bounds the chance of
``K`` passages with *any* corpus file at once, and no correction for the number of corpus
files is due. The expected number of such files in the audit is that p-value times the
audited files and the file-level tests made (this one and the structural alignment);
significance is the structural test's family-wise ``structure_alpha``.

Only the text channel is tested: comments and messages are free prose. Identifiers, numbers
and structure are held to the domain's vocabulary and the language, and their chance
passages gather on one corpus file far more often than a Poisson count allows (measured in
bench/RESULTS.md, "Shared passages").
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

from audit.disjoint import DisjointSets
from audit.provenance.chance import ChanceTable
from audit.provenance.match import PASSAGE_CHANNEL, EntryMatch

FILE_TESTS = 2  # file-level tests per audited file: this one and the structural alignment


@dataclass
class PassageTest:
    """Separate shared passages between one audited file and one corpus file (all its versions)."""

    corpus: str
    path: str  # the corpus path, versions merged
    blob: str  # the version holding most of the passages (its corpus_path label)
    passages: int
    expected: float  # chance text fragments in a file this size, with all corpus files together
    p: float
    entries: list[int]  # audited entries whose best match carries one of the passages

    def expected_chance(self, n_files: int) -> float:
        return self.p * n_files * FILE_TESTS

    def to_dict(self, n_files: int, alpha: float) -> dict:
        e = self.expected_chance(n_files)
        return {"passages": self.passages, "expected_fragments": round(self.expected, 3),
                "p": float(f"{self.p:.3g}"), "expected_chance": float(f"{e:.3g}"),
                "significant": e <= alpha, "audited_files": n_files, "blob": self.blob}


def file_tests(matches: list[EntryMatch], table: ChanceTable | None, code_lines: int,
               corpus_files: int = 0, channel: str = PASSAGE_CHANNEL) -> list[PassageTest]:
    """One test per corpus file sharing passages with the audited file, strongest first.

    ``corpus_files``: documents searched (versions of a path once); beyond the calibration's
    corpus the chance rate is scaled up in proportion, never down (a larger corpus offers more
    chances). Other channels than text are for measuring the null (bench/passages_null.py)."""
    if table is None:
        return []
    frags = [(m, f) for m in matches for f in m.fragments if f.kind == channel]
    if not frags:
        return []
    roots = _link(frags)
    mu = table.rate(channel, 1) * max(1, code_lines) / 1000.0 * table.scale(corpus_files)
    by_doc: dict = defaultdict(lambda: (set(), defaultdict(set), set()))
    for (m, _), root in zip(frags, roots):
        held, per_blob, entries = by_doc[(m.corpus, _document(m))]
        held.add(root)
        per_blob[m.corpus_path].add(root)
        entries.add(m.entry)
    out = []
    for (corpus, _), (held, per_blob, entries) in by_doc.items():
        blob = max(sorted(per_blob), key=lambda b: len(per_blob[b]))
        path = blob.rpartition("@")[0] or blob  # shown without its version
        k = len(held)
        out.append(PassageTest(corpus, path, blob, k, mu, poisson_sf(k, mu), sorted(entries)))
    return sorted(out, key=lambda t: (t.p, t.corpus, t.path))


def _document(m: EntryMatch):
    """The corpus document of a match (the index's: all versions of one path are one); a match
    made without an index falls back on its ``PATH@VERSION`` label."""
    return m.corpus_doc if m.corpus_doc >= 0 else m.corpus_path.rpartition("@")[0] or m.corpus_path


def _link(frags: list) -> list[int]:
    """Each fragment's passage: fragments sharing a fingerprint, the same audited lines, or the
    same lines of one corpus file are joined."""
    sets = DisjointSets(len(frags))
    owner: dict = {}
    for i, (m, f) in enumerate(frags):
        keys = [("h", h) for h in f.keys]
        keys += [("a", f.lines), ("c", m.corpus, m.corpus_path, f.corpus_lines)]
        for key in keys:
            sets.union(i, owner.setdefault(key, i))
    return [sets.find(i) for i in range(len(frags))]


def poisson_sf(k: int, mu: float) -> float:
    """P(X >= k) for X ~ Poisson(mu), accurate far into the upper tail (no 1 - cdf there)."""
    if k <= 0:
        return 1.0
    if mu <= 0:
        return 0.0
    log_term = -mu + k * math.log(mu) - math.lgamma(k + 1)
    if k <= mu:  # the tail is not small: the complement of the lower sum loses nothing
        return max(0.0, 1.0 - sum(math.exp(-mu + i * math.log(mu) - math.lgamma(i + 1)) for i in range(k)))
    total, ratio, i = 1.0, 1.0, k
    while ratio > 1e-17 * total:
        i += 1
        ratio *= mu / i
        total += ratio
    return min(1.0, math.exp(log_term) * total)
