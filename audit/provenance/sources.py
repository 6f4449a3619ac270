"""Corpus sources: directories, git checkouts and archives, read in place.

Archives (.tar.gz, .tar.xz, .tar.bz2, .tgz, .zip) are streamed member by
member and never extracted. A member's path is only ever a *label*: it is
normalised (no leading ``/``, no ``..``, no control characters) and never
joined to a filesystem path, so a hostile archive cannot make audit touch
anything outside it.
"""

from __future__ import annotations

import fnmatch
import glob
import lzma
import os
import posixpath
import tarfile
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import Iterator

from audit.config import DEFAULT_SKIP_DIRS
from audit.errors import InputError
from audit.lang import language_for

MAX_CORPUS_FILE = 2 * 1024 * 1024  # bigger files are generated tables; counted as skipped
TAR_SUFFIXES = (".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.bz2", ".tbz2", ".tar")
_SKIP_DIRS = frozenset(DEFAULT_SKIP_DIRS) - {"vendor", "third_party"}
# What a truncated, damaged or lying archive raises while it is listed or read: a bad CRC,
# an early end of the compressed stream, a header that does not match the data, a member
# compressed with a method or a password Python cannot read.
ARCHIVE_ERRORS = (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError, zlib.error, lzma.LZMAError,
                  NotImplementedError, RuntimeError, ValueError)

# Debian source packages found without being named: NAME -> (glob, default excludes)
KNOWN_SOURCES = {
    "gcc-12": ("/usr/src/gcc-12/gcc-*.tar.*", ("*/gcc/testsuite/*",)),
    "binutils": ("/usr/src/binutils/binutils-*.tar.*", ()),
    "binutils-2.40": ("/usr/src/binutils/binutils-2.40.tar.*", ()),
    "glibc": ("/usr/src/glibc/glibc-*.tar.*", ()),
    "linux": ("/usr/src/linux-source-*.tar.*", ()),
    "linux-6.1": ("/usr/src/linux-source-6.1.tar.*", ()),
    "newlib": ("/usr/src/newlib/newlib-*.tar.*", ()),
}
# The Debian package that installs a known source, where it is not NAME-source
DEBIAN_PACKAGES = {"linux": "linux-source-6.1", "linux-6.1": "linux-source-6.1",
                   "binutils-2.40": "binutils-source"}


@dataclass(frozen=True)
class Member:
    """One corpus file: a safe label, its bytes, and its language."""

    label: str
    data: bytes
    language: str


@dataclass
class SourceStats:
    """What a source held besides the files indexed."""

    seen: int = 0
    indexed: int = 0
    skipped_language: int = 0
    skipped_large: int = 0
    skipped_excluded: int = 0
    refused: dict = field(default_factory=dict)  # reason -> files over the per-file limits
    fraction: float = 0.0  # how far through the current source (archive bytes or files)


def safe_label(name: str, prefix: str = "") -> str:
    """An archive member name made harmless: a display label, never a path to open."""
    name = "".join(ch if ch.isprintable() else "?" for ch in name.replace("\\", "/"))
    parts = [p for p in posixpath.normpath("/" + name).split("/") if p not in ("", ".", "..")]
    label = "/".join(parts) or "?"
    return f"{prefix}{label}" if prefix else label


def resolve(spec: str) -> tuple[str, tuple[str, ...]]:
    """A source as given, or a known Debian source package name; with default excludes."""
    if os.path.exists(spec):
        return spec, ()
    known = KNOWN_SOURCES.get(spec)
    if known:
        found = sorted(glob.glob(known[0]))
        found = [f for f in found if not os.path.basename(f).startswith("gm2-")]
        if found:
            return found[-1], known[1]
        raise InputError(f"no source tarball for {spec} under /usr/src",
                         f"install it: apt-get install {DEBIAN_PACKAGES.get(spec, spec + '-source')}")
    raise InputError(f"corpus source does not exist: {spec}",
                     "give a directory, a git checkout, a .tar.gz/.tar.xz/.tar.bz2/.zip archive, "
                     f"or one of: {', '.join(sorted(KNOWN_SOURCES))}")


def iter_members(spec: str, exclude: tuple[str, ...] = (), stats: SourceStats | None = None,
                 prefix: str = "") -> Iterator[Member]:
    """Every C, C++, Rust and Python file of a source, in a stable order."""
    stats = stats if stats is not None else SourceStats()
    if os.path.isdir(spec):
        raw = _iter_dir(spec, stats)
    elif spec.endswith(".zip"):
        raw = _iter_zip(spec, stats)
    elif spec.endswith(TAR_SUFFIXES):
        raw = _iter_tar(spec, stats)
    else:
        raise InputError(f"cannot read {spec} as a corpus source",
                         "give a directory or a .tar.gz/.tar.xz/.tar.bz2/.zip archive")
    for name, size, read in raw:
        stats.seen += 1
        label = safe_label(name, prefix)
        lang = language_for(label)
        if lang is None:
            stats.skipped_language += 1
        elif any(fnmatch.fnmatch(label, pat) or fnmatch.fnmatch("/" + label, pat) for pat in exclude):
            stats.skipped_excluded += 1
        elif size > MAX_CORPUS_FILE:
            stats.skipped_large += 1
        else:
            stats.indexed += 1
            yield Member(label, read(), lang.name)


def _iter_dir(root: str, stats: SourceStats):
    root = os.path.abspath(root)
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
        for fn in sorted(filenames):
            full = os.path.join(dirpath, fn)
            if not os.path.islink(full) and os.path.isfile(full):
                found.append(full)
    for i, full in enumerate(found):
        stats.fraction = i / len(found)
        rel = os.path.relpath(full, root).replace(os.sep, "/")
        yield rel, os.path.getsize(full), _reader(full)


def _reader(path: str):
    def read() -> bytes:
        with open(path, "rb") as fh:
            return fh.read()
    return read


def _iter_tar(path: str, stats: SourceStats):
    size = max(1, os.path.getsize(path))
    try:
        with open(path, "rb") as raw, tarfile.open(fileobj=raw, mode="r|*") as tf:
            for m in tf:
                stats.fraction = raw.tell() / size
                if not m.isfile():  # links, devices and folders are never followed
                    continue
                yield m.name, m.size, _tar_reader(tf, m, path)
    except ARCHIVE_ERRORS as exc:
        raise archive_error(path, exc) from exc


def archive_error(path: str, exc: BaseException) -> InputError:
    """The error for an archive that cannot be read to its end (exit 3)."""
    return InputError(f"cannot read archive {path}: {type(exc).__name__}: {exc}",
                      "the archive is truncated or damaged: download or copy it again, then rerun "
                      "the build (it keeps the shards already finished)")


def _tar_reader(tf, member, path: str):
    def read() -> bytes:
        try:
            fh = tf.extractfile(member)
            return fh.read() if fh is not None else b""
        except ARCHIVE_ERRORS as exc:
            raise archive_error(path, exc) from exc
    return read


def _iter_zip(path: str, stats: SourceStats):
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            for i, info in enumerate(infos):
                stats.fraction = i / len(infos)
                if info.is_dir():
                    continue
                yield info.filename, info.file_size, _zip_reader(zf, info, path)
    except ARCHIVE_ERRORS as exc:
        raise archive_error(path, exc) from exc


def _zip_reader(zf, info, path: str):
    def read() -> bytes:
        try:
            return zf.read(info)
        except ARCHIVE_ERRORS as exc:
            raise archive_error(path, exc) from exc
    return read
