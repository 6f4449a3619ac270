"""Licences and identities of corpus material, recorded when an index is built.

Per corpus file: the ``SPDX-License-Identifier`` it declares and its copyright
lines (with line numbers, so a report can quote those nearest a match), kept in
``file_notes.json`` beside the index. Per source: what it is and how to cite it
again (an archive's ``sha256``, a git checkout's ``commit``, a folder's
``swh:1:dir:`` SWHID) and a version read from the archive's name.
A file's licence is its own identifier, else the corpus licence given at build
time (``audit corpus build --license``), else ``NOASSERTION``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re

NOTES = "file_notes.json"
NOASSERTION = "NOASSERTION"
MAX_COPYRIGHT = 8  # copyright lines kept per file
_SPDX = re.compile(rb"SPDX-License-Identifier:[ \t]*([^\r\n]*)")
_COPYRIGHT = re.compile(rb"^[ \t/*#;!-]*(?:copyright\b|\(c\)[ \t]*\d|\xc2\xa9)[^\r\n]*", re.I | re.M)
_VERSION = re.compile(r"^[A-Za-z][A-Za-z0-9+_]*?[-_]v?(\d[\w.~+-]*?)(?:\.orig)?"
                      r"(?:\.tar(?:\.\w+)?|\.tgz|\.txz|\.tbz2|\.zip)$")


def file_notes(data: bytes) -> dict | None:
    """A file's declared licence and copyright lines, or None when it has neither."""
    spdx = _SPDX.search(data)
    expr = ""
    if spdx:
        expr = spdx.group(1).decode("utf-8", "replace")
        expr = re.sub(r"\s*(\*/|-->|#\})\s*$", "", expr).strip()
    lines = []
    for m in _COPYRIGHT.finditer(data):
        if len(lines) >= MAX_COPYRIGHT:
            break
        text = m.group(0).decode("utf-8", "replace").strip(" \t/*#;!-")
        lines.append([data.count(b"\n", 0, m.start()) + 1, text[:200]])
    if not expr and not lines:
        return None
    return {"spdx": expr, "copyright": lines}


def write_notes(folder: str, notes: dict[str, dict]) -> str:
    """Write label -> notes as NOTES in an index folder; returns the file name."""
    with open(os.path.join(folder, NOTES), "w", encoding="utf-8") as fh:
        json.dump(notes, fh, sort_keys=True, separators=(",", ":"))
    return NOTES


def read_notes(index_path: str) -> dict[str, dict]:
    """label -> notes of an index ({} for an index built before notes were kept)."""
    try:
        with open(os.path.join(index_path, NOTES), encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return {}


def file_licence(notes: dict | None, corpus_licence: str) -> tuple[str, str]:
    """(licence expression, where it comes from: file | corpus | none)."""
    if notes and notes.get("spdx"):
        return notes["spdx"], "file"
    if corpus_licence:
        return corpus_licence, "corpus"
    return NOASSERTION, "none"


def nearest_copyright(notes: dict | None, lines: tuple[int, int], n: int = 3) -> list[str]:
    """The copyright lines of a file nearest a matched span (a file's header first on ties)."""
    found = (notes or {}).get("copyright") or []
    lo, hi = lines
    ranked = sorted(found, key=lambda c: (0 if lo <= c[0] <= hi else min(abs(c[0] - lo), abs(c[0] - hi)),
                                          c[0]))
    return [str(c[1]) for c in ranked[:n]]


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def version_from_name(path: str) -> str:
    """``12.2.0-dfsg`` from ``gcc-12.2.0-dfsg.tar.xz``; "" when the name carries none."""
    m = _VERSION.match(os.path.basename(path))
    return m.group(1) if m else ""


def source_identity(path: str) -> dict:
    """How to cite one corpus source again: kind, version and a checksum or commit."""
    path = os.path.abspath(path)
    if os.path.isfile(path):
        out = {"path": path, "kind": "archive", "version": version_from_name(path),
               "sha256": sha256_file(path), **debian_package(path)}
        if not out["version"] and out.get("package_version"):  # linux-source-6.1.tar.xz
            out["version"] = out["package_version"].rsplit("-", 1)[0]
        return out
    commit = git_head(path)
    if commit:
        return {"path": path, "kind": "git", "version": commit["commit"][:12], **commit}
    from audit.provenance.swhid import dir_swhid

    return {"path": path, "kind": "directory", "version": "", "swhid": dir_swhid(path)["swhid"]}


def debian_package(path: str) -> dict:
    """``{"package", "package_version"}`` of the installed Debian package shipping this file, else {}.

    Debian's source tarballs (gcc-12-source, linux-source-6.1, ...) are cited with the exact
    package version (patch level included), which the file name does not always carry."""
    import shutil
    import subprocess

    if not shutil.which("dpkg-query"):
        return {}
    try:
        owner = subprocess.run(["dpkg-query", "-S", os.path.realpath(path)], capture_output=True,
                               text=True, timeout=30)
        package = owner.stdout.split(":", 1)[0].strip() if owner.returncode == 0 else ""
        if not package or "," in package:  # a diversion or a file shared by packages: no single owner
            return {}
        ver = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package], capture_output=True,
                             text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return {}
    version = ver.stdout.strip() if ver.returncode == 0 else ""
    return {"package": package, "package_version": version} if version else {}


def git_head(path: str) -> dict | None:
    """``{"commit", "tree_swhid", "repository"}`` when path lies in a git work tree with a HEAD."""
    root = _work_tree_root(path)
    if root is None:
        return None
    from dulwich.repo import Repo

    try:
        with Repo(root) as repo:
            commit = repo[repo.head()]
            tree = _subtree(repo, commit.tree, os.path.relpath(path, root))
    except Exception:  # dulwich raises many kinds for an unborn HEAD or a broken repository
        return None
    out = {"commit": commit.id.decode(), "repository": root}
    if tree:
        out["tree_swhid"] = f"swh:1:dir:{tree}"
    return out


def _work_tree_root(path: str) -> str | None:
    here = os.path.abspath(path if os.path.isdir(path) else os.path.dirname(path))
    while True:
        if os.path.exists(os.path.join(here, ".git")):
            return here
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent


def _subtree(repo, tree: bytes, rel: str) -> str | None:
    """The id of the tree at a relative folder of a commit ('.' is the commit's tree)."""
    for part in [p for p in rel.replace(os.sep, "/").split("/") if p not in ("", ".")]:
        try:
            mode, tree = repo[tree][part.encode("utf-8", "surrogateescape")]
        except KeyError:
            return None
        if mode & 0o170000 != 0o040000:
            return None
    return tree.decode()


_TOKEN = re.compile(r"\s*(\(|\)|AND\b|OR\b|WITH\b|[A-Za-z0-9][A-Za-z0-9.\-]*\+?|LicenseRef-[A-Za-z0-9.\-]+)")


def check_expression(expr: str) -> str:
    """An SPDX licence expression checked for its syntax (ids, AND/OR/WITH, brackets)."""
    from audit.errors import UsageError

    if not expr:
        return expr
    pos, depth, want_id = 0, 0, True
    text = expr.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            break
        tok, pos = m.group(1), m.end()
        if tok == "(":
            depth += 1
        elif tok == ")":
            depth -= 1
        elif (tok in ("AND", "OR", "WITH")) == want_id or depth < 0:
            break
        else:
            want_id = not want_id
    else:
        if depth == 0 and not want_id:
            return expr
    raise UsageError(f"{expr!r} is not an SPDX licence expression",
                     "use SPDX identifiers joined by AND, OR and WITH, e.g. MIT, "
                     "'GPL-3.0-or-later WITH GCC-exception-3.1' or '(MIT OR Apache-2.0)'")
