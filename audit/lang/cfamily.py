"""C and C++: how the walk finds units (corpus-only languages, never audited).

Units are ``function_definition`` nodes. In C++ the enclosing namespaces and
classes/structs name the unit (``ns::Class::method``); a definition inside a
class body is a ``method``. Files are parsed without preprocessing, so macros
often leave ERROR nodes: the walk goes through them like any other node, so a
function inside a macro-damaged region is still found when its shape survives.

Cyclomatic counting (a bonus; provenance only needs the units):

=====================================  ==========  ===========================
construct                              cyclomatic  cognitive
=====================================  ==========  ===========================
``if``                                 +1          +1 + nesting, nests
``else``                               0           +1 (hybrid)
``while`` / ``for`` / ``do``           +1          +1 + nesting, nests
``switch``                             0           +1 + nesting, nests
``case`` (not ``default``)             +1          0
``&&`` / ``||``                        +1 each     +1 each
``?:``                                 +1          +1 + nesting, nests
``catch``                              +1          +1 + nesting, nests
``goto``                               0           +1
=====================================  ==========  ===========================
"""

from __future__ import annotations

from audit.lang.walker import PUSHED, SKIP, Walker

_NAME_KINDS = ("identifier", "field_identifier", "qualified_identifier", "destructor_name",
               "operator_name", "template_function", "operator_cast")


class CWalker(Walker):
    SEPARATOR = "::"
    KINDS = {
        "function_definition": "v_function",
        "if_statement": "v_decision",
        "while_statement": "v_decision",
        "for_statement": "v_decision",
        "do_statement": "v_decision",
        "conditional_expression": "v_decision",
        "switch_statement": "v_switch",
        "case_statement": "v_case",
        "else_clause": "v_else",
        "binary_expression": "v_binary",
        "goto_statement": "v_goto",
        "return_statement": "v_return",
        "comment": "add_comment",
        "string_literal": "v_skip",
        "char_literal": "v_skip",
    }

    def __init__(self, parsed):
        super().__init__(parsed)
        self.k_and = self.kind_id("&&", False)
        self.k_or = self.kind_id("||", False)

    # -- units -------------------------------------------------------------
    def v_function(self, node, depth):
        declarator = node.child_by_field_name("declarator")
        name = self._function_name(declarator)
        if name is None or node.child_by_field_name("body") is None:
            return 0
        kind = "method" if self.container == "class" or "::" in name else "function"
        unit = self.enter_unit(depth, node, name, kind)
        params = self._parameters(declarator)
        if params is not None:
            unit.params = sum(1 for c in params.named_children if c.type.endswith("declaration"))
        return PUSHED

    def _function_name(self, declarator) -> str | None:
        """The declared name under pointer/reference/attributed declarators."""
        node = declarator
        while node is not None:
            if node.type in _NAME_KINDS:
                return self.text(node)
            node = node.child_by_field_name("declarator")
        return None

    @staticmethod
    def _parameters(declarator):
        node = declarator
        while node is not None:
            if node.type == "function_declarator":
                return node.child_by_field_name("parameters")
            node = node.child_by_field_name("declarator")
        return None

    # -- control flow ------------------------------------------------------
    def v_decision(self, node, depth):
        self.unit.cyclomatic += 1
        return self.structural(depth)

    def v_switch(self, node, depth):
        return self.structural(depth)

    def v_case(self, node, depth):
        if node.child_by_field_name("value") is not None:
            self.unit.cyclomatic += 1
        return 0

    def v_else(self, node, depth):
        self.unit.cognitive += 1
        return 0

    def v_binary(self, node, depth):
        op = node.child_by_field_name("operator")
        if op is not None and op.kind_id in (self.k_and, self.k_or):
            self.unit.cyclomatic += 1
            self.unit.cognitive += 1
        return 0

    def v_goto(self, node, depth):
        self.unit.cognitive += 1
        return 0

    def v_return(self, node, depth):
        self.unit.returns += 1
        return 0

    def v_skip(self, node, depth):
        return SKIP


class CppWalker(CWalker):
    KINDS = {
        **CWalker.KINDS,
        "namespace_definition": "v_namespace",
        "class_specifier": "v_class",
        "struct_specifier": "v_class",
        "union_specifier": "v_class",
        "catch_clause": "v_decision",
        "raw_string_literal": "v_skip",
    }

    def v_namespace(self, node, depth):
        name_node = node.child_by_field_name("name")
        self.push(depth)
        self.scope.append(self.text(name_node) if name_node is not None else "(anonymous)")
        self.container = ""
        return PUSHED

    def v_class(self, node, depth):
        name_node = node.child_by_field_name("name")
        if name_node is None or node.child_by_field_name("body") is None:
            return 0
        self.push(depth)
        self.scope.append(self.text(name_node))
        self.container = "class"
        return PUSHED


WALKERS = {"c": CWalker, "cpp": CppWalker}
