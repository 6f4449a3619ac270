"""Benchmark internal clone detection on Claude's C Compiler (or any tree).

Usage: python bench/clones_ccc.py [PATH] [--kgram K --window W --lsh-threshold J]
                                     [--no-wall] [--no-recall]

Prints: CLI wall time with and without clone detection; the clone stage's own
time; counts, duplication share and the largest groups; how much of each
backend under src/backend/ is cloned into another backend; the share of each
backend's fingerprints found in another backend; and the recall of the LSH
candidate stage against exhaustive verification of every backend pair that
could reach the threshold.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import os
import resource
import subprocess
import sys
import time
from collections import defaultdict

import numpy as np

from audit.clones import CloneParams, candidate_pairs, find_clones, similarity
from audit.config import ScanConfig
from audit.pipeline import Job, scan
from benchdata import CCC, data_path


def wall(cmd: list[str], runs: int = 3) -> tuple[float, float]:
    """Best wall time and best CPU time (user + system, all processes) of a command."""
    best_wall = best_cpu = float("inf")
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        best_wall = min(best_wall, time.perf_counter() - t)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        best_cpu = min(best_cpu, cpu)
    return best_wall, best_cpu


def backend_links(report) -> dict[tuple[str, str], int]:
    """Clone groups joining two different backends, per backend pair."""
    links: dict[tuple[str, str], int] = defaultdict(int)
    for g in report.groups:
        owners = sorted({backend_of(m.path) for m in g.members} - {None})
        for a, b in itertools.combinations(owners, 2):
            links[(a, b)] += 1
    return links


def backend_of(path: str) -> str | None:
    parts = path.split("/")
    if len(parts) > 3 and parts[:2] == ["src", "backend"]:
        return parts[2]
    return None


def cross_backend(report) -> dict[str, tuple[int, int]]:
    """Per backend: source lines of its units that share a group with another backend."""
    cloned: dict[str, set] = defaultdict(set)
    for g in report.groups:
        owners = {backend_of(m.path) for m in g.members} - {None}
        for m in g.members:
            b = backend_of(m.path)
            if b and owners - {b}:
                cloned[b].add(m)
    return cloned


def fingerprint_share(units) -> dict[tuple[str, str], float]:
    """Share of backend A's fingerprints (with multiplicity) whose hash occurs in backend B."""
    by_backend = defaultdict(list)
    for u in units:
        b = backend_of(u.path)
        if b:
            by_backend[b].append(u.fp_hash)
    flat = {b: np.concatenate(v) for b, v in by_backend.items()}
    return {(a, b): float(np.isin(flat[a], flat[b]).mean())
            for a, b in itertools.permutations(sorted(flat), 2)}


def lsh_recall(units, params) -> tuple[int, int, int, float]:
    """Verified pairs among backend units: exhaustive vs LSH; (possible, exhaustive, lsh, s)."""
    sub = sorted((u for u in units if backend_of(u.path)), key=lambda u: (u.path, u.start_line))
    t = time.perf_counter()
    found, possible = set(), 0
    for i, j in itertools.combinations(range(len(sub)), 2):
        a, b = sub[i], sub[j]
        small, big = sorted((a.tokens, b.tokens))
        # similarity <= 2*small/(small+big): below the threshold no alignment can help
        if 2 * small < params.threshold * (small + big):
            continue
        possible += 1
        if similarity(a, b, params.kgram)[0] >= params.threshold:
            found.add((i, j))
    lsh = {p for p in candidate_pairs(sub, params)
           if similarity(sub[p[0]], sub[p[1]], params.kgram)[0] >= params.threshold}
    return possible, len(found), len(found & lsh), time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("path", nargs="?", default=data_path(CCC), help="default: $AUDIT_BENCH_DATA/" + CCC)
    ap.add_argument("--kgram", type=int, default=CloneParams.kgram)
    ap.add_argument("--window", type=int, default=CloneParams.window)
    ap.add_argument("--lsh-threshold", type=float, default=CloneParams.lsh_threshold)
    ap.add_argument("--no-recall", action="store_true")
    ap.add_argument("--no-wall", action="store_true")
    args = ap.parse_args()
    params = CloneParams(kgram=args.kgram, window=args.window, lsh_threshold=args.lsh_threshold)

    base = [sys.executable, "-m", "audit", args.path, "-q"]
    if not args.no_wall:
        (w0, c0), (w1, c1) = wall(base + ["--no-clones"]), wall(base)
        print(f"CLI best of 3: without clones {w0:.2f} s wall / {c0:.2f} s CPU, "
              f"with clones {w1:.2f} s wall / {c1:.2f} s CPU; load average "
              f"{os.getloadavg()[0]:.1f}")

    config = ScanConfig(paths=(args.path,))
    job = Job(config.max_file_size, passes=("clones",),
              options={"clones": dataclasses.asdict(params)})
    t = time.perf_counter()
    result, payloads = scan(config, job)
    t_scan = time.perf_counter() - t
    units = [u for p in payloads.values() for u in p["clones"]]
    t = time.perf_counter()
    report = find_clones(units, params, result.totals.lines.source)
    t_find = time.perf_counter() - t
    print(f"scan with sketches {t_scan:.2f} s; "
          f"grouping (LSH, verification, fragments) {t_find:.2f} s")
    print(f"units compared {report.units}, candidate pairs {report.candidates}, verified "
          f"{report.verified}, groups {len(report.groups)}, cloned units {report.cloned_units}")
    print(f"duplication share {report.duplication_share:.1%} "
          f"({report.duplicated_sloc} of {report.total_sloc} source lines)")
    print("largest groups (by duplicated source lines):")
    for g in report.groups[:10]:
        names = ", ".join(f"{m.path}:{m.start_line}" for m in g.members[:3])
        more = f" +{g.size - 3}" if g.size > 3 else ""
        print(f"  size {g.size:3d} sim {g.similarity:.2f} dup {g.duplicated_sloc:5d}  "
              f"{g.members[0].qualname.split('::')[-1]}: {names}{more}")

    total = defaultdict(int)
    for f in result.files:
        b = backend_of(f.path)
        if b:
            total[b] += f.lines.source
    print("per backend: source lines in functions cloned into another backend")
    for b, members in sorted(cross_backend(report).items()):
        sloc = sum(m.sloc for m in members)
        print(f"  {b:8s} {sloc:6d} of {total[b]:6d} ({sloc / total[b]:.1%})")
    print("clone groups joining two backends")
    for (a, b), n in sorted(backend_links(report).items(), key=lambda kv: -kv[1]):
        print(f"  {a:8s} ~ {b:8s} {n:4d}")
    print("per backend pair: share of A's fingerprints whose hash occurs in B")
    for (a, b), share in sorted(fingerprint_share(units).items()):
        print(f"  {a:8s} -> {b:8s} {share:.1%}")
    if not args.no_recall:
        possible, exhaustive, via_lsh, secs = lsh_recall(units, params)
        print(f"LSH recall on backend units: {via_lsh} of {exhaustive} verified pairs "
              f"({via_lsh / max(exhaustive, 1):.1%}); {possible} size-compatible pairs checked "
              f"exhaustively in {secs:.1f} s")


if __name__ == "__main__":
    main()
