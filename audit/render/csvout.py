"""CSV export: one table per file in a folder, for spreadsheets and review tracking.

``determination.csv`` the determination as item/value rows (first, as in every
output), ``matches.csv`` one row per matched unit (with its review decision and the corpus
file's licence), ``evidence.csv`` one row per evidence fragment, ``files.csv`` one
row per audited file (with its provenance verdict when a corpus was compared),
``hotspots.csv`` the most complex functions, ``findings.csv`` every rule finding,
``not_checked.csv`` every file that was found and not compared.
"""

from __future__ import annotations

import csv
import io
import os

from audit.render.determination_view import evidence_rows
from audit.render.json import write_atomic


def _write(folder: str, name: str, head: list[str], rows) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(head)
    w.writerows(rows)
    write_atomic(os.path.join(folder, name), buf.getvalue())


def _prov(result) -> dict:
    prov = result.sections.get("provenance")
    return (prov.to_dict() if hasattr(prov, "to_dict") else prov) or {}


def write_csv(result, folder: str, hotspots: int = 10) -> list[str]:
    """Write the tables into folder (created if needed); returns the file names."""
    os.makedirs(folder, exist_ok=True)
    prov = _prov(result)
    det = prov.get("determination") or {}
    lic = {(r["corpus"], r["corpus_path"]): r for r in det.get("licenses", [])}
    _write(folder, "determination.csv", ["item", "value"], _determination(det))
    _write(folder, "matches.csv",
           ["path", "unit", "lines", "corpus", "corpus_path", "corpus_unit", "corpus_lines", "swhid",
            "score", "license", "content_hash", "decision", "decision_status", "decided_by",
            "decision_reason"],
           [[m["path"], m["unit"], _span(m["lines"]), m["corpus"], m["corpus_path"], m["corpus_unit"],
             _span(m["corpus_lines"]), m["swhid"], m["score"],
             lic.get((m["corpus"], m["corpus_path"]), {}).get("license", ""), m["content"],
             m.get("decision", ""), m.get("decision_status", ""), m.get("decided_by", ""),
             m.get("decision_reason", "")] for m in det.get("matches", [])])
    _write(folder, "evidence.csv",
           ["path", "lines", "corpus", "corpus_path", "corpus_lines", "cite", "channel", "fingerprints",
            "max_df", "expected_chance", "beyond_calibration", "group", "group_label", "match_score",
            "license", "license_source", "copyright", "unit", "decision"],
           [[e["path"], _span(e["lines"]), e["corpus"], e["corpus_path"], _span(e["corpus_lines"]),
             e["cite"], e["kind"], e["fingerprints"], e["max_df"], _blank(e["expected_chance"]),
             "yes" if e["beyond_calibration"] else "", _blank(e["group"]), e["group_label"],
             e["match_score"], e["license"], e["license_source"], "; ".join(e["copyright"]), e["unit"],
             e["decision"]] for e in evidence_rows(prov)])
    _files(result, folder, prov)
    _write(folder, "hotspots.csv", ["path", "function", "start_line", "end_line", "rank", "cyclomatic",
                                    "cognitive", "sloc"],
           [[f.path, u.qualname, u.start_line, u.end_line, u.rank, u.metrics.cyclomatic,
             u.metrics.cognitive, u.metrics.sloc] for f, u in result.hotspots(hotspots)])
    _write(folder, "findings.csv", ["path", "line", "end_line", "rule", "severity", "category", "unit",
                                    "message", "suppressed"],
           [[x.path, x.line, x.end_line, x.rule, x.severity, x.category, x.unit, x.message,
             x.suppressed or ""] for x in sorted(result.findings, key=lambda x: (x.path, x.line, x.rule))])
    rows = det.get("scope", {}).get("not_checked") or [
        {"path": s.path, "reason": s.reason, "detail": s.detail} for s in result.skipped]
    _write(folder, "not_checked.csv", ["path", "reason", "detail"],
           [[r["path"], r["reason"], r["detail"]] for r in rows])
    return ["determination.csv", "matches.csv", "evidence.csv", "files.csv", "hotspots.csv", "findings.csv", "not_checked.csv"]


def _determination(det: dict) -> list[list]:
    """The determination as item/value rows, in the order every output shows it."""
    if not det:
        return [["verdict", "no corpus was compared"]]
    from audit.render.determination_view import summary_lines

    rows = [["verdict", det["verdict"]], ["score", det["score"]],
            ["verdict after review", det["verdict_after_review"]],
            ["score after review", det["score_after_review"]]]
    rows += [[label, text] for label, text in summary_lines(det)]
    return rows + [["blind spot", b] for b in det["blind_spots"]]


def _files(result, folder: str, prov: dict) -> None:
    pf = {f["path"]: f for f in prov.get("files", [])}
    cleared = set((prov.get("determination") or {}).get("review", {}).get("cleared_files", []))
    compared = bool(prov)
    _write(folder, "files.csv", ["path", "language", "swhid", "lines", "source_lines", "functions",
                                 "maintainability", "findings", "provenance_verdict", "provenance_score",
                                 "top_corpus_file", "cleared_by_review"],
           [[f.path, f.language, f"swh:1:cnt:{f.sha1}", f.lines.physical, f.lines.source,
             len(f.functions), round(f.mi, 2), len(f.findings),
             pf.get(f.path, {}).get("verdict", "clean" if compared else ""),
             pf.get(f.path, {}).get("score", 0 if compared else ""), _top(pf.get(f.path)),
             "yes" if f.path in cleared else ""] for f in result.files])


def _top(pf: dict | None) -> str:
    if not pf or not pf.get("matches"):
        return ""
    m = pf["matches"][0]
    return f"{m['corpus']}:{m['corpus_path']}"


def _span(v) -> str:
    return f"{v[0]}-{v[1]}"


def _blank(v) -> str:
    """An absent value as an empty cell, not "None"."""
    return "" if v is None else str(v)
