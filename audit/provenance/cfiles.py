"""The audited tree's own C and C++ files, sketched so provenance matching checks them too.

Agent-written compilers ship C headers and test programs, and ports often carry
copies of their original's C files. A quality scan does not measure them, but
a provenance check must not skip them: C against a C corpus is the easy case.
They are read here, after the scan, with the walker's own guards (regular files
only, the size limit, never through a link that leaves the scanned roots), or from
the pinned commit's blobs for a REPO@REV scan.
"""

from __future__ import annotations

import os
from typing import Callable

from audit.walk import SkippedFile, SourceFile, TooLarge, _display_base, read_regular, source_from_bytes

C_LANGUAGES = {".c": "c", ".h": "c", ".cc": "cpp", ".cpp": "cpp", ".cxx": "cpp", ".hh": "cpp",
               ".hpp": "cpp", ".hxx": "cpp"}


def language_of(path: str) -> str | None:
    return C_LANGUAGES.get(os.path.splitext(path)[1].lower())


def _inside(path: str, roots: list[str]) -> bool:
    real = os.path.realpath(path)
    return any(os.path.commonpath([real, r]) == r for r in roots)


def c_reader(result, max_size: int | None = None) -> Callable[[str], SourceFile | SkippedFile]:
    """path -> one of the tree's C/C++ files as a SourceFile, or a SkippedFile saying why it
    cannot be used. A REPO@REV scan reads the pinned commit's blobs (audit.revscan)."""
    from audit.revscan import reader, revision_of

    limit = max_size or int(result.config.get("max_file_size") or 4_000_000)
    revision = revision_of(result.config)
    if revision is not None:
        return _checked(reader(revision, limit), limit)
    paths = list(result.config.get("paths") or [])
    base = _display_base(paths) if paths else ""
    roots = [os.path.realpath(p if os.path.isdir(p) else os.path.dirname(os.path.abspath(p))) for p in paths]

    def read(path: str) -> bytes:
        abspath = path if os.path.isabs(path) else os.path.join(base, path)
        if not _inside(abspath, roots):
            raise _Outside(path)
        return read_regular(abspath, limit)

    return _checked(read, limit)


class _Outside(OSError):
    """The path leads outside the scanned folders."""


def _checked(read: Callable[[str], bytes], limit: int) -> Callable[[str], SourceFile | SkippedFile]:
    def get(path: str) -> SourceFile | SkippedFile:
        language = language_of(path) or "c"
        try:
            data = read(path)
        except _Outside:
            return SkippedFile(path, "symlink-outside", "leads outside the scanned folders")
        except TooLarge as exc:
            return SkippedFile(path, "too-large", f"{exc} bytes > limit {limit}")
        except OSError as exc:
            return SkippedFile(path, "unreadable", str(exc))
        return source_from_bytes(path, language, data, limit)

    return get


def own_c_sketches(result, max_size: int | None = None) -> tuple[list, list[SkippedFile]]:
    """Sketches of the C/C++ files the scan passed over, and the ones that could not be read."""
    from audit.parse import parse
    from audit.provenance import allow
    from audit.provenance.sketch import PARAMS, sketch_parsed

    if not result.config.get("paths"):
        return [], []
    read = c_reader(result, max_size)
    sketches, failed = [], []
    allow_list = allow.load()
    for s in result.skipped:
        if s.reason != "language-not-audited" or language_of(s.path) is None:
            continue
        source = read(s.path)
        if isinstance(source, SkippedFile):
            failed.append(source)
            continue
        parsed = parse(source)
        if parsed.units or parsed.data.strip():
            sketches.append(sketch_parsed(parsed, PARAMS, allow_list))
    return sketches, failed
