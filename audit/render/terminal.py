"""Terminal summary with rich: size, grades, hotspots, skipped files and warnings.

Plain text (no colour, no box-drawing animation) when the output is not a
terminal or ``--no-color`` is given, so logs and pipes stay readable.
"""

from __future__ import annotations

import re
from collections import Counter

from rich.console import Console
from rich.table import Table
from rich.text import Text

from audit.results import AuditResult
from audit.walk import display_path as safe  # escape sequences and bidi controls shown as text

RANK_STYLE = {"A": "green", "B": "green", "C": "yellow", "D": "dark_orange", "E": "red", "F": "bold red"}


def make_console(no_color: bool = False, file=None) -> Console:
    console = Console(file=file, no_color=no_color, highlight=False)
    if not console.is_terminal:
        console = Console(file=file, no_color=True, highlight=False, width=140)
    return console


def fit(text: str, width: int, style: str = "") -> Text:
    """A path or name cut at the left to ``width`` ("…/encoder/gp_integer.rs:272"): a table
    never breaks a path mid-word, and the end (file, line, function) stays."""
    width = max(8, width)
    if len(text) > width:
        text = "…" + text[-(width - 1):]
    return Text(text, style=style, no_wrap=True, overflow="ellipsis")


def flex(console: Console, fixed: int, parts: int = 1) -> int:
    """The width each of ``parts`` flexible columns gets beside ``fixed`` columns' cells."""
    return max(12, (console.width - fixed) // parts)


def short_name(qualname: str) -> str:
    """The last two parts of a qualified name (the table's path column says where)."""
    sep = "::" if "::" in qualname else "."
    return sep.join(qualname.split(sep)[-2:])


_QUALIFIED = re.compile(r"\b(?:\w+::)+(\w+::\w+)\b")
_IN_FOLDER = re.compile(r"\b(?:[\w.-]+/)+([\w.-]+:\d+)")


def compact(text: str, width: int | None = None) -> str:
    """Prose with long names shortened (a::b::c::d to c::d, src/x/y.rs:12 to y.rs:12), so
    a narrow column wraps it between words instead of inside a name; with ``width``, a
    word still longer than that is cut too, since rich would fold it mid-name."""
    text = _IN_FOLDER.sub(r"\1", _QUALIFIED.sub(r"\1", text))
    if width is None:
        return text
    return " ".join(fit_word(word, width) for word in text.split(" "))


def fit_word(word: str, width: int) -> str:
    """One word in at most ``width`` characters: a qualified name keeps its last part,
    anything longer is cut at the left as :func:`fit` cuts a path."""
    if len(word) <= width:
        return word
    if "::" in word:
        word = word.rsplit("::", 1)[1]
    return word if len(word) <= width else "…" + word[-(width - 1):]


def hanging(console: Console, text: str, first: str = "  ", rest: str = "      ") -> None:
    """One item wrapped with a hanging indent, so where the next item starts can be seen
    in a block of paragraphs several lines long."""
    lines = Text(text, overflow="fold").wrap(console, max(20, console.width - len(rest)))
    for i, line in enumerate(lines):
        console.print(Text(first if i == 0 else rest) + line, overflow="fold")


def render(result: AuditResult, console: Console, hotspots: int = 10, sections=()) -> None:
    """Print the summary a reviewer reads first; ``sections`` add later stages' parts."""
    _summary(result, console)
    _hotspots(result, console, hotspots)
    _fix_first(result, console, hotspots)
    for section in sections:
        section(result, console)
    _skipped(result, console)


def _summary(result: AuditResult, console: Console) -> None:
    t = result.totals
    table = Table(title="audit summary", show_header=False, title_justify="left")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("audited", fit(safe(", ".join(result.config.get("paths", []))),
                                 flex(console, 40)))
    revision = result.config.get("revision")
    if revision:  # REPO@REV: the commit the revision resolved to
        table.add_row("commit", revision["commit"])
    table.add_row("files measured", f"{t.files:,}")
    table.add_row("files skipped", f"{t.skipped:,}")
    table.add_row("lines (source / comment / blank)",
                  f"{t.lines.physical:,} ({t.lines.source:,} / {t.lines.comment:,} / {t.lines.blank:,})")
    table.add_row("units (functions)", f"{t.units:,} ({t.functions:,})")
    table.add_row("mean cyclomatic", f"{t.cyclomatic_mean:.2f}")
    ranks = Text()
    for r in "ABCDEF":
        ranks.append(f"{r}:{t.ranks[r]:,} ", style=RANK_STYLE[r])
    table.add_row("functions by rank", ranks)
    table.add_row("code in functions ranked D-F", f"{t.poor_share:.1%} of source lines")
    if t.parse_errors:
        table.add_row("files with syntax errors", f"{t.parse_errors:,} (measured around the errors)")
    table.add_row("time", f"{result.elapsed:.2f} s")
    console.print(table)


def _hotspots(result: AuditResult, console: Console, n: int) -> None:
    spots = result.hotspots(n)
    if not spots:
        return
    table = Table(title=f"the {len(spots)} most complex functions", title_justify="left")
    for col, just in (("rank", "center"), ("cyclo", "right"), ("cogn", "right"),
                      ("nest", "right"), ("sloc", "right"), ("function", "left"), ("where", "left")):
        table.add_column(col, justify=just)
    width = flex(console, 46, 2)
    for f, u in spots:
        m = u.metrics
        table.add_row(Text(u.rank, style=RANK_STYLE[u.rank]), str(m.cyclomatic), str(m.cognitive),
                      str(m.nesting), str(m.sloc), fit(safe(short_name(u.qualname)), width),
                      fit(safe(f"{f.path}:{u.start_line}"), width))
    console.print(table)


def _fix_first(result: AuditResult, console: Console, n: int) -> None:
    """The fix-first list (audit.metrics.fixfirst), with each item's reasons."""
    ranked = result.sections.get("fix_first")
    if ranked is None or not ranked.items:
        return
    table = Table(title=f"fix first ({min(n, len(ranked.items))} of {len(ranked.items)} ranked)",
                  title_justify="left")
    for col, just in (("#", "right"), ("score", "right"), ("function", "left"), ("where", "left"),
                      ("why", "left")):
        table.add_column(col, justify=just)
    width = flex(console, 30, 4)
    # the reasons column gets what the others leave (25: "#", score, borders, padding)
    # and wraps at spaces, so no word may be longer (a clone's qualified name can be)
    why = max(12, console.width - 2 * width - 25)
    for i, item in enumerate(ranked.items[:n], 1):
        table.add_row(str(i), f"{item.score:,.0f}", fit(safe(short_name(item.qualname)), width),
                      fit(safe(f"{item.path}:{item.start_line}"), width),
                      Text(compact("; ".join(item.reasons), why), overflow="fold"))
    console.print(table)


def _skipped(result: AuditResult, console: Console) -> None:
    if result.skipped:
        reasons = Counter(s.reason for s in result.skipped)
        parts = ", ".join(f"{n} {reason}" for reason, n in sorted(reasons.items()))
        console.print(Text(f"skipped {len(result.skipped)} file(s): {parts}"))
        for s in result.skipped[:10]:
            if s.reason != "language-not-audited":
                console.print(Text(safe(f"  {s.path}: {s.reason} ({s.detail})")))
    warned = [f for f in result.files if f.warnings]
    for f in warned[:10]:
        console.print(Text(safe(f"warning: {f.path}: {f.warnings[0]}"), style="yellow"))
    if len(warned) > 10:
        console.print(Text(f"... and {len(warned) - 10} more file(s) with warnings (see --json)"))
    for w in result.warnings:
        console.print(Text(safe(f"warning: {w}"), style="yellow"))

