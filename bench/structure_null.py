"""How often structural alignment calls independent code derived: the null model checked.

Run on demand (not by pytest). Two measurements on trees known to be
independent of the corpora (the dev set's N1-N4, or any others):

1. **Calibration of the p-values.** Every audited file (three entries or more)
   is aligned with ``--random`` corpus files drawn at random (seeded) from the
   loaded indexes, files that share nothing with it by construction. If the
   shuffling null is right, the share of p-values at or below a level is at most
   that level. Printed for 0.05, 0.01, 0.001 and 1e-4.
2. **False positives as a scan makes them.** Each tree is matched as
   ``audit scan --corpus`` would (candidate files by shared band keys); counted
   are files with a significant alignment (expected chance alignments x audited
   files <= structure_alpha) and projects with at least one.

    python bench/structure_null.py --index-dir DIR --corpus chibicc --corpus c4 \\
        --corpus clox --corpus 8cc --corpus gcc12-binutils \\
        "$AUDIT_BENCH_DATA/jyn514+saltwater" "$AUDIT_BENCH_DATA/ShivamSarodia+ShivyC" ...

Add ``--structure-only`` to drop identifier and text evidence from the audited
side (what a structure-only copy leaves; structure is computed the same way).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

LEVELS = (0.05, 0.01, 0.001, 1e-4)


def _sketches(tree: str, structure_only: bool) -> list:
    from audit.provenance import api

    _, payloads = api.scan_tree(tree)
    out = [p["sketch"] for p in payloads.values() if p and p.get("sketch") is not None]
    if structure_only:
        for sk in out:
            for c in ("ident", "text"):
                sk.bands[c] = np.zeros_like(sk.bands[c])
                for d in (sk.fp_hash, sk.fp_start, sk.fp_end):
                    d[c] = d[c][:0]
                if sk.fp_iface is not None:
                    sk.fp_iface[c] = sk.fp_iface[c][:0]
    return sorted(out, key=lambda s: s.path)


def random_pvalues(sketches, indexes, draws: int, seed: int) -> list[float]:
    """p-values of each file aligned with ``draws`` random corpus files."""
    from audit.provenance.structure import StructureConfig, align_pair

    cfg = StructureConfig()
    rng = np.random.default_rng(seed)
    sizes = np.array([ix.n_files for ix in indexes], dtype=float)
    out = []
    for sk in sketches:
        for _ in range(draws):
            ix = indexes[int(rng.choice(len(indexes), p=sizes / sizes.sum()))]
            al = align_pair(sk, ix, int(rng.integers(ix.n_files)), cfg, 1)
            out.append(al.p_value if al is not None else np.nan)  # nan: too few pairs to test
    return out


def scan_false_positives(sketches, indexes) -> tuple[int, float]:
    """Files with a significant alignment, and the smallest E x files of the tree."""
    from audit.provenance import api

    files, _ = api.match_files(sketches, indexes)
    significant = sum(1 for f in files if any(s["significant"] for s in f.structure))
    worst = min((s["expected_chance"] * s["audited_files"] for f in files for s in f.structure),
                default=float("inf"))
    return significant, worst


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("trees", nargs="+", help="trees independent of every loaded corpus")
    ap.add_argument("--index-dir", required=True)
    ap.add_argument("--corpus", action="append", required=True)
    ap.add_argument("--random", type=int, default=20, help="random corpus files per audited file")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--structure-only", action="store_true")
    args = ap.parse_args()
    from audit.provenance import api

    indexes = [api.open_index(c, args.index_dir) for c in args.corpus]
    pvals, rows, t0, c0 = [], [], time.perf_counter(), time.process_time()
    for tree in args.trees:
        sketches = _sketches(tree, args.structure_only)
        pvals += random_pvalues(sketches, indexes, args.random, args.seed)
        sig, worst = scan_false_positives(sketches, indexes)
        rows.append((os.path.basename(tree.rstrip("/")), len(sketches), sig, worst))
    p = np.array(pvals)
    tested = p[~np.isnan(p)]
    print(f"random pairs: {len(p)}, of which aligned and tested (3 agreeing pairs or more): "
          f"{len(tested)}; wall {time.perf_counter() - t0:.0f} s, cpu {time.process_time() - c0:.0f} s")
    print("| level | share of all random pairs with p <= level | share of the tested ones |\n|---|---|---|")
    for level in LEVELS:
        print(f"| {level:g} | {float(np.mean(np.nan_to_num(p, nan=1.0) <= level)):.4f} "
              f"({int(np.sum(tested <= level))}) | {float(np.mean(tested <= level)) if len(tested) else 0:.4f} |")
    print("\n| tree | files | files with a significant alignment | smallest E x files |\n|---|---|---|---|")
    for name, n, sig, worst in rows:
        print(f"| {name} | {n} | {sig} | {worst:.3g} |")


if __name__ == "__main__":
    main()
