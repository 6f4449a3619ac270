"""`audit scan` extension: internal clone detection options, project stage and terminal section."""

from __future__ import annotations

import dataclasses
import gc
import os
import time
from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text

from audit.clone_params import MODES, UNIT_KINDS, CloneParams
from audit.errors import ConfigError

if TYPE_CHECKING:
    from audit.clones import CloneReport

SHOWN_GROUPS = 10  # groups listed in the terminal summary; the JSON has all of them


def add_options(parser) -> None:
    """Clone-detection options of `audit scan`."""
    defaults = CloneParams()
    group = parser.add_argument_group("internal clones")
    group.add_argument("--no-clones", action="store_true",
                       help="do not look for near-duplicate functions inside the tree")
    group.add_argument("--clone-threshold", type=float, default=defaults.threshold, metavar="F",
                       help="similarity (0-1] a pair of functions needs to count as clones "
                            f"(default {defaults.threshold})")
    group.add_argument("--min-clone-lines", type=int, default=defaults.min_lines, metavar="N",
                       help="ignore functions with fewer source lines "
                            f"(default {defaults.min_lines})")
    group.add_argument("--clone-mode", choices=MODES, default=defaults.mode,
                       help="type2: identifiers and literals abstracted (renamed copies match); "
                            "type1: compared verbatim (default type2)")


def params_from_args(args) -> CloneParams:
    """CloneParams from the command line; every bad value reported at once."""
    params = CloneParams(mode=args.clone_mode, threshold=args.clone_threshold,
                         min_lines=args.min_clone_lines)
    problems = params.problems()
    if problems:
        raise ConfigError(problems, "see `audit scan --help`, section 'internal clones'")
    return params


def configure(args, config, job):
    """Ask the workers for the clone sketches of every function unit."""
    if getattr(args, "no_clones", True):
        return job
    params = params_from_args(args)
    # numpy's BLAS starts a thread per core on import (about 0.1 s of CPU time); clone
    # detection does no linear algebra, so one is enough (a setting made before is kept)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    import audit.clones  # noqa: F401  loaded once here (numpy too), before the worker pool forks
    options = {**job.options, "clones": dataclasses.asdict(params)}
    return dataclasses.replace(job, passes=(*job.passes, "clones"), options=options)


def finish(args, result, payloads, console):
    """Clone groups (``result.sections['clones']``), then the fix-first list (``'fix_first'``).

    The fix-first list needs the findings and the clone groups, so it is ranked
    here, after the rules stage and the clone groups, with or without clones.
    """
    from audit.metrics.fixfirst import fix_first

    # The scan's records live to the end of the run: kept out of the collector's full
    # passes meanwhile (on CCC a full pass here read them all for about 0.07 s)
    gc.freeze()
    try:
        if not getattr(args, "no_clones", True):
            result = _find_clones(args, result, payloads)
        ranked = fix_first(result, result.sections.get("clones"),
                           bool(getattr(args, "include_tests", False)))
    finally:
        gc.unfreeze()
    return dataclasses.replace(result, sections={**result.sections, "fix_first": ranked})


def _find_clones(args, result, payloads):
    """Group the sketched units into clone groups."""
    from audit.clones import find_clones

    started = time.perf_counter()
    params = params_from_args(args)
    units = [u for payload in payloads.values() for u in payload.get("clones", ())]
    from audit.render.progress import phase

    with phase(f"finding clones among {len(units):,} functions", enabled=_shown(args)):
        # the scan's source lines, summed directly: result.totals builds every roll-up
        report = find_clones(units, params, sum(f.lines.source for f in result.files))
    report.elapsed = time.perf_counter() - started
    functions = sum(1 for f in result.files for u in f.units if u.kind in UNIT_KINDS)
    report.skipped_small = max(0, functions - report.units)
    return dataclasses.replace(result, sections={**result.sections, "clones": report})


def render_terminal(result, console) -> None:
    """The biggest clone groups and the project's duplication share."""
    report: CloneReport | None = result.sections.get("clones")
    if report is None:
        return
    console.print(Text(
        f"clones: {len(report.groups):,} group(s) of {report.cloned_units:,} functions "
        f"({report.units:,} compared, {report.skipped_small:,} too small); "
        f"duplication share {report.duplication_share:.1%} "
        f"({report.duplicated_sloc:,} of {report.total_sloc:,} source lines)"))
    if not report.groups:
        return
    table = Table(title=f"the {min(SHOWN_GROUPS, len(report.groups))} biggest clone groups",
                  title_justify="left")
    for col, just in (("size", "right"), ("sim", "right"), ("dup sloc", "right"),
                      ("first member", "left"), ("other members", "left")):
        table.add_column(col, justify=just)
    from audit.render.terminal import fit, flex, short_name

    width = flex(console, 36, 2)
    for g in report.groups[:SHOWN_GROUPS]:
        first, rest = g.members[0], g.members[1:]
        # file names, not whole paths: a cell then wraps between members, never inside one
        others = ", ".join(f"{m.path.rsplit('/', 1)[-1]}:{m.start_line}" for m in rest[:3])
        if len(rest) > 3:
            others += f", +{len(rest) - 3} more"
        table.add_row(str(g.size), f"{g.similarity:.2f}", f"{g.duplicated_sloc:,}",
                      fit(f"{short_name(first.qualname)} {first.path}:{first.start_line}", width),
                      Text(others, overflow="fold"))
    console.print(table)


def _shown(args) -> bool:
    """Progress is drawn unless the command was asked to be quiet."""
    return not getattr(args, "quiet", False)
