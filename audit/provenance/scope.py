"""What a provenance determination covered: the audited tree's identity, the files
checked and not checked, and each corpus as it can be cited again.

The audited tree is named by path and, for a git checkout or ``REPO@REV``, by its
commit and the tree's ``swh:1:dir:`` SWHID (git's tree id); a checkout whose files
differ from the commit says so and carries the SWHID of what was on disk. A plain
folder gets a SWHID computed from its files with git's tree algorithm. A corpus is
named with its sources' sha256 (archives), commit (git) or SWHID (folders), the
paths its index excluded, the index parameters, the index's content digest (the
``digest`` of ``audit corpus info --json``, audit.provenance.digest: the same for
any rebuild of the same sources) and a digest of which files it holds (the sha256
of the sorted ``label<TAB>blob-id`` lines of its files).
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter

from audit.provenance.licence import git_head
from audit.provenance.swhid import dir_swhid


def audited_identity(paths: list[str], files: dict[str, str], revision: dict | None = None) -> dict:
    """The audited tree: path, kind, commit and tree SWHID where there are any.

    ``files``: audited path -> git blob id, to tell a clean checkout from a modified one.
    ``revision``: the commit a REPO@REV scan pinned (see audit.revscan.pin); without it a
    REPO@REV path is resolved here.
    """
    if revision is not None:
        return _revision(revision)
    if len(paths) != 1:
        return {"path": list(paths), "kind": "paths",
                "note": "several paths were audited; each file is cited by its own SWHID"}
    path = paths[0]
    from audit.gitsource import parse_repo_rev

    rr = parse_repo_rev(path) if not os.path.exists(path) else None
    if rr is not None:
        from audit.revscan import pin

        return _revision(pin(rr))
    if not os.path.isdir(path):
        return {"path": path, "kind": "file", "swhid": _file_swhid(files)}
    head = git_head(path)
    on_disk = dir_swhid(path)
    out = {"path": path, "kind": "directory", "swhid": on_disk["swhid"],
           "swhid_covers": "the files git would track (.gitignore honoured, .git left out)"}
    if head:
        out.update(kind="git checkout", commit=head["commit"],
                   commit_tree_swhid=head.get("tree_swhid", ""))
        clean = head.get("tree_swhid") == on_disk["swhid"]
        out["worktree"] = "as committed" if clean else "differs from the commit"
        if clean:
            out["swhid_covers"] = "the commit's tree at this path"
    return out


def _revision(rev: dict) -> dict:
    """A git revision: the tree id is the SWHID of the directory (same algorithm)."""
    sha = rev["commit"]
    return {"path": f"{rev['repo']}@{rev['rev']}", "kind": "git revision", "repository": rev["repo"],
            "rev": rev["rev"], "commit": sha, "swhid": f"swh:1:dir:{rev['tree']}",
            "swhid_covers": "the commit's tree", "commit_swhid": f"swh:1:rev:{sha}"}


def _file_swhid(files: dict[str, str]) -> str:
    return f"swh:1:cnt:{next(iter(files.values()))}" if len(files) == 1 else ""


def checked(result, report, rows: list[dict]) -> dict:
    """Counts of what was compared with the corpora; files compared that the quality scan
    did not measure (the tree's own C and C++ files) are named."""
    measured = {f.path for f in result.files}
    return {"files_measured": len(result.files), "files_compared": len(report.files),
            "code_lines_compared": sum(f.code_lines for f in report.files),
            "files_with_matches": sum(1 for f in report.files if f.matches),
            "files_not_checked": len(rows),
            "compared_not_measured": sorted(f.path for f in report.files if f.path not in measured)}


def not_checked(result, report) -> list[dict]:
    """Every file found and not compared, with its reason."""
    from audit.provenance.cfiles import c_reader, language_of

    compared = {f.path for f in report.files}
    rows = [s for s in result.skipped if s.path not in compared]
    read_c = c_reader(result) if any(_left_to_provenance(s, language_of) for s in rows) else None
    out = [_why(s, read_c) for s in rows]
    out += [{"path": f.path, "reason": "not-sketched", "detail": "measured, but no sketch was made"}
            for f in result.files if f.path not in compared]
    out += [{"path": p, "reason": "not-source", "detail": "in no language the audit reads (Rust, Python, "
             "C, C++): documentation, scripts, data"} for p in getattr(result, "others", ())]
    return sorted(out, key=lambda r: (r["reason"], r["path"]))


def _left_to_provenance(skipped, language_of) -> bool:
    return skipped.reason == "language-not-audited" and language_of(skipped.path) is not None


def _why(skipped, read_c) -> dict:
    """A skipped file's row; a C or C++ file the walker left to provenance but that was not
    compared says why (too large, binary, not UTF-8, no code), read again with the same guards."""
    from audit.provenance.cfiles import language_of
    from audit.walk import SkippedFile

    row = {"path": skipped.path, "reason": skipped.reason, "detail": skipped.detail}
    if read_c is None or not _left_to_provenance(skipped, language_of):
        return row
    source, lang = read_c(skipped.path), language_of(skipped.path)
    if isinstance(source, SkippedFile):
        return {**row, "reason": source.reason, "detail": f"{lang} source: {source.detail}"}
    return {**row, "reason": "no-code", "detail": f"{lang} source with no code to compare"}


def tree_reader(result, read):
    """``read`` (the walker's reader of measured files), falling back for files the quality
    scan did not measure but provenance compared (read with the walker's guards)."""
    from audit.revscan import reader, revision_of, unless_unreadable
    from audit.walk import _display_base, read_regular

    paths = list(result.config.get("paths") or [])
    limit = int(result.config.get("max_file_size") or 4_000_000)
    revision = revision_of(result.config)
    if revision is not None:  # REPO@REV: the pinned commit's blobs
        from_git = unless_unreadable(reader(revision, limit))
        return lambda path: (read(path) if read else None) or from_git(path)
    base = _display_base(paths) if paths else ""

    def get(path: str) -> bytes | None:
        data = read(path) if read else None
        if data is None and base and not os.path.isabs(path):
            try:
                data = read_regular(os.path.join(base, path), limit)
            except (OSError, ValueError):
                return None
        return data

    return get


def not_checked_summary(rows: list[dict]) -> dict[str, int]:
    return dict(sorted(Counter(r["reason"] for r in rows).items()))


def corpus_record(ix) -> dict:
    """One corpus as a reviewer cites it."""
    m = ix.manifest
    ids = m.get("source_ids") or [{"path": s, "kind": "unrecorded"} for s in m.get("sources", [])]
    versions = [i.get("version") for i in ids if i.get("version")]
    excluded = sorted({p for pats in (m.get("exclude") or {}).values() for p in pats})
    return {"name": ix.name, "version": ", ".join(versions), "license": m.get("license", ""),
            "sources": ids, "excluded": excluded,
            "not_indexed": (m.get("build") or {}).get("skipped", {}),
            "files": ix.n_files, "lines": m["counts"]["lines"], "built": m.get("created", ""),
            "tool_version": m.get("tool_version", ""), "params": m["params"],
            # the index's content digest (as `corpus info --json` reports it: a rebuild of the
            # same sources gives it again), and a digest of which files (path and blob) it holds
            "digest": m.get("digest", ""),  # every index of this format records it
            "files_digest": content_digest(ix.files),
            "identity_recorded": bool(m.get("source_ids"))}


def content_digest(files) -> str:
    lines = sorted(f"{f.label}\t{f.sha1}\n" for f in files)
    return "sha256:" + hashlib.sha256("".join(lines).encode("utf-8", "surrogatepass")).hexdigest()
