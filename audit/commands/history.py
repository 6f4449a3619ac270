"""`audit history REPO`: walk a repository's commits and report how quality moved."""

from __future__ import annotations

import argparse
import json

from audit.cache import make_job, open_cache
from audit.commands import common_options
from audit.commands.compare import add_analysis_options, scan_config
from audit.errors import EXIT_OK, InputError, UsageError
from audit.gitsource import is_git_repo, path_filter
from audit.history import HistoryOptions, HistoryResult, walk_history
from audit.render import json as json_render
from audit.render.terminal import make_console


def add_parser(sub) -> None:
    p = sub.add_parser(
        "history", help="trends of size, complexity and findings over a repository's commits",
        description="Analyse every commit of a git repository (bare or not) and report trends: "
                    "lines, units, cyclomatic complexity (mean, p90, max), findings per thousand "
                    "lines by category, and the commits where each jumped. Results are cached per "
                    "git blob, so a file is parsed once across commits and runs.",
    )
    p.add_argument("repo", metavar="REPO", help="a git repository folder")
    p.add_argument("--rev-range", default="HEAD", metavar="R",
                   help="commits to walk: REV (all its ancestors) or A..B (default HEAD)")
    pick = p.add_mutually_exclusive_group()
    pick.add_argument("--every", type=int, default=0, metavar="N", help="analyse every Nth commit")
    pick.add_argument("--max-commits", type=int, default=0, metavar="N",
                      help="analyse at most N commits, spread evenly over the range")
    pick.add_argument("--last", type=int, default=0, metavar="N",
                      help="analyse only the last N commits of the range (after bookkeeping "
                           "commits are left out)")
    p.add_argument("--exclude-commit-paths", action="append", default=[], metavar="GLOB",
                   help="leave out commits that only touch paths matching this glob, such as "
                        "task-lock files: 'current_tasks/*' (repeatable)")
    p.add_argument("--clone-samples", type=int, default=16, metavar="N",
                   help="measure duplication share (internal clones) at N commits spread over "
                        "the range; 0 turns it off (default 16)")
    p.add_argument("--json", metavar="FILE", help="write the trends as JSON")
    p.add_argument("--html", metavar="DIR", help="write the trends as an HTML page with charts "
                   "(DIR/history.html, styled as the scan report)")
    add_analysis_options(p)
    p.add_argument("-q", "--quiet", action="store_true", help="no terminal summary")
    common_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if min(args.every, args.max_commits, args.clone_samples, args.last) < 0:
        raise UsageError("--every, --max-commits, --last and --clone-samples take a positive "
                         "number", "e.g. --last 200")
    if not is_git_repo(args.repo):
        raise InputError(f"not a git repository: {args.repo}", "name a repository folder")
    config = scan_config(args, args.repo)
    job = make_job(args.max_file_size, args.python_engine, rules=not args.no_rules,
                   clones=args.clone_samples > 0)
    opts = HistoryOptions(args.repo, args.rev_range, args.every, args.max_commits,
                          tuple(args.exclude_commit_paths), config.workers, args.clone_samples,
                          args.last)
    console = make_console(args.no_color)
    with open_cache(args.cache_dir, args.no_cache, job) as cache:
        result = walk_history(opts, path_filter(config), job, cache, show=not args.quiet)
    if "rules" not in job.passes:
        result.warnings.append("findings not counted: rules are off or not installed")
    if "clones" not in job.passes:
        result.warnings.append("duplication share not tracked: clone detection is off "
                               "(--clone-samples 0) or not installed")
    with console.capture() as written:  # where the outputs went: said after the summary
        _write(args, result, console)
    if not args.quiet:
        render_terminal(result, console)
        console.file.write(written.get())
    return EXIT_OK


def _write(args, result: HistoryResult, console) -> None:
    if args.json:
        json_render.write_atomic(args.json, json.dumps(result.to_dict(), indent=1, ensure_ascii=False) + "\n")
        if not args.quiet:
            console.print(f"JSON written to {args.json}")
    if args.html:
        from audit.render.history_html import write_page

        page = write_page(result, args.html)
        if not args.quiet:
            console.print(f"HTML written to {page}")


def render_terminal(result: HistoryResult, console) -> None:
    """First and last point side by side, then the biggest jumps."""
    from rich.table import Table

    if not result.points:
        console.print("no commits in range")
        return
    first, last = result.points[0], result.points[-1]
    s = result.stats
    table = Table(title=f"history of {result.repo}: {s['commits_analysed']:,} commits analysed "
                        f"({s['commits_excluded']:,} bookkeeping left out)", title_justify="left")
    for col in ("measure", f"first {first['commit'][:8]}", f"last {last['commit'][:8]}"):
        table.add_column(col, justify="left" if col == "measure" else "right")
    for key in ("files", "sloc", "units", "functions", "functions_non_test", "cyclomatic_mean",
                "cyclomatic_p90", "cyclomatic_max", "findings_per_kloc", "duplication_share"):
        if first.get(key) is not None and last.get(key) is not None:
            table.add_row(key.replace("_", " "), f"{first[key]:,}", f"{last[key]:,}")
    console.print(table)
    from audit.render.terminal import hanging

    for key in ("sloc", "cyclomatic_max", "findings_per_kloc"):
        for j in result.jumps.get(key, [])[:3]:  # wrapped lines indented under their jump
            hanging(console, f"{key}: {j['from']:,} -> {j['to']:,} at {j['commit'][:8]} "
                             f"{_words(j['subject'], 60)}", "  ", "      ")
    console.print(f"blobs: {s['blobs']:,} ({s['blobs_analysed']:,} analysed, {s['blobs_from_cache']:,} "
                  f"from cache); cache {s['cache_bytes'] / 1e6:.1f} MB; {s['seconds']:.1f} s")
    for w in result.warnings:
        console.print(f"warning: {w}", style="yellow")


def _words(text: str, width: int) -> str:
    """text cut to at most width characters at a word boundary, with "…" when cut."""
    if len(text) <= width:
        return text
    return text[:width].rsplit(" ", 1)[0] + "…"
