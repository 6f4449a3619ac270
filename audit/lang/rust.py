"""Rust: how the walk finds units and what each construct adds to each metric.

The counting table (also in docs/metrics.md, one test per row):

=========================  ==========  =========================================
construct                  cyclomatic  cognitive
=========================  ==========  =========================================
``if`` / ``if let``        +1          +1 + nesting, nests its branches
``else if``                +1          +1 (hybrid, no nesting increment)
``else``                   0           +1 (hybrid)
``match``                  arms - 1    +1 + nesting, nests its arms
match arm guard ``if``     +1          0
``while`` / ``while let``  +1          +1 + nesting, nests its body
``for``                    +1          +1 + nesting, nests its body
``loop``                   0           +1 + nesting, nests
``&&`` / ``||``            +1 each     +1 per run of the same operator
``let ... else``           +1          +1 (hybrid)
``break 'l`` / ``continue 'l``  0      +1
``?``                      +1          0 (also an exit point)
closure                    inline      inline, nests (no increment)
nested ``fn``              own unit    inline, nests (no increment)
macro arguments            as code     as code (when they parse as expressions)
=========================  ==========  =========================================

A condition is not nested under its own structure: the level rises where the
body starts. Units: free functions, methods in ``impl`` blocks, trait default
methods, nested functions and closures bound by ``let name = |..| ..`` (these
two are also counted in their parent, see :mod:`audit.lang.counting`).
Exit points: ``return`` and ``?`` outside closures, plus one for the tail.
"""

from __future__ import annotations

import re

from audit.lang.counting import Counting, fold_into
from audit.lang.walker import PUSHED, SKIP, Walker
from audit.parse import ParsedFile
from audit.walk import SourceFile

_TEST_ATTRS = (b"test", b"cfg(test)", b"rstest", b"proptest", b"bench")
_ARRAY_MACROS = (b"vec",)
MACRO_DEPTH = 8  # macro calls nested deeper than this inside macro arguments are not measured
# a macro's tokens can hold a decision only if they hold one of these (strings dropped first)
_DECISION_TOKENS = re.compile(rb"&&|\|\||\?|\b(?:if|match|while|for|loop)\b")
_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"')


class RustWalker(Counting, Walker):
    SEPARATOR = "::"
    KINDS = {
        "function_item": "v_function",
        "closure_expression": "v_closure",
        "impl_item": "v_impl",
        "trait_item": "v_trait",
        "mod_item": "v_mod",
        "if_expression": "v_if",
        "else": "v_else",
        "match_expression": "v_match",
        "while_expression": "v_loop_cond",
        "for_expression": "v_loop_cond",
        "loop_expression": "v_loop",
        "&&": "v_logical",
        "||": "v_logical",
        "break_expression": "v_jump",
        "continue_expression": "v_jump",
        "try_expression": "v_try",
        "macro_invocation": "v_macro",
        "return_expression": "v_return",
        "line_comment": "add_comment",
        "block_comment": "add_comment",
        "token_tree": "v_skip",
        "string_literal": "v_skip",
        "raw_string_literal": "v_skip",
        "attribute_item": "v_skip",
        "inner_attribute_item": "v_skip",
        "use_declaration": "v_skip",
        # Types, signatures and item declarations hold no control flow: not descended.
        "parameters": "v_skip",
        "type_arguments": "v_skip",
        "type_parameters": "v_skip",
        "generic_type": "v_skip",
        "reference_type": "v_skip",
        "scoped_type_identifier": "v_skip",
        "tuple_type": "v_skip",
        "array_type": "v_skip",
        "pointer_type": "v_skip",
        "function_type": "v_skip",
        "where_clause": "v_skip",
        "trait_bounds": "v_skip",
        "field_declaration_list": "v_skip",
        "enum_variant_list": "v_skip",
        "macro_definition": "v_skip",
        "scoped_identifier": "v_skip",
    }

    def __init__(self, parsed):
        super().__init__(parsed)
        self.k_else = self.kind_id("else_clause")
        self.k_binary = self.kind_id("binary_expression")
        self.k_label = self.kind_id("label")
        self.k_arm = self.kind_id("match_arm")
        self.k_let = self.kind_id("let_declaration")
        self.k_identifier = self.kind_id("identifier")
        field = parsed.tree.language.field_id_for_name
        self.f_body, self.f_pattern = field("body"), field("pattern")
        self.f_value, self.f_alternative = field("value"), field("alternative")
        self.f_left, self.f_right, self.f_operator = field("left"), field("right"), field("operator")
        self.k_return = self.kind_id("return_expression")
        self.f_consequence = field("consequence")
        self.pending = []
        self.macros: list[tuple] = []  # (unit, nesting level, inside a closure, name, token tree)

    def run(self, query=None, riders=None) -> None:
        super().run(query, riders)
        if self.macros:
            self._measure_macros()
        self.fold_units(("function", "closure"), ("closure",))

    @staticmethod
    def module_path(path: str) -> list[str]:
        parts = path[:-3].split("/") if path.endswith(".rs") else path.split("/")
        if "src" in parts:
            parts = parts[len(parts) - parts[::-1].index("src"):]
        if parts and parts[-1] in ("mod", "lib", "main"):
            parts = parts[:-1]
        return [p for p in parts if p and p != "."]

    @staticmethod
    def is_test_path(path: str) -> bool:
        parts = path.split("/")
        return "tests" in parts[:-1] or "benches" in parts[:-1]

    # -- units -------------------------------------------------------------
    def v_function(self, node, depth):
        name_node = node.child_by_field_name("name")
        body = node.child_by_field_name("body")
        if name_node is None or body is None:
            return 0
        kind = "method" if self.container in ("impl", "trait") else "function"
        test = self.test or _has_test_attr(node)
        if self.pending:
            self.sync(node)
        base = self.cog
        unit = self.enter_unit(depth, node, self.text(name_node), kind)
        unit.nest_base = base
        unit.is_test = self.test = test
        params = node.child_by_field_name("parameters")
        if params is not None:
            unit.params = sum(1 for c in params.named_children
                              if c.type in ("parameter", "self_parameter", "variadic_parameter"))
        unit.falls_through = not self._ends_in_return(body)
        return PUSHED

    def _ends_in_return(self, body) -> bool:
        n = body.named_child_count
        last = body.named_child(n - 1) if n else None
        if last is not None and last.type == "expression_statement" and last.named_child_count:
            last = last.named_child(0)
        return last is not None and last.kind_id == self.k_return

    def v_closure(self, node, depth):
        if self.pending:
            self.sync(node)
        name = self._let_name(node)
        if name is None:
            action = self.nest(depth)
            self.closure += 1
            return action
        base = self.cog
        unit = self.enter_unit(depth, node, name, "closure")
        unit.nest_base = base
        params = node.child_by_field_name("parameters")
        if params is not None:
            unit.params = sum(1 for c in params.named_children if c.type != "attribute_item")
        return PUSHED

    def _let_name(self, closure) -> str | None:
        """The name a closure is bound to by `let name = |..| ..`, or None."""
        let = closure.parent
        if let is None or let.kind_id != self.k_let:
            return None
        value, pattern = let.child_by_field_id(self.f_value), let.child_by_field_id(self.f_pattern)
        if value is None or value.start_byte != closure.start_byte or pattern is None \
                or pattern.kind_id != self.k_identifier:
            return None
        return self.text(pattern)

    def v_impl(self, node, depth):
        type_node = node.child_by_field_name("type")
        name = self.text(type_node).split("<", 1)[0].strip() if type_node is not None else "impl"
        self.push(depth)
        self.scope.append(name)
        self.container = "impl"
        return PUSHED

    def v_trait(self, node, depth):
        name_node = node.child_by_field_name("name")
        self.push(depth)
        self.scope.append(self.text(name_node) if name_node is not None else "trait")
        self.container = "trait"
        return PUSHED

    def v_mod(self, node, depth):
        name_node = node.child_by_field_name("name")
        if node.child_by_field_name("body") is None or name_node is None:
            return 0
        self.push(depth)
        self.scope.append(self.text(name_node))
        self.container = ""
        self.test = self.test or _has_test_attr(node)
        return PUSHED

    # -- control flow ------------------------------------------------------
    def v_if(self, node, depth):
        self.unit.cyclomatic += 1
        parent = node.parent
        if parent is not None and parent.kind_id == self.k_else:
            return 0  # `else if`: the else clause already counted it, no new nesting
        return self.structural_at(node, depth, node.child_by_field_id(self.f_consequence))

    def v_else(self, node, depth):
        """An `else` keyword: of an if's else clause (+1 cognitive, hybrid) or of a
        `let ... else` (+1 each). The walk reaches the keyword, not every `let`."""
        parent = node.parent
        if parent is None:
            return 0
        if parent.kind_id == self.k_else:
            self.unit.cognitive += 1
        elif parent.kind_id == self.k_let and parent.child_by_field_id(self.f_alternative) is not None:
            self.unit.cyclomatic += 1
            self.unit.cognitive += 1
        return 0

    def v_match(self, node, depth):
        # a match with n arms adds n - 1 decisions, and each arm's `if` guard one more;
        # counted here rather than arm by arm: one visit per match instead of two per arm
        body = node.child_by_field_id(self.f_body)
        decisions = -1
        if body is not None:
            for arm in body.named_children:
                if arm.kind_id == self.k_arm:
                    decisions += 1
                    pattern = arm.child_by_field_id(self.f_pattern)
                    if pattern is not None and pattern.child_count >= 3:  # `pat if guard`
                        decisions += 1
        self.unit.cyclomatic += max(decisions, 0)  # no arms (`match x {}`, a broken match): 0
        return self.structural_at(node, depth, body)

    def v_loop_cond(self, node, depth):
        self.unit.cyclomatic += 1
        return self.structural_at(node, depth, node.child_by_field_id(self.f_body))

    def v_loop(self, node, depth):
        return self.structural_at(node, depth, None)

    def v_logical(self, node, depth):
        """An `&&` or `||` operator token: its binary expression adds a decision.

        The walk reaches the operator rather than every binary expression: far fewer
        visits, and only the logical ones count. Operands are found by field, so a
        comment between an operand and the operator does not hide either. A token
        that is not a binary expression's operator (in a macro's tokens) counts nothing.
        """
        expr = node.parent
        if expr is None or expr.kind_id != self.k_binary:
            return 0
        unit = self.unit
        unit.cyclomatic += 1
        unit.cognitive += 1
        for field in (self.f_left, self.f_right):
            side = expr.child_by_field_id(field)
            if side is not None and side.kind_id == self.k_binary:
                side_op = side.child_by_field_id(self.f_operator)
                if side_op is not None and side_op.kind_id == node.kind_id:
                    unit.cognitive -= 1  # same operator: one run, counted once
        return 0

    def v_jump(self, node, depth):
        if node.named_child_count and node.named_child(0).kind_id == self.k_label:
            self.unit.cognitive += 1
        return 0

    def v_try(self, node, depth):
        self.unit.cyclomatic += 1  # an early exit is a decision (as lizard counts it)
        if not self.closure:
            self.unit.early_exits += 1
        return 0

    def v_return(self, node, depth):
        if not self.closure:
            self.unit.returns += 1
        return 0

    macro_depth = 0  # how many macro argument lists deep this walk is

    def v_macro(self, node, depth):
        """A macro call inside a unit: its arguments are measured after the walk."""
        tt = node.child(node.child_count - 1)
        if self.unit is self.module or tt is None or tt.end_byte - tt.start_byte < 3 \
                or self.macro_depth >= MACRO_DEPTH:
            return 0
        inner = _STRINGS.sub(b"", self.data[tt.start_byte + 1:tt.end_byte - 1])
        if _DECISION_TOKENS.search(inner) is None:
            return 0
        if self.pending:
            self.sync(node)
        name = node.child_by_field_name("macro")
        self.macros.append((self.unit, self.cog, self.closure,
                            self.data[name.start_byte:name.end_byte] if name else b"", tt))
        return 0

    def _measure_macros(self) -> None:
        """Re-parse the macro arguments that read as expressions and count them in their units.

        Each argument list becomes the body of its own synthetic function, so one
        parse and one walk measure them all; a list that does not parse as
        expressions (a macro's own syntax) counts nothing.
        """
        chunks, starts, pos = [], {}, 0
        for i, (_, _, _, name, tt) in enumerate(self.macros):
            open_, close = (b"[", b"]") if name in _ARRAY_MACROS else (b"__m(", b")")
            chunk = b"fn __m() { " + open_ + self.data[tt.start_byte + 1:tt.end_byte - 1] + close + b"; }\n"
            starts[pos] = i
            chunks.append(chunk)
            pos += len(chunk)
        text = b"".join(chunks)
        tree = _parser().parse(text)
        sub = ParsedFile(SourceFile(self.parsed.source.path, "rust", text, ""), tree)
        walker = RustWalker(sub)
        walker.macro_depth = self.macro_depth + 1  # each level re-parses the one inside it
        walker.run()
        for unit in sub.units:
            i = starts.get(unit.start_byte) if unit.parent is None else None
            if i is None or unit.node.has_error:
                continue
            owner, level, closure, _, _ = self.macros[i]
            fold_into(owner, unit, level, True)
            if not closure:
                owner.early_exits += unit.early_exits
                owner.returns += unit.returns

    def v_skip(self, node, depth):
        # Subtrees without control flow are not descended, unless a comment may hide inside.
        return 0 if self.data.find(b"/", node.start_byte, node.end_byte) >= 0 else SKIP


def _parser():
    from audit.lang import LANGUAGES

    return LANGUAGES["rust"].parser()


def _has_test_attr(node) -> bool:
    """True when an attribute right before the item marks it as test code."""
    sib = node.prev_named_sibling
    while sib is not None and sib.type in ("attribute_item", "line_comment", "block_comment"):
        if sib.type == "attribute_item":
            text = sib.text.replace(b" ", b"")
            if any(mark in text for mark in _TEST_ATTRS) and b"not(test)" not in text:
                return True
        sib = sib.prev_named_sibling
    return False
