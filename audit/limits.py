"""Per-file limits: cheap checks before a file is parsed, and a deadline for its work.

A file the limits refuse becomes a SkippedFile with a reason (``too-deep``,
``line-too-long``, ``error-flood``, ``timeout``, ``too-much-memory``) instead of
holding up the scan. The deadline is kept three ways, because no single one
reaches everywhere: tree-sitter's parser calls back into Python (:func:`expired`),
which stops it in C; a SIGPROF timer interrupts Python code between bytecodes
(main thread only); and the pool's supervisor kills a worker that still does not
answer (see :mod:`audit.workers`). Time is the process's CPU time, so that a busy
machine does not make files time out (a scan's result should not depend on the load). Tree queries cannot be stopped from Python
(py-tree-sitter 0.26.1's query progress callback crashes: its options live in a
block that ends before the matches are read), so the checks before them keep out
the inputs that make them slow.
"""

from __future__ import annotations

import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import accumulate, count
from operator import sub

DEFAULT_FILE_TIMEOUT = 10.0  # CPU seconds per file: parse, walk, measure and every pass
DEFAULT_MAX_NESTING = 1000  # bracket depth; real code stays under ~50 (CCC: 28)
DEFAULT_MAX_LINE = 100_000  # bytes in one line; CCC's longest is 318
DEFAULT_MAX_MEMORY = 2048  # MiB of address space a worker process may add to its start
# Unmatched tokens side by side in one syntax-error region: tree-sitter's query
# cursor scans the later siblings of each one (quadratic; 20,000 take 2 s, 100,000 50 s).
MAX_ERROR_RUN = 5000


@dataclass(frozen=True)
class Limits:
    """What one file may cost; 0 turns a limit off."""

    file_timeout: float = DEFAULT_FILE_TIMEOUT
    max_nesting: int = DEFAULT_MAX_NESTING
    max_line: int = DEFAULT_MAX_LINE
    max_memory: int = DEFAULT_MAX_MEMORY

    def problems(self) -> list[str]:
        out = []
        if not (0 <= self.file_timeout <= 86400):  # also refuses nan
            out.append(f"file timeout must be 0 (none) to 86400 seconds, got {self.file_timeout}")
        for name in ("max_nesting", "max_line", "max_memory"):
            if getattr(self, name) < 0:
                out.append(f"{name.replace('_', ' ')} must be 0 (none) or more, "
                           f"got {getattr(self, name)}")
        return out


class Refused(Exception):
    """A file beyond a limit: skipped with this reason and detail."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail = reason, detail


class FileTimeout(BaseException):
    """The file's deadline passed. A BaseException, so that a pass's own
    ``except Exception`` does not swallow it."""


def bounded(data: bytes, limits: "Limits", work):
    """``work()`` on a file of these bytes within ``limits``: ``(result, None)``, or ``(None,
    (reason, detail))`` when the file is refused before it starts or runs past a limit."""
    refused = precheck(data, limits)
    if refused:
        return None, refused
    try:
        with deadline(limits.file_timeout):
            return work(), None
    except Refused as exc:
        return None, (exc.reason, exc.detail)
    except FileTimeout:
        return None, _timed_out(limits)
    except SystemError as exc:
        # the timer's FileTimeout raised while a builtin was returning: CPython reports it as
        # a SystemError caused by it (seen once in 100,000 fuzzed inputs); still a timeout
        if not isinstance(exc.__cause__, FileTimeout):
            raise
        return None, _timed_out(limits)
    except MemoryError:
        return None, ("too-much-memory", f"memory limit {limits.max_memory} MiB" if limits.max_memory else "")


def _timed_out(limits: "Limits") -> tuple[str, str]:
    return "timeout", f"not done in {limits.file_timeout:g} s of CPU time"


# -- before parsing ---------------------------------------------------------------
_OPEN_CLOSE = bytes(2 if c in b"([{" else 0 for c in range(256))
_NOT_BRACKET = bytes(c for c in range(256) if c not in b"()[]{}")


def bracket_depth(data: bytes, limit: int = 0) -> int:
    """The deepest nesting of (, [ and { (strings and comments included: a cheap bound).
    A closing bracket with none open is dropped, as a parser's error recovery does.
    With ``limit``, a depth known to be within it may come back as any value within it."""
    kept = data.translate(_OPEN_CLOSE, _NOT_BRACKET)  # opening 2, closing 0
    if not kept:
        return 0
    highest = max(_levels(kept))
    lowest = min(_levels(kept))  # streamed twice: a list of the levels costs more
    if lowest >= 0 or highest - lowest <= limit:  # no stray closer, or within the limit anyway
        return highest if lowest >= 0 else highest - lowest
    levels = list(_levels(kept))
    before = accumulate(levels, min, initial=0)  # the lowest level before each bracket
    return max(max(map(sub, levels, before)), 0)


def _levels(kept: bytes):
    """Brackets opened minus closed, after each bracket of ``kept`` (2: opening, 0: closing)."""
    return map(sub, accumulate(kept), count(1))


def precheck(data: bytes, limits: Limits) -> tuple[str, str] | None:
    """(reason, detail) when the file is beyond a limit, before any parsing; else None."""
    if limits.max_nesting:
        opening = data.count(b"(") + data.count(b"[") + data.count(b"{")
        if opening > limits.max_nesting:  # fewer brackets cannot nest deeper: skip the count
            depth = bracket_depth(data, limits.max_nesting)
            if depth > limits.max_nesting:
                return "too-deep", f"brackets nested {depth:,} deep (limit {limits.max_nesting:,})"
    if limits.max_line and len(data) > limits.max_line:
        longest = max(map(len, data.split(b"\n")))
        if longest > limits.max_line:
            return "line-too-long", f"a line of {longest:,} bytes (limit {limits.max_line:,})"
    return None


def error_flood(tree) -> str | None:
    """A detail when a syntax-error region holds a long run of unmatched tokens (a
    tree query over it takes quadratic time), else None. Reads only the nodes on the
    way to the outermost errors, and the children of the few large ones."""
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.is_error:
            if node.child_count - node.named_child_count > MAX_ERROR_RUN:
                run = _longest_unnamed_run(node)
                if run > MAX_ERROR_RUN:
                    return f"{run:,} unmatched tokens in a row in a syntax error at line " \
                           f"{node.start_point[0] + 1} (limit {MAX_ERROR_RUN:,})"
            continue
        if node.has_error:
            stack.extend(node.children)
    return None


def _longest_unnamed_run(node) -> int:
    """The most anonymous children side by side (the query cursor's cost is its square)."""
    longest = run = 0
    for child in node.children:
        run = 0 if child.is_named else run + 1
        longest = max(longest, run)
    return longest


# -- the deadline ------------------------------------------------------------------
_deadline = 0.0  # time.process_time() when the current file's time is up; 0: no deadline
# time.perf_counter() before which the deadline cannot have passed: the file's work runs
# on one thread, so it cannot use more CPU time than the wall time gone by
_not_before = 0.0


def expired(*_args) -> bool:
    """Whether the current file's time is up (also a tree-sitter progress callback).

    The parse calls this about every hundred steps (60,000 times on CCC); reading
    the process's CPU clock is a system call (about 1.7 us here), the wall clock
    is not (0.1 us), so the CPU clock is read only once the file's allowance has
    gone by in wall time.
    """
    return _deadline != 0.0 and time.perf_counter() >= _not_before \
        and time.process_time() > _deadline


def check() -> None:
    """Raise FileTimeout when the current file's time is up."""
    if expired():
        raise FileTimeout


def _alarm(signum, frame):
    raise FileTimeout


@contextmanager
def deadline(seconds: float):
    """Give the work inside ``seconds`` of CPU time; past it, FileTimeout is raised in
    the block."""
    global _deadline, _not_before
    if not seconds:
        yield
        return
    timer = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGPROF, _alarm) if timer else None
    _deadline = time.process_time() + seconds
    _not_before = time.perf_counter() + seconds
    try:
        if timer:
            signal.setitimer(signal.ITIMER_PROF, seconds)
        yield
    finally:
        if timer:
            signal.setitimer(signal.ITIMER_PROF, 0)
            signal.signal(signal.SIGPROF, previous)
        _deadline = 0.0


def active() -> bool:
    """Whether a deadline is set (the parse then runs with a progress callback)."""
    return _deadline != 0.0


# -- bounded tree-sitter calls -----------------------------------------------------
def parse(parser, data: bytes):
    """parser.parse(data), stopped when the deadline passes (FileTimeout).

    tree-sitter's Python binding only calls a progress callback when it reads the
    source through a function, and a tree read that way fetches node text through
    the function too; so once the bounded parse succeeds, the bytes are parsed
    again with it as the old tree, which reuses its nodes (about 2% of a parse on
    CCC) and gives a tree holding the bytes.
    """
    if not active():
        return parser.parse(data)
    view = memoryview(data)
    try:
        first = parser.parse(lambda offset, _point: view[offset:], progress_callback=expired)
    except ValueError:  # "Parsing failed": cancelled by the callback
        parser.reset()  # else the next parse resumes this one
        raise FileTimeout from None
    return parser.parse(data, old_tree=first)


# -- settings: audit.toml `[limits]` and the scan's options -------------------------
SETTINGS = {  # key in [limits] -> (Limits field, command-line option)
    "file-timeout": ("file_timeout", "--file-timeout"),
    "max-nesting": ("max_nesting", "--max-nesting"),
    "max-line-length": ("max_line", "--max-line-length"),
    "max-memory": ("max_memory", "--max-memory"),
}


def add_options(parser) -> None:
    """The per-file limits as command-line options (`audit scan`); a value given here
    wins over the settings file's ``[limits]`` table."""
    parser.add_argument("--file-timeout", type=float, metavar="SECONDS",
                        help="skip a file whose parse and measuring take more CPU time "
                             f"(default {DEFAULT_FILE_TIMEOUT:g}; 0: no limit)")
    parser.add_argument("--max-nesting", type=int, metavar="N",
                        help="skip a file with brackets nested deeper, unclosed ones included "
                             f"(default {DEFAULT_MAX_NESTING}; 0: no limit)")
    parser.add_argument("--max-line-length", type=int, metavar="BYTES",
                        help=f"skip a file with a longer line (default {DEFAULT_MAX_LINE}; "
                             "0: no limit)")
    parser.add_argument("--max-memory", type=int, metavar="MIB",
                        help="address space each worker process may add to what it starts with; a file that needs more "
                             f"is skipped (default {DEFAULT_MAX_MEMORY}; 0: no limit; -j 1 "
                             "and scans of a few files run in one process, without it)")


def resolve(args, paths: tuple[str, ...]) -> Limits:
    """The limits of a scan: ``[limits]`` in the settings file (``--config``, else the
    nearest audit.toml or pyproject.toml with [tool.audit]), then the options given."""
    from audit.rules.config import find_config

    path = getattr(args, "config", None) or find_config(paths)
    values = read_settings(path) if path else {}
    for field, option in SETTINGS.values():
        given = getattr(args, option[2:].replace("-", "_"), None)
        if given is not None:
            values[field] = given
    return Limits(**values)


def read_settings(path: str) -> dict:
    """The ``[limits]`` table of a settings file as Limits fields; ConfigError lists
    every problem (an unknown key, a value that is not a number)."""
    from audit.errors import ConfigError
    from audit.rules.config import load_toml

    try:
        data = load_toml(path)
    except ValueError as exc:
        raise ConfigError([f"{path}: cannot read: {exc}"], "fix or remove the file") from exc
    if path.endswith("pyproject.toml") or "tool" in data:
        data = data.get("tool", {}).get("audit", {})
    table = data.get("limits", {})
    if not isinstance(table, dict):
        raise ConfigError([f"{path}: [limits] must be a table"], "see docs/limits.md")
    problems, values = [], {}
    for key, value in table.items():
        if key not in SETTINGS:
            problems.append(f"{path}: [limits] unknown key {key!r} (known: {', '.join(SETTINGS)})")
        elif isinstance(value, bool) or not isinstance(value, (int, float)) \
                or (key != "file-timeout" and not isinstance(value, int)):
            problems.append(f"{path}: [limits] {key} = {value!r} must be a "
                            f"{'number' if key == 'file-timeout' else 'whole number'}")
        else:
            values[SETTINGS[key][0]] = value
    if problems:
        raise ConfigError(problems, "see docs/limits.md")
    return values
