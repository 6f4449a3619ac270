"""A lock per corpus index name, so two builds (or a build and a removal) never interleave.

The lock is ``fcntl.flock`` on ``INDEX_DIR/NAME.lock``: the kernel releases it when
the holder exits, however it exits (kill -9 included), so a stale lock file never
blocks a later build. The file holds the holder's process id, for the message.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import os

from audit.errors import UsageError


@contextlib.contextmanager
def index_lock(index_dir: str, name: str):
    """Hold the lock of index ``name`` for the block; refuse at once if another process has it."""
    os.makedirs(index_dir, exist_ok=True)
    path = os.path.join(index_dir, name + ".lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0), 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UsageError(f"corpus {name!r} is being built or removed by another process{_holder(fd)}",
                             "wait for it to finish, then run again (or use another corpus name)",
                             slug="locked") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)  # releases the lock; the file stays (removing it would race a waiting build)


def _holder(fd: int) -> str:
    try:
        pid = os.pread(fd, 32, 0).decode("ascii").strip()
    except (OSError, UnicodeDecodeError):
        return ""
    return f" (process {pid})" if pid.isdigit() else ""


def locked_by_name(build):
    """Decorator: run ``build(name, specs, index_dir, ...)`` holding the lock of ``name``."""
    @functools.wraps(build)
    def run(name, specs, index_dir, *args, **kwargs):
        from audit.provenance.index import check_name

        check_name(name)  # before the name becomes part of a path
        with index_lock(index_dir, name):
            return build(name, specs, index_dir, *args, **kwargs)
    return run
