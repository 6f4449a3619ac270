"""JSON output: a versioned, stable document built from an AuditResult."""

from __future__ import annotations

import errno
import json
import os
import stat
import tempfile

from audit.metrics.grades import mi_rank
from audit.results import AuditResult, FileResult, Finding, Unit


def unit_dict(u: Unit) -> dict:
    m = u.metrics
    return {
        "qualname": u.qualname, "name": u.name, "kind": u.kind,
        "start_line": u.start_line, "end_line": u.end_line, "rank": u.rank, "is_test": u.is_test,
        "metrics": {
            "cyclomatic": m.cyclomatic, "cognitive": m.cognitive, "nesting": m.nesting,
            "params": m.params, "exits": m.exits, "sloc": m.sloc,
            "lines": _lines(m.lines),
            "halstead": _halstead(m.halstead), "mi": round(m.mi, 2),
        },
    }


def finding_dict(f: Finding) -> dict:
    out = {"rule": f.rule, "severity": f.severity, "category": f.category, "path": f.path,
           "line": f.line, "end_line": f.end_line, "column": f.column, "end_column": f.end_column,
           "message": f.message, "unit": f.unit}
    if f.suppressed is not None:
        out["suppressed"] = f.suppressed
    return out


def file_dict(f: FileResult) -> dict:
    mi = f.mi  # once: it reads every outermost function's index (f.mi_rank is mi_rank(f.mi))
    return {
        "path": f.path, "language": f.language, "sha1": f.sha1, "is_test": f.is_test,
        "lines": _lines(f.lines), "cyclomatic": f.cyclomatic, "halstead": _halstead(f.halstead),
        "mi": round(mi, 2), "mi_rank": mi_rank(mi), "poor_sloc": f.poor_sloc,
        "parse_errors": [{"start_line": e.start_line, "end_line": e.end_line, "kind": e.kind}
                         for e in f.parse_errors],
        "warnings": list(f.warnings),
        "units": [unit_dict(u) for u in f.units],
    }


def to_dict(result: AuditResult, hotspots: int = 10) -> dict:
    """The whole result as plain data; key order is part of the contract."""
    t = result.totals
    doc = {
        "format_version": result.format_version,
        "tool": {"name": "audit", "version": result.tool_version},
        "created": result.created,
        "config": result.config,
        "totals": {
            "files": t.files, "skipped": t.skipped, "lines": _lines(t.lines), "units": t.units,
            "functions": t.functions, "ranks": t.ranks,
            "cyclomatic_mean": round(t.cyclomatic_mean, 3), "poor_sloc": t.poor_sloc,
            "poor_share": round(t.poor_share, 4), "files_with_parse_errors": t.parse_errors,
        },
        "hotspots": [{"path": f.path, "qualname": u.qualname, "start_line": u.start_line,
                      "end_line": u.end_line, "rank": u.rank, "cyclomatic": u.metrics.cyclomatic,
                      "cognitive": u.metrics.cognitive, "sloc": u.metrics.sloc}
                     for f, u in result.hotspots(hotspots)],
        "files": [file_dict(f) for f in result.files],
        "skipped": [{"path": s.path, "reason": s.reason, "detail": s.detail} for s in result.skipped],
        "findings": [finding_dict(x) for x in result.findings],
        "warnings": list(result.warnings),
    }
    for name, section in sorted(result.sections.items()):
        doc[name] = section.to_dict() if hasattr(section, "to_dict") else section
    return doc


def dumps(result: AuditResult, hotspots: int = 10) -> str:
    """Compact JSON (the C encoder; indenting would switch to the slow Python one)."""
    return json.dumps(to_dict(result, hotspots), ensure_ascii=False, separators=(",", ":")) + "\n"


def write_atomic(path: str, text: str | bytes) -> None:
    """Write text (or bytes) to path so a reader never sees half a file.

    The file gets the permissions a plain ``open()`` would give it (the user's umask,
    or the mode of the file it replaces), not mkstemp's 0600. A pipe or terminal
    (``/dev/stdout``) is written straight through: it cannot be renamed over.
    """
    data = text.encode("utf-8") if isinstance(text, str) else text
    if _is_stream(path):
        with open(path, "wb") as fh:
            fh.write(data)
        return
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".audit-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            os.fchmod(fh.fileno(), _new_file_mode(path))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _is_stream(path: str) -> bool:
    """Whether path is a pipe or character device, written through; other files that are
    not regular (sockets, block devices) are refused, never renamed over."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    if stat.S_ISCHR(mode) or stat.S_ISFIFO(mode):
        return True
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise OSError(errno.EINVAL, "not a regular file, a pipe or a terminal", path)
    return False


def _new_file_mode(path: str) -> int:
    """The mode of the file being replaced, else 0666 less the umask."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        pass
    return 0o666 & ~_umask()


def _umask() -> int:
    """The process umask: read from /proc (Linux), else set and restored at once."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _lines(lc) -> dict:
    return {"physical": lc.physical, "source": lc.source, "comment": lc.comment, "blank": lc.blank}


def _halstead(h) -> dict:
    return {"n1": h.n1, "n2": h.n2, "N1": h.N1, "N2": h.N2, "volume": round(h.volume, 2),
            "difficulty": round(h.difficulty, 2), "effort": round(h.effort, 1)}
