"""`audit scan --corpus NAME_OR_DIR`: match the audited files against corpus indexes."""

from __future__ import annotations

import os
from dataclasses import replace

from rich.table import Table
from rich.text import Text

VERDICT_STYLE = {"clean": "green", "review": "yellow", "derived": "bold red"}


def add_options(parser) -> None:
    g = parser.add_argument_group("provenance")
    g.add_argument("--corpus", action="append", default=[], metavar="NAME_OR_DIR",
                   help="match against this corpus index, by name or folder (repeatable); "
                        "build one with `audit corpus build`")
    g.add_argument("--index-dir", metavar="DIR",
                   help="where corpus indexes named by --corpus live (default: the user cache)")
    g.add_argument("--provenance-files", type=int, default=10, metavar="N",
                   help="how many matched files to list in the summary (default 10)")
    g.add_argument("--review-file", metavar="FILE",
                   help="review decisions on matches (default: audit-review.toml beside the "
                        "project's audit.toml, else in the audited folder; see `audit review`)")
    g.add_argument("--cluster", metavar="ADDRESS",
                   help="match on a Dask cluster: a scheduler (tcp://HOST:PORT) or local[:N]; the "
                        "workers open the --corpus indexes from the same paths (pip install 'agent-code-audit[cluster]')")


def configure(args, config, job):
    """Open (and so validate) every index before any file is read; ask for the sketch pass."""
    if not getattr(args, "corpus", None):
        if getattr(args, "cluster", None):
            from audit.errors import UsageError

            raise UsageError("--cluster spreads provenance matching, which needs a corpus",
                             "add --corpus NAME (see `audit corpus list`)")
        return job
    from audit.provenance import api

    if getattr(args, "cluster", None):
        from audit.provenance.cluster import check_address

        check_address(args.cluster)

    from audit.render.progress import phase

    args.provenance_indexes = []
    for c in args.corpus:
        with phase(f"loading corpus index {c}", enabled=_shown(args)):
            args.provenance_indexes.append(api.open_index(c, args.index_dir))
    return replace(job, passes=(*job.passes, "sketch"))


def finish(args, result, payloads, console):
    """Match the sketches and attach the report as the "provenance" section."""
    indexes = getattr(args, "provenance_indexes", None)
    if not indexes:
        return result
    from audit.provenance import api

    if getattr(args, "cluster", None):
        from audit.provenance import cluster

        report = cluster.match_result(args.cluster, result, payloads, indexes)
    else:
        from audit.render.progress import phase

        with phase("matching against the corpus", enabled=_shown(args)) as tick:
            report = api.match_result(result, payloads, indexes, progress=tick, jobs=_jobs(args))
    from audit.provenance.determination import attach
    from audit.render.outputs_ext import source_reader

    attach(report, result, indexes, source_reader(args), getattr(args, "review_file", None) or "")
    return replace(result, sections={**result.sections, "provenance": report})


def _jobs(args) -> int:
    """The scan's worker count (-j; default one per core): matching uses as many."""
    return getattr(args, "jobs", 0) or max(1, len(os.sched_getaffinity(0)))


def render_terminal(result, console) -> None:
    report = result.sections.get("provenance")
    if report is None:
        return
    from audit.render.determination_view import print_determination
    from audit.render.terminal import hanging

    print_determination(report.to_dict(), console)
    head = Text("provenance: ")
    head.append(report.verdict, style=VERDICT_STYLE[report.verdict])
    head.append(f"  score {report.score:.3f}")
    if report.top_corpus:
        head.append(f"  top corpus {report.top_corpus}")
    console.print(head)
    hanging(console, "corpora: " + ", ".join(
        f"{c['name']} {c['score']:.3f} ({c['files']:,} files)" for c in report.corpora), "  ", "    ")
    _files_table(report, console, 10)
    d = report.discounted.to_dict()
    hanging(console, f"discounted shared fingerprints: {d['total']:,} "
                     f"(interface-forced {sum(d['interface'].values()):,}, "
                     f"common in the corpus {sum(d['common'].values()):,}); not counted as copying",
            "  ", "    ")
    if report.skipped_languages:
        parts = ", ".join(f"{n} {ext}" for ext, n in report.skipped_languages.items())
        hanging(console, f"not audited (other languages, e.g. copies of the original): {parts}", "  ", "    ")


def _files_table(report, console, n: int) -> None:
    ranked = sorted((f for f in report.files if f.matches), key=lambda f: (-f.score, f.path))[:n]
    if not ranked:
        return
    from audit.provenance.chance import describe, legend
    from audit.render.terminal import fit, flex, hanging

    width = flex(console, 40, 3)  # paths cut at the left, never broken mid-word
    table = Table(title="files with the strongest corpus matches", title_justify="left")
    for col, just in (("verdict", "left"), ("score", "right"), ("file", "left"),
                      ("top match", "left"), ("evidence", "left")):
        table.add_column(col, justify=just)
    for f in ranked:
        m = f.matches[0]
        ev = m.evidence[0] if m.evidence else None
        where = (f"{ev.kind} {ev.lines[0]}-{ev.lines[1]} ~ {ev.corpus_lines[0]}-{ev.corpus_lines[1]} "
                 f"(expected by chance {describe(ev.expected_chance, ev.beyond_calibration)})"
                 + _passage(report, ev)) if ev else ""
        table.add_row(Text(f.verdict, style=VERDICT_STYLE[f.verdict]), f"{f.score:.2f}",
                      fit(f.path, width), fit(f"{m.corpus}:{m.corpus_path}", width),
                      Text(where, overflow="fold"))
    console.print(table)
    hanging(console, f"expected by chance: {legend()}", "  ", "    ")


def _passage(report, ev) -> str:
    """The fragment's passage label when the passage shows up in several places."""
    groups = report.evidence_groups
    g = groups[ev.group] if ev.group is not None and ev.group < len(groups) else None
    return f"; {g.label}" if g is not None and (g.places > 1 or g.corpus_places > 1) else ""


def _shown(args) -> bool:
    """Progress is drawn unless the command was asked to be quiet."""
    return not getattr(args, "quiet", False)
