"""Read a git repository without a checkout: revisions, trees and blobs, through dulwich.

dulwich is pure Python and was measured against pygit2 on CCC's history
(bench/RESULTS.md): reading all 6,962 Rust blobs took 1.9 s against 2.5 s, and
walking all 16,633 distinct trees 0.8 s against 0.35 s. Both are small next to
parsing, so the dependency the project already has is used.
"""

from __future__ import annotations

import os
import re
import zlib
from dataclasses import dataclass
from typing import Callable, Iterator

from audit.errors import InputError

TREE_MODE = 0o040000
FILE_MODE_MASK = 0o170000
REGULAR_FILE = 0o100000  # symlinks (0o120000) and submodules (0o160000) are not read
SYMLINK = 0o120000
SUBMODULE = 0o160000
# A tree can name one subtree many times, so a small repository can hold billions of
# paths (a "tree bomb"); a listing stops here rather than run out of memory.
MAX_TREE_ENTRIES = 2_000_000
_SUFFIX = re.compile(r"(\^+|~\d*)$")


@dataclass(frozen=True)
class RepoRev:
    """A ``REPO@REV`` argument: a repository path and a revision in it."""

    repo: str
    rev: str

    def __str__(self) -> str:
        return f"{self.repo}@{self.rev}"


@dataclass(frozen=True)
class CommitInfo:
    """One commit: id, parents, author time (Unix seconds) and first line of the message."""

    sha: str
    parents: tuple[str, ...]
    time: int
    subject: str
    tree: str


def parse_repo_rev(text: str) -> RepoRev | None:
    """``REPO@REV`` when REPO is a git repository; None for a plain directory."""
    if "@" not in text:
        return None
    repo, _, rev = text.rpartition("@")
    if not repo or not rev or not is_git_repo(repo):
        return None
    return RepoRev(repo, rev)


def local_root(path: str) -> str:
    """The folder on disk that stands for an audited path: the repository of a REPO@REV
    (where its audit.toml and review file are looked for), else the path itself."""
    if not os.path.lexists(path):
        rr = parse_repo_rev(path)
        if rr is not None:
            return rr.repo
    return path


def is_git_repo(path: str) -> bool:
    """A working tree with .git, or a bare repository."""
    if os.path.exists(os.path.join(path, ".git")):
        return True
    return all(os.path.exists(os.path.join(path, p)) for p in ("HEAD", "objects", "refs"))


class GitSource:
    """An open repository; open one per process (dulwich handles do not survive a fork)."""

    def __init__(self, path: str):
        from dulwich.errors import NotGitRepository
        from dulwich.repo import Repo

        try:
            self.repo = Repo(path)
        except (NotGitRepository, OSError) as exc:
            raise InputError(f"not a git repository: {path}",
                             "name a repository folder (bare or with a work tree)") from exc
        self.path = path
        self.store = self.repo.object_store
        self._trees: dict[tuple, list[tuple[str, str]]] = {}

    def close(self) -> None:
        self.repo.close()

    def __enter__(self) -> "GitSource":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def resolve(self, rev: str) -> str:
        """A full commit id for a ref, a (short) id, with optional ``~N`` / ``^`` suffixes."""
        from dulwich.objectspec import parse_commit

        base, hops = rev, 0
        while (m := _SUFFIX.search(base)) and m.start() > 0:
            tail = m.group(1)
            hops += len(tail) if tail.startswith("^") else int(tail[1:] or 1)
            base = base[:m.start()]
        try:
            commit = parse_commit(self.repo, base)
        except Exception as exc:  # dulwich raises KeyError, ValueError or its own errors
            raise InputError(f"unknown revision {rev!r} in {self.path}",
                             "use a branch, tag, commit id, or REV~N") from exc
        for _ in range(hops):
            if not commit.parents:
                raise InputError(f"revision {rev!r} goes past the first commit", "use a smaller ~N")
            commit = self.store[commit.parents[0]]
        return commit.id.decode()

    def commit_info(self, sha: str) -> CommitInfo:
        c = self.store[sha.encode()]
        subject = c.message.decode("utf-8", "replace").split("\n", 1)[0]
        return CommitInfo(sha, tuple(p.decode() for p in c.parents), c.author_time, subject,
                          c.tree.decode())

    def commits(self, rev_range: str) -> list[CommitInfo]:
        """Commits reachable from the range's tip (``A..B``: not from A; ``REV^!``: REV alone),
        oldest first."""
        from dulwich.walk import ORDER_TOPO

        if rev_range.endswith("^!"):
            return [self.commit_info(self.resolve(rev_range[:-2]))]
        start, sep, tip = rev_range.rpartition("..")
        include = [self.resolve(tip or "HEAD").encode()]
        exclude = [self.resolve(start).encode()] if sep and start else []
        walker = self.repo.get_walker(include=include, exclude=exclude, order=ORDER_TOPO)
        out = [self.commit_info(e.commit.id.decode()) for e in walker]
        out.reverse()
        return out

    def files(self, commit_sha: str, keep: Callable[[str], bool]) -> list[tuple[str, str]]:
        """(path, blob id) of the regular files at a commit that ``keep`` accepts, sorted."""
        tree = self.store[commit_sha.encode()].tree
        return self.tree_files(tree, "", keep)

    def tree_files(self, tree: bytes, prefix: str, keep: Callable[[str], bool]) -> list[tuple[str, str]]:
        """Files under one tree; memoised by (tree id, prefix, filter), since history repeats trees."""
        key = (tree, prefix, keep)
        hit = self._trees.get(key)
        if hit is not None:
            return hit
        out: list[tuple[str, str]] = []
        for entry in self.store[tree].iteritems():
            name = entry.path.decode("utf-8", "surrogateescape")
            path = prefix + name
            kind = entry.mode & FILE_MODE_MASK
            if kind == TREE_MODE:
                if keep(path + "/"):
                    out.extend(self.tree_files(entry.sha, path + "/", keep))
            elif kind == REGULAR_FILE and keep(path):
                out.append((path, entry.sha.decode()))
        out.sort()
        self._trees[key] = out
        return out

    def subtrees(self, tree: str) -> list[tuple[str, str, bool]]:
        """The entries of a tree as (name, id, is_tree), regular files and folders only."""
        out = []
        for entry in self.store[tree.encode()].iteritems():
            kind = entry.mode & FILE_MODE_MASK
            if kind == TREE_MODE or kind == REGULAR_FILE:
                out.append((entry.path.decode("utf-8", "surrogateescape"), entry.sha.decode(),
                            kind == TREE_MODE))
        return out

    def changed_paths(self, commit: CommitInfo) -> list[str]:
        """Paths a commit changed against its first parent (every path for a root commit)."""
        from dulwich.diff_tree import tree_changes

        old = self.store[commit.parents[0].encode()].tree if commit.parents else None
        paths = []
        for change in tree_changes(self.store, old, commit.tree.encode()):
            for side in (change.old, change.new):
                if side is not None and side.path is not None:
                    paths.append(side.path.decode("utf-8", "surrogateescape"))
        return paths

    def read_blob(self, blob: str, max_size: int = 0) -> bytes:
        """A blob's bytes; with ``max_size``, one larger raises walk.TooLarge, before it is
        inflated when its header says so (a few compressed bytes can inflate to gigabytes)."""
        if not max_size:
            return self.store[blob.encode()].data
        from audit.walk import TooLarge

        size = self.blob_size(blob)
        if size is not None and size > max_size:
            raise TooLarge(str(size))
        data = self.store[blob.encode()].data
        if len(data) > max_size:  # a header that could not be read
            raise TooLarge(str(len(data)))
        return data

    def entries(self, tree: str, keep: Callable[[str], bool]) -> Iterator[tuple[str, str, int]]:
        """(path, id, mode kind) of every file, symlink and submodule under a tree, in path
        order; folders ``keep`` refuses (asked with a trailing '/') are not entered.

        Iterative, so a deep tree cannot exhaust the stack; at most MAX_TREE_ENTRIES entries.
        """
        stack, seen = [(tree.encode(), "")], 0
        while stack:
            tree_id, prefix = stack.pop()
            items = sorted(self._tree(tree_id, prefix).iteritems(), key=lambda e: e.path, reverse=True)
            seen += len(items)
            if seen > MAX_TREE_ENTRIES:
                raise InputError(f"{self.path}: the tree has more than {MAX_TREE_ENTRIES:,} entries",
                                 "narrow the scan with --include or --exclude")
            for entry in items:  # reversed onto the stack: popped in path order
                path = prefix + entry.path.decode("utf-8", "surrogateescape")
                kind = entry.mode & FILE_MODE_MASK
                if kind == TREE_MODE:
                    if keep(path + "/"):
                        stack.append((entry.sha, path + "/"))
                else:
                    yield path, entry.sha.decode(), kind

    def lookup(self, tree: str, path: str) -> tuple[str, int] | None:
        """(id, mode kind) of one path under a tree, or None when there is no such entry."""
        from dulwich.object_store import tree_lookup_path

        try:
            mode, sha = tree_lookup_path(self.store.__getitem__, tree.encode(),
                                         path.encode("utf-8", "surrogateescape"))
        except Exception:  # noqa: BLE001 - dulwich raises KeyError, NotTreeError (a file or link
            return None    # where a folder is), SubmoduleEncountered ...: all mean "no such file"
        return sha.decode(), mode & FILE_MODE_MASK

    def _tree(self, tree_id: bytes, prefix: str):
        """A tree object; a missing or damaged one is the user's to fix, not a traceback."""
        try:
            return self.store[tree_id]
        except Exception as exc:  # noqa: BLE001 - KeyError, zlib.error, ObjectFormatException ...
            where = prefix.rstrip("/") or "the root folder"
            raise InputError(f"{self.path}: cannot read the tree of {where} ({tree_id.decode()}): "
                             f"{type(exc).__name__}",
                             "the repository is damaged or incomplete (a partial clone?); "
                             "`git fsck` says more") from exc

    def blob_size(self, blob: str) -> int | None:
        """A blob's size read from its object header, without inflating the blob (a few
        compressed bytes can inflate to gigabytes); None when the object is not found here
        or its header cannot be read (reading the blob then says what is wrong)."""
        try:
            return object_size(self.store, blob)
        except (ValueError, IndexError, OSError, zlib.error):
            return None


def object_size(store, blob: str) -> int | None:
    """The size of an object in a disk store: a loose object's header, or a packed one's
    (for a delta, the delta's result size); alternates are searched too."""
    loose = os.path.join(store.path, blob[:2], blob[2:])
    if os.path.isfile(loose):
        with open(loose, "rb") as fh:
            head = zlib.decompressobj().decompress(fh.read(256), 64)
        return int(head.split(b"\0", 1)[0].split(b" ", 1)[1])
    for pack in store.packs:
        try:
            offset = pack.index.object_offset(bytes.fromhex(blob))
        except KeyError:
            continue
        if offset is None:
            continue
        with open(pack.data.path, "rb") as fh:
            fh.seek(offset)
            return _packed_size(fh.read(512))
    for alternate in getattr(store, "alternates", ()):
        size = object_size(alternate, blob) if hasattr(alternate, "path") else None
        if size is not None:
            return size
    return None


OFS_DELTA, REF_DELTA = 6, 7


def _packed_size(raw: bytes) -> int:
    """Size from a pack entry: the header's for a whole object; for a delta, the result
    size at the start of the delta data (after the base size)."""
    byte, pos = raw[0], 1
    kind, size, shift = (byte >> 4) & 7, byte & 15, 4
    while byte & 0x80:
        byte = raw[pos]
        size |= (byte & 0x7F) << shift
        shift, pos = shift + 7, pos + 1
    if kind not in (OFS_DELTA, REF_DELTA):
        return size
    if kind == REF_DELTA:
        pos += 20
    else:
        while raw[pos] & 0x80:
            pos += 1
        pos += 1
    delta = zlib.decompressobj().decompress(raw[pos:], 32)
    _base, at = _varint(delta, 0)
    return _varint(delta, at)[0]


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    """A delta header's size: 7 bits a byte, least significant first."""
    value = shift = 0
    while True:
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        shift, pos = shift + 7, pos + 1
        if not byte & 0x80:
            return value, pos


def path_filter(config) -> Callable[[str], bool]:
    """What to read from a tree, with the walker's rules: audited languages, skipped folders,
    include and exclude globs (a folder is asked about with a trailing '/')."""
    import pathspec

    from audit.lang import language_for

    from audit.walk import matchable

    # RE2: linear-time matching whatever the patterns (see audit.walk.glob_spec)
    include = pathspec.PathSpec.from_lines("gitwildmatch", config.include, backend="re2") if config.include else None
    exclude = pathspec.PathSpec.from_lines("gitwildmatch", config.exclude, backend="re2") if config.exclude else None
    skip, audited = set(config.skip_dirs), set(config.languages)

    def keep(path: str) -> bool:
        path = matchable(path)  # RE2 matches UTF-8: a name that is not is matched with U+FFFD
        if path.endswith("/"):
            return path.rstrip("/").rsplit("/", 1)[-1] not in skip and not (exclude and exclude.match_file(path))
        lang = language_for(path)
        if lang is None or lang.name not in audited:
            return False
        if exclude is not None and exclude.match_file(path):
            return False
        return include is None or include.match_file(path)

    return keep
