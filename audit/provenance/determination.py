"""The determination a reviewer signs: verdict, thresholds, calibration, blind spots, scope.

One record (``provenance.determination`` in the JSON) that every renderer and
export shows first. The calibration figures are computed from the dev-set rows
in ``calibration.json`` (precision, recall, a false-positive rate with its
one-sided 95% upper bound); the scope comes from :mod:`audit.provenance.scope`;
review decisions from :mod:`audit.provenance.review` are applied per matched unit,
and a verdict after review leaves out files whose every matched unit was cleared.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict
from importlib import resources

import numpy as np

from audit.provenance import review as rv
from audit.provenance import scope as sc
from audit.provenance.licence import file_licence, nearest_copyright, read_notes
from audit.provenance.verdict import verdict_for

RECORD_VERSION = 1


def load_calibration() -> dict:
    """The shipped calibration data (see calibration.json's "about")."""
    text = resources.files("audit.provenance").joinpath("calibration.json").read_text("utf-8")
    return json.loads(text)


def calibration(data: dict, thresholds) -> dict:
    """Pairs, precision, recall and false-positive estimate from the calibration rows."""
    pairs = data.get("pairs", [])
    derived = [p for p in pairs if p["expected"] == "derived"]
    indep = [p for p in pairs if p["expected"] != "derived"]
    found = [p for p in derived if p["verdict"] != "clean" and p.get("top_corpus") == p["original"]]
    false = [p for p in indep if p["verdict"] != "clean"]
    flagged = len(found) + len(false)
    now = {k: v for k, v in asdict(thresholds).items() if k in data.get("thresholds", {})}
    return {
        "pairs": len(pairs), "derived_pairs": len(derived), "independent_pairs": len(indep),
        "precision": round(len(found) / flagged, 3) if flagged else None,
        "recall": round(len(found) / len(derived), 3) if derived else None,
        "false_positives": len(false),
        "false_positive_rate": round(len(false) / len(indep), 3) if indep else None,
        "false_positive_rate_upper_95": round(upper_bound(len(false), len(indep)), 3) if indep else None,
        "lowest_derived_score": min((p["score"] for p in derived), default=None),
        "highest_independent_score": max((p["score"] for p in indep), default=None),
        "date": data.get("date", ""), "command": data.get("command", ""),
        "source": data.get("source", ""), "machine": data.get("machine", ""),
        "corpora": data.get("corpora", []), "rows": pairs,
        "thresholds_match": now == data.get("thresholds", {}),
    }


def upper_bound(k: int, n: int, alpha: float = 0.05) -> float:
    """One-sided Clopper-Pearson upper bound of a rate seen k times in n (bisection)."""
    from math import comb

    if k >= n:
        return 1.0

    def cdf(p):
        return sum(comb(n, i) * p ** i * (1 - p) ** (n - i) for i in range(k + 1))

    lo, hi = k / n, 1.0
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if cdf(mid) > alpha else (lo, mid)
    return hi


BLIND_SPOTS = (
    "Only the corpora listed under scope were compared: code taken from any other source "
    "is not detected, and an older or newer version of a corpus may match less.",
    "Only the files listed as checked were compared; files in other languages, binary, too "
    "large or unreadable are listed under not checked and say nothing either way.",
    "A port that restructures the code (functions split or merged, turned into methods, "
    "control flow rewritten) is found through what it kept of the original's comments, "
    "messages and names: the weakest known derived pair scored {low} (review from {review}); "
    "with those rewritten too, one of the known derived pairs was not found at all.",
    "Mechanical translation (c2rust) lowers constants and rewrites pointer arithmetic, so "
    "structure and numbers disagree while names agree; such files score about 0.3.",
    "Where comments, strings and names were all rewritten, only the order and shape of the "
    "functions remain: a file is flagged then only when its functions align in order with a "
    "corpus file's beyond chance for the whole audit; a hand port that splits or merges "
    "functions is not found that way.",
    "Independent code that quotes the same specification, or prints the same messages to be "
    "compatible, shares separate text passages as a port does, and a file can be judged "
    "derived on that alone: its shared text is shown for the reviewer to judge.",
    "Each evidence fragment's expected number of chance matches was measured against a corpus "
    "of about 20,000 files; against a larger one it is scaled up in proportion to the files "
    "searched, which assumes chance matches grow no faster than the corpus.",
    "Material shared by many corpus files, or forced by an interface (standard names, ELF "
    "and DWARF constants, mnemonics, option names), is discounted and never counts as copying, "
    "even when it was in fact copied.",
    "Matches weaker than the entry threshold ({entry}) are ignored: a few copied lines inside "
    "an otherwise independent function do not count.",
    "The calibration rests on {pairs} known pairs: its false-positive rate of {fpr} has an "
    "upper 95% bound of {fpu}.",
)


def blind_spots(cal: dict, thresholds, corpora: list[dict]) -> list[str]:
    out = [s.format(low=cal.get("lowest_derived_score"), review=thresholds.project_review,
                    entry=thresholds.entry_min, pairs=cal.get("pairs"),
                    fpr=cal.get("false_positive_rate"), fpu=cal.get("false_positive_rate_upper_95"))
           for s in BLIND_SPOTS]
    for c in corpora:
        if c["excluded"]:
            out.append(f"Corpus {c['name']}: paths matching {', '.join(c['excluded'])} were not "
                       "indexed, so code copied from them is not detected.")
        if not c["identity_recorded"]:
            out.append(f"Corpus {c['name']}: its index records no checksum or licence of its "
                       "sources (built by an older audit); rebuild it to cite them.")
    return out


def position(score: float, review: float, derived: float) -> str:
    """Where a score sits against two thresholds, in words."""
    if score >= derived:
        return f"{score - derived:+.3f} above the derived threshold {derived}"
    if score >= review:
        return f"between review {review} and derived {derived}"
    return f"{review - score:.3f} below the review threshold {review}"


def match_records(report, read) -> list[dict]:
    """One record per matched unit (the level review decisions are made at)."""
    out = []
    for f in sorted(report.files, key=lambda f: f.path):
        text = _text(read, f.path) if f.matches else None
        for m in f.matches:
            for u in _units_of(m):
                lines = (int(u["lines"][0]), int(u["lines"][1]))
                out.append({"path": f.path, "unit": u["unit"], "lines": list(lines),
                            "corpus": m.corpus, "corpus_path": m.corpus_path,
                            "corpus_unit": u["corpus_unit"], "corpus_lines": list(u["corpus_lines"]),
                            "swhid": m.swhid, "score": u["score"],
                            "content": rv.content_hash(text, lines)})
    return out


def _units_of(m) -> list[dict]:
    """A file match's units: those its text matched, then those a significant structural
    alignment paired and those carrying significantly many shared passages (their lines count
    as covered too, so they are decided on as well)."""
    units = list(m.units)
    seen = {u["unit"] for u in units}
    extra = (m.structure or {}).get("pairs", []) if (m.structure or {}).get("significant") else []
    extra = extra + ((m.passages or {}).get("units", []) if (m.passages or {}).get("significant") else [])
    for pair in extra:
        if pair["unit"] not in seen:
            seen.add(pair["unit"])
            units.append({"unit": pair["unit"], "lines": pair["lines"], "corpus_unit": pair["corpus_unit"],
                          "corpus_lines": pair["corpus_lines"], "score": 1.0})
    return units


def _text(read, path: str) -> str | None:
    data = read(path) if read else None
    return data.decode("utf-8", "replace") if isinstance(data, bytes) else data


def licences(report, indexes) -> list[dict]:
    """Licence and nearby copyright lines of every matched corpus file."""
    by_name = {ix.name: ix for ix in indexes}
    notes = {}
    out = []
    seen = set()
    for f in report.files:
        for m in f.matches:
            if (m.corpus, m.corpus_path) in seen:
                continue
            seen.add((m.corpus, m.corpus_path))
            ix = by_name.get(m.corpus)
            if ix is not None and m.corpus not in notes:
                notes[m.corpus] = read_notes(ix.path)
            note = notes.get(m.corpus, {}).get(m.corpus_path)
            expr, src = file_licence(note, (ix.manifest.get("license", "") if ix else ""))
            span = _span_of(m)
            out.append({"corpus": m.corpus, "corpus_path": m.corpus_path, "swhid": m.swhid,
                        "license": expr, "license_source": src,
                        "copyright": nearest_copyright(note, span)})
    return sorted(out, key=lambda r: (r["corpus"], r["corpus_path"]))


def _span_of(m) -> tuple[int, int]:
    spans = [tuple(e.corpus_lines) for e in m.evidence] or [tuple(u["corpus_lines"]) for u in m.units]
    return (min(s[0] for s in spans), max(s[1] for s in spans)) if spans else (1, 1)


def review_section(report, records: list[dict], path: str) -> dict:
    """Decisions applied to this run's matched units; files cleared by them."""
    applied = rv.apply(rv.load(path), records, path)
    decided = []
    for r in records:
        d, status = applied.status(r["path"], r["unit"], r["corpus_path"])
        r["decision"] = d.decision if d else ""
        r["decision_status"] = status
        if d:
            r.update(decided_by=d.by, decision_reason=d.reason, decision_date=d.date)
            decided.append(r)
    cleared = _cleared_files(records, {f.path: f for f in report.files})
    return {"file": path, "decisions": len(applied.by_match) + len(applied.unused),
            "applied": sum(1 for r in records if r["decision_status"] == "applied"),
            "stale": sum(1 for r in records if r["decision_status"] == "stale"),
            "undecided": sum(1 for r in records if r["decision_status"] == "undecided"),
            "unused": [asdict(d) for d in applied.unused], "cleared_files": sorted(cleared)}


def _cleared_files(records: list[dict], files: dict) -> set[str]:
    """Files whose every matched unit was reviewed and cleared, and whose every line that counts
    towards a corpus is inside a cleared unit: the records list a file match's strongest units
    only, and a structural alignment covers units of its own, so clearing what is listed must
    not clear what is not."""
    by_file: dict[str, list[dict]] = {}
    for r in records:
        by_file.setdefault(r["path"], []).append(r)
    return {p for p, rs in by_file.items()
            if all(r["decision_status"] == "applied" and r["decision"] in rv.CLEARING for r in rs)
            and _all_counted_lines_in(rs, files.get(p))}


def _all_counted_lines_in(records: list[dict], f) -> bool:
    if f is None:
        return False
    covs = [np.asarray(cov) for cov in f.covered.values()]
    reviewed = np.zeros(max((len(c) for c in covs), default=0), dtype=bool)
    for r in records:
        reviewed[int(r["lines"][0]):int(r["lines"][1]) + 1] = True
    return not any((c[~reviewed[:len(c)]] > 0).any() for c in covs)


def after_review(report, cleared: set[str]) -> tuple[str, float]:
    """The project verdict and score with cleared files' matched lines left out."""
    total = sum(f.code_lines for f in report.files) or 1
    per_corpus: dict[str, float] = {}
    for f in report.files:
        if f.path in cleared:
            continue
        for corpus, cov in f.covered.items():
            per_corpus[corpus] = per_corpus.get(corpus, 0.0) + float(cov.sum())
    score = max(per_corpus.values(), default=0.0) / total
    th = report.thresholds
    return verdict_for(score, th.project_review, th.project_derived), round(score, 4)


def thresholds_record(report, cleared: set[str]) -> dict:
    th = report.thresholds
    flagged = sorted((f for f in report.files if f.verdict != "clean"), key=lambda f: (-f.score, f.path))
    return {
        "entry_min": th.entry_min,
        "project": {"review": th.project_review, "derived": th.project_derived,
                    "score": round(report.score, 4),
                    "position": position(report.score, th.project_review, th.project_derived)},
        "file": {"review": th.file_review, "derived": th.file_derived},
        "flagged_files": [{"path": f.path, "verdict": f.verdict, "score": round(f.score, 4),
                           "position": position(f.score, th.file_review, th.file_derived),
                           "cleared_by_review": f.path in cleared} for f in flagged],
        "meaning": "project score: the share of audited code lines covered by corpus matches "
                   "(each line weighted by the best match covering it), against the corpus with "
                   "the highest share; a file's score is the same share over its own lines",
    }


# reasons a source file in scope was not analysed: the determination does not cover its code
NOT_ANALYSED = frozenset({"analysis-error", "crashed", "error-flood", "line-too-long", "not-sketched",
                          "timeout", "too-deep", "too-much-memory", "unreadable"})


def statement(report, cal: dict, after: tuple[str, float], rows: list[dict] = ()) -> str:
    """One sentence a reviewer can quote, and what it does not cover when files failed."""
    th = report.thresholds
    top = f" (top corpus {report.top_corpus})" if report.top_corpus else ""
    s = (f"{report.verdict}: {report.score:.1%} of the audited code lines are covered by corpus "
         f"matches{top}; review from {th.project_review:.0%}, derived from {th.project_derived:.0%}.")
    if after[0] != report.verdict:
        s += f" After recorded review decisions: {after[0]} ({after[1]:.1%})."
    if cal.get("pairs"):
        s += (f" Calibrated on {cal['pairs']} known pairs ({cal['date']}): precision "
              f"{cal['precision']}, recall {cal['recall']}.")
    failed = Counter(r["reason"] for r in rows if r["reason"] in NOT_ANALYSED)
    if failed:
        reasons = ", ".join(f"{n} {why}" for why, n in sorted(failed.items()))
        s += (f" Incomplete: {sum(failed.values())} source file(s) could not be analysed ({reasons}) "
              f"beside the {len(report.files)} compared; their code is not covered by this verdict.")
    return s


def determine(report, result, indexes, read=None, review_file: str = "") -> dict:
    """The whole determination record for a provenance report of an audit result."""
    cal = calibration(load_calibration(), report.thresholds)
    corpora = [sc.corpus_record(ix) for ix in indexes]
    records = match_records(report, sc.tree_reader(result, read))
    paths = list(result.config.get("paths") or [])
    path = rv.review_path(paths, review_file) if paths or review_file else ""
    review = review_section(report, records, path) if path else {"file": "", "cleared_files": []}
    cleared = set(review["cleared_files"])
    after = after_review(report, cleared)
    rows = sc.not_checked(result, report)
    files = {f.path: f.sha1 for f in result.files}
    return {
        "version": RECORD_VERSION, "verdict": report.verdict, "score": round(report.score, 4),
        "top_corpus": report.top_corpus, "verdict_after_review": after[0],
        "score_after_review": after[1], "statement": statement(report, cal, after, rows),
        "thresholds": thresholds_record(report, cleared), "calibration": cal,
        "blind_spots": blind_spots(cal, report.thresholds, corpora),
        "scope": {"audited": sc.audited_identity(paths, files, result.config.get("revision")),
                  "checked": sc.checked(result, report, rows),
                  "not_checked": rows, "not_checked_by_reason": sc.not_checked_summary(rows),
                  "corpora": corpora},
        "licenses": licences(report, indexes), "review": review, "matches": records,
    }


def attach(report, result, indexes, read=None, review_file: str = ""):
    """Fill ``report.determination`` in place and return the report."""
    report.determination = determine(report, result, indexes, read, review_file)
    return report


def effective_verdict(report) -> str:
    """The verdict --fail-on-verdict reads: after review decisions when there are any."""
    d = getattr(report, "determination", None) or {}
    return d.get("verdict_after_review") or report.verdict
