"""Size and opening time of an HTML report's pages (issue 19's budgets), measured in Chromium.

    python bench/report_pages.py REPORT_DIR [--single FILE] [--open clones.html ...]

Prints the page count, the total, the largest pages, the pages by kind and, for
each page named with --open, how long headless Chromium (Debian's /usr/bin/chromium
through Playwright) takes from navigation to the load event, with its DOM node count
and height: the median and the fastest of five loads and the median CPU time of
Chromium's renderer per load, with the load average before and after (on a shared
machine wall times follow it; the CPU time much less). A report is made with
`audit scan TREE --html REPORT_DIR`.
"""

from __future__ import annotations

import argparse
import os
import statistics

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu"]


def sizes(folder: str) -> list[tuple[int, str]]:
    return sorted(((os.path.getsize(os.path.join(folder, n)), n) for n in os.listdir(folder)),
                  reverse=True)


def kinds(pages: list[tuple[int, str]]) -> dict[str, tuple[int, int, int]]:
    """Pages by kind (file-*, clones-*, rule-*, or the page itself): count, bytes, largest."""
    out: dict[str, tuple[int, int, int]] = {}
    for size, name in pages:
        kind = name.split("-", 1)[0] + "-*" if "-" in name else name
        count, total, top = out.get(kind, (0, 0, 0))
        out[kind] = (count + 1, total + size, max(top, size))
    return out


def renderer_cpu() -> float:
    """CPU seconds (user + system) used so far by the renderers of the Chromium this script
    started (the browser and GPU processes work alongside, not in series, so are left out)."""
    import psutil

    total = 0.0
    for proc in psutil.Process().children(recursive=True):
        try:
            if "--type=renderer" in proc.cmdline():
                times = proc.cpu_times()
                total += times.user + times.system
        except psutil.NoSuchProcess:  # a renderer of the previous page may be gone
            pass
    return total


def open_times(paths: list[str], rounds: int = 5) -> list[tuple[str, list[float], float, int, int]]:
    """Per page: the load-event times (ms), the median renderer CPU time of a load (ms),
    nodes and height. On a busy machine the CPU time and the fastest load are the figures
    nearest a quiet machine's: other jobs stretch wall time far more than CPU time."""
    from playwright.sync_api import sync_playwright

    out = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        for path in paths:
            times, cpu = [], []
            for _ in range(rounds):
                page.goto("about:blank")
                before = renderer_cpu()
                page.goto("file://" + os.path.abspath(path))
                page.wait_for_load_state("load")
                cpu.append((renderer_cpu() - before) * 1000)
                times.append(page.evaluate(
                    "() => { const t = performance.getEntriesByType('navigation')[0];"
                    " return t.loadEventEnd - t.startTime; }"))
            nodes = page.evaluate("() => document.getElementsByTagName('*').length")
            height = page.evaluate("() => document.documentElement.scrollHeight")
            out.append((path, times, statistics.median(cpu), nodes, height))
        browser.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("report")
    ap.add_argument("--single", help="a --html-single file to measure as well")
    ap.add_argument("--open", action="append", default=[], metavar="PAGE")
    args = ap.parse_args()
    listing = sizes(args.report)
    pages = [(b, n) for b, n in listing if n.endswith(".html")]
    total = sum(b for b, _ in listing)
    print(f"{len(pages):,} pages, {total / 1e6:.2f} MB in all (assets included)")
    print(f"pages over 1 MB: {sum(1 for b, _ in pages if b > 1e6)}")
    for b, n in pages[:8]:
        print(f"  {b / 1e3:9,.1f} KB  {n}")
    for kind, (count, size, top) in sorted(kinds(pages).items()):
        print(f"{kind}: {count:,} page(s), {size / 1e6:.2f} MB, largest {top / 1e3:,.1f} KB")
    for name in args.open:
        b = os.path.getsize(os.path.join(args.report, name))
        print(f"{name}: {b / 1e3:,.1f} KB")
    paths = [os.path.join(args.report, n) for n in args.open]
    if args.single:
        print(f"single file {args.single}: {os.path.getsize(args.single) / 1e6:.2f} MB")
        paths.append(args.single)
    if not paths:
        return
    print("load average before: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    for path, times, cpu, nodes, height in open_times(paths):
        print(f"open {os.path.basename(path)}: {statistics.median(times):,.0f} ms to load "
              f"(median of 5; fastest {min(times):,.0f} ms), renderer CPU {cpu:,.0f} ms (median), "
              f"{nodes:,} elements, {height:,} px tall")
    print("load average after: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
