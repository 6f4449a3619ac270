"""The audited tree's own C and C++ files, sketched so provenance matching checks them too.

Agent-written compilers ship C headers and test programs, and ports often carry
copies of their original's C files. A quality scan does not measure them, but
a provenance check must not skip them: C against a C corpus is the easy case.
They are read here, after the scan, with the walker's own guards (regular files
only, the size limit, never through a link that leaves the scanned roots).
"""

from __future__ import annotations

import os

from audit.walk import SkippedFile, _display_base, read_regular, source_from_bytes

C_LANGUAGES = {".c": "c", ".h": "c", ".cc": "cpp", ".cpp": "cpp", ".cxx": "cpp", ".hh": "cpp",
               ".hpp": "cpp", ".hxx": "cpp"}


def language_of(path: str) -> str | None:
    return C_LANGUAGES.get(os.path.splitext(path)[1].lower())


def _inside(path: str, roots: list[str]) -> bool:
    real = os.path.realpath(path)
    return any(os.path.commonpath([real, r]) == r for r in roots)


def own_c_sketches(result, max_size: int | None = None) -> tuple[list, list[SkippedFile]]:
    """Sketches of the C/C++ files the scan passed over, and the ones that could not be read."""
    from audit.parse import parse
    from audit.provenance import allow
    from audit.provenance.sketch import PARAMS, sketch_parsed

    paths = list(result.config.get("paths") or [])
    if not paths:
        return [], []
    base = _display_base(paths)
    roots = [os.path.realpath(p if os.path.isdir(p) else os.path.dirname(os.path.abspath(p))) for p in paths]
    limit = max_size or int(result.config.get("max_file_size") or 4_000_000)
    sketches, failed = [], []
    allow_list = allow.load()
    for s in result.skipped:
        language = language_of(s.path)
        if s.reason != "language-not-audited" or language is None:
            continue
        abspath = s.path if os.path.isabs(s.path) else os.path.join(base, s.path)
        if not _inside(abspath, roots):
            failed.append(SkippedFile(s.path, "symlink-outside", "leads outside the scanned folders"))
            continue
        try:
            source = source_from_bytes(s.path, language, read_regular(abspath, limit), limit)
        except OSError as exc:
            failed.append(SkippedFile(s.path, "unreadable", str(exc)))
            continue
        if isinstance(source, SkippedFile):
            failed.append(source)
            continue
        parsed = parse(source)
        if parsed.units or parsed.data.strip():
            sketches.append(sketch_parsed(parsed, PARAMS, allow_list))
    return sketches, failed
