"""`audit scan`: measure a tree of Rust and Python sources and report on it."""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import sys
import time

from audit.commands import common_options
from audit.config import DEFAULT_MAX_FILE_SIZE, ScanConfig
from audit import limits
from audit.data import default_target
from audit.errors import EXIT_OK, InputError, UsageError
from audit.pipeline import Job, scan
from audit.render import json as json_render
from audit.render.terminal import make_console, render

# Stages beyond metrics plug into the scan through extension modules. Each may define:
#   add_options(parser)                          extra command-line options
#   configure(args, config, job) -> Job          ask for per-file passes (see pipeline.FILE_PASSES)
#   finish(args, result, payloads, console) -> AuditResult   project-level work after the files
#   render_terminal(result, console)             a section of the terminal summary
#   write_outputs(args, result, console)         extra output files (SARIF, HTML)
# A module that does not exist yet is simply not loaded.
EXTENSIONS = (
    "audit.rules.scan_ext",
    "audit.clones_ext",
    "audit.provenance.scan_ext",
    "audit.render.outputs_ext",
)


def extensions() -> list:
    mods = []
    for name in EXTENSIONS:
        try:
            mods.append(importlib.import_module(name))
        except ModuleNotFoundError as exc:
            if not (exc.name and (name == exc.name or name.startswith(exc.name + "."))):
                raise  # a missing dependency inside an existing extension is a real error
    return mods


def _hooks(name: str) -> list:
    return [getattr(m, name) for m in extensions() if hasattr(m, name)]


def add_parser(sub) -> None:
    p = sub.add_parser(
        "scan", help="measure complexity, run rules and check provenance of a source tree",
        description="Scan Rust and Python sources: per-function complexity, size, Halstead and "
                    "maintainability, ranked hotspots. With no PATH, scans the bundled reference "
                    "C compiler.",
    )
    p.add_argument("paths", nargs="*", metavar="PATH",
                   help="files or folders to audit, or one REPO@REV: a git revision (branch, tag, "
                        "commit id, REV~N) read from the repository's objects, without a checkout")
    p.add_argument("--json", metavar="FILE", help="write the full result as JSON")
    p.add_argument("--include", action="append", default=[], metavar="GLOB",
                   help="only files matching this glob (repeatable, gitignore syntax)")
    p.add_argument("--exclude", action="append", default=[], metavar="GLOB",
                   help="leave out files and folders matching this glob (repeatable)")
    p.add_argument("--language", action="append", choices=("rust", "python"), metavar="LANG",
                   help="audit only this language: rust or python (repeatable; default both)")
    p.add_argument("--no-gitignore", action="store_true", help="do not honour .gitignore files")
    p.add_argument("--follow-external-symlinks", action="store_true",
                   help="follow symlinks that lead outside the scanned folders (default: skip them, "
                        "so a hostile tree cannot pull other files into the report)")
    p.add_argument("--max-file-size", type=int, default=DEFAULT_MAX_FILE_SIZE, metavar="BYTES",
                   help=f"skip files larger than this (default {DEFAULT_MAX_FILE_SIZE})")
    limits.add_options(p)
    p.add_argument("-j", "--jobs", type=int, default=0, metavar="N",
                   help="worker processes (default: one per core)")
    p.add_argument("--hotspots", type=int, default=10, metavar="N",
                   help="how many of the most complex functions to list (default 10)")
    p.add_argument("--python-engine", choices=("radon", "tree-sitter"), default="radon",
                   help="source of Python cyclomatic and Halstead counts (default radon)")
    p.add_argument("--strict", action="store_true",
                   help="exit non-zero when any file was skipped or had a syntax error")
    p.add_argument("--fail-on", choices=SEVERITIES, metavar="SEVERITY",
                   help="exit 1 when a finding of this severity or worse is reported "
                        "(error, warning or info; suppressed and baselined findings do not count)")
    p.add_argument("--fail-on-verdict", choices=VERDICTS, metavar="VERDICT",
                   help="exit 1 when the provenance verdict is this or worse "
                        "(review or derived; needs --corpus)")
    p.add_argument("-q", "--quiet", action="store_true", help="no terminal summary")
    common_options(p)
    for hook in _hooks("add_options"):
        hook(p)
    p.set_defaults(run=run)


SEVERITIES = ("error", "warning", "info")  # worst first
VERDICTS = ("review", "derived")  # provenance verdicts, mildest first; "clean" never fails


def build_config(args: argparse.Namespace) -> ScanConfig:
    paths = tuple(args.paths)
    if not paths:
        target = default_target()
        if target is None:
            raise InputError("no path given and no bundled default target found",
                             "name a folder to audit: audit scan PATH")
        paths = (target,)
    extra = {"python_engine": args.python_engine}
    revision = pinned_revision(args, paths)
    if revision is not None:
        extra["revision"] = revision
    return ScanConfig(
        paths=paths, languages=tuple(args.language or ("rust", "python")),
        include=tuple(args.include), exclude=tuple(args.exclude),
        use_gitignore=not args.no_gitignore, max_file_size=args.max_file_size,
        follow_external_symlinks=getattr(args, "follow_external_symlinks", False),
        jobs=args.jobs, hotspots=args.hotspots,
        limits=limits.resolve(args, paths),
        extra=extra,
    )


def pinned_revision(args: argparse.Namespace, paths: tuple[str, ...]) -> dict | None:
    """The REPO@REV scanned, resolved once per run and kept on ``args``, so the outputs
    written after the scan read the same commit even if the branch has moved."""
    from audit import revscan

    pinned = getattr(args, "pinned_revision", None)
    if pinned is not None and pinned[0] == paths:
        return pinned[1]
    rr = revscan.revision_spec(paths)
    revision = revscan.pin(rr) if rr is not None else None
    args.pinned_revision = (paths, revision)
    return revision


def run(args: argparse.Namespace) -> int:
    from audit.revscan import close_sources

    try:
        return _run(args)
    finally:
        close_sources()  # a REPO@REV scan's repository, opened here by the readers of outputs


def _run(args: argparse.Namespace) -> int:
    if args.fail_on_verdict and not getattr(args, "corpus", None):
        raise UsageError("--fail-on-verdict needs a provenance check",
                         "add --corpus NAME (see `audit corpus list`)")
    check_outputs(args)
    config = build_config(args)
    job = Job(config.max_file_size, python_engine=args.python_engine, limits=config.limits)
    for hook in _hooks("configure"):
        job = hook(args, config, job)
    console = make_console(args.no_color)
    started = time.perf_counter()
    result, payloads = _scan_with_progress(config, job, console, args.quiet)
    for hook in _hooks("finish"):
        result = hook(args, result, payloads, console)
    with console.capture() as written:  # where the outputs went: said after the summary
        if args.json:
            write_output("--json", args.json, json_render.dumps(result, config.hotspots))
            console.print(f"JSON written to {args.json}")
        for hook in _hooks("write_outputs"):
            hook(args, result, console)
    if not args.quiet:
        whole_run = dataclasses.replace(result, elapsed=time.perf_counter() - started)
        render(whole_run, console, config.hotspots, _hooks("render_terminal"))
        console.file.write(written.get())
    return _exit_code(args, result)


# What a scan writes: option -> attribute (options of extensions not installed are absent).
FILE_OUTPUTS = {"--json": "json", "--sarif": "sarif", "--html-single": "html_single", "--baseline-write": "baseline_write",
                "--spdx": "spdx", "--markdown": "markdown"}
DIR_OUTPUTS = {"--html": "html", "--csv": "csv"}


def check_outputs(args: argparse.Namespace) -> None:
    """Refuse unusable or clashing output paths before any file is read (exit 2)."""
    from audit.render import outpaths

    files = {opt: getattr(args, attr, None) for opt, attr in FILE_OUTPUTS.items()}
    dirs = {opt: getattr(args, attr, None) for opt, attr in DIR_OUTPUTS.items()}
    for option, path in files.items():
        if path:
            outpaths.check_file(option, path)
    for option, path in dirs.items():
        if path:
            outpaths.check_dir(option, path)
    outpaths.check_distinct({**files, **dirs})


def write_output(option: str, path: str, text: str | bytes) -> None:
    """Write one report file atomically; a failure is a clear error, not a traceback."""
    from audit.render import outpaths

    try:
        json_render.write_atomic(path, text)
    except OSError as exc:
        raise outpaths.write_failed(option, path, exc) from exc


def _scan_with_progress(config, job, console, quiet):
    from audit.render.progress import phase
    from audit.revscan import RevisionTree

    revision = config.extra.get("revision")
    tree = RevisionTree(revision) if revision else None
    label = f"measuring {revision['commit'][:12]}" if revision else "measuring"
    with phase(label, enabled=not quiet) as tick:
        return scan(config, job, tick, tree)


def _exit_code(args, result) -> int:
    from audit.errors import EXIT_FINDINGS

    if args.strict and (result.skipped or result.totals.parse_errors):
        print("audit: --strict: some files were skipped or had syntax errors", file=sys.stderr)
        return EXIT_FINDINGS
    if args.fail_on:
        worst = SEVERITIES[: SEVERITIES.index(args.fail_on) + 1]
        hits = sum(1 for x in result.findings if x.suppressed is None and x.severity in worst)
        if hits:
            print(f"audit: --fail-on {args.fail_on}: {hits} finding(s) at severity "
                  f"{args.fail_on} or worse", file=sys.stderr)
            return EXIT_FINDINGS
    if args.fail_on_verdict:
        report = result.sections.get("provenance")
        failing = VERDICTS[VERDICTS.index(args.fail_on_verdict):]
        from audit.provenance.determination import effective_verdict

        verdict = effective_verdict(report) if report is not None else None
        if verdict in failing:
            print(f"audit: --fail-on-verdict {args.fail_on_verdict}: the provenance verdict is "
                  f"{verdict} (after recorded review decisions)", file=sys.stderr)
            return EXIT_FINDINGS
    return EXIT_OK
