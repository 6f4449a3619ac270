"""The only reader of the audited tree: finds source files and reads them safely.

Discovery honours ``.gitignore`` files (through pathspec, with git's own rules,
matched by RE2 in linear time), skips build and vendored folders, and applies
include/exclude globs. Only regular files are opened (FIFOs, sockets and devices
are skipped, never opened), and a symlink that leads outside the scanned roots is
not followed unless asked. Reading turns every bad file (binary, too large,
unreadable, not UTF-8, a symlink loop, not a regular file) into a
:class:`SkippedFile` value instead of an error, so a run always goes on.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass

import pathspec
import re2

from audit.config import ScanConfig
from audit.errors import InputError, UsageError
from audit.lang import LANGUAGES, language_for

BINARY_SNIFF = 8192  # bytes inspected for NUL, as git does
# O_NONBLOCK: should a FIFO or device slip past the stat check (swapped in between),
# open() still returns at once instead of waiting for a writer.
_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
OUTSIDE_DETAIL = "link leads outside the scanned folders (--follow-external-symlinks follows it)"


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
    # binary | too-large | unreadable | not-utf8 | symlink-loop | language-not-audited |
    # not-a-file (FIFO, socket, device) | symlink-outside | bad-gitignore
    reason: str
    detail: str = ""


@dataclass(frozen=True)
class Discovery:
    candidates: tuple[Candidate, ...]
    skipped: tuple[SkippedFile, ...]
    roots: tuple[str, ...]
    others: tuple[str, ...] = ()  # files in no language the audit reads (docs, scripts, data)


OTHERS_LISTED = 20_000  # other files named at most; a tree of more is named in part


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
    return Discovery(tuple(walker.candidates), tuple(walker.skipped), tuple(config.paths),
                     tuple(walker.others))


def read_source(cand: Candidate, max_size: int) -> SourceFile | SkippedFile:
    """Read one candidate; a file that cannot be used becomes a SkippedFile."""
    try:
        data = read_regular(cand.abspath, max_size)
    except NotRegularFile as exc:
        return SkippedFile(cand.path, "not-a-file", str(exc))
    except TooLarge as exc:
        return SkippedFile(cand.path, "too-large", f"{exc} bytes > limit {max_size}")
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return SkippedFile(cand.path, "symlink-loop", exc.strerror or "too many levels of links")
        return SkippedFile(cand.path, "unreadable", exc.strerror or str(exc))
    return source_from_bytes(cand.path, cand.language, data, max_size)


class NotRegularFile(OSError):
    """The path is a FIFO, socket, device or folder: never opened for reading."""


class TooLarge(OSError):
    """The file is larger than the limit (its size is the message)."""


def file_kind(mode: int) -> str:
    """What a non-regular file is, in words, for a skip reason."""
    for test, name in ((stat.S_ISFIFO, "FIFO"), (stat.S_ISSOCK, "socket"), (stat.S_ISCHR, "character device"),
                       (stat.S_ISBLK, "block device"), (stat.S_ISDIR, "folder")):
        if test(mode):
            return f"a {name}, not a regular file"
    return "not a regular file"


def read_regular(path: str, max_size: int) -> bytes:
    """The bytes of a regular file (following links); anything else is never opened.

    Raises NotRegularFile, TooLarge, or the OSError of stat/open/read.
    """
    st = os.stat(path)
    if not stat.S_ISREG(st.st_mode):
        raise NotRegularFile(file_kind(st.st_mode))
    if st.st_size > max_size:
        raise TooLarge(str(st.st_size))
    fd = os.open(path, _OPEN_FLAGS)
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fd)  # the file opened may not be the one stat saw
        if not stat.S_ISREG(st.st_mode):
            raise NotRegularFile(file_kind(st.st_mode))
        # a buffer of the file's size, not of the limit (4 MiB by default, allocated and
        # shrunk again for every file); a file that grew since is read on to the limit
        data = fh.read(min(st.st_size, max_size) + 1)
        if st.st_size < len(data) <= max_size:
            data += fh.read(max_size + 1 - len(data))
        return data


def display_path(rel: str) -> str:
    """A path as reports show it: bytes that are not UTF-8 and characters that are not
    printable (escape sequences, bidi controls) written as backslash escapes, so a file
    name can neither break an encoder nor rewrite a terminal line."""
    if rel.isprintable():
        return rel
    return "".join(ch if ch.isprintable() else _escape(ord(ch)) for ch in rel)


def _escape(code: int) -> str:
    if 0xDC80 <= code <= 0xDCFF:  # a byte that is not UTF-8, as os.fsdecode keeps it
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def glob_spec(lines) -> pathspec.GitIgnoreSpec:
    """Gitignore-style patterns compiled for RE2, whose matching time is linear in the path.

    Python's backtracking regular expressions take exponential time on patterns such
    as ``*a*a*a*a*a*a*a*a*b``; pathspec's RE2 backend matches every pattern at once.
    Raises ValueError when a pattern cannot be compiled (RE2 limits its program size).
    """
    try:
        return pathspec.GitIgnoreSpec.from_lines(lines, backend="re2")
    except re2.error as exc:
        raise ValueError(f"patterns too large or not valid: {exc}") from exc


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


def filtered_out(rel: str, include, exclude) -> bool:
    """Whether --exclude (``exclude``) or --include (``include``, when given) leaves out the
    file at ``rel``."""
    path = matchable(rel)
    return bool((exclude is not None and exclude.match_file(path))
                or (include is not None and not include.match_file(path)))


class _Walker:
    """Iterative directory walk (no recursion, so depth cannot overflow)."""

    def __init__(self, config: ScanConfig, base: str):
        self.config = config
        self.base = base
        self.candidates: list[Candidate] = []
        self.skipped: list[SkippedFile] = []
        self.others: list[str] = []
        self.seen_dirs: set[tuple[int, int]] = set()
        self.seen_files: set[str] = set()
        self.audited = set(config.languages)
        self.include = _option_spec("--include", config.include)
        self.exclude = _option_spec("--exclude", config.exclude)
        self.skip_dirs = set(config.skip_dirs)
        # where links may lead: inside the roots as the user named them, resolved
        self.inside = tuple(_real_prefix(p) for p in config.paths)
        self.notify_at, self.notify = 0, None  # see discover(on_found=...)

    def rel(self, abspath: str) -> str:
        rel = os.path.relpath(abspath, self.base)
        return abspath if rel.startswith("..") else rel.replace(os.sep, "/")

    def _excluded(self, rel: str) -> bool:
        return filtered_out(rel, self.include, self.exclude)

    def skip(self, rel: str, reason: str, detail: str) -> None:
        self.skipped.append(SkippedFile(display_path(rel), reason, detail))

    def stat_or_skip(self, path: str):
        """os.stat, or None after recording why the path cannot be read."""
        try:
            return os.stat(path)
        except OSError as exc:
            reason = "symlink-loop" if exc.errno == errno.ELOOP else "unreadable"
            self.skip(self.rel(path), reason, exc.strerror or str(exc))
            return None

    def leads_outside(self, path: str) -> bool:
        """Whether a path resolves outside every scanned root (and that is not allowed)."""
        if self.config.follow_external_symlinks:
            return False
        real = os.path.realpath(path)
        return not any(real == p[:-1] or real.startswith(p) for p in self.inside)

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
                self.skip(self.rel(directory), "symlink-loop", "folder already visited")
                continue
            self.seen_dirs.add(key)
            subdirs = self._scan_dir(directory, ignores)
            for sub in reversed(subdirs):
                stack.append((sub, self._ignores_for(sub, ignores)))

    def _scan_dir(self, directory: str, ignores) -> list[str]:
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            self.skip(self.rel(directory), "unreadable", exc.strerror or str(exc))
            return []
        subdirs = []
        for entry in entries:
            rel = self.rel(entry.path)
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if _is_loop(entry):
                self.skip(rel, "symlink-loop", "link points back at itself")
            elif is_dir:
                if self._keep_dir(entry, rel, ignores):
                    subdirs.append(entry.path)
            elif not _ignored(ignores, entry.path, False):
                self._add_file(entry.path, rel, explicit=False)
        return subdirs

    def _keep_dir(self, entry, rel: str, ignores) -> bool:
        if entry.name in self.skip_dirs or os.path.exists(os.path.join(entry.path, "pyvenv.cfg")):
            return False
        if self.exclude is not None and self.exclude.match_file(matchable(rel) + "/"):
            return False
        if _ignored(ignores, entry.path, True):
            return False
        if entry.is_symlink() and self.leads_outside(entry.path):
            self.skip(rel, "symlink-outside", OUTSIDE_DETAIL)
            return False
        return True

    def _add_file(self, abspath: str, rel: str, explicit: bool) -> None:
        lang = language_for(abspath)
        if lang is None:
            if explicit:
                self.skip(rel, "unknown-language", "extension not recognised")
            elif len(self.others) < OTHERS_LISTED and not self._excluded(rel):
                self.others.append(display_path(rel))
            return
        if self._excluded(rel):
            return
        if lang.name not in self.audited:
            self.skip(rel, "language-not-audited", f"{lang.name} source")
            return
        if not explicit and os.path.islink(abspath) and self.leads_outside(abspath):
            self.skip(rel, "symlink-outside", OUTSIDE_DETAIL)
            return
        if not self._is_regular(abspath, rel):
            return
        real = os.path.realpath(abspath)
        if real in self.seen_files:
            return
        self.seen_files.add(real)
        self.candidates.append(Candidate(abspath, display_path(rel), lang.name))
        if len(self.candidates) == self.notify_at and self.notify is not None:
            self.notify(list(self.candidates))

    def _is_regular(self, abspath: str, rel: str) -> bool:
        """FIFOs, sockets and devices are listed as skipped here, so nothing ever opens them."""
        try:
            mode = os.stat(abspath).st_mode
        except OSError as exc:
            self.skip(rel, "symlink-loop" if exc.errno == errno.ELOOP else "unreadable", exc.strerror or str(exc))
            return False
        if not stat.S_ISREG(mode):
            self.skip(rel, "not-a-file", file_kind(mode))
            return False
        return True

    def _ignores_for(self, directory: str, inherited):
        if not self.config.use_gitignore:
            return inherited
        path = os.path.join(directory, ".gitignore")
        try:
            if os.path.islink(path) and self.leads_outside(path):
                return inherited  # a link out of the tree says nothing about it
            text = read_regular(path, GITIGNORE_LIMIT).decode("utf-8", "replace")
            spec = glob_spec(text.splitlines())
        except (OSError, ValueError) as exc:
            if os.path.lexists(path):  # a missing .gitignore is the common case, not a problem
                detail = "larger than 4 MiB" if isinstance(exc, TooLarge) else str(exc)
                self.skip(self.rel(path), "bad-gitignore", f"not used: {detail}")
            return inherited
        return inherited + ((directory, spec),)


GITIGNORE_LIMIT = 4 * 1024 * 1024  # bytes; git reads any size, but such a file is an attack


def _option_spec(option: str, patterns):
    if not patterns:
        return None
    try:
        return glob_spec(patterns)
    except ValueError as exc:
        raise UsageError(f"{option}: {exc}", "use shorter or fewer patterns") from exc


def _real_prefix(path: str) -> str:
    """A root resolved, with a trailing separator, for prefix tests."""
    return os.path.join(os.path.realpath(path), "")


def matchable(rel: str) -> str:
    """A path as patterns see it: valid UTF-8 (RE2 matches UTF-8), bytes that are not
    UTF-8 turned into U+FFFD, as a .gitignore's own are when it is read."""
    if rel.isascii():
        return rel
    return rel.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


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
        rel = matchable(os.path.relpath(abspath, directory).replace(os.sep, "/"))
        result = spec.check_file(rel + "/" if is_dir else rel)
        if result.include is not None:
            return bool(result.include)
    return False


def supported_extensions() -> list[str]:
    return sorted(ext for lang in LANGUAGES.values() for ext in lang.extensions)
