"""A process pool that outlives its workers: a file that hangs or kills a worker is
skipped with its reason, the worker replaced, and the rest of the run goes on.

multiprocessing.Pool cannot do this: a task whose worker dies is lost and its
result never comes. Here each worker has its own pipe and at most ``DEPTH``
files in hand, so the parent always knows which file a worker is on and since
when. A worker past the hard deadline (the file timeout twice over, plus a
margin, in CPU time read from /proc from the first check after the file started:
the worker's own deadline, see audit.limits, should have stopped it; or ten times that in wall time, for a worker stuck
without using the CPU) is killed; a worker that dies (a memory limit, a crash in
C) costs only its current file. Workers are forked, so they start with the
parent's modules loaded.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import resource
import signal
import time
from collections import deque
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from typing import Callable, Iterable

from audit.walk import SkippedFile

DEPTH = 2  # files sent to a worker ahead: the next one waits while the current one runs
GRACE = 5.0  # seconds beyond twice the file timeout before a worker is killed
WALL = 10  # a worker is also killed after this many times the hard deadline in wall time
POLL = 1.0  # seconds between checks of the workers' CPU time
RETIRE = frozenset({"timeout", "too-much-memory"})  # a worker is replaced after these


@dataclass(eq=False)
class _Worker:
    process: object
    conn: object
    inflight: deque = field(default_factory=deque)
    since: float = 0.0  # when the file at the head of inflight started (about), wall time
    cpu: float | None = None  # the worker's CPU time then, read at the first check after it

    def start_head(self) -> None:
        # The CPU time is read at the next check, not here: reading /proc per result cost
        # the parent about 0.06 s of CPU on CCC while the workers ran, and only a file
        # still running at a check needs it (counted from there: at most POLL s later)
        self.since, self.cpu = time.monotonic(), None


class Pool:
    """``size`` forked workers, each running ``analyse((candidate, job))`` per file."""

    def __init__(self, job, size: int, analyse: Callable, prepare: Callable, languages: set[str]):
        self.job, self.analyse, self.prepare, self.languages = job, analyse, prepare, languages
        self.ctx = multiprocessing.get_context("fork")
        self.workers: list[_Worker] = []
        # What is alive now (modules, rule queries, the parent's state) lives as long as
        # the run: kept out of the collector's full passes, in the workers and here, until
        # terminate (CCC: about 0.25 s less CPU time in garbage collection).
        gc.freeze()
        for _ in range(size):
            self.workers.append(self._spawn())
        self.terminated = False
        self.checked = 0.0  # when the workers' CPU times were last read (monotonic)
        timeout = job.limits.file_timeout
        self.hard = 2 * timeout + GRACE if timeout else 0.0

    def _spawn(self) -> _Worker:
        mine, theirs = self.ctx.Pipe()
        others = [mine] + [w.conn for w in self.workers]  # the worker closes these: see _serve
        process = self.ctx.Process(target=_serve, daemon=True, args=(
            theirs, others, self.job, self.analyse, self.prepare, self.languages))
        process.start()
        theirs.close()  # so that the worker's death reads as end-of-file here
        return _Worker(process, mine)

    def feed_early(self, candidates: list) -> None:
        """Send the workers their first files before the full list is known (discovery
        still going): they start on these, and :meth:`run` leaves them out when it gets
        the list."""
        self._feed(deque(candidates))

    def run(self, candidates: list) -> Iterable:
        """Analyse the candidates, yielding (FileResult | SkippedFile, payload) as they end
        (also those sent by :meth:`feed_early`, which must be among them)."""
        sent = {c.path for w in self.workers for c in w.inflight}
        todo = deque(c for c in candidates if c.path not in sent)
        while todo or any(w.inflight for w in self.workers):
            self._feed(todo)
            busy = {w.conn: w for w in self.workers if w.inflight}
            for conn in wait(list(busy), self._next_check()):
                yield from self._receive(busy[conn], todo)
            yield from self._overdue(todo)

    def _feed(self, todo: deque) -> None:
        for w in self.workers:
            while todo and len(w.inflight) < DEPTH:
                cand = todo.popleft()
                if not w.inflight:
                    w.start_head()
                w.inflight.append(cand)
                try:
                    w.conn.send(cand)
                except OSError:  # the worker is gone: its end-of-file is read next
                    break

    def _next_check(self) -> float | None:
        return POLL if self.hard else None

    def _receive(self, w: _Worker, todo: deque) -> Iterable:
        try:
            out = w.conn.recv()
        except (EOFError, OSError):
            yield _lost(w.inflight.popleft(), w.process, self.job.limits.max_memory), {}
            self._replace(w, todo)
            return
        w.inflight.popleft()
        w.start_head()
        yield out
        if isinstance(out[0], SkippedFile) and out[0].reason in RETIRE:
            self._replace(w, todo)  # the worker leaves after these: its state may be torn

    def _overdue(self, todo: deque) -> Iterable:
        now = time.monotonic()
        if not self.hard or now - self.checked < POLL:
            return  # once per POLL, not after every result: each check reads /proc per worker
        self.checked = now
        for w in self.workers:
            if not w.inflight:
                continue
            used = _cpu_time(w.process.pid)
            if w.cpu is None:
                w.cpu = used
            cpu, wall = used - w.cpu, now - w.since
            if cpu > self.hard or wall > WALL * self.hard:
                cand = w.inflight.popleft()
                yield SkippedFile(cand.path, "timeout", f"no answer after {cpu:.0f} s of CPU "
                                  f"time ({wall:.0f} s); worker stopped and replaced"), {}
                self._replace(w, todo)

    def _replace(self, w: _Worker, todo: deque) -> None:
        """Stop a worker and start another; the files it still held go back to the queue."""
        todo.extendleft(reversed(w.inflight))
        _stop(w)
        self.workers[self.workers.index(w)] = self._spawn()

    def terminate(self) -> None:
        for w in self.workers:  # every worker told to stop before any is waited for
            if w.process.is_alive():
                w.process.kill()
        for w in self.workers:
            _stop(w)
        self.terminated = True
        gc.unfreeze()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.terminate()


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _cpu_time(pid: int) -> float:
    """A process's CPU seconds (user + system), from /proc; 0 where it cannot be read."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICK
    except (OSError, IndexError, ValueError):
        return 0.0


def _stop(w: _Worker) -> None:
    if w.process.is_alive():
        w.process.kill()
    w.process.join()
    w.conn.close()


def _lost(cand, process, max_memory: int) -> SkippedFile:
    process.join()
    code = process.exitcode
    how = f"signal {_signal_name(-code)}" if code and code < 0 else f"exit status {code}"
    limit = f"; memory limit {max_memory} MiB" if max_memory else ""
    return SkippedFile(cand.path, "crashed", f"worker process ended ({how}{limit})")


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


def _serve(conn, others: list, job, analyse: Callable, prepare: Callable,
           languages: set[str]) -> None:
    """A worker's loop: one file in, one result out, until told to stop or retired."""
    for other in others:  # the parent's ends of the pipes, its own and the other workers',
        other.close()     # inherited by the fork: held open here, they would hide its death
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles ^C and stops the workers
    limit_memory(job.limits.max_memory)
    prepare(job, languages)
    while True:
        try:
            cand = conn.recv()
        except EOFError:
            return
        if cand is None:
            return
        out = analyse((cand, job))
        conn.send(out)
        if isinstance(out[0], SkippedFile) and out[0].reason in RETIRE:
            return


def limit_memory(mib: int) -> None:
    """Cap the address space this process may add to what it holds now (0: no cap).
    Allocations past it fail: Python raises MemoryError, C code that aborts on a failed
    allocation ends the worker. Counted from the start, not from zero: a worker forked
    after corpus indexes were memory-mapped inherits gigabytes of mapping it never reads
    whole, and a cap below them would fail every later allocation (a grammar's shared
    library, the first parse) for every file."""
    if mib:
        _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        want = address_space() + (mib << 20)
        if hard == resource.RLIM_INFINITY or want <= hard:
            resource.setrlimit(resource.RLIMIT_AS, (want, hard))


def address_space() -> int:
    """This process's mapped address space in bytes (VmSize), 0 where /proc cannot tell."""
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            return int(fh.read().split()[0]) * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        return 0
