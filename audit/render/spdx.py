"""SPDX 2.3 JSON export of a provenance determination.

The document describes one package, the audited tree, with every audited file
and its SHA-1 and SHA-256 checksums (and its SWHID in the file comment). Each
corpus is a package (version, declared licence, source checksums in its comment,
directory SWHIDs as persistent-id references); each matched corpus file is a
package too, so it can carry its SWHID as a ``PERSISTENT-ID swh`` reference, its
licence and its copyright lines. Every evidence fragment is a snippet of the
audited file (byte and line ranges) whose comment cites the corpus side as
``swh:1:cnt:...;lines=a-b`` with its licence and any review decision, related to
the matched corpus file by an OTHER relationship that says what was matched.
``licenseConcluded`` stays NOASSERTION: a resemblance is evidence for a
reviewer, not a licence conclusion.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from datetime import datetime, timezone

from audit.provenance.scope import tree_reader
from audit.render.determination_view import audited_line, evidence_rows
from audit.walk import git_blob_sha1

NOASSERTION = "NOASSERTION"


def _id(kind: str, n: int | str) -> str:
    return f"SPDXRef-{kind}-{re.sub(r'[^A-Za-z0-9.-]', '-', str(n))}"


def _created(result) -> str:
    try:
        when = datetime.fromisoformat(result.created)
    except (TypeError, ValueError):
        when = datetime.now(timezone.utc)
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _file(path: str, blob: str, data: bytes | None, spdxid: str) -> dict:
    sums = [{"algorithm": "SHA1", "checksumValue": hashlib.sha1(data).hexdigest() if data else
             NOASSERTION}]
    if data is not None:
        sums.append({"algorithm": "SHA256", "checksumValue": hashlib.sha256(data).hexdigest()})
    return {"SPDXID": spdxid, "fileName": "./" + path, "checksums": sums,
            "licenseConcluded": NOASSERTION, "copyrightText": NOASSERTION,
            "comment": f"swh:1:cnt:{blob}" + ("" if data else "; the file could not be read "
                                              "again, so its SHA-1 is not asserted")}


def _verification_code(files: list[dict]) -> str:
    sums = sorted(c["checksumValue"] for f in files for c in f["checksums"] if c["algorithm"] == "SHA1")
    return hashlib.sha1("".join(sums).encode()).hexdigest()


def _corpus_package(c: dict, n: int) -> dict:
    ids = c.get("sources", [])
    cites = "; ".join(f"{s.get('path')}: " + (f"sha256 {s['sha256']}" if s.get("sha256") else
                      f"commit {s['commit']}" if s.get("commit") else s.get("swhid", "not recorded"))
                      for s in ids)
    pkg = {"SPDXID": _id("Corpus", n), "name": c["name"], "downloadLocation": NOASSERTION,
           "filesAnalyzed": False, "licenseConcluded": NOASSERTION,
           "licenseDeclared": c.get("license") or NOASSERTION, "copyrightText": NOASSERTION,
           "comment": f"Corpus index {c['name']} ({c.get('files', 0)} files, built {c.get('built', '')}); "
                      f"sources: {cites}; excluded: {', '.join(c.get('excluded', [])) or 'nothing'}; "
                      f"content digest {c.get('digest', '')}"}
    if c.get("version"):
        pkg["versionInfo"] = c["version"]
    archives = [s for s in ids if s.get("sha256")]
    if len(archives) == 1:
        pkg["checksums"] = [{"algorithm": "SHA256", "checksumValue": archives[0]["sha256"]}]
    refs = [{"referenceCategory": "PERSISTENT-ID", "referenceType": "swh", "referenceLocator": s["swhid"]}
            for s in ids if s.get("swhid")]
    if refs:
        pkg["externalRefs"] = refs
    return pkg


def _corpus_file_package(row: dict, n: int, version: str) -> dict:
    pkg = {"SPDXID": _id("CorpusFile", n), "name": f"{row['corpus']}:{row['corpus_path']}",
           "downloadLocation": NOASSERTION, "filesAnalyzed": False, "licenseConcluded": NOASSERTION,
           "licenseDeclared": row["license"] or NOASSERTION,
           "copyrightText": "\n".join(row["copyright"]) or NOASSERTION,
           "externalRefs": [{"referenceCategory": "PERSISTENT-ID", "referenceType": "swh",
                             "referenceLocator": row["swhid"]}],
           "comment": f"File {row['corpus_path']} of corpus {row['corpus']}; licence from "
                      f"{_licence_source(row['license_source'])}"}
    if version:
        pkg["versionInfo"] = version
    return pkg


def _licence_source(src: str) -> str:
    return {"file": "its SPDX-License-Identifier", "corpus": "the licence declared for the corpus "
            "when it was indexed", "none": "nowhere (none declared)"}.get(src, src)


def _byte_range(text: str | None, lines) -> tuple[int, int] | None:
    if text is None:
        return None
    starts = [0]
    for line in text.split("\n"):
        starts.append(starts[-1] + len(line.encode("utf-8")) + 1)
    a, b = int(lines[0]), min(int(lines[1]), len(starts) - 1)
    if a < 1 or a > b:
        return None
    return starts[a - 1] + 1, max(starts[a - 1] + 1, starts[b] - 1)


def _chance(ev: dict) -> str:
    """The fragment's chance figure and passage group, for a snippet's comment."""
    out = (f", expected by chance {ev['chance']} (runs this large on this channel that independent "
           "code of the same domain shows in a file this size)") if ev["chance"] else ""
    return out + (f", passage: {ev['passage']}" if ev["passage"] else "")


def _snippet(ev: dict, n: int, file_id: str, text: str | None) -> dict:
    a, b = ev["lines"]
    ranges = [{"startPointer": {"reference": file_id, "lineNumber": a},
               "endPointer": {"reference": file_id, "lineNumber": b}}]
    byte = _byte_range(text, ev["lines"])
    if byte:
        ranges.insert(0, {"startPointer": {"reference": file_id, "offset": byte[0]},
                          "endPointer": {"reference": file_id, "offset": byte[1]}})
    decision = (f"; review decision: {ev['decision']} ({ev['decision_status']}) by {ev['decided_by']}: "
                f"{ev['decision_reason']}" if ev["decision"] else "; no review decision recorded")
    return {"SPDXID": _id("Snippet", n), "snippetFromFile": file_id, "ranges": ranges,
            "name": f"{ev['path']} lines {a}-{b}", "licenseConcluded": NOASSERTION,
            "copyrightText": NOASSERTION,
            "comment": f"Matches {ev['cite']} ({ev['corpus']}: {ev['corpus_path']} lines "
                       f"{ev['corpus_lines'][0]}-{ev['corpus_lines'][1]}), licence {ev['license']}; "
                       f"channel {ev['kind']}, {ev['fingerprints']} shared fingerprints"
                       f"{_chance(ev)}, match score {float(ev['match_score']):.2f}{decision}",
            "attributionTexts": ev["copyright"] or [f"{ev['corpus']}: {ev['corpus_path']} "
                                                     f"({ev['license']})"]}


def to_spdx(result, read) -> dict:
    """The SPDX 2.3 document as plain data; ``read`` gives an audited file's bytes."""
    prov = result.sections.get("provenance")
    prov = (prov.to_dict() if hasattr(prov, "to_dict") else prov) or {}
    det = prov.get("determination") or {}
    read = tree_reader(result, read)
    audited = [(f.path, f.sha1) for f in result.files] + _compared_only(det, read)
    data = {path: read(path) for path, _ in audited}
    files = [_file(path, blob, data[path], _id("File", i)) for i, (path, blob) in enumerate(audited, 1)]
    file_ids = {path: x["SPDXID"] for (path, _), x in zip(audited, files)}
    corpora = det.get("scope", {}).get("corpora", [])
    packages = [_audited_package(det, files)] + [_corpus_package(c, i) for i, c in enumerate(corpora, 1)]
    rels = [_rel("SPDXRef-DOCUMENT", "DESCRIBES", "SPDXRef-Audited")]
    rels += [_rel("SPDXRef-Audited", "CONTAINS", x["SPDXID"]) for x in files]
    snippets, cfile_ids = [], {}
    versions = {c["name"]: c.get("version", "") for c in corpora}
    corpus_ids = {c["name"]: _id("Corpus", i) for i, c in enumerate(corpora, 1)}
    for ev in evidence_rows(prov):
        key = (ev["corpus"], ev["corpus_path"])
        if key not in cfile_ids:
            pkg = _corpus_file_package(ev, len(cfile_ids) + 1, versions.get(ev["corpus"], ""))
            cfile_ids[key] = pkg["SPDXID"]
            packages.append(pkg)
            if ev["corpus"] in corpus_ids:
                rels.append(_rel(corpus_ids[ev["corpus"]], "CONTAINS", pkg["SPDXID"]))
        if ev["path"] not in file_ids:
            continue
        raw = data.get(ev["path"])
        sn = _snippet(ev, len(snippets) + 1, file_ids[ev["path"]],
                      raw.decode("utf-8", "replace") if raw else None)
        snippets.append(sn)
        rels.append(_rel(sn["SPDXID"], "OTHER", cfile_ids[key],
                         f"resembles {ev['cite']} (provenance evidence, not a conclusion of copying)"))
    doc = {
        "spdxVersion": "SPDX-2.3", "dataLicense": "CC0-1.0", "SPDXID": "SPDXRef-DOCUMENT",
        "name": f"audit provenance determination for {_audited_name(det)}",
        "documentNamespace": _namespace(det, result),
        "creationInfo": {"created": _created(result), "creators": [f"Tool: audit-{result.tool_version}"],
                         "comment": det.get("statement", "")},
        "packages": packages, "files": files, "relationships": rels,
    }
    if snippets:
        doc["snippets"] = snippets
    return doc


def _compared_only(det: dict, read) -> list[tuple[str, str]]:
    """Files provenance compared that the quality scan did not measure (own C/C++ files)."""
    out = []
    for path in det.get("scope", {}).get("checked", {}).get("compared_not_measured", []):
        raw = read(path)
        if raw is not None:
            out.append((path, git_blob_sha1(raw)))
    return out


def _audited_package(det: dict, files: list[dict]) -> dict:
    audited = det.get("scope", {}).get("audited", {})
    pkg = {"SPDXID": "SPDXRef-Audited", "name": _audited_name(det), "downloadLocation": NOASSERTION,
           "filesAnalyzed": True, "licenseConcluded": NOASSERTION, "licenseDeclared": NOASSERTION,
           "copyrightText": NOASSERTION,
           "packageVerificationCode": {"packageVerificationCodeValue": _verification_code(files)},
           "comment": f"Audited tree {audited_line(audited)}. Determination: {det.get('statement', '')}"}
    if audited.get("commit"):
        pkg["versionInfo"] = audited["commit"]
    if str(audited.get("swhid", "")).startswith("swh:1:"):
        pkg["externalRefs"] = [{"referenceCategory": "PERSISTENT-ID", "referenceType": "swh",
                                "referenceLocator": audited["swhid"]}]
    return pkg


def _audited_name(det: dict) -> str:
    path = det.get("scope", {}).get("audited", {}).get("path", "audited tree")
    return ", ".join(path) if isinstance(path, list) else str(path)


def _namespace(det: dict, result) -> str:
    seed = json.dumps([det.get("scope", {}).get("audited", {}), result.created, result.tool_version],
                      sort_keys=True)
    return f"https://spdx.org/spdxdocs/audit-provenance-{uuid.uuid5(uuid.NAMESPACE_URL, seed)}"


def _rel(a: str, kind: str, b: str, comment: str = "") -> dict:
    out = {"spdxElementId": a, "relationshipType": kind, "relatedSpdxElement": b}
    if comment:
        out["comment"] = comment
    return out


def dumps(result, read) -> str:
    return json.dumps(to_spdx(result, read), indent=1, ensure_ascii=False) + "\n"
