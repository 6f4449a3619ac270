"""Progress of long phases: a rich bar on a terminal, a plain line now and then elsewhere.

Every phase that can take more than a second (measuring files, loading an index,
matching, finding clones, writing the report, comparing, walking history) runs
inside :func:`phase`. On a terminal it draws a transient bar with counts, elapsed
time and an estimate of what is left; in a log or a pipe it writes a plain line
every few seconds and one when a phase that took a second or more ends. Progress
goes to standard error, so standard output holds only the summary.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console

Tick = Callable[..., None]  # tick(done, total=None, detail="")
PLAIN_EVERY = 5.0  # seconds between plain progress lines
PLAIN_MIN = 1.0  # a phase shorter than this writes no plain line at all


def _noop(done: int = 0, total: int | None = None, detail: str = "") -> None:
    return None


@contextmanager
def phase(label: str, total: int | None = None, enabled: bool = True,
          stream=None) -> Iterator[Tick]:
    """Run a phase with progress; yields tick(done, total=None, detail="")."""
    if not enabled:
        yield _noop
        return
    err = Console(file=stream or sys.stderr, highlight=False)
    if err.is_terminal:
        with _bar(err, label, total) as tick:
            yield tick
    else:
        plain = _Plain(err, label, total)
        yield plain.tick
        plain.done()


@contextmanager
def _bar(console: Console, label: str, total: int | None) -> Iterator[Tick]:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    # fixed widths, and the detail (a path) cut to what is left: a narrow terminal
    # shortens the path instead of squeezing the counts into "9/…"
    room = console.width - len(label) - 58
    columns = (SpinnerColumn(), TextColumn(label), BarColumn(bar_width=16),
               MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("eta"),
               TimeRemainingColumn(), TextColumn("{task.fields[detail]}", markup=False))
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(label, total=total, detail="")

        def tick(done: int, total_now: int | None = None, detail: str = "") -> None:
            progress.update(task, completed=done, detail=_tail(detail, room) if room >= 12 else "",
                            **({"total": total_now} if total_now is not None else {}))

        yield tick


def _tail(text: str, width: int) -> str:
    return text if len(text) <= width else "…" + text[-(width - 1):]


class _Plain:
    """Plain progress lines for logs: at most one every PLAIN_EVERY seconds."""

    def __init__(self, console: Console, label: str, total: int | None):
        self.console, self.label, self.total = console, label, total
        self.started = self.last = time.perf_counter()
        self.count = 0

    def tick(self, done: int, total: int | None = None, detail: str = "") -> None:
        self.count, self.total = done, total if total is not None else self.total
        now = time.perf_counter()
        if now - self.last >= PLAIN_EVERY:
            self.last = now
            self._line(f"{self.label}: {self._counts()}{self._eta(now)}")

    def done(self) -> None:
        took = time.perf_counter() - self.started
        if took >= PLAIN_MIN:
            counts = f"{self.count:,} " if self.count else ""
            self._line(f"{self.label}: {counts}done in {took:.1f} s")

    def _counts(self) -> str:
        return f"{self.count:,}/{self.total:,}" if self.total else f"{self.count:,}"

    def _eta(self, now: float) -> str:
        if not self.total or not self.count:
            return f", {now - self.started:.0f} s so far"
        left = (now - self.started) * (self.total - self.count) / self.count
        return f" ({self.count / self.total:.0%}), about {left:.0f} s left"

    def _line(self, text: str) -> None:
        self.console.print(text, markup=False, soft_wrap=True)
