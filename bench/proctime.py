"""Run a command and measure its wall time and peak memory, children included.

Peak memory is the largest sum of resident set sizes over the process and all
its descendants, sampled from /proc every 20 ms (a process pool's workers
count together, as they occupy memory together).
"""

from __future__ import annotations

import os
import subprocess
import time


def _children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    out.append(int(entry))
            except OSError:
                continue
    return out


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_rss_kb(pid: int) -> int:
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        total += _rss_kb(p)
        stack.extend(_children(p))
    return total


def measure(cmd: list[str], cwd: str | None = None, env=None) -> tuple[float, float, int]:
    """(wall seconds, peak MB, exit code) of running cmd."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, tree_rss_kb(proc.pid))
        time.sleep(0.02)
    wall = time.perf_counter() - start
    return wall, peak / 1024, proc.returncode
