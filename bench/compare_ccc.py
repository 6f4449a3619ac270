"""Compare upstream CCC with a fork's tip: file counts, the new backend, and where it came from.

Usage: python bench/compare_ccc.py [REPO] [A_REV] [B_REV] [--cache-dir DIR]

REPO defaults to $AUDIT_BENCH_DATA/wangdalian+claudes-c-compiler.git (a clone or bare
mirror of the fork); the cache and the JSON output go under $AUDIT_BENCH_DATA too.

Runs `audit compare REPO@A REPO@B` twice as a subprocess (the first fills the
per-blob cache, the second reads it) and prints the wall times, the tracked and
measured file counts, the folders that gained files, and the derivation section:
which existing backend of A the added files match, with the strongest evidence.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import os
import time

from benchdata import CCC, data_path

MIRROR = data_path(CCC + ".git")
UPSTREAM = "6f1b99acb2f4ec2414592136c2009fe7713deec3"


def run(repo: str, a: str, b: str, cache_dir: str, out: str) -> float:
    cmd = [sys.executable, "-m", "audit", "compare", f"{repo}@{a}", f"{repo}@{b}",
           "--cache-dir", cache_dir, "--json", out, "-q"]
    started = time.perf_counter()
    subprocess.run(cmd, check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("repo", nargs="?", default=MIRROR)
    parser.add_argument("a", nargs="?", default=UPSTREAM)
    parser.add_argument("b", nargs="?", default="HEAD")
    parser.add_argument("--cache-dir", default=data_path("cache", "compare-bench"))
    args = parser.parse_args()
    os.makedirs(data_path("out"), exist_ok=True)
    out = data_path("out", "compare-ccc.json")
    first = run(args.repo, args.a, args.b, args.cache_dir, out)
    second = run(args.repo, args.a, args.b, args.cache_dir, out)
    with open(out, encoding="utf-8") as fh:
        doc = json.load(fh)
    print(f"wall: {first:.1f} s (first run), {second:.1f} s (cache warm)")
    print("tracked files:", doc["tracked"]["counts"] if doc["tracked"] else "-")
    print("not measured:", [(r["status"], r["path"]) for r in (doc["tracked"] or {}).get("not_measured", [])])
    print("measured files:", doc["file_counts"])
    print("functions:", doc["unit_counts"])
    print("added by folder:", [(d["directory"], d["files"]) for d in doc["added_by_directory"]])
    print("totals delta:", doc["totals"]["delta"])
    deriv = doc.get("derivation")
    if not deriv:
        print("no derivation section:", doc["warnings"])
        return
    print(deriv["summary"])
    print("verdicts of added files:", deriv["verdicts"])
    for s in deriv["by_source"][:6]:
        print(f"  {s['target']}/ <- {s['source']}/: {s['covered_lines']:,} of {s['code_lines']:,} "
              f"code lines ({s['share']:.1%}), {s['files']} files")
    for s in deriv.get("by_subfolder", [])[:6]:
        print(f"    {s['target']}/ <- {s['source']}/: {s['covered_lines']:,} of {s['code_lines']:,} "
              f"code lines ({s['share']:.1%}), {s['files']} files")
    for e in deriv["examples"][:6]:
        print(f"  {e['target']}\n      ~ {e['source']}  score {e['score']}  {e['evidence']}")


if __name__ == "__main__":
    main()
