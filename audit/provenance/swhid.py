"""SWHIDs of directories, computed with git's tree algorithm (as Software Heritage does).

A ``swh:1:dir:`` identifier is the id git gives the same tree, so for a git
commit the tree id is the SWHID. For a plain folder the tree is hashed here:
regular files as blobs (mode 100644, or 100755 when executable), symbolic links
as blobs of their target (120000), folders recursively (40000), entries in git's
order (a folder sorts as its name followed by ``/``). ``.git`` is left out, and
with ``gitignore`` so is everything git would not track, so a clean checkout of a
commit gets the commit's tree id.
"""

from __future__ import annotations

import hashlib
import os
import stat

import pathspec

from audit.walk import git_blob_sha1

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


def tree_id(entries: list[tuple[int, str, str]]) -> str:
    """git's id of a tree from (mode, name, hex id) entries."""
    key = sorted(entries, key=lambda e: e[1] + ("/" if e[0] == 0o40000 else ""))
    body = b"".join(b"%o %s\0" % (mode, name.encode("utf-8", "surrogateescape")) + bytes.fromhex(h)
                    for mode, name, h in key)
    return hashlib.sha1(b"tree %d\0" % len(body) + body).hexdigest()


class _Hasher:
    def __init__(self, gitignore: bool):
        self.gitignore = gitignore
        self.files = 0
        self.bytes = 0

    def directory(self, path: str, ignores: tuple) -> str | None:
        """The tree id of a folder, or None when git would hold nothing of it."""
        ignores = self._ignores(path, ignores)
        entries = []
        for entry in sorted(os.scandir(path), key=lambda e: e.name):
            if entry.name == ".git" or _ignored(ignores, entry.path, entry.is_dir(follow_symlinks=False)):
                continue
            got = self._entry(entry, ignores)
            if got is not None:
                entries.append(got)
        if not entries and self.gitignore:
            return None  # git cannot hold an empty folder
        return tree_id(entries)

    def _entry(self, entry, ignores):
        st = entry.stat(follow_symlinks=False)
        if stat.S_ISLNK(st.st_mode):
            return 0o120000, entry.name, git_blob_sha1(os.fsencode(os.readlink(entry.path)))
        if stat.S_ISDIR(st.st_mode):
            sub = self.directory(entry.path, ignores)
            return None if sub is None else (0o40000, entry.name, sub)
        if not stat.S_ISREG(st.st_mode):
            return None
        with open(entry.path, "rb") as fh:
            data = fh.read()
        self.files += 1
        self.bytes += len(data)
        mode = 0o100755 if st.st_mode & 0o111 else 0o100644
        return mode, entry.name, git_blob_sha1(data)

    def _ignores(self, path: str, inherited: tuple) -> tuple:
        if not self.gitignore:
            return inherited
        try:
            with open(os.path.join(path, ".gitignore"), encoding="utf-8", errors="replace") as fh:
                return inherited + ((path, pathspec.GitIgnoreSpec.from_lines(fh)),)
        except OSError:
            return inherited


def _ignored(ignores, abspath: str, is_dir: bool) -> bool:
    for directory, spec in reversed(ignores):
        rel = os.path.relpath(abspath, directory).replace(os.sep, "/")
        result = spec.check_file(rel + "/" if is_dir else rel)
        if result.include is not None:
            return bool(result.include)
    return False


def dir_swhid(path: str, gitignore: bool = True) -> dict:
    """``{"swhid", "files", "bytes"}`` of a folder, hashed as git would store it."""
    h = _Hasher(gitignore)
    tid = h.directory(os.path.abspath(path), ()) or EMPTY_TREE
    return {"swhid": f"swh:1:dir:{tid}", "files": h.files, "bytes": h.bytes}
