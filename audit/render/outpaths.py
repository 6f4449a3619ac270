"""Output paths (--json, --sarif, --baseline-write, --html): checked before any file is read.

A scan can take minutes; an output it cannot write should fail at once with a
usage error (exit 2), not after the scan with a traceback.
"""

from __future__ import annotations

import os
import stat

from audit.errors import UsageError

# Kernel interfaces: writing a report there is never what the user meant.
_KERNEL = ("/proc", "/sys")


def _refuse(option: str, path: str, why: str, hint: str) -> UsageError:
    return UsageError(f"{option} {path}: {why}", hint, slug="output")


def _in_kernel_fs(path: str) -> bool:
    return any(path == k or path.startswith(k + "/") for k in _KERNEL)


def check_file(option: str, path: str) -> None:
    """Refuse a path a report file cannot be written to (exit 2)."""
    full = os.path.abspath(path)
    if _in_kernel_fs(full) or _in_kernel_fs(os.path.realpath(os.path.dirname(full))):
        raise _refuse(option, path, "is inside /proc or /sys", "write reports to an ordinary folder")
    try:
        mode = os.stat(full).st_mode
    except OSError:
        mode = None  # a new file: its folder decides
    if mode is not None and stat.S_ISDIR(mode):
        raise _refuse(option, path, "is a folder, not a file", f"give a file name: {option} report.json")
    if mode is not None and not (stat.S_ISREG(mode) or stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)):
        raise _refuse(option, path, "is not a regular file, a pipe or a terminal", "give a file name")
    if mode is None or stat.S_ISREG(mode):
        _check_parent(option, path, os.path.dirname(full))


def check_dir(option: str, path: str) -> None:
    """Refuse a path a report folder cannot be written to (exit 2)."""
    full = os.path.abspath(path)
    if _in_kernel_fs(full) or _in_kernel_fs(os.path.realpath(full)):
        raise _refuse(option, path, "is inside /proc or /sys", "write reports to an ordinary folder")
    if os.path.lexists(full) and not os.path.isdir(full):
        raise _refuse(option, path, f"is a file, and {option} needs a folder",
                      f"give a new or existing folder: {option} report/")
    _check_parent(option, path, full if os.path.isdir(full) else os.path.dirname(full))


def _check_parent(option: str, path: str, folder: str) -> None:
    """The nearest existing folder above (or at) ``folder`` must be a writable folder."""
    here = folder
    while not os.path.lexists(here):
        here = os.path.dirname(here)
    if not os.path.isdir(here):
        raise _refuse(option, path, f"{here} is a file, so nothing can be written under it",
                      "give a path in a folder")
    if not os.access(here, os.W_OK | os.X_OK):
        raise _refuse(option, path, f"the folder {here} is not writable", "give a path in a writable folder")


def check_distinct(outputs: dict[str, str | None]) -> None:
    """Two outputs to one file would overwrite each other: refuse (exit 2)."""
    seen: dict[str, str] = {}
    for option, path in outputs.items():
        if not path:
            continue
        key = os.path.realpath(path)
        if key in seen:
            raise UsageError(f"{seen[key]} and {option} name the same file {path}",
                             "give each output its own file", slug="output")
        seen[key] = option


def write_failed(option: str, path: str, exc: OSError) -> UsageError:
    """The error for an output that could not be written after all (disk full, removed folder)."""
    return _refuse(option, path, f"cannot be written: {exc.strerror or exc}",
                   "free space or choose another path, then run again")
