"""Scale benchmark: index GCC 12 (without gcc/testsuite) + binutils 2.40, then match CCC.

Run on demand (not by pytest):
    /usr/bin/time -v python bench/provenance_scale.py build [--index-dir $AUDIT_BENCH_DATA/idx]
    /usr/bin/time -v python bench/provenance_scale.py match [--index-dir DIR] [--target $AUDIT_BENCH_DATA/wangdalian+claudes-c-compiler]
        [--explain src/driver/cli.rs ...]   # discounted material of chosen files, with examples
Prints wall time, throughput, the time split and the peak of the summed resident
set sizes of this process and its pool workers (sampled every 0.2 s; shared
copy-on-write pages count once per process, so this over-states the true peak,
while /usr/bin/time -v reports only the largest single process). The figures go
into bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from benchdata import CCC, data_path  # noqa: E402

NAME = "gcc12-binutils"


class TreePeak:
    """Peak summed RSS of this process and its descendants, sampled in a thread."""

    def __init__(self, every: float = 0.2):
        from proctime import tree_rss_kb

        self.peak_kb, self._stop, self._rss = 0, threading.Event(), tree_rss_kb
        self._thread = threading.Thread(target=self._run, args=(every,), daemon=True)
        self._thread.start()

    def _run(self, every: float) -> None:
        while not self._stop.is_set():
            self.peak_kb = max(self.peak_kb, self._rss(os.getpid()))
            self._stop.wait(every)

    def stop(self) -> float:
        """Stop sampling; the peak in MB."""
        self._stop.set()
        self._thread.join()
        return round(self.peak_kb / 1024, 1)


def build(args) -> None:
    from audit.provenance.build import build_index

    peak = TreePeak()
    t0 = time.perf_counter()
    last = [0.0]

    def tick(done, fraction, label):
        now = time.perf_counter()
        if now - last[0] > 15:
            last[0] = now
            print(f"  {done} files, {fraction:.0%} of source, {done / (now - t0):.0f} files/s", flush=True)

    ix = build_index(NAME, ["gcc-12", "binutils-2.40"], args.index_dir, workers=args.jobs, progress=tick)
    wall = time.perf_counter() - t0
    peak_mb = peak.stop()
    info = ix.info()
    counts = info["counts"]
    print(json.dumps({"wall_s": round(wall, 1), "files": counts["files"], "lines": counts["lines"],
                      "entries": counts["entries"], "files_per_s": round(counts["files"] / wall, 1),
                      "lines_per_s": round(counts["lines"] / wall), "index_bytes": info["bytes"],
                      "peak_tree_rss_mb": peak_mb,
                      "cpu_split_s": ix.manifest["build"]["cpu_s"],
                      "error_spans": counts["error_spans"], "skipped": ix.manifest["build"]["skipped"]},
                     indent=1))


def match(args) -> None:
    from audit.provenance.api import scan_against

    peak = TreePeak()
    t0 = time.perf_counter()
    report, timings = scan_against(args.target, [os.path.join(args.index_dir, NAME)], jobs=args.jobs)
    wall = time.perf_counter() - t0
    print(json.dumps({"wall_s": round(wall, 1), "split_s": timings, "peak_tree_rss_mb": peak.stop(),
                      "verdict": report.verdict, "score": round(report.score, 3)}, indent=1))
    print(json.dumps({"parse_cpu_s_one_core": parse_cpu(args.target)}))
    for path in args.explain:
        explain(report, path)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(report.to_dict(), fh, indent=1)


def explain(report, path: str) -> None:
    """What one audited file shares with the corpus that did not count, and why."""
    f = next((f for f in report.files if f.path == path), None)
    if f is None:
        print(f"{path}: not audited")
        return
    d = f.discounted.to_dict()
    print(f"{path}: verdict {f.verdict}, score {f.score:.3f}, matches {len(f.matches)}; discounted "
          f"interface {d['interface']}, common {d['common']}")
    for e in d["examples"]:
        print(f"   {e['kind']:6} lines {e['lines'][0]}-{e['lines'][1]}: '{e['tokens']}' "
              f"in {e['corpus_files']} corpus files ({e['reason']})")


def parse_cpu(target: str) -> float:
    """CPU seconds tree-sitter spends parsing the target once (the scan's parse share)."""
    from audit.config import ScanConfig
    from audit.parse import parse
    from audit.walk import SourceFile, discover, read_source

    config = ScanConfig(paths=(target,))
    sources = [read_source(c, config.max_file_size) for c in discover(config).candidates]
    t0 = time.process_time()
    for src in sources:
        if isinstance(src, SourceFile):
            parse(src)
    return round(time.process_time() - t0, 2)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("what", choices=("build", "match"))
    p.add_argument("--index-dir", default=data_path("idx"))
    p.add_argument("--target", default=data_path(CCC))
    p.add_argument("--json")
    p.add_argument("--explain", action="append", default=[], metavar="PATH",
                   help="match: print what this audited file shared that was discounted")
    p.add_argument("-j", "--jobs", type=int, default=2)
    args = p.parse_args()
    build(args) if args.what == "build" else match(args)


if __name__ == "__main__":
    main()
