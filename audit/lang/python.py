"""Python: how the walk finds units and what each construct adds to each metric.

Cyclomatic complexity follows radon's ``ComplexityVisitor`` so the tree-sitter
count can be checked against radon (which supplies the reported value):

=========================  ==========  =========================================
construct                  cyclomatic  cognitive
=========================  ==========  =========================================
``if``                     +1          +1 + nesting, nests its branches
``elif``                   +1          +1 (hybrid)
``else`` of ``if``         0           +1 (hybrid)
``else`` of a loop         +1          +1 (hybrid)
``else`` of ``try``        +1          0
``for`` / ``while``        +1          +1 + nesting, nests its body
``except`` clause          +1 each     +1 + nesting, nests
``x if c else y``          +1          +1 + nesting, nests
``and`` / ``or``           +1 each     +1 per run of the same operator
comprehension ``for``      +1          0
comprehension ``if``       +1          0
``match``                  cases, -1 if a catch-all case   +1 + nesting, nests its cases
``assert``                 +1, nothing inside (radon)      its expression as code
``lambda``                 inline      inline, nests (no increment)
nested ``def``             own unit    inline, nests (no increment)
nested ``class``           own unit    own unit
=========================  ==========  =========================================

A condition is not nested under its own structure: the level rises where the
body starts. Units: functions, methods, nested functions and classes; a nested
function is also counted in its parent (see :mod:`audit.lang.counting`). Exit
points: ``return`` and ``raise`` statements, plus one when the body can fall
off its end.
"""

from __future__ import annotations

from audit.lang.counting import Counting
from audit.lang.walker import PUSHED, SKIP, Walker

_PARAM_KINDS = frozenset({
    "identifier", "typed_parameter", "default_parameter", "typed_default_parameter",
    "list_splat_pattern", "dictionary_splat_pattern",
})


class PythonWalker(Counting, Walker):
    SEPARATOR = "."
    KINDS = {
        "function_definition": "v_function",
        "class_definition": "v_class",
        "lambda": "v_lambda",
        "if_statement": "v_branch",
        "for_statement": "v_loop",
        "while_statement": "v_loop",
        "except_clause": "v_structural_decision",
        "except_group_clause": "v_structural_decision",
        "conditional_expression": "v_structural_decision",
        "elif_clause": "v_elif",
        "else_clause": "v_else",
        "boolean_operator": "v_boolean",
        "for_in_clause": "v_decision",
        "if_clause": "v_decision",
        "match_statement": "v_match",
        "return_statement": "v_return",
        "raise_statement": "v_raise",
        "comment": "add_comment",
        "assert_statement": "v_assert",
        "import_statement": "v_skip",
        "import_from_statement": "v_skip",
    }

    def __init__(self, parsed):
        super().__init__(parsed)
        self.k_if = self.kind_id("if_statement")
        self.k_try = self.kind_id("try_statement")
        self.k_boolean = self.kind_id("boolean_operator")
        field = parsed.tree.language.field_id_for_name
        self.f_left, self.f_right, self.f_operator = field("left"), field("right"), field("operator")
        self.f_body, self.f_consequence = field("body"), field("consequence")
        self.pending = []
        self.assert_end = -1  # inside an assert: radon counts no decision, cognitive still does
        self._docstring(parsed.root)

    def run(self, query=None, riders=None) -> None:
        super().run(query, riders)
        self.fold_units(("function",), ())

    @staticmethod
    def module_path(path: str) -> list[str]:
        stem = path.rsplit(".", 1)[0]
        parts = [p for p in stem.split("/") if p and p != "."]
        if parts and parts[-1] == "__init__":
            parts = parts[:-1]
        if parts and parts[0] == "src":
            parts = parts[1:]
        return parts

    @staticmethod
    def is_test_path(path: str) -> bool:
        parts = path.split("/")
        name = parts[-1]
        return (name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py"
                or "tests" in parts[:-1] or "test" in parts[:-1])

    def _docstring(self, block) -> None:
        if block is None or not block.named_child_count:
            return
        first = block.named_child(0)
        if first.type == "expression_statement" and first.named_child_count == 1 \
                and first.named_child(0).type == "string":
            sr, sc = first.start_point
            er, ec = first.end_point
            self.parsed.docstrings.append((sr, sc, er, ec))

    # -- units -------------------------------------------------------------
    def v_function(self, node, depth):
        name_node = node.child_by_field_name("name")
        body = node.child_by_field_name("body")
        if name_node is None or body is None:
            return 0
        kind = "method" if self.unit.kind == "class" and not self.closure else "function"
        if self.pending:
            self.sync(node)
        base = self.cog
        unit = self.enter_unit(depth, node, self.text(name_node), kind)
        unit.nest_base = base
        params = node.child_by_field_name("parameters")
        if params is not None:
            unit.params = sum(1 for c in params.named_children if c.type in _PARAM_KINDS)
        n = body.named_child_count
        last = body.named_child(n - 1) if n else None
        unit.falls_through = last is None or last.type not in ("return_statement", "raise_statement")
        self._docstring(body)
        return PUSHED

    def v_class(self, node, depth):
        name_node = node.child_by_field_name("name")
        if name_node is None:
            return 0
        self.enter_unit(depth, node, self.text(name_node), "class")
        self._docstring(node.child_by_field_name("body"))
        return PUSHED

    def v_lambda(self, node, depth):
        if not node.is_named:
            return 0  # the `lambda` keyword inside the lambda node (the table maps both kinds)
        if self.pending:
            self.sync(node)
        action = self.nest(depth)
        self.closure += 1
        return action

    # -- control flow ------------------------------------------------------
    def v_structural_decision(self, node, depth):
        """Conditional expressions and except clauses: nested as a whole."""
        if node.start_byte >= self.assert_end:
            self.unit.cyclomatic += 1
        return self.structural_at(node, depth, None)

    def v_branch(self, node, depth):
        self.unit.cyclomatic += 1
        return self.structural_at(node, depth, node.child_by_field_id(self.f_consequence))

    def v_loop(self, node, depth):
        self.unit.cyclomatic += 1
        return self.structural_at(node, depth, node.child_by_field_id(self.f_body))

    def v_decision(self, node, depth):
        if node.start_byte >= self.assert_end:
            self.unit.cyclomatic += 1
        return 0

    def v_elif(self, node, depth):
        self.unit.cyclomatic += 1
        self.unit.cognitive += 1
        return 0

    def v_else(self, node, depth):
        parent = node.parent
        kid = parent.kind_id if parent is not None else 0
        if kid == self.k_if:
            self.unit.cognitive += 1
        elif kid == self.k_try:
            self.unit.cyclomatic += 1
        else:  # for/while ... else
            self.unit.cyclomatic += 1
            self.unit.cognitive += 1
        return 0

    def v_boolean(self, node, depth):
        """Operands and operator are found by field: a comment inside the chain is a child too."""
        op = node.child_by_field_id(self.f_operator)
        unit = self.unit
        if node.start_byte >= self.assert_end:
            unit.cyclomatic += 1
        unit.cognitive += 1
        if op is None:
            return 0
        for side in (node.child_by_field_id(self.f_left), node.child_by_field_id(self.f_right)):
            if side is not None and side.kind_id == self.k_boolean:
                side_op = side.child_by_field_id(self.f_operator)
                if side_op is not None and side_op.kind_id == op.kind_id:
                    unit.cognitive -= 1
        return 0

    def v_match(self, node, depth):
        body = node.child_by_field_name("body")
        cases = [c for c in body.named_children if c.type == "case_clause"] if body else []
        catch_all = any(_is_catch_all(c) for c in cases)
        self.unit.cyclomatic += max(0, len(cases) - catch_all)
        return self.structural_at(node, depth, body)

    def v_return(self, node, depth):
        if not self.closure:
            self.unit.returns += 1
        return 0

    def v_raise(self, node, depth):
        if not self.closure:
            self.unit.early_exits += 1
        return 0

    def v_assert(self, node, depth):
        # radon counts an assert as one decision and does not look inside it; the
        # cognitive count reads its condition like any other (`assert a and b`: +1)
        self.unit.cyclomatic += 1
        self.assert_end = node.end_byte
        return 0

    def v_skip(self, node, depth):
        # Imports hold no control flow: not descended, unless a comment may hide inside.
        return 0 if self.data.find(b"#", node.start_byte, node.end_byte) >= 0 else SKIP


def _is_catch_all(case) -> bool:
    """``case _:`` or ``case name:`` (radon: a MatchAs with no sub-pattern)."""
    patterns = [c for c in case.named_children if c.type == "case_pattern"]
    if len(patterns) != 1:
        return False
    pat = patterns[0]
    if pat.named_child_count == 0:
        return pat.text == b"_"
    return pat.named_child_count == 1 and pat.named_child(0).type in ("identifier", "dotted_name") \
        and b"." not in pat.text
