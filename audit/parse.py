"""One parse per file, reused by every pass: ParsedFile with its CodeUnits.

The tree is walked once (see :mod:`audit.lang.walker`), which finds the code
units, the comments and the structural counts the metrics need. Trees are not
picklable, so a ParsedFile lives only inside the worker that made it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from audit import limits
from audit.lang import LANGUAGES
from audit.results import ErrorSpan
from audit.walk import SourceFile


@dataclass(slots=True, eq=False)
class CodeUnit:
    """A function, method, named closure or class found in the tree.

    Lines are 1-based and inclusive. The counters are filled by the walk.
    """

    qualname: str
    name: str
    kind: str
    node: object  # tree_sitter.Node
    parent: "CodeUnit | None" = None
    is_test: bool = False
    cyclomatic: int = 1
    cognitive: int = 0
    nesting: int = 0
    params: int = 0
    returns: int = 0
    early_exits: int = 0  # Rust `?` operators and Python `raise` statements
    falls_through: bool = True
    structural: int = 0  # cognitive increments that grow with nesting (see lang walkers' fold)
    nest_base: int = 0  # the parent's nesting level where this unit starts

    @property
    def start_line(self) -> int:
        return self.node.start_point[0] + 1

    @property
    def end_line(self) -> int:
        return self.node.end_point[0] + 1

    @property
    def start_byte(self) -> int:
        return self.node.start_byte

    @property
    def end_byte(self) -> int:
        return self.node.end_byte

    @property
    def depth(self) -> int:
        d, p = 0, self.parent
        while p is not None:
            d, p = d + 1, p.parent
        return d


@dataclass(slots=True, eq=False)
class ParsedFile:
    """A source file with its tree, units, comments and error spans."""

    source: SourceFile
    tree: object
    units: list[CodeUnit] = field(default_factory=list)
    # (start_row, start_col, end_row, end_col), 0-based, in tree order
    comments: list[tuple[int, int, int, int]] = field(default_factory=list)
    docstrings: list[tuple[int, int, int, int]] = field(default_factory=list)
    error_spans: tuple[ErrorSpan, ...] = ()
    file_cyclomatic: int = 0  # decisions outside any unit (module-level code)
    # A pass riding on the walk (see audit.lang.walker): the query the walk ran and,
    # in the order found, the matches of its patterns after the walker's own.
    rider_query: object = None
    rider_matches: list = field(default_factory=list)
    _lines: list | None = None

    def lines(self) -> list[bytes]:
        """The source split at newlines (split once: the line table and the rules share it)."""
        if self._lines is None:
            self._lines = self.source.data.split(b"\n")
        return self._lines

    @property
    def data(self) -> bytes:
        return self.source.data

    @property
    def language(self) -> str:
        return self.source.language

    @property
    def root(self):
        return self.tree.root_node


def parse(source: SourceFile, rider_query=None, refuse_floods: bool = False) -> ParsedFile:
    """Parse a source file and walk it once for units, comments and counts.

    ``rider_query``: the walker's query followed by another pass's patterns, whose
    matches the walk then collects in ``rider_matches``. The parse stops at the
    deadline of :mod:`audit.limits` when one is set (FileTimeout). ``refuse_floods``:
    raise limits.Refused for a syntax error holding a long run of unmatched tokens,
    which tree queries would take quadratic time over.
    """
    from audit.lang.walker import walk_tree

    lang = LANGUAGES[source.language]
    tree = limits.parse(lang.parser(), source.data)
    if refuse_floods and tree.root_node.has_error:
        flood = limits.error_flood(tree)
        if flood:
            raise limits.Refused("error-flood", flood)
    parsed = ParsedFile(source, tree, rider_query=rider_query)
    walk_tree(parsed, rider_query, parsed.rider_matches)
    if tree.root_node.has_error:
        parsed.error_spans = tuple(_error_spans(tree))
    return parsed


def _error_spans(tree) -> list[ErrorSpan]:
    """ERROR and MISSING nodes, outermost only (rare, so a second walk is fine)."""
    spans = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            kind = "missing" if node.is_missing else "error"
            spans.append(ErrorSpan(node.start_point[0] + 1, node.end_point[0] + 1, kind))
            continue
        if node.has_error:
            stack.extend(reversed(node.children))
    return spans
