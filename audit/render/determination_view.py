"""The provenance determination as plain lines, a terminal block and an HTML view model.

Read from the ``provenance.determination`` record of the JSON contract; every
renderer shows the same facts in the same order: verdict, thresholds,
calibration, scope, corpora with licences, review decisions, blind spots.
"""

from __future__ import annotations

from dataclasses import dataclass

from audit.render.highlight import visible


def _fmt(v, spec: str = ".3f") -> str:
    return "-" if v is None else format(float(v), spec)


def audited_line(a: dict) -> str:
    path = a.get("path")
    path = ", ".join(path) if isinstance(path, list) else str(path)
    bits = [a.get("kind", "")]
    if a.get("commit"):
        bits.append(f"commit {a['commit']}")
    if a.get("swhid"):
        bits.append(a["swhid"])
    if a.get("worktree"):
        bits.append(f"working tree {a['worktree']}")
    return f"{path} ({'; '.join(b for b in bits if b)})"


def corpus_line(c: dict) -> str:
    ids = []
    for s in c.get("sources", []):
        cite = s.get("sha256") and f"sha256 {s['sha256']}" or s.get("commit") and \
            f"commit {s['commit']}" or s.get("swhid") or "no checksum recorded"
        ids.append(f"{s.get('path', '?')} ({cite})")
    out = f"{c['name']}{' ' + c['version'] if c.get('version') else ''}: {c.get('files', 0):,} files, " \
          f"licence {c.get('license') or 'not declared'}; sources {', '.join(ids)}"
    if c.get("excluded"):
        out += f"; excluded {', '.join(c['excluded'])}"
    return out + f"; content digest {c.get('digest', '')}"


def calibration_line(cal: dict) -> str:
    return (f"{cal.get('pairs', 0)} known pairs ({cal.get('derived_pairs', 0)} derived, "
            f"{cal.get('independent_pairs', 0)} independent): precision {_fmt(cal.get('precision'), '.2f')}, "
            f"recall {_fmt(cal.get('recall'), '.2f')}, false positives {cal.get('false_positives', 0)}"
            f"/{cal.get('independent_pairs', 0)} (rate {_fmt(cal.get('false_positive_rate'), '.2f')}, "
            f"upper 95% bound {_fmt(cal.get('false_positive_rate_upper_95'), '.2f')}); "
            f"measured {cal.get('date', '?')} with `{cal.get('command', '')}`")


def review_line(r: dict) -> str:
    if not r.get("file"):
        return "no review file"
    return (f"{r.get('applied', 0)} decision(s) applied, {r.get('stale', 0)} made on an earlier "
            f"version of the code, {r.get('undecided', 0)} matched unit(s) undecided, "
            f"{len(r.get('unused', []))} unused; {len(r.get('cleared_files', []))} file(s) cleared "
            f"({r['file']})")


def checked_line(chk: dict) -> str:
    out = (f"{chk['files_compared']:,} file(s), {chk['code_lines_compared']:,} code lines compared; "
           f"{chk['files_with_matches']:,} with matches")
    extra = chk.get("compared_not_measured") or []
    if extra:
        shown = ", ".join(extra[:5]) + (f" and {len(extra) - 5} more" if len(extra) > 5 else "")
        out += f"; {len(extra)} of them compared but not measured by the quality scan ({shown})"
    return out


def summary_lines(det: dict) -> list[tuple[str, str]]:
    """(label, text) pairs, in the order every output shows them."""
    th, sc = det["thresholds"], det["scope"]
    chk = sc["checked"]
    out = [("determination", det["statement"]),
           ("thresholds", f"project review {th['project']['review']}, derived "
                          f"{th['project']['derived']} (score {th['project']['score']}: "
                          f"{th['project']['position']}); file review {th['file']['review']}, "
                          f"derived {th['file']['derived']}; entry matches from {th['entry_min']}"),
           ("calibration", calibration_line(det["calibration"])),
           ("audited", audited_line(sc["audited"])),
           ("checked", checked_line(chk)),
           ("not checked", f"{len(sc['not_checked']):,} file(s)" + (": " + ", ".join(
               f"{n} {r}" for r, n in sc["not_checked_by_reason"].items()) if sc["not_checked"] else ""))]
    out += [("corpus", corpus_line(c)) for c in sc["corpora"]]
    out.append(("review", review_line(det.get("review") or {})))
    return out


def print_determination(prov: dict, console) -> None:
    """The determination block at the top of the terminal's provenance section."""
    from rich.text import Text

    from audit.render.terminal import hanging

    det = prov.get("determination")
    if not det:
        return
    console.print(Text("provenance determination", style="bold"))
    for label, text in summary_lines(det):
        hanging(console, f"{label}: {visible(text)}", "  ", "      ")
    for row in det["scope"]["not_checked"][:10]:
        hanging(console, f"not checked: {visible(row['path'])} ({row['reason']})", "    ", "        ")
    if len(det["scope"]["not_checked"]) > 10:
        console.print(Text(f"    ... {len(det['scope']['not_checked']) - 10} more (see --json or --markdown)"))
    console.print(Text(f"  blind spots: {len(det['blind_spots'])} listed in the JSON, HTML and "
                       "Markdown outputs"))


@dataclass(frozen=True)
class Line:
    label: str
    text: str


@dataclass(frozen=True)
class DeterminationView:
    """What the provenance page and the overview show before anything else."""

    verdict: str
    verdict_after_review: str
    statement: str
    lines: list[Line]
    flagged: list[dict]
    not_checked: list[dict]
    blind_spots: list[str]
    licences: list[dict]
    calibration_rows: list[dict]
    match_notes: dict  # match anchor on the provenance page -> licence, copyright, decisions
    decided: list[dict]


def view(prov: dict | None) -> DeterminationView | None:
    det = (prov or {}).get("determination")
    if not det:
        return None
    clean = [{k: visible(str(v)) for k, v in row.items()} for row in det["scope"]["not_checked"]]
    lic = [{"corpus": visible(r["corpus"]), "corpus_path": visible(r["corpus_path"]),
            "swhid": r["swhid"], "license": visible(r["license"]), "source": r["license_source"],
            "copyright": [visible(c) for c in r.get("copyright", [])]} for r in det.get("licenses", [])]
    flagged = [{"path": visible(f["path"]), "verdict": f["verdict"], "score": f"{f['score']:.3f}",
                "position": f["position"], "cleared": f["cleared_by_review"]}
               for f in det["thresholds"]["flagged_files"]]
    return DeterminationView(
        visible(det["verdict"]), visible(det.get("verdict_after_review", det["verdict"])),
        visible(det["statement"]), [Line(a, visible(b)) for a, b in summary_lines(det)], flagged,
        clean, [visible(s) for s in det["blind_spots"]], lic, det["calibration"].get("rows", []),
        match_notes(prov, det), [_decision_row(m) for m in det.get("matches", []) if m.get("decision")])


def _decision_row(m: dict) -> dict:
    return {"path": visible(m["path"]), "unit": visible(m["unit"]),
            "corpus": visible(f"{m['corpus']}: {m['corpus_path']}"), "decision": m["decision"],
            "status": m["decision_status"], "by": visible(m.get("decided_by", "")),
            "reason": visible(m.get("decision_reason", ""))}


def match_notes(prov: dict, det: dict) -> dict:
    """Per match anchor (as the provenance page numbers matches): licence and decisions."""
    from audit.render.viewmodels import match_anchor

    lic = {(r["corpus"], r["corpus_path"]): r for r in det.get("licenses", [])}
    out = {}
    for pf in prov.get("files", []):
        for i, m in enumerate(pf.get("matches", [])):
            r = lic.get((m["corpus"], m["corpus_path"]), {})
            units = [u for u in det.get("matches", [])
                     if u["path"] == pf["path"] and u["corpus_path"] == m["corpus_path"]]
            out[match_anchor(pf["path"], i)] = {
                "license": visible(r.get("license", "NOASSERTION")),
                "license_source": r.get("license_source", "none"),
                "copyright": [visible(c) for c in r.get("copyright", [])],
                "decisions": [_decision_row(u) for u in units if u.get("decision")],
                "undecided": sum(1 for u in units if not u.get("decision"))}
    return out


def decision_for(records: list[dict], path: str, corpus_path: str, lines) -> dict | None:
    """The matched-unit record (with its decision) whose lines hold an evidence fragment."""
    a, b = int(lines[0]), int(lines[1])
    best = None
    for r in records:
        if r["path"] == path and r["corpus_path"] == corpus_path and r["lines"][0] <= a and b <= r["lines"][1]:
            if best is None or r["lines"][1] - r["lines"][0] < best["lines"][1] - best["lines"][0]:
                best = r
    return best


def evidence_rows(prov: dict) -> list[dict]:
    """One row per evidence fragment, with its corpus file's licence, its unit's decision, its
    expected number of chance look-alikes and the passage group it belongs to."""
    from audit.render.evidence_view import chance_text, groups_by_id, passage_text

    det = prov.get("determination") or {}
    records = det.get("matches", [])
    lic = {(r["corpus"], r["corpus_path"]): r for r in det.get("licenses", [])}
    groups = groups_by_id(prov)
    out = []
    for f in sorted(prov.get("files", []), key=lambda f: (-float(f.get("score", 0)), f["path"])):
        for m in f.get("matches", []):
            l_ = lic.get((m["corpus"], m["corpus_path"]), {})
            for ev in m.get("evidence", []):
                rec = decision_for(records, f["path"], m["corpus_path"], ev["lines"]) or {}
                group = groups.get(ev.get("group")) or {}
                cl = ev["corpus_lines"]
                out.append({
                    "path": f["path"], "file_verdict": f.get("verdict", ""), "lines": list(ev["lines"]),
                    "corpus": m["corpus"], "corpus_path": m["corpus_path"], "swhid": m["swhid"],
                    "corpus_lines": list(cl), "cite": f"{m['swhid']};lines={cl[0]}-{cl[1]}",
                    "kind": ev.get("kind", ""), "fingerprints": ev.get("fingerprints", 0),
                    "max_df": ev.get("max_df", ""), "expected_chance": ev.get("expected_chance"),
                    "beyond_calibration": bool(ev.get("beyond_calibration")), "chance": chance_text(ev),
                    "group": ev.get("group"), "group_label": group.get("label", ""),
                    "passage": passage_text(group),
                    "match_score": m.get("score", 0), "license": l_.get("license", "NOASSERTION"),
                    "license_source": l_.get("license_source", "none"),
                    "copyright": l_.get("copyright", []), "unit": rec.get("unit", ""),
                    "decision": rec.get("decision", ""),
                    "decision_status": rec.get("decision_status", "undecided" if rec else ""),
                    "decided_by": rec.get("decided_by", ""), "decision_reason": rec.get("decision_reason", "")})
    return out
