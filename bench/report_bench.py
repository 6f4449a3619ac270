"""Benchmark the report outputs on a real tree: render times, sizes, page open times in Chromium.

Usage: python bench/report_bench.py [PATH] [--out DIR]   (default PATH: $AUDIT_BENCH_DATA/wangdalian+claudes-c-compiler)

Runs the scan once in-process with every installed stage (as `audit scan` does), then
times the HTML report, the SARIF and the JSON separately, renders each twice to check
determinism, and opens the overview and the hotspot page in Debian's Chromium from
file:// (load event, median of 5 cold navigations). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time

from audit.cli import build_parser
from audit.commands import scan as scan_cmd
from audit.pipeline import Job, scan
from audit.render import html, outputs_ext, sarif
from audit.render import json as json_render
from benchdata import CCC, data_path

CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]


def run_scan(path: str):
    args = build_parser().parse_args(["scan", path, "-q"])
    config = scan_cmd.build_config(args)
    job = Job(config.max_file_size, python_engine=args.python_engine)
    for hook in scan_cmd._hooks("configure"):
        job = hook(args, config, job)
    started = time.perf_counter()
    result, payloads = scan(config, job)
    for hook in scan_cmd._hooks("finish"):
        result = hook(args, result, payloads, None)
    return args, result, time.perf_counter() - started


def timed(fn):
    """fn's value with (wall seconds, CPU seconds of this process)."""
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn()
    return value, (time.perf_counter() - wall, time.process_time() - cpu)


def _read(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


def dir_size(path: str) -> tuple[int, int]:
    files = [os.path.join(path, n) for n in os.listdir(path)]
    return len(files), sum(os.path.getsize(f) for f in files)


def open_times(outdir: str, pages: list[str], runs: int = 5) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    out = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                    args=CHROMIUM_ARGS)
        for name in pages:
            samples = []
            for _ in range(runs):
                ctx = browser.new_context()
                page = ctx.new_page()
                started = time.perf_counter()
                page.goto("file://" + os.path.join(outdir, name), wait_until="load")
                samples.append(time.perf_counter() - started)
                ctx.close()
            out[name] = statistics.median(samples)
        browser.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("path", nargs="?", default=data_path(CCC))
    ap.add_argument("--out", default="")
    opts = ap.parse_args()
    args, result, scan_s = run_scan(opts.path)
    out = opts.out or tempfile.mkdtemp(prefix="report-bench-")
    shutil.rmtree(out, ignore_errors=True)
    meta = outputs_ext.rule_metadata(args)
    sources = html.file_sources(result, outputs_ext.source_reader(args))
    stats, html_s = timed(lambda: html.write_report(result, out, sources, meta,
                                                    outputs_ext.corpus_reader(result)))
    sarif_text, sarif_s = timed(lambda: sarif.dumps(result, meta))
    json_text, json_s = timed(lambda: json_render.dumps(result))
    again = tempfile.mkdtemp(prefix="report-bench-again-")
    html.write_report(result, again, sources, meta, outputs_ext.corpus_reader(result))
    same_html = all(_read(os.path.join(out, n)) == _read(os.path.join(again, n))
                    for n in os.listdir(out))
    shutil.rmtree(again)
    files, size = dir_size(out)
    opened = open_times(out, ["index.html", "hotspots.html"])
    t = result.totals
    rows = [
        ("tree", (f"{opts.path}: {t.files} files, {t.lines.physical:,} lines, "
                  f"{t.functions:,} functions, {len(result.findings):,} findings")),
        ("scan (all stages)", f"{scan_s:.1f} s"),
        ("HTML report", (f"{html_s[0]:.1f} s ({html_s[1]:.1f} s CPU); {stats.pages} pages, "
                         f"{files} files, {size / 1e6:.1f} MB")),
        ("SARIF", (f"{sarif_s[0]:.2f} s ({sarif_s[1]:.2f} s CPU); "
                   f"{len(sarif_text.encode()) / 1e6:.2f} MB, "
                   f"{len(json.loads(sarif_text)['runs'][0]['results']):,} results")),
        ("JSON", f"{json_s[0]:.2f} s; {len(json_text.encode()) / 1e6:.2f} MB"),
        ("SARIF and JSON byte-identical on a second render",
         str(sarif.dumps(result, meta) == sarif_text and json_render.dumps(result) == json_text)),
        ("HTML byte-identical on a second render (same timestamp)", str(same_html)),
    ] + [(f"open {name} in Chromium (load, median of 5)", f"{s:.2f} s") for name, s in opened.items()]
    print("| measure | value |\n|---|---|")
    for k, v in rows:
        print(f"| {k} | {v} |")
    print(f"\nreport left in {out}")


if __name__ == "__main__":
    main()
