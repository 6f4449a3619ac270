"""The only reader of the audited tree: finds source files and reads them safely.

Discovery honours ``.gitignore`` files (through pathspec, with git's own rules),
skips build and vendored folders, and applies include/exclude globs. Reading
turns every bad file (binary, too large, unreadable, not UTF-8, a symlink loop)
into a :class:`SkippedFile` value instead of an error, so a run always goes on.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass

import pathspec

from audit.config import ScanConfig
from audit.errors import InputError
from audit.lang import LANGUAGES, language_for

BINARY_SNIFF = 8192  # bytes inspected for NUL, as git does


@dataclass(frozen=True)
class Candidate:
    """A file the walk found and will read: where it is and how it is shown."""

    abspath: str
    path: str  # relative, '/'-separated, as shown in reports
    language: str


@dataclass(frozen=True)
class SourceFile:
    """The bytes of one readable, UTF-8 source file."""

    path: str
    language: str
    data: bytes
    sha1: str  # git blob id: cites the file as swh:1:cnt:<sha1>

    @property
    def swhid(self) -> str:
        return f"swh:1:cnt:{self.sha1}"


@dataclass(frozen=True)
class SkippedFile:
    """A file that was found but not measured, and why."""

    path: str
    reason: str  # binary | too-large | unreadable | not-utf8 | symlink-loop | language-not-audited
    detail: str = ""


@dataclass(frozen=True)
class Discovery:
    candidates: tuple[Candidate, ...]
    skipped: tuple[SkippedFile, ...]
    roots: tuple[str, ...]


def git_blob_sha1(data: bytes) -> str:
    """The id git gives these bytes as a blob (and Software Heritage as content)."""
    h = hashlib.sha1(b"blob %d\0" % len(data))
    h.update(data)
    return h.hexdigest()


def discover(config: ScanConfig, on_found: tuple[int, Callable] | None = None) -> Discovery:
    """Find every candidate source file under the configured paths.

    ``on_found``: (n, callback); the callback gets the candidates found so far,
    once, as soon as there are n of them (the scan starts its workers then).
    """
    if not config.paths:
        raise InputError("no path to audit", "name a directory or file")
    for p in config.paths:
        if not os.path.lexists(p):
            raise InputError(f"path does not exist: {p}", "check the spelling, or run from another folder")
    base = _display_base(config.paths)
    walker = _Walker(config, base)
    if on_found is not None:
        walker.notify_at, walker.notify = on_found
    for p in config.paths:
        walker.add_root(p)
    return Discovery(tuple(walker.candidates), tuple(walker.skipped), tuple(config.paths))


def read_source(cand: Candidate, max_size: int) -> SourceFile | SkippedFile:
    """Read one candidate; a file that cannot be used becomes a SkippedFile."""
    try:
        st = os.stat(cand.abspath)
        if st.st_size > max_size:
            return SkippedFile(cand.path, "too-large", f"{st.st_size} bytes > limit {max_size}")
        with open(cand.abspath, "rb") as fh:
            data = fh.read(max_size + 1)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return SkippedFile(cand.path, "symlink-loop", exc.strerror or "too many levels of links")
        return SkippedFile(cand.path, "unreadable", exc.strerror or str(exc))
    return source_from_bytes(cand.path, cand.language, data, max_size)


def source_from_bytes(path: str, language: str, data: bytes, max_size: int,
                      sha1: str | None = None) -> SourceFile | SkippedFile:
    """Check bytes read from anywhere (a file, a git blob) as read_source does."""
    if len(data) > max_size:
        return SkippedFile(path, "too-large", f"more than {max_size} bytes")
    if b"\0" in data[:BINARY_SNIFF]:
        return SkippedFile(path, "binary", "NUL byte in the first 8 KiB")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return SkippedFile(path, "not-utf8", f"invalid UTF-8 at byte {exc.start} (line {line})")
    return SourceFile(path, language, data, sha1 or git_blob_sha1(data))


def _display_base(paths) -> str:
    absolute = [os.path.abspath(p) for p in paths]
    if len(absolute) == 1:
        only = absolute[0]
        return only if os.path.isdir(only) else os.path.dirname(only)
    return os.path.commonpath([a if os.path.isdir(a) else os.path.dirname(a) for a in absolute])


class _Walker:
    """Iterative directory walk (no recursion, so depth cannot overflow)."""

    def __init__(self, config: ScanConfig, base: str):
        self.config = config
        self.base = base
        self.candidates: list[Candidate] = []
        self.skipped: list[SkippedFile] = []
        self.seen_dirs: set[tuple[int, int]] = set()
        self.seen_files: set[str] = set()
        self.audited = set(config.languages)
        self.include = pathspec.GitIgnoreSpec.from_lines(config.include) if config.include else None
        self.exclude = pathspec.GitIgnoreSpec.from_lines(config.exclude) if config.exclude else None
        self.skip_dirs = set(config.skip_dirs)
        self.notify_at, self.notify = 0, None  # see discover(on_found=...)

    def rel(self, abspath: str) -> str:
        rel = os.path.relpath(abspath, self.base)
        return abspath if rel.startswith("..") else rel.replace(os.sep, "/")

    def stat_or_skip(self, path: str):
        """os.stat, or None after recording why the path cannot be read."""
        try:
            return os.stat(path)
        except OSError as exc:
            reason = "symlink-loop" if exc.errno == errno.ELOOP else "unreadable"
            self.skipped.append(SkippedFile(self.rel(path), reason, exc.strerror or str(exc)))
            return None

    def add_root(self, root: str) -> None:
        root = os.path.abspath(root)
        st = self.stat_or_skip(root)
        if st is None:
            return
        if stat.S_ISDIR(st.st_mode):
            self._walk_dir(root)
        else:
            self._add_file(root, self.rel(root), explicit=True)

    def _walk_dir(self, root: str) -> None:
        stack = [(root, self._ignores_for(root, ()))]
        while stack:
            directory, ignores = stack.pop()
            st = self.stat_or_skip(directory)
            if st is None:
                continue
            key = (st.st_dev, st.st_ino)
            if key in self.seen_dirs:
                self.skipped.append(SkippedFile(self.rel(directory), "symlink-loop", "folder already visited"))
                continue
            self.seen_dirs.add(key)
            subdirs = self._scan_dir(directory, ignores)
            for sub in reversed(subdirs):
                stack.append((sub, self._ignores_for(sub, ignores)))

    def _scan_dir(self, directory: str, ignores) -> list[str]:
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            self.skipped.append(SkippedFile(self.rel(directory), "unreadable", exc.strerror or str(exc)))
            return []
        subdirs = []
        for entry in entries:
            rel = self.rel(entry.path)
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if _is_loop(entry):
                self.skipped.append(SkippedFile(rel, "symlink-loop", "link points back at itself"))
            elif is_dir:
                if self._keep_dir(entry, rel, ignores):
                    subdirs.append(entry.path)
            elif not _ignored(ignores, entry.path, False):
                self._add_file(entry.path, rel, explicit=False)
        return subdirs

    def _keep_dir(self, entry, rel: str, ignores) -> bool:
        if entry.name in self.skip_dirs or os.path.exists(os.path.join(entry.path, "pyvenv.cfg")):
            return False
        if self.exclude is not None and self.exclude.match_file(rel + "/"):
            return False
        return not _ignored(ignores, entry.path, True)

    def _add_file(self, abspath: str, rel: str, explicit: bool) -> None:
        lang = language_for(abspath)
        if lang is None:
            if explicit:
                self.skipped.append(SkippedFile(rel, "unknown-language", "extension not recognised"))
            return
        if self.exclude is not None and self.exclude.match_file(rel):
            return
        if self.include is not None and not self.include.match_file(rel):
            return
        if lang.name not in self.audited:
            self.skipped.append(SkippedFile(rel, "language-not-audited", f"{lang.name} source"))
            return
        real = os.path.realpath(abspath)
        if real in self.seen_files:
            return
        self.seen_files.add(real)
        self.candidates.append(Candidate(abspath, rel, lang.name))
        if len(self.candidates) == self.notify_at and self.notify is not None:
            self.notify(list(self.candidates))

    def _ignores_for(self, directory: str, inherited):
        if not self.config.use_gitignore:
            return inherited
        path = os.path.join(directory, ".gitignore")
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                spec = pathspec.GitIgnoreSpec.from_lines(fh)
        except OSError:
            return inherited
        return inherited + ((directory, spec),)


def _is_loop(entry) -> bool:
    if not entry.is_symlink():
        return False
    try:
        os.stat(entry.path)
    except OSError as exc:
        return exc.errno == errno.ELOOP
    return False


def _ignored(ignores, abspath: str, is_dir: bool) -> bool:
    """git's rule: the deepest .gitignore with an opinion on the path decides."""
    for directory, spec in reversed(ignores):
        rel = os.path.relpath(abspath, directory).replace(os.sep, "/")
        result = spec.check_file(rel + "/" if is_dir else rel)
        if result.include is not None:
            return bool(result.include)
    return False


def supported_extensions() -> list[str]:
    return sorted(ext for lang in LANGUAGES.values() for ext in lang.extensions)
