"""Verdicts: roll entry matches up into file and project scores and clean/review/derived.

A file's score against one corpus file is the share of its code lines
covered by verified entry matches to that corpus file, each line weighted by
the best match score covering it (only matches scoring at least
``entry_min`` count). The project score against a corpus is the same share
over all audited code lines. Thresholds were calibrated on the dev set
(bench/devset.py, figures in bench/RESULTS.md); they are echoed into every
report.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field

import numpy as np

from audit.provenance import chance, passages
from audit.provenance.channels import CHANNELS
from audit.provenance.evidence import group_files
from audit.provenance.match import Discounted, EntryMatch
from audit.provenance.sketch import KIND_WINDOW, FileSketch

REPORT_VERSION = 2  # 2: evidence carries expected_chance and group, not rarity; evidence_groups


@dataclass(frozen=True)
class Thresholds:
    """Calibrated cut-offs (see docs/provenance.md, "Calibration")."""

    entry_min: float = 0.20  # an entry match below this is noise
    file_review: float = 0.15
    file_derived: float = 0.35
    project_review: float = 0.02
    project_derived: float = 0.15
    structure_alpha: float = 0.01  # family-wise chance of one false structural match per audit


def verdict_for(score: float, review: float, derived: float) -> str:
    return "derived" if score >= derived else "review" if score >= review else "clean"


@dataclass
class FileMatchSummary:
    corpus: str
    corpus_path: str
    swhid: str
    score: float
    channels: dict[str, float]
    evidence: list
    units: list[dict]
    structure: dict | None = None  # a significant order-preserving alignment (audit.provenance.structure)
    revisions: dict | None = None  # versioned corpus: the versions that hold the corpus file
    passages: dict | None = None  # many separate shared text passages (audit.provenance.passages)

    def to_dict(self) -> dict:
        return {"corpus": self.corpus, "corpus_path": self.corpus_path, "swhid": self.swhid,
                "score": round(self.score, 4), "channels": self.channels,
                "evidence": [f.to_dict() for f in self.evidence], "units": self.units,
                "revisions": self.revisions, "passages": self.passages}


@dataclass
class FileReport:
    path: str
    swhid: str
    verdict: str
    score: float
    code_lines: int
    matches: list[FileMatchSummary]
    discounted: Discounted
    covered: dict[str, np.ndarray] = field(default_factory=dict, repr=False)  # corpus -> line scores
    structure: list[dict] = field(default_factory=list)  # best alignments, significant or not

    def to_dict(self) -> dict:
        return {"path": self.path, "swhid": self.swhid, "verdict": self.verdict,
                "score": round(self.score, 4), "code_lines": self.code_lines,
                "top_corpus": self.matches[0].corpus if self.matches else None,
                "matches": [m.to_dict() for m in self.matches], "discounted": self.discounted.to_dict(),
                "structure": self.structure}


@dataclass
class ProvenanceReport:
    """The provenance section of a result; ``to_dict()`` is the pinned JSON contract."""

    verdict: str
    score: float
    top_corpus: str | None
    corpora: list[dict]
    files: list[FileReport]
    discounted: Discounted
    thresholds: Thresholds
    options: dict
    timings: dict = field(default_factory=dict)
    skipped_languages: dict = field(default_factory=dict)
    determination: dict = field(default_factory=dict)  # audit.provenance.determination
    evidence_groups: list = field(default_factory=list)  # audit.provenance.evidence.Group

    def to_dict(self) -> dict:
        ranked = sorted(self.files, key=lambda f: (-f.score, f.path))
        return {
            "version": REPORT_VERSION, "verdict": self.verdict, "score": round(self.score, 4),
            "top_corpus": self.top_corpus, "corpora": self.corpora,
            "files": [f.to_dict() for f in ranked if f.matches],
            "files_clean_without_matches": sum(1 for f in self.files if not f.matches),
            "discounted": self.discounted.to_dict(), "thresholds": asdict(self.thresholds),
            "options": self.options, "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "not_audited": self.skipped_languages, "determination": self.determination,
            "evidence_groups": [g.to_dict() for g in self.evidence_groups],
        }


def code_mask(sk: FileSketch) -> np.ndarray:
    """Lines (index = line number) inside units or top-level code entries."""
    mask = np.zeros(sk.lines + 2, dtype=bool)
    for a, b, k in zip(sk.entry_start.tolist(), sk.entry_end.tolist(), sk.entry_kind.tolist()):
        if k != KIND_WINDOW:
            mask[a:b + 1] = True
    return mask


def file_report(sk: FileSketch, matches: list[EntryMatch], discounted: Discounted,
                th: Thresholds, top_n: int = 5, alignments: list | None = None,
                n_files: int = 1, corpus_files: int = 0) -> FileReport:
    """Score one audited file from its verified entry matches and structural alignments.

    An alignment counts when it is significant for the whole audit: its expected number
    of chance alignments, times the number of audited files, is at most ``th.structure_alpha``.
    The audited lines of its agreeing units then count as covered by that corpus file.
    """
    mask = code_mask(sk)
    code = int(mask.sum())
    by_target: dict[tuple[str, str], list[EntryMatch]] = defaultdict(list)
    for m in matches:
        if m.score >= th.entry_min:
            by_target[(m.corpus, m.corpus_path)].append(m)
    covered: dict[str, np.ndarray] = {}
    summaries = {}
    for (corpus, cpath), ms in by_target.items():
        line_score = _line_scores(sk, ms, mask)
        covered[corpus] = np.maximum(covered.get(corpus, 0), line_score)
        summaries[(corpus, cpath)] = _summary(corpus, cpath, ms, float(line_score.sum()) / max(code, 1), sk,
                                               code, corpus_files)
    for test in passages.file_tests(matches, chance.shipped(), code, corpus_files)[:3]:
        record = test.to_dict(n_files, th.structure_alpha)
        if record["significant"]:
            _add_passages(sk, test, record, (mask, code, corpus_files), covered, summaries, matches)
    structure = []
    for al in (alignments or [])[:3]:
        record = {**al.to_dict(sk), "significant": al.expected_chance * n_files <= th.structure_alpha,
                  "audited_files": n_files}
        structure.append(record)
        if record["significant"]:
            _add_alignment(sk, al, record, mask, covered, summaries)
    summaries = sorted(summaries.values(), key=lambda s: (-s.score, s.corpus, s.corpus_path))
    score = max((float(v.sum()) / max(code, 1) for v in covered.values()), default=0.0)
    return FileReport(sk.path, f"swh:1:cnt:{sk.sha1}",
                      verdict_for(score, th.file_review, th.file_derived), min(score, 1.0), code,
                      summaries[:top_n], discounted, covered, structure)


def _cover_entries(sk, entries, mask, corpus: str, covered) -> float:
    """Count whole audited entries as covered by ``corpus``; their share of the code lines."""
    line_score = np.zeros(len(mask), dtype=np.float64)
    for q in entries:
        line_score[int(sk.entry_start[q]):int(sk.entry_end[q]) + 1] = 1.0
    line_score *= mask
    covered[corpus] = np.maximum(covered.get(corpus, 0), line_score)
    return float(line_score.sum()) / max(int(mask.sum()), 1)


def _add_alignment(sk, al, record, mask, covered, summaries) -> None:
    """A significant alignment covers its agreeing audited units, and is shown with its corpus file."""
    share = _cover_entries(sk, [q for q, _, _ in al.pairs], mask, al.corpus, covered)
    key = (al.corpus, al.corpus_path)
    if key not in summaries:
        summaries[key] = FileMatchSummary(al.corpus, al.corpus_path, al.swhid, 0.0, {}, [], [])
    summaries[key].score = min(1.0, max(summaries[key].score, share))
    summaries[key].structure = record


def _add_passages(sk, test, record, sizes, covered, summaries, matches) -> None:
    """Significantly many separate passages shared with one corpus file: the audited entries
    that carry them count as covered by it, and the file match shows the test. A corpus file
    no entry match counted towards gets a match of its own, with the passages' fragments as
    its evidence (every match to that version, whatever its score)."""
    mask, code, corpus_files = sizes
    share = _cover_entries(sk, test.entries, mask, test.corpus, covered)
    key = (test.corpus, test.blob)
    if key not in summaries:
        ms = [m for m in matches if (m.corpus, m.corpus_path) == key]
        summaries[key] = _summary(test.corpus, test.blob, ms, 0.0, sk, code, corpus_files)
    summaries[key].score = min(1.0, max(summaries[key].score, share))
    by_entry = {m.entry: m for m in matches}
    record["units"] = [{"unit": sk.entry_names[q], "lines": [int(sk.entry_start[q]), int(sk.entry_end[q])],
                        "corpus_path": by_entry[q].corpus_path, "corpus_unit": by_entry[q].corpus_unit,
                        "corpus_lines": list(by_entry[q].corpus_lines)} for q in test.entries]
    summaries[key].passages = record


def _line_scores(sk, ms: list[EntryMatch], mask) -> np.ndarray:
    out = np.zeros(len(mask), dtype=np.float64)
    for m in ms:
        a, b = int(sk.entry_start[m.entry]), int(sk.entry_end[m.entry])
        np.maximum(out[a:b + 1], m.score, out=out[a:b + 1])
    return out * mask


def _summary(corpus, cpath, ms: list[EntryMatch], score: float, sk, code: int,
             corpus_files: int = 0) -> FileMatchSummary:
    sizes = np.array([int(sk.entry_end[m.entry]) - int(sk.entry_start[m.entry]) + 1 for m in ms], float)
    channels = {}
    for c in CHANNELS:
        vals = [(m.channels[c], w) for m, w in zip(ms, sizes) if c in m.channels]
        if vals:
            channels[c] = round(float(sum(v * w for v, w in vals) / sum(w for _, w in vals)), 4)
    frags = list({(f.kind, f.lines, f.corpus_lines): f for m in ms for f in m.fragments}.values())
    table = chance.shipped()  # a unit and a window over it can find the same fragment: kept once
    for f in frags:
        if table is not None:
            got = table.expected(f.kind, f.fingerprints, code, corpus_files)
            f.expected_chance, f.beyond_calibration = got.expected, got.beyond_calibration
    frags.sort(key=lambda f: (f.expected_chance if f.expected_chance is not None else 0.0,
                              -f.fingerprints, f.lines, f.kind))
    units = [{"unit": sk.entry_names[m.entry], "lines": [int(sk.entry_start[m.entry]),
              int(sk.entry_end[m.entry])], "corpus_unit": m.corpus_unit,
              "corpus_lines": list(m.corpus_lines), "score": round(m.score, 4), "channels": m.channels}
             for m in sorted(ms, key=lambda m: -m.score)[:10]]
    return FileMatchSummary(corpus, cpath, ms[0].swhid, min(score, 1.0), channels, frags[:20], units)


def project_report(files: list[FileReport], corpora: list[dict], th: Thresholds, options: dict,
                   timings: dict, skipped_languages: dict) -> ProvenanceReport:
    """Project score per corpus (line-weighted over files), the top corpus and the verdict."""
    total = sum(f.code_lines for f in files) or 1
    per_corpus = defaultdict(float)
    for f in files:
        for corpus, cov in f.covered.items():
            per_corpus[corpus] += float(cov.sum())
    for c in corpora:
        c["score"] = round(per_corpus.get(c["name"], 0.0) / total, 4)
        c["files_matched"] = sum(1 for f in files if c["name"] in f.covered)
    top = max(corpora, key=lambda c: c["score"], default=None)
    score = top["score"] if top else 0.0
    discounted = Discounted()
    for f in files:
        discounted.add(f.discounted)
    return ProvenanceReport(verdict_for(score, th.project_review, th.project_derived), score,
                            top["name"] if top and score > 0 else None, corpora, files, discounted,
                            th, options, timings, skipped_languages,
                            evidence_groups=group_files(files))
