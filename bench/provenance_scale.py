"""Scale benchmark: index GCC 12 (without gcc/testsuite) + binutils 2.40, then match CCC.

Run on demand (not by pytest):
    /usr/bin/time -v python bench/provenance_scale.py build --index-dir /tmp/prov-idx
    /usr/bin/time -v python bench/provenance_scale.py match --index-dir /tmp/prov-idx [--target /work/ext/ccc]
Prints wall time, throughput and the time split; the figures go into bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

NAME = "gcc12-binutils"


def build(args) -> None:
    from audit.provenance.build import build_index

    t0 = time.perf_counter()
    last = [0.0]

    def tick(done, fraction, label):
        now = time.perf_counter()
        if now - last[0] > 15:
            last[0] = now
            print(f"  {done} files, {fraction:.0%} of source, {done / (now - t0):.0f} files/s", flush=True)

    ix = build_index(NAME, ["gcc-12", "binutils-2.40"], args.index_dir, workers=args.jobs, progress=tick)
    wall = time.perf_counter() - t0
    info = ix.info()
    counts = info["counts"]
    print(json.dumps({"wall_s": round(wall, 1), "files": counts["files"], "lines": counts["lines"],
                      "entries": counts["entries"], "files_per_s": round(counts["files"] / wall, 1),
                      "lines_per_s": round(counts["lines"] / wall), "index_bytes": info["bytes"],
                      "cpu_split_s": ix.manifest["build"]["cpu_s"],
                      "error_spans": counts["error_spans"], "skipped": ix.manifest["build"]["skipped"]},
                     indent=1))


def match(args) -> None:
    from audit.provenance.api import scan_against

    t0 = time.perf_counter()
    report, timings = scan_against(args.target, [os.path.join(args.index_dir, NAME)], jobs=args.jobs)
    wall = time.perf_counter() - t0
    print(json.dumps({"wall_s": round(wall, 1), "split_s": timings,
                      "verdict": report.verdict, "score": round(report.score, 3)}, indent=1))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(report.to_dict(), fh, indent=1)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("what", choices=("build", "match"))
    p.add_argument("--index-dir", default="/tmp/prov-idx")
    p.add_argument("--target", default="/work/ext/ccc")
    p.add_argument("--json")
    p.add_argument("-j", "--jobs", type=int, default=2)
    args = p.parse_args()
    build(args) if args.what == "build" else match(args)


if __name__ == "__main__":
    main()
