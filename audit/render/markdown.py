"""Markdown summary fit for a decision memo: determination, scope, evidence, hotspots.

Built from the same records as the JSON (the provenance determination first);
deterministic for the same input, so it can be compared against a gold file.
"""

from __future__ import annotations

from audit.render.determination_view import (audited_line, calibration_line, checked_line, evidence_rows,
                                             review_line)
from audit.render.evidence_view import folded, legend

EVIDENCE_SHOWN = 15
NOT_CHECKED_SHOWN = 200


def _cell(value) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _table(head: list[str], rows: list[list]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(_cell(c) for c in r) + " |" for r in rows]
    return out + [""]


def to_markdown(result, hotspots: int = 10) -> str:
    prov = result.sections.get("provenance")
    prov = prov.to_dict() if hasattr(prov, "to_dict") else prov
    det = (prov or {}).get("determination")
    paths = ", ".join(result.config.get("paths") or [])
    out = [f"# Audit of {paths}", "", f"Generated {result.created} by audit {result.tool_version}.", ""]
    if det:
        out += _determination(det) + _scope(det) + _evidence(prov) + _licences(det) + _review(det)
        out += ["## Blind spots", ""] + [f"- {s}" for s in det["blind_spots"]] + [""]
    else:
        out += ["## Provenance", "", "No corpus was compared in this scan, so no provenance "
                "determination was made.", ""]
    return "\n".join(out + _hotspots(result, hotspots)).rstrip("\n") + "\n"


def _determination(det: dict) -> list[str]:
    th = det["thresholds"]
    out = ["## Determination", "", f"**{det['verdict']}** (score {det['score']:.4f}"
           + (f", top corpus {det['top_corpus']}" if det.get("top_corpus") else "") + "). "
           + det["statement"], ""]
    if det.get("verdict_after_review") != det["verdict"]:
        out += [f"After recorded review decisions: **{det['verdict_after_review']}** "
                f"(score {det['score_after_review']:.4f}).", ""]
    out += ["### Thresholds", "", th["meaning"] + ".", ""]
    out += _table(["level", "review from", "derived from", "score", "where it sits"],
                  [["project", th["project"]["review"], th["project"]["derived"], th["project"]["score"],
                    th["project"]["position"]]]
                  + [[f"file `{f['path']}`", th["file"]["review"], th["file"]["derived"], f["score"],
                      f["position"] + (" (cleared by review)" if f["cleared_by_review"] else "")]
                     for f in th["flagged_files"]])
    out += [f"Entry matches below {th['entry_min']} do not count.", "", "### Calibration", "",
            calibration_line(det["calibration"]) + ".", ""]
    return out


def _scope(det: dict) -> list[str]:
    sc = det["scope"]
    chk = sc["checked"]
    out = ["## Scope", "", f"- Audited: {audited_line(sc['audited'])}",
           f"- Checked: {checked_line(chk)}",
           f"- Not checked: {len(sc['not_checked']):,} file(s)", ""]
    rows = sc["not_checked"]
    if rows:
        out += _table(["path", "reason", "detail"], [[f"`{r['path']}`", r["reason"], r["detail"]]
                                                      for r in rows[:NOT_CHECKED_SHOWN]])
        if len(rows) > NOT_CHECKED_SHOWN:
            out += [f"... and {len(rows) - NOT_CHECKED_SHOWN:,} more (see the JSON).", ""]
    out += ["### Corpora", ""]
    out += _table(["corpus", "version", "licence", "sources", "excluded", "content digest"],
                  [[c["name"], c.get("version") or "-", c.get("license") or "not declared",
                    "; ".join(_source(s) for s in c["sources"]), ", ".join(c["excluded"]) or "-",
                    f"`{c['digest']}`"] for c in sc["corpora"]])
    return out


def _source(s: dict) -> str:
    cite = (f"sha256 `{s['sha256']}`" if s.get("sha256") else f"commit `{s['commit']}`"
            if s.get("commit") else f"`{s['swhid']}`" if s.get("swhid") else "no checksum recorded")
    return f"{s.get('path', '?')} ({cite})"


def _weight(r: dict) -> tuple:
    """Least expected by chance first, then the larger fragment."""
    chance = r["expected_chance"] if r.get("expected_chance") is not None else float("inf")
    return (chance, -int(r["fingerprints"]), r["lines"], r["kind"])


def strongest(rows: list[dict], per_match: int = 3) -> list[dict]:
    """The strongest fragments of each matched file pair, pairs by their strongest fragment (then
    match score): varied evidence. A passage found in several places (one group) is one row, at
    its strongest place."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["path"], r["corpus"], r["corpus_path"]), []).append(r)
    ordered = sorted((sorted(g, key=_weight) for g in groups.values()),
                     key=lambda g: (_weight(g[0])[0], -float(g[0]["match_score"]), g[0]["path"],
                                    g[0]["corpus_path"]))
    out = [r for g in ordered for r in g[:per_match]] + [r for g in ordered for r in g[per_match:]]
    return [r for r, _ in folded(out)]


def _evidence(prov: dict) -> list[str]:
    rows = strongest(evidence_rows(prov))
    out = ["## Strongest evidence", ""]
    if not rows:
        return out + ["No corpus file matched.", ""]
    out += [f"*Expected by chance*: {legend()}. Overlapping fragments of one passage, and one "
            "passage found in several places, are one row (the strongest fragment); the JSON "
            "lists every fragment under `evidence_groups`.", ""]
    return out + _table(
        ["audited lines", "corpus lines (SWHID)", "licence", "channel", "fingerprints", "expected by chance",
         "passage", "match score", "review"],
        [[f"`{r['path']}` {r['lines'][0]}-{r['lines'][1]}",
          f"{r['corpus']}: `{r['corpus_path']}` {r['corpus_lines'][0]}-{r['corpus_lines'][1]} "
          f"(`{r['cite']}`)", r["license"], r["kind"], r["fingerprints"], r["chance"] or "-",
          r["passage"] or "-", f"{float(r['match_score']):.2f}",
          (f"{r['decision']} ({r['decision_status']})" if r["decision"] else "undecided")]
         for r in rows[:EVIDENCE_SHOWN]]) + (
        [f"{len(rows) - EVIDENCE_SHOWN:,} more passage(s) in the JSON, CSV and SPDX outputs.", ""]
        if len(rows) > EVIDENCE_SHOWN else [])


def _licences(det: dict) -> list[str]:
    rows = det.get("licenses", [])
    if not rows:
        return []
    return ["## Licences of the matched material", ""] + _table(
        ["corpus file", "SWHID", "licence", "from", "copyright"],
        [[f"{r['corpus']}: `{r['corpus_path']}`", f"`{r['swhid']}`", r["license"], r["license_source"],
          "; ".join(r["copyright"]) or "-"] for r in rows])


def _review(det: dict) -> list[str]:
    r = det.get("review") or {}
    out = ["## Review decisions", "", review_line(r) + ".", ""]
    decided = [m for m in det.get("matches", []) if m.get("decision")]
    if decided:
        out += _table(["audited unit", "corpus file", "decision", "status", "by", "reason"],
                      [[f"`{m['path']}` {m['unit']}", f"{m['corpus']}: `{m['corpus_path']}`", m["decision"],
                        m["decision_status"], m.get("decided_by", ""), m.get("decision_reason", "")]
                       for m in decided])
    return out


def _hotspots(result, n: int) -> list[str]:
    spots = result.hotspots(n)
    if not spots:
        return []
    return ["## Hotspots", "", f"The {len(spots)} most complex functions.", ""] + _table(
        ["function", "where", "rank", "cyclomatic", "cognitive", "source lines"],
        [[f"`{u.qualname}`", f"`{f.path}:{u.start_line}`", u.rank, u.metrics.cyclomatic,
          u.metrics.cognitive, u.metrics.sloc] for f, u in spots])
