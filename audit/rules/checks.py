"""The few rule checks that need more than a query: small functions named by rule files.

A *filter* check receives each query hit and keeps it (True) or drops it; it
may return a dict of message values instead of True. A *file* check receives
the file and yields ((start, end, start_point, end_point), values) spans.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Callable, Iterator

from audit.rules.registry import occurrences

FILTERS: dict[str, Callable] = {}
FILE_CHECKS: dict[str, Callable] = {}


def _filter(fn: Callable) -> Callable:
    FILTERS[fn.__name__] = fn
    return fn


def _file(fn: Callable) -> Callable:
    FILE_CHECKS[fn.__name__] = fn
    return fn


class FileContext:
    """What a check may read: the parse, the measured FileResult and the source lines."""

    def __init__(self, parsed, result):
        self.parsed, self.result = parsed, result
        self.data, self.language, self.root = parsed.data, parsed.language, parsed.root
        self.path = parsed.source.path

    @functools.cached_property
    def lines(self) -> list[bytes]:
        return self.parsed.lines()

    def comments(self) -> Iterator[tuple[tuple, str]]:
        """(position, text) of each comment; position is (start_row, start_col, end_row, end_col)."""
        lines = self.lines
        for pos in self.parsed.comments:
            sr, sc, er, ec = pos
            if sr == er:
                raw = lines[sr][sc:ec]
            else:
                raw = b"\n".join([lines[sr][sc:], *lines[sr + 1:er], lines[er][:ec]])
            yield pos, raw.decode("utf-8", "replace")

    @functools.cached_property
    def unit_nodes(self) -> dict:
        """(qualified name, start line) -> the tree node of each unit the walk found."""
        return {(cu.qualname, cu.start_line): cu.node for cu in self.parsed.units}

    def span(self, pos) -> tuple:
        """A hit span (start byte, end byte, start point, end point) from a comment position
        (the comment's node looked up in the tree: no table of line offsets to build)."""
        sr, sc, er, ec = pos
        node = self.root.descendant_for_point_range((sr, sc), (er, ec))
        return (node.start_byte, node.end_byte, (sr, sc), (er, ec))


def node_span(node) -> tuple:
    return (node.start_byte, node.end_byte, node.start_point, node.end_point)


# --- dispatch ---------------------------------------------------------------------------

def run_file_check(ctx, rule) -> Iterator[tuple[tuple, dict]]:
    yield from FILE_CHECKS[rule.check](ctx, rule)


def metric_hits(ctx, rule) -> Iterator[tuple[tuple, dict]]:
    """Functions whose metric exceeds the rule's threshold."""
    nodes = ctx.unit_nodes
    for unit in ctx.result.units:
        node = nodes.get((unit.qualname, unit.start_line))
        if unit.kind == "class" or unit.is_test or node is None:
            continue
        value = unit.metrics.sloc if rule.metric == "sloc" else getattr(unit.metrics, rule.metric)
        if value > rule.threshold:
            yield node_span(node), {"value": value, "name": unit.qualname}


# --- checks shared by both languages ------------------------------------------------------

_MARKER = re.compile(r"\b(TODO|FIXME|XXX|HACK)\b")
_MARKER_WORDS = (b"TODO", b"FIXME", b"XXX", b"HACK")
_SCRATCH = re.compile(r"(^|/)(scratch|tmp|temp|untitled|foo|bar|baz|debug|test\d+|new|copy)"
                      r"\d*\.(rs|py)$|(_old|_bak|_backup|_copy|_orig|\.orig|_new\d*|\d+_copy)\.(rs|py)$")
_CODE_LINE = {
    "rust": re.compile(r"^\s*(let |fn |pub |use |impl |struct |enum |match |if .*\{$|for .* in |"
                       r"while |return\b|\}\s*else|[\w.:\[\]()&*]+\s*[-+*/|&]?=\s*[^=].*;$|"
                       r"[\w.:]+\(.*\);$|\}$|\};$)"),
    "python": re.compile(r"^\s*(def \w+\(|class \w+[(:]|import \w|from [\w.]+ import |return\b|"
                         r"(if|elif|while|for|with|try|except)\b.*:$|else:$|"
                         r"[\w.\[\]'\"]+\s*[-+*/|&]?=\s*[^=]|print\(|[\w.]+\(.*\)$)"),
}
_LINE_COMMENT = {"rust": b"//", "python": b"#"}  # a line comment's opener
_PROSE = re.compile(r"^\s*[A-Z][a-z]+ [a-z]+ [a-z]+|https?://|^\s*(?i:e\.g\.|i\.e\.|see |note:?)")


@_file
def todo_comments(ctx, rule):
    """Comments that mark unfinished work: TODO, FIXME, XXX, HACK as whole words."""
    data = ctx.data
    marks = occurrences(data, _MARKER_WORDS)  # only comments holding a marker's bytes are read
    if not marks:
        return
    comments = ctx.parsed.comments  # (start row, start col, end row, end col), in order
    seen, row, last = set(), 0, 0
    for byte, _end in marks:
        row += data.count(b"\n", last, byte)
        last = byte
        line_start = data.rfind(b"\n", 0, byte) + 1
        col = byte - line_start
        i = bisect.bisect_right(comments, (row, col, _BIG, _BIG)) - 1
        if i < 0 or i in seen or (row, col + 3) > comments[i][2:]:
            continue  # not inside a comment, or that comment is done
        seen.add(i)
        sr, sc, er, ec = pos = comments[i]
        if sr == er == row:
            span = (line_start + sc, line_start + ec, (sr, sc), (er, ec))
        else:
            span = ctx.span(pos)
        m = _MARKER.search(data[span[0]:span[1]].decode("utf-8", "replace"))
        if m:
            yield span, {"marker": m.group(1)}


_BIG = 1 << 62


@_file
def commented_out_code(ctx, rule):
    """Line comments whose text reads as a statement of the file's own language."""
    pattern, prefix, lines = _CODE_LINE[ctx.language], _LINE_COMMENT[ctx.language], ctx.lines
    for pos in ctx.parsed.comments:
        sr, sc, er, ec = pos
        if sr != er:
            continue
        raw = lines[sr][sc:ec]
        if not raw.startswith(prefix) or raw.startswith((b"///", b"//!", b"#!")):
            continue  # a block or doc comment, or a shebang
        body = raw[len(prefix):].decode("utf-8", "replace")
        if body and pattern.match(body) and not _PROSE.match(body) and "audit:" not in body:
            yield ctx.span(pos), {}


@_file
def scratch_file(ctx, rule):
    """Source files whose names say they are scratch, backup or copy files."""
    if _SCRATCH.search(ctx.path):
        yield (0, 0, (0, 0), (0, 0)), {"file": ctx.path}


from audit.rules import checks_python, checks_rust  # noqa: F401  (they register checks)

CHECKS = {**FILTERS, **FILE_CHECKS}
