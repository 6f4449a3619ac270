"""The single pass over a tree: units, comments and structural counts.

A walk reaches, in document order (a parent before its children), the nodes of
the kinds a language's ``KINDS`` table names; each goes to its handler. Given no
query, it visits every node with a ``TreeCursor``; the scan gives it its own
query (:meth:`Walker.own_query`), whose captures it reads. When another pass
rides on it (the idiom rules), it runs one tree-sitter query: the walker's
pattern (the handler kinds, see :meth:`Walker.pattern`) first, the pass's
patterns after, so the tree is walked once for both and the pass's matches are
kept on the ParsedFile. No Python recursion any way, so a deeply nested file cannot
overflow the stack. State (current unit, cognitive nesting level, scope names)
is saved on a stack when a construct is entered and restored when the walk
leaves it, which keeps each handler a few lines long.
"""

from __future__ import annotations

from tree_sitter import Query, QueryCursor

from audit.parse import CodeUnit, ParsedFile

PUSHED = 1  # the handler saved state; restore it when the walk leaves the node
SKIP = 2  # do not descend into (or: ignore the nodes inside) this one
CAPTURE = "walker.node"  # the walker pattern's capture name


class Walker:
    """Language-neutral walk engine; subclasses define ``KINDS`` and ``visit``."""

    KINDS: dict[str, str] = {}  # node kind name -> handler name
    SEPARATOR = "::"
    _tables: dict = {}
    _queries: dict = {}

    def __init__(self, parsed: ParsedFile):
        self.parsed = parsed
        self.data = parsed.data
        self.module = CodeUnit("<module>", "<module>", "module", parsed.root)
        self.module.cyclomatic = 0
        self.unit = self.module
        self.cog = 0  # cognitive-complexity nesting level
        self.closure = 0  # anonymous closures/lambdas around the current node, inside the unit
        self.scope: list[str] = list(self.module_path(parsed.source.path))
        self.container = ""  # "impl", "trait", "class" when directly inside one
        self.test = self.is_test_path(parsed.source.path)
        self.stack: list[tuple] = []

    # -- table -------------------------------------------------------------
    @classmethod
    def table(cls, ts_language) -> dict[int, str]:
        key = (cls, id(ts_language))
        table = Walker._tables.get(key)
        if table is None:
            table = {}
            for kind, handler in cls.KINDS.items():
                for named in (True, False):
                    kid = ts_language.id_for_node_kind(kind, named)
                    if kid:
                        table[kid] = handler
            Walker._tables[key] = table
        return table

    def kind_id(self, kind: str, named: bool = True) -> int:
        return self.parsed.tree.language.id_for_node_kind(kind, named)

    # -- state -------------------------------------------------------------
    def push(self, depth: int) -> int:
        self.stack.append((depth, self.unit, self.cog, self.closure, len(self.scope),
                           self.container, self.test))
        return PUSHED

    def pop(self) -> None:
        _, self.unit, self.cog, self.closure, n, self.container, self.test = self.stack.pop()
        del self.scope[n:]

    def nest(self, depth: int) -> int:
        """Enter a construct that raises the nesting level."""
        self.push(depth)
        self.cog += 1
        if self.cog > self.unit.nesting:
            self.unit.nesting = self.cog
        return PUSHED

    def structural(self, depth: int) -> int:
        """An if/loop/match/catch: +1 plus the nesting level, then nest."""
        self.unit.cognitive += 1 + self.cog
        return self.nest(depth)

    def enter_unit(self, depth: int, node, name: str, kind: str) -> CodeUnit:
        self.push(depth)
        qual = self.SEPARATOR.join(self.scope + [name])
        parent = None if self.unit is self.module else self.unit
        unit = CodeUnit(qual, name, kind, node, parent, self.test)
        self.parsed.units.append(unit)
        self.unit, self.cog, self.closure, self.container = unit, 0, 0, ""
        self.scope.append(name)
        return unit

    def add_comment(self, node, depth: int = 0) -> int:
        sr, sc = node.start_point
        er, ec = node.end_point
        self.parsed.comments.append((sr, sc, er, ec))
        return SKIP

    def text(self, node) -> str:
        return self.data[node.start_byte:node.end_byte].decode("utf-8", "replace")

    # -- walk --------------------------------------------------------------
    @classmethod
    def pattern(cls, ts_language) -> str:
        """The walker's query pattern: every kind with a handler that can matter.

        ``v_skip`` kinds are left out: they only spared the old node-by-node walk
        subtrees without control flow, and the query cursor skips those in C.
        """
        alts = []
        for kind, handler in cls.KINDS.items():
            if handler == "v_skip":
                continue
            if ts_language.id_for_node_kind(kind, True):
                alts.append(f"({kind})")
            if ts_language.id_for_node_kind(kind, False):
                alts.append('"' + kind.replace("\\", "\\\\").replace('"', '\\"') + '"')
        return f"[{' '.join(alts)}] @{CAPTURE}"

    def run(self, query: Query | None = None, riders: list | None = None) -> None:
        """Walk the tree: node by node with a TreeCursor or, given ``query`` (the
        walker's pattern first, then a riding pass's), from the query's matches; the
        matches of the later patterns are appended to ``riders`` in the order found.
        Given the walker's pattern alone (:meth:`own_query`), from its captures.

        All ways call the same handlers in the same order (a parent before its
        children) and give the same counts: the query cursor only skips the
        subtrees ``v_skip`` kinds would skip anyway.
        """
        if query is None:
            self._run_cursor()
            return
        nodes = self._captured(query) if query.pattern_count == 1 else None
        if nodes is None:
            nodes = self._matched(QueryCursor(query).matches(self.parsed.root), riders)
        self._visit(nodes)

    def _captured(self, query: Query) -> list | None:
        """The pattern's nodes in document order, parents first, from captures (which
        come without a match's tuple and dict each: CCC's walk query 0.79 -> 0.57 s),
        or None where that order could be ambiguous (a syntax error, with its
        zero-width MISSING nodes; two nodes over the same bytes)."""
        if self.parsed.root.has_error:
            return None
        nodes = QueryCursor(query).captures(self.parsed.root).get(CAPTURE, [])
        keyed = sorted((n.start_byte, -n.end_byte, i) for i, n in enumerate(nodes))
        if any(a[:2] == b[:2] for a, b in zip(keyed, keyed[1:])):
            return None
        return [nodes[i] for _, _, i in keyed]

    @staticmethod
    def _matched(matches, riders: list | None):
        """The walker pattern's nodes of ``matches``; the other patterns' go to riders."""
        for index, caps in matches:
            if index:
                if riders is not None:
                    riders.append((index, caps))
                continue
            yield caps[CAPTURE][0]

    def _visit(self, nodes) -> None:
        """Hand each node to its handler, restoring the state past each construct."""
        handlers = self._handlers()
        stack = self.stack
        top = -1  # end byte of the innermost construct on the stack, -1 when empty
        skip_until = -1
        for node in nodes:
            start = node.start_byte
            if start < skip_until:
                continue
            end = node.end_byte
            if 0 <= top <= start and top < end:  # past the construct: restore the state
                while stack and stack[-1][0] <= start and stack[-1][0] < end:
                    self.pop()
                top = stack[-1][0] if stack else -1
            action = handlers[node.kind_id](node, end)
            if action == PUSHED:
                top = end
            elif action == SKIP:
                skip_until = end
        while stack:
            self.pop()
        self.parsed.file_cyclomatic = self.module.cyclomatic

    @classmethod
    def own_query(cls, ts_language) -> Query:
        """The walker's pattern alone, compiled once per process and language."""
        key = (cls, id(ts_language))
        query = Walker._queries.get(key)
        if query is None:
            query = Walker._queries[key] = Query(ts_language, cls.pattern(ts_language))
        return query

    def _handlers(self) -> list:
        """This walker's bound handlers, indexed by kind id (None: no handler)."""
        language = self.parsed.tree.language
        table = self.table(language)
        handlers = [None] * max(language.node_kind_count, max(table, default=0) + 1)
        for kid, name in table.items():
            handlers[kid] = getattr(self, name)
        return handlers

    def _run_cursor(self) -> None:
        """Visit every node with a TreeCursor; only the kinds in the table reach a handler."""
        handlers = self._handlers()
        count = len(handlers)  # ERROR nodes (kind id 65535) lie past the end
        cursor = self.parsed.tree.walk()
        stack = self.stack
        depth, top = 0, -1
        while True:
            node = cursor.node
            if top >= depth:
                while stack and stack[-1][0] >= depth:
                    self.pop()
                top = stack[-1][0] if stack else -1
            kid = node.kind_id
            handler = handlers[kid] if kid < count else None
            action = handler(node, depth) if handler is not None else 0
            if action == PUSHED:
                top = depth
            if action != SKIP and cursor.goto_first_child():
                depth += 1
                continue
            while not cursor.goto_next_sibling():
                if not cursor.goto_parent():
                    while stack:
                        self.pop()
                    self.parsed.file_cyclomatic = self.module.cyclomatic
                    return
                depth -= 1

    # -- per-language hooks ------------------------------------------------
    @staticmethod
    def module_path(path: str) -> list[str]:
        return []

    @staticmethod
    def is_test_path(path: str) -> bool:
        return False


def walker_for(language: str):
    """The Walker subclass for a language, or None."""
    from audit.lang import python, rust

    walkers = {"rust": rust.RustWalker, "python": python.PythonWalker}
    return walkers.get(language) or _extra_walkers().get(language)


def walk_query(language: str) -> Query | None:
    """The walker's own query for a language (see Walker.own_query), None without a walker."""
    from audit.lang import LANGUAGES

    walker_cls = walker_for(language)
    return walker_cls.own_query(LANGUAGES[language].ts_language) if walker_cls else None


def walk_tree(parsed: ParsedFile, query: Query | None = None, riders: list | None = None) -> None:
    """Run the walker for the parsed file's language (see Walker.run)."""
    walker_cls = walker_for(parsed.language)
    if walker_cls is not None:
        walker_cls(parsed).run(query, riders)


def _extra_walkers() -> dict:
    """Walkers for corpus-only languages (C, C++), when their module exists."""
    try:
        from audit.lang import cfamily
    except ImportError:
        return {}
    return cfamily.WALKERS
