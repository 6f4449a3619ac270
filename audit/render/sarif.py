"""SARIF 2.1.0 output for code scanning: rule findings, corpus matches and internal clones.

One run with the tool driver and its rules. Results carry a physical location,
a region and a ``partialFingerprints`` entry computed from what survives edits
elsewhere in the file (rule, path, function, message and the occurrence number
among identical findings, never the line number), so alerts keep their identity
across runs. Corpus matches become results whose related locations point into the
corpus. GitHub's limits (25,000 results per run, 10 MB per upload) are met by
ranking results and keeping the most severe, with a notification saying how many
were left out. No timestamps: the same input gives byte-identical output.
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
from collections import Counter
from urllib.parse import quote

from audit.results import AuditResult, Finding

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
MAX_RESULTS = 25_000  # GitHub code scanning: results per run
MAX_BYTES = 10_000_000  # GitHub code scanning: size of an uploaded (gzip) file; we cap the raw text
MAX_RELATED = 100  # related locations kept per result
LEVELS = {"error": "error", "warning": "warning", "info": "note"}
LEVEL_RANK = {"error": 0, "warning": 1, "note": 2, "none": 3}
FINGERPRINT_KEY = "auditFinding/v1"
STABLE_SCHEMES = ("https://", "http://")  # help links kept; file:// and relative ones are dropped
CLEARED = ("coincidental", "interface-forced", "licensed-and-attributed")

# Results of the provenance and clone stages, described like rules so SARIF viewers explain them.
STAGE_RULES = {
    "provenance/corpus-match": {
        "name": "corpus-match", "category": "provenance", "severity": "warning",
        "summary": "Code resembles a file of an indexed corpus",
        "docs": {"what it does": "Reports audited code whose normalised token stream, "
                                 "identifiers, comments, strings or constants match a corpus "
                                 "file beyond what interfaces force.",
                 "why it matters": "Copied or translated code carries the original's licence "
                                   "and authorship.",
                 "what to do": "Compare the two sides in the HTML report's provenance view "
                               "and record the origin or rewrite the code."}},
    "provenance/determination": {
        "name": "provenance-determination", "category": "provenance", "severity": "info",
        "summary": "Provenance determination of the audited tree against the indexed corpora",
        "docs": {"what it does": "Records, on every run that compared corpora, the verdict with "
                                 "its thresholds and calibration, the scope (audited revision and "
                                 "SWHID, files not checked, corpora with checksums) and the review "
                                 "decisions, in the result's properties.",
                 "why it matters": "Code scanning then keeps a record that the check ran and what "
                                   "it covered, also when nothing was found.",
                 "what to do": "Nothing when the verdict is clean; otherwise review the corpus "
                               "matches and record decisions with `audit review add`."}},
    "clones/duplicate-function": {
        "name": "duplicate-function", "category": "duplication", "severity": "info",
        "summary": "Function is a near-duplicate of another function in the tree",
        "docs": {"what it does": "Reports functions whose normalised token streams share most "
                                 "of their winnowing fingerprints with another function.",
                 "why it matters": "Copies drift apart; a fix in one is missed in the others.",
                 "what to do": "Extract the shared logic into one function."}},
}


def _uri(path: str) -> str:
    return quote(path, safe="/")


def _help_text(meta: dict) -> str:
    docs = meta.get("docs") or {}
    return "\n\n".join(f"{h}\n{t}" for h, t in docs.items() if t) or meta.get("summary", "")


def _rule(rule_id: str, meta: dict, help_uri: str) -> dict:
    from audit.render.viewmodels import rule_href

    docs = meta.get("docs") or {}
    summary = meta.get("summary") or meta.get("name") or rule_id
    full = next((t for t in docs.values() if t), summary)
    out = {"id": rule_id, "name": meta.get("name") or rule_id,
           "shortDescription": {"text": summary}, "fullDescription": {"text": full},
           "help": {"text": _help_text(meta) or summary}}
    uri = help_uri.replace("{rule}", quote(rule_id, safe="")).replace("{page}", rule_href(rule_id))
    if uri.startswith(STABLE_SCHEMES):  # a local file link breaks once the log is uploaded
        out["helpUri"] = uri
    level = LEVELS.get(meta.get("severity", ""), "warning")
    out["defaultConfiguration"] = {"level": level}
    out["properties"] = {"tags": sorted({t for t in (meta.get("category"), meta.get("language"))
                                         if t})}
    return out


def _region(line: int, end_line: int, column: int = 0, end_column: int = 0) -> dict:
    region = {"startLine": max(1, line), "endLine": max(line, end_line, 1)}
    if column >= 1:
        region["startColumn"] = column
        if end_column >= 1 and (end_line > line or end_column > column):
            region["endColumn"] = end_column
    return region


def _location(path: str, region: dict, base: str = "SRCROOT") -> dict:
    return {"physicalLocation": {"artifactLocation": {"uri": _uri(path), "uriBaseId": base},
                                 "region": region}}


def _fingerprint(parts: tuple, seen: Counter) -> str:
    seen[parts] += 1
    text = "\0".join(str(p) for p in (*parts, seen[parts]))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def finding_results(findings: list[Finding]) -> list[dict]:
    """Rule findings as SARIF results, in a stable order (an id several packs share is
    named ``language/id``, so the descriptor is that language's rule)."""
    from audit.render.viewmodels import rule_key

    out, seen = [], Counter()
    for f in sorted(findings, key=lambda x: (x.path, x.line, x.column, x.rule, x.message)):
        res = {"ruleId": rule_key(f), "level": LEVELS.get(f.severity, "warning"),
               "message": {"text": f.message},
               "locations": [_location(f.path, _region(f.line, f.end_line, f.column,
                                                        f.end_column))],
               "partialFingerprints": {FINGERPRINT_KEY: _fingerprint(
                   (f.rule, f.path, f.unit, f.message), seen)}}
        if f.unit:
            res["locations"][0]["logicalLocations"] = [{"fullyQualifiedName": f.unit,
                                                        "kind": "function"}]
        if f.suppressed is not None:
            res["suppressions"] = [{"kind": "inSource", "justification": f.suppressed}]
        out.append(res)
    return out


def _corpus_base(name: str) -> str:
    return "CORPUS_" + "".join(c if c.isalnum() else "_" for c in name).upper()


def provenance_results(prov: dict | None) -> tuple[list[dict], dict]:
    """Corpus matches of files that are not clean; corpus matches as related locations."""
    out, bases, seen = [], {}, Counter()
    for pf in sorted((prov or {}).get("files", []), key=lambda f: f["path"]):
        if pf.get("verdict") == "clean":
            continue
        level = "warning" if pf.get("verdict") == "derived" else "note"
        for m in pf.get("matches", []):
            evidence = m.get("evidence") or []
            first = evidence[0]["lines"] if evidence else [1, 1]
            base = _corpus_base(str(m.get("corpus", "corpus")))
            bases[base] = str(m.get("corpus", ""))
            related = [dict(_location(str(m.get("corpus_path", "")),
                                      _region(*ev["corpus_lines"]), base), id=i + 1,
                            message={"text": f"{ev.get('kind', 'match')}: lines "
                                             f"{ev['lines'][0]}-{ev['lines'][1]} match "
                                             f"corpus lines {ev['corpus_lines'][0]}-"
                                             f"{ev['corpus_lines'][1]}"})
                       for i, ev in enumerate(evidence[:MAX_RELATED])]
            channels = ", ".join(f"{k} {float(v):.2f}" for k, v in sorted(
                (m.get("channels") or {}).items()))
            text = (f"Resembles {m.get('corpus')}:{m.get('corpus_path')} "
                    f"({m.get('swhid', '')}), score {float(m.get('score', 0)):.2f}"
                    + (f"; channels: {channels}" if channels else ""))
            res = {"ruleId": "provenance/corpus-match", "level": level, "message": {"text": text},
                   "locations": [_location(pf["path"], _region(*first))],
                   "partialFingerprints": {FINGERPRINT_KEY: _fingerprint(
                       ("provenance", pf["path"], m.get("corpus"), m.get("corpus_path")), seen)},
                   "properties": {"swhid": str(m.get("swhid", "")),
                                  "score": round(float(m.get("score", 0)), 4)}}
            if related:
                res["relatedLocations"] = related
            _add_review(res, (prov or {}).get("determination"), pf["path"], m)
            out.append(res)
    return out, bases


def _add_review(res: dict, det: dict | None, path: str, m: dict) -> None:
    """Review decisions on a match's units: in its properties; all cleared -> suppressed."""
    units = [u for u in (det or {}).get("matches", [])
             if u["path"] == path and u["corpus_path"] == m.get("corpus_path")]
    decided = [u for u in units if u.get("decision_status") == "applied"]
    if not decided:
        return
    res["properties"]["review"] = [{"unit": u["unit"], "decision": u["decision"],
                                    "by": u.get("decided_by", ""), "reason": u.get("decision_reason", "")}
                                   for u in decided]
    if len(decided) == len(units) and all(u["decision"] in CLEARED for u in decided):
        why = "; ".join(f"{u['unit']}: {u['decision']} ({u.get('decided_by', '')}: "
                        f"{u.get('decision_reason', '')})" for u in decided)
        res["suppressions"] = [{"kind": "external", "status": "accepted", "justification": why}]


def determination_result(det: dict, prov: dict, fallback: str) -> dict:
    """One project-level result: a note when clean, with the determination in its properties."""
    verdict = det.get("verdict_after_review") or det.get("verdict")
    where = _anchor_file(prov, fallback)
    props = {k: v for k, v in det.items() if k not in ("matches", "scope", "calibration")}
    scope = dict(det.get("scope") or {})
    scope["not_checked"] = scope.get("not_checked", [])[:MAX_RELATED]
    props["scope"] = scope
    props["calibration"] = {k: v for k, v in (det.get("calibration") or {}).items() if k != "rows"}
    return {"ruleId": "provenance/determination",
            "level": "note" if verdict == "clean" else "warning",
            "message": {"text": det.get("statement", "")},
            "locations": [_location(where, _region(1, 1))],
            "partialFingerprints": {FINGERPRINT_KEY: _fingerprint(
                ("provenance-determination", tuple(c["name"] for c in scope.get("corpora", []))),
                Counter())},
            "properties": {"determination": props}}


def _anchor_file(prov: dict, fallback: str) -> str:
    """A file to hang the project-level result on (code scanning needs a file location)."""
    files = sorted(f["path"] for f in prov.get("files", []) if f.get("matches"))
    return files[0] if files else fallback


def clone_results(clones: dict | None) -> list[dict]:
    """Each clone-group member after the first, pointing at the first as a related location."""
    out, seen = [], Counter()
    for g in (clones or {}).get("groups", []):
        first, *rest = g["members"]
        for m in rest:
            text = (f"{m['qualname']} is a near-duplicate of {first['qualname']} "
                    f"({first['path']}:{first['start_line']}), similarity "
                    f"{float(g.get('similarity', 0)):.2f}")
            out.append({
                "ruleId": "clones/duplicate-function", "level": "note", "message": {"text": text},
                "locations": [_location(m["path"], _region(m["start_line"], m["end_line"]))],
                "relatedLocations": [dict(_location(first["path"], _region(
                    first["start_line"], first["end_line"])), id=1,
                    message={"text": f"first copy: {first['qualname']}"})],
                "partialFingerprints": {FINGERPRINT_KEY: _fingerprint(
                    ("clone", m["path"], m["qualname"], first["path"], first["qualname"]), seen)},
            })
    return out


def rank_key(res: dict) -> tuple:
    """Most severe first, unsuppressed before suppressed, then rule findings before the rest."""
    loc = res["locations"][0]["physicalLocation"]
    if res["ruleId"] == "provenance/determination":  # never cut: the record that the check ran
        return (-1,)
    return (LEVEL_RANK.get(res["level"], 4), "suppressions" in res,
            "/" in res["ruleId"] and res["ruleId"].split("/")[0] in ("provenance", "clones"),
            res["ruleId"], loc["artifactLocation"]["uri"], loc["region"]["startLine"])


def _sections(result: AuditResult) -> dict:
    return {k: (v.to_dict() if hasattr(v, "to_dict") else v) for k, v in result.sections.items()}


def to_sarif(result: AuditResult, rule_meta: dict | None = None, help_uri: str = "",
             max_results: int = MAX_RESULTS) -> dict:
    """The SARIF log as plain data (at most max_results results, most severe kept)."""
    sections = _sections(result)
    meta = dict(STAGE_RULES)
    meta.update(rule_meta or {})
    prov_results, bases = provenance_results(sections.get("provenance"))
    results = (finding_results(result.findings) + prov_results
               + clone_results(sections.get("clones")))
    det = (sections.get("provenance") or {}).get("determination")
    if det:
        fallback = min((f.path for f in result.files), default="audit-review.toml")
        results.append(determination_result(det, sections["provenance"], fallback))
    results.sort(key=rank_key)
    notes = []
    if len(results) > max_results:
        notes.append(_truncation_note(len(results), max_results))
        results = results[:max_results]
    rule_ids = sorted({r["ruleId"] for r in results} | set(rule_meta or {}))
    index = {rid: i for i, rid in enumerate(rule_ids)}
    for r in results:
        r["ruleIndex"] = index[r["ruleId"]]
    run = {
        "tool": {"driver": {"name": "audit", "semanticVersion": result.tool_version,
                            "version": result.tool_version,
                            "rules": [_rule(rid, meta.get(rid, {}), help_uri)
                                      for rid in rule_ids]}},
        "invocations": [{"executionSuccessful": True,
                         "toolExecutionNotifications": notes}],
        "originalUriBaseIds": _base_ids(result, bases),
        **_version_control(result),
        "results": results,
        "columnKind": "unicodeCodePoints",
        "properties": {"resultCount": len(results), "omittedResults": _omitted(notes)},
    }
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def _truncation_note(total: int, kept: int) -> dict:
    return {"level": "warning", "descriptor": {"id": "results-truncated"},
            "message": {"text": f"{total - kept:,} of {total:,} results were left out to stay "
                                f"within code scanning limits; the most severe {kept:,} are kept. "
                                "The JSON and HTML reports list every finding."},
            "properties": {"omitted": total - kept}}


def _omitted(notes: list[dict]) -> int:
    return sum(n["properties"]["omitted"] for n in notes)


def _base_ids(result: AuditResult, corpora: dict) -> dict:
    paths = result.config.get("paths") or []
    out = {}
    if len(paths) == 1 and os.path.isdir(paths[0]):
        out["SRCROOT"] = {"uri": pathlib.Path(os.path.abspath(paths[0])).as_uri() + "/",
                          "description": {"text": "the audited tree"}}
    else:
        out["SRCROOT"] = {"description": {"text": "the audited tree"}}
    for base, name in sorted(corpora.items()):
        out[base] = {"description": {"text": f"root of corpus {name}"}}
    return out


def _version_control(result: AuditResult) -> dict:
    """A scan of REPO@REV: the repository and commit the audited tree (SRCROOT) is."""
    rev = result.config.get("revision")
    if not rev:
        return {}
    return {"versionControlProvenance": [{
        "repositoryUri": pathlib.Path(os.path.abspath(rev["repo"])).as_uri(),
        "revisionId": rev["commit"], "mappedTo": {"uriBaseId": "SRCROOT"},
        "properties": {"revision": rev["rev"], "tree": rev["tree"]}}]}


def dumps(result: AuditResult, rule_meta: dict | None = None, help_uri: str = "",
          max_results: int = MAX_RESULTS, max_bytes: int = MAX_BYTES) -> str:
    """The SARIF text; results are cut further, most severe kept, until it fits max_bytes."""
    limit = max_results
    while True:
        text = json.dumps(to_sarif(result, rule_meta, help_uri, limit), indent=1,
                          ensure_ascii=False) + "\n"
        size = len(text.encode("utf-8"))
        if size <= max_bytes or limit == 0:
            return text
        count = to_sarif_count(text)
        limit = max(0, min(limit, count) * max_bytes * 9 // (size * 10))


def to_sarif_count(text: str) -> int:
    return len(json.loads(text)["runs"][0]["results"])
