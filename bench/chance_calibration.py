"""Measure how many evidence fragments independent code produces by chance (calibration.json "chance").

Run on demand (not by pytest), after the dev-set indexes exist (bench/devset.py build,
and the GCC 12 + binutils distractor):
    python bench/chance_calibration.py --data DATA --index-dir INDEX_DIR \
        --distractor INDEX_DIR/gcc12-binutils -j 1 [--write]

The independent pairs' trees (N1-N4 of the dev set, full text, Rust and Python only
as in bench/devset.py) are matched against the four originals plus the distractor.
Every fragment of every entry's best verified match is counted once (the same
fragment found by a unit and by a window over it counts once), by channel and
size in shared fingerprints, over the trees' audited code lines. That is more
than a report shows (it shows fragments of matches scoring at least entry_min),
so the rates err towards calling a fragment ordinary.

--write puts the table into audit/provenance/calibration.json as its "chance"
section, leaving the rest of the file as it is.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import time
from collections import Counter

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(BENCH))
sys.path.insert(0, BENCH)

from benchdata import data_dir  # noqa: E402
from devset import ORIGINALS, PAIRS  # noqa: E402

CALIBRATION = os.path.join(os.path.dirname(BENCH), "audit", "provenance", "calibration.json")
COMMAND = ("python bench/chance_calibration.py --data DATA --index-dir INDEX_DIR "
           "--distractor INDEX_DIR/gcc12-binutils -j 1 --write")


def pair_fragments(tree: str, indexes, jobs: int) -> tuple[Counter, Counter, int, int]:
    """(all fragments, fragments of counted matches) keyed (channel, size); code lines; files."""
    from audit.provenance import api
    from audit.provenance.index import BandLookup
    from audit.provenance.match import DocFreq, Timing, match_sketch
    from audit.provenance.verdict import code_mask

    result, payloads = api.scan_tree(tree, jobs)
    sketches, _, _ = api.result_sketches(result, payloads, c_files=False)
    docfreq, timing = DocFreq(indexes), Timing()
    every, counted, lines = Counter(), Counter(), 0
    for sk in sketches:
        lines += int(code_mask(sk).sum())
        lookup = BandLookup(sk.bands, indexes, api.MATCH.bucket_cap)
        matches, _ = match_sketch(sk, indexes, docfreq, api.MATCH, timing, lookup)
        seen: set = set()
        for m in matches:
            for f in m.fragments:
                key = (m.corpus, m.corpus_path, f.kind, f.lines, f.corpus_lines)
                if key in seen:
                    continue
                seen.add(key)
                every[(f.kind, f.fingerprints)] += 1
                if m.score >= api.THRESHOLDS.entry_min:
                    counted[(f.kind, f.fingerprints)] += 1
    return every, counted, lines, len(sketches)


def by_channel(counts: Counter) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for (channel, size), n in sorted(counts.items()):
        out.setdefault(channel, {})[str(size)] = n
    return out


def at_least_rates(counts: Counter, lines: int, sizes=(1, 2, 3, 4, 6, 8, 12, 16, 24, 32)) -> dict:
    """Fragments per 1,000 code lines with at least n fingerprints, for a few n (for reading)."""
    out = {}
    for channel in sorted({c for c, _ in counts}):
        out[channel] = {str(n): round(sum(v for (c, s), v in counts.items() if c == channel and s >= n)
                                      * 1000.0 / max(lines, 1), 4) for n in sizes}
    return out


def measure(args) -> dict:
    from audit.provenance import api

    paths = [os.path.join(args.index_dir, n) for n in ORIGINALS] + ([args.distractor] if args.distractor else [])
    indexes = [api.open_index(p) for p in paths]
    every, counted, lines, rows = Counter(), Counter(), 0, []
    for pid, target, original in PAIRS:
        if original is not None:
            continue
        t0 = time.perf_counter()
        e, c, n, files = pair_fragments(os.path.join(args.data, target), indexes, args.jobs)
        every += e
        counted += c
        lines += n
        rows.append({"id": pid, "target": target.replace("+", "/"), "files": files, "code_lines": n,
                     "fragments": sum(e.values()), "fragments_of_counted_matches": sum(c.values())})
        print(f"{pid} {target}: {files} files, {n:,} code lines, {sum(e.values()):,} fragments "
              f"({sum(c.values()):,} in matches >= entry_min), {time.perf_counter() - t0:.0f} s", flush=True)
    return {"about": __doc__.split("\n\n")[2].replace("\n", " ").strip(),
            "date": datetime.date.today().isoformat(), "command": COMMAND,
            "corpora": [{"name": ix.name, "files": ix.n_files} for ix in indexes],
            "pairs": rows, "code_lines": lines, "fragments_by_size": by_channel(every),
            "per_1000_lines_at_least": at_least_rates(every, lines),
            "counted_matches_per_1000_lines_at_least": at_least_rates(counted, lines)}


def write(section: dict) -> None:
    """Put the section last in calibration.json, replacing an earlier one; the rest is kept as written."""
    with open(CALIBRATION, encoding="utf-8") as fh:
        text = fh.read()
    cut = text.find(',\n "chance":')
    body = text[:cut] if cut >= 0 else text.rstrip().rstrip("}").rstrip()
    json.loads(body + "\n}")  # the kept part must still be a document
    lines = json.dumps(section, indent=1).replace("\n", "\n ")
    with open(CALIBRATION, "w", encoding="utf-8") as fh:
        fh.write(f'{body},\n "chance": {lines}\n}}\n')


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", help="data folder with the dev-set trees (default $AUDIT_BENCH_DATA)")
    p.add_argument("--index-dir", help="where the originals' indexes are (default DATA/idx/dev)")
    p.add_argument("--distractor", default="", help="index folder of the distractor corpus")
    p.add_argument("--write", action="store_true", help="store the table in calibration.json")
    p.add_argument("-j", "--jobs", type=int, default=1)
    args = p.parse_args()
    args.data = data_dir(args.data)
    args.index_dir = args.index_dir or os.path.join(args.data, "idx", "dev")
    section = measure(args)
    print(json.dumps({k: section[k] for k in ("code_lines", "per_1000_lines_at_least")}, indent=1))
    if args.write:
        write(section)


if __name__ == "__main__":
    main()
