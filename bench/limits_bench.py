"""Hostile single files against the per-file limits: each scanned alone by `audit scan`.

    python bench/limits_bench.py [--rounds N] [-- SCAN OPTIONS]

Cases: 100k, 200k and 500k unclosed `(` in one Rust file; a 3 MB one-line Python
list; the 539-byte Rust file of issue 14 whose parse never ends. Each is written
to a scratch folder and scanned (default limits, then the extra options given),
and the row says how it came out (measured, or skipped with the reason) and what
the whole `audit scan` process took: wall and CPU seconds and peak memory.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests"))


def cases() -> list[tuple[str, bytes]]:
    from test_limits import HANG_RS

    rows = [(f"open{n // 1000}k.rs", b"fn f() { g(" + b"(" * n + b"\n") for n in
            (100_000, 200_000, 500_000)]
    rows.append(("list3mb.py", b"x = [" + b", ".join(b"%d" % i for i in range(450_000)) + b"]\n"))
    rows.append(("hang.rs", HANG_RS))
    return rows


def scan_one(name: str, data: bytes, options: list[str]) -> dict:
    folder = tempfile.mkdtemp(prefix="audit-limits-")
    try:
        with open(os.path.join(folder, name), "wb") as fh:
            fh.write(data)
        out = os.path.join(folder, "out.json")
        started = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "audit", "scan", folder, "--json", out,
                                 "-q", "--no-gitignore", *options],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _pid, status, usage = os.wait4(proc.pid, 0)  # this process's own CPU and peak memory
        wall = time.monotonic() - started
        code = os.waitstatus_to_exitcode(status)
        outcome = _outcome(out, name) if code == 0 else f"exit {code}"
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {"file": name, "bytes": len(data), "outcome": outcome, "wall_s": round(wall, 2),
            "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
            "max_rss_mib": round(usage.ru_maxrss / 1024)}


def _outcome(out: str, name: str) -> str:
    with open(out, encoding="utf-8") as fh:
        doc = json.load(fh)
    for s in doc["skipped"]:
        if s["path"] == name:
            return f"skipped: {s['reason']} ({s['detail']})"
    return "measured"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("scan_options", nargs="*", help="`audit scan` options, after --")
    args = p.parse_args()
    print("| file | bytes | options | outcome | wall s | CPU s | peak MiB |")
    print("|---|---:|---|---|---:|---:|---:|")
    for name, data in cases():
        for _ in range(args.rounds):
            row = scan_one(name, data, args.scan_options)
            print(f"| {row['file']} | {row['bytes']:,} | {' '.join(args.scan_options) or 'defaults'}"
                  f" | {row['outcome']} | {row['wall_s']} | {row['cpu_s']} | {row['max_rss_mib']} |",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
