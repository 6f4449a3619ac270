"""bench/scan_bench.py --pool: several runs' tables pooled round by round."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import REPO

SCRIPT = Path(REPO, "bench", "scan_bench.py")

HEAD = ("| command | median wall (s) | median CPU (s) | wall / lizard | wall / lizard -t 2 | walls (s) "
        "| peak memory (MB) |\n|---|---|---|---|---|---|---|\n")


def _table(audit: list[float], lizard: list[float]) -> str:
    row = "| {} | 1.00 | 1.00 | 0.50 | 0.90 | {} | - |\n"
    return ("start 2026-12-08 04:33:26 UTC, load average 0.75\n" + HEAD
            + row.format("audit scan, defaults, with its summary", ", ".join(map(str, audit)))
            + row.format("lizard (1 process)", ", ".join(map(str, lizard))))


def _pool(tmp_path, *tables: str, target: str = "0.6") -> str:
    files = []
    for n, text in enumerate(tables):
        files.append(tmp_path / f"run{n}.txt")
        files[-1].write_text(text)
    done = subprocess.run([sys.executable, str(SCRIPT), "--pool", *map(str, files), "--target", target],
                          capture_output=True, text=True, check=False)
    return done.stdout + done.stderr


def test_rounds_of_several_runs_are_pooled(tmp_path):
    out = _pool(tmp_path, _table([5.0, 6.0], [10.0, 10.0]), _table([7.0], [10.0]))
    assert "2 run(s), 3 rounds" in out
    # ratios 0.5, 0.6, 0.7: median 0.6; totals 18 / 30 = 0.6; two rounds at or under 0.6
    assert "| audit scan, defaults, with its summary | 3 | 0.600 | 0.600 | 2 |" in out
    assert "| lizard (1 process) |" not in out.split("rounds at or under")[1]
    out = _pool(tmp_path, _table([5.0, 6.0], [10.0, 10.0]), target="0.55")
    assert "| 2 | 0.550 | 0.550 | 1 |" in out


def test_a_table_without_lizard_or_with_uneven_rounds_is_refused(tmp_path):
    no_lizard = "\n".join(_table([5.0], [9.0]).splitlines()[:-1])
    assert "no lizard row" in _pool(tmp_path, no_lizard)
    assert "has 2 rounds, lizard 1" in _pool(tmp_path, _table([5.0, 6.0], [10.0]))

