"""How often the shared-passages test calls independent code derived: its null checked.

Run on demand (not by pytest). Each tree is matched as ``audit scan --corpus`` would;
for every audited file and channel, its passages with each corpus file are counted
(audit.provenance.passages) and tested against the Poisson count of the calibrated
chance table. Printed: per tree and channel, the files, the smallest p-value, its
``expected_chance`` (p x audited files x 2 file-level tests) and how many files are
significant (expected_chance <= structure_alpha); then the strongest files overall.
Only the text channel is tested by the scan; the others are measured here to show why.

    python bench/passages_null.py --index-dir DIR --corpus chibicc --corpus c4 \\
        --corpus clox --corpus 8cc --corpus gcc12-binutils \\
        "$AUDIT_BENCH_DATA/jyn514+saltwater" "$AUDIT_BENCH_DATA/ShivamSarodia+ShivyC" ...
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

CHANNELS = ("text", "ident", "num", "struct")


def tree_tests(tree: str, indexes, channels) -> list[tuple]:
    """(channel, audited path, code lines, best PassageTest, audited files) for every file."""
    from audit.provenance import api, chance, match, passages
    from audit.provenance.index import BandLookup
    from audit.provenance.verdict import code_mask

    result, payloads = api.scan_tree(tree, jobs=2)
    sketches, _, _ = api.result_sketches(result, payloads, c_files=False)
    docfreq, table, out = match.DocFreq(indexes), chance.shipped(), []
    for channel in channels:
        match.PASSAGE_CHANNEL = channel  # the fragments keep their fingerprints on this channel
        for sk in sketches:
            lookup = BandLookup(sk.bands, indexes, api.MATCH.bucket_cap)
            found, _ = match.match_sketch(sk, indexes, docfreq, api.MATCH, match.Timing(), lookup)
            code = int(code_mask(sk).sum())
            got = passages.file_tests(found, table, code, docfreq.n, channel)
            if got:
                out.append((channel, sk.path, code, got[0], len(sketches)))
    match.PASSAGE_CHANNEL = "text"
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("trees", nargs="+", help="trees independent of the corpora")
    ap.add_argument("--index-dir", required=True, help="folder holding the named indexes (DIR/NAME)")
    ap.add_argument("--corpus", action="append", required=True, help="index name (repeatable)")
    ap.add_argument("--channels", default="text,ident,num,struct")
    ap.add_argument("--top", type=int, default=10, help="strongest files listed")
    args = ap.parse_args(argv)
    from audit.provenance import api

    indexes = [api.open_index(c, args.index_dir) for c in args.corpus]
    channels = [c for c in args.channels.split(",") if c in CHANNELS]
    alpha, rows, t0 = api.THRESHOLDS.structure_alpha, [], time.perf_counter()
    print("| tree | channel | files tested | smallest p | its expected_chance | significant files |")
    print("|---|---|---|---|---|---|")
    for tree in args.trees:
        got = tree_tests(tree, indexes, channels)
        rows += [(os.path.basename(tree.rstrip("/")),) + g for g in got]
        for channel in channels:
            mine = [g for g in got if g[0] == channel]
            if not mine:
                continue
            best = min(mine, key=lambda g: g[3].p)
            sig = sum(g[3].expected_chance(g[4]) <= alpha for g in mine)
            print(f"| {os.path.basename(tree.rstrip('/'))} | {channel} | {len(mine)} | {best[3].p:.2g} "
                  f"| {best[3].expected_chance(best[4]):.2g} | {sig} |")
    print(f"\nstrongest files ({time.perf_counter() - t0:.0f} s):")
    for tree, channel, path, code, test, n in sorted(rows, key=lambda r: r[4].p)[:args.top]:
        print(f"  {tree} {path} ({code} code lines) {channel}: {test.passages} passages with "
              f"{test.corpus}:{test.path}, expected fragments {test.expected:.2f}, p {test.p:.2g}, "
              f"expected_chance {test.expected_chance(n):.2g}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
