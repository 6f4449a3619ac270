"""Rust rule checks that a query alone cannot express (registered into audit.rules.checks)."""

from __future__ import annotations

import re

from audit.rules.checks import _file, _filter

_PARAM_KINDS = ("parameter", "self_parameter", "variadic_parameter")


def _in_trait_impl(node) -> bool:
    """True for a method of `impl Trait for Type`: the trait fixes its signature."""
    parent = node.parent
    while parent is not None and parent.type == "declaration_list":
        parent = parent.parent
    return parent is not None and parent.type == "impl_item" and \
        parent.child_by_field_name("trait") is not None


@_filter
def too_many_params(ctx, rule, node, caps):
    """Functions with more parameters than the threshold, outside trait impls."""
    params = node.child_by_field_name("parameters")
    if params is None or params.named_child_count <= rule.threshold:
        return None  # not even that many named children
    count = sum(1 for c in params.named_children if c.type in _PARAM_KINDS)
    if count <= rule.threshold or _in_trait_impl(node):
        return None
    return {"count": count}


_COMMENT = re.compile(rb"//[^\n]*|/\*.*?(?:\*/|\Z)", re.DOTALL)  # first opener wins, as in a lexer


def code_lines(body: bytes) -> int:
    """Lines holding code in a block, clippy's way: braces dropped, comment-only lines skipped."""
    if body.startswith(b"{") and body.endswith(b"}"):
        body = body[1:-1]
    text = _COMMENT.sub(lambda m: b"\n" * m.group().count(b"\n"), body)
    return sum(1 for line in text.split(b"\n") if line.strip())


@_filter
def long_body(ctx, rule, node, caps):
    """Function bodies with more code lines than the threshold."""
    body = node.child_by_field_name("body")
    if body is None or body.end_point[0] - body.start_point[0] + 1 <= rule.threshold:
        return None  # too few lines between the braces to exceed the threshold
    count = code_lines(body.text)
    return {"count": count} if count > rule.threshold else None


def _statement_of(node):
    """The statement or item holding a node: the ancestor whose parent is a block or file."""
    while node.parent is not None and node.parent.type not in (
            "block", "source_file", "declaration_list"):
        node = node.parent
    return node


@_filter
def no_safety_comment(ctx, rule, node, caps):
    """`unsafe` blocks without a `SAFETY:` comment on the lines just above their statement."""
    row = node.start_point[0]
    if b"SAFETY:" in ctx.lines[row][:node.start_point[1]].upper():
        return None
    top = _statement_of(node).start_point[0]
    for r in range(min(top, row) - 1, -1, -1):
        line = ctx.lines[r].strip()
        if b"SAFETY:" in line.upper():
            return None
        if line and not line.startswith((b"//", b"/*", b"*", b"#[")):
            break
    return True


@_filter
def outside_main(ctx, rule, node, caps):
    """Hits outside the `main` function."""
    parent = node.parent
    while parent is not None:
        if parent.type == "function_item":
            name = parent.child_by_field_name("name")
            return name is None or name.text != b"main"
        parent = parent.parent
    return True


@_filter
def many_arms(ctx, rule, node, caps):
    """`match` expressions with more arms than the threshold."""
    body = node.child_by_field_name("body")
    if body is None or body.named_child_count <= rule.threshold:
        return None  # not even that many named children
    count = sum(1 for c in body.named_children if c.type == "match_arm")
    return {"count": count} if count > rule.threshold else None


def top_level_commas(tt) -> int:
    """Commas directly inside a token tree, a trailing one not counted."""
    kids = [c for c in tt.children if c.type not in ("(", ")", "[", "]", "{", "}")]
    commas = sum(1 for c in kids if c.type == ",")
    return commas - (1 if kids and kids[-1].type == "," else 0)


@_filter
def no_assert_message(ctx, rule, node, caps):
    """`assert!(c)`, `assert_eq!(a, b)` and kin without a message argument."""
    name = caps["name"][0].text
    tt = caps["tt"][0]
    needed = 1 if name in (b"assert", b"debug_assert") else 2
    return top_level_commas(tt) < needed


def _field_types(node):
    body = node.child_by_field_name("body")
    if body is None or body.type != "field_declaration_list":
        return []
    return [c for c in body.named_children if c.type == "field_declaration"]


@_filter
def bool_fields(ctx, rule, node, caps):
    """Structs with more `bool` fields than the threshold."""
    count = sum(1 for f in _field_types(node)
                if (t := f.child_by_field_name("type")) is not None and t.text == b"bool")
    return {"count": count} if count > rule.threshold else None


@_filter
def mixed_visibility(ctx, rule, node, caps):
    """Structs with both public and private named fields; reported at the first odd one out."""
    fields = _field_types(node)  # `pub(crate)` and kin count as private, as in clippy
    pub = [any(c.type == "visibility_modifier" and c.text == b"pub" for c in f.children)
           for f in fields]
    for f, p in zip(fields, pub):
        if p != pub[0]:
            return {"_node": f}
    return None


@_filter
def not_else_if(ctx, rule, node, caps):
    """`if` expressions that are not the `else if` branch of a chain."""
    return node.parent is None or node.parent.type != "else_clause"


@_filter
def bool_params(ctx, rule, node, caps):
    """Functions with more `bool` parameters than the threshold, outside trait impls."""
    params = node.child_by_field_name("parameters")
    if params is None or params.text.count(b"bool") <= rule.threshold:
        return None  # a bool parameter's type spells `bool`
    count = sum(1 for p in params.named_children if p.type == "parameter"
                and (t := p.child_by_field_name("type")) is not None and t.text == b"bool")
    if count <= rule.threshold or _in_trait_impl(node):
        return None
    return {"count": count}


@_filter
def compared_bool(ctx, rule, node, caps):
    """A `true` or `false` operand of `==` or `!=`: reported at the comparison.

    Matched from the literal up: a pattern rooted at the comparison would keep a
    query state alive across the whole left operand of every binary expression."""
    parent = node.parent
    if parent is None or parent.type != "binary_expression":
        return None
    op = parent.child_by_field_name("operator")
    return {"_node": parent} if op is not None and op.type in ("==", "!=") else None


@_filter
def appended_format(ctx, rule, node, caps):
    """A `format!(..)` whose only use is to be appended to a String: the only argument
    of `.push_str(&..)`, or the right side of `+= &..`; reported at that call or `+=`."""
    ref = node.parent
    if node.child_by_field_name("macro").type != "identifier" or ref is None or \
            ref.type != "reference_expression" or ref.child_by_field_name("value") != node:
        return None
    outer = ref.parent
    if outer is not None and outer.type == "arguments" and outer.named_child_count == 1:
        call = outer.parent
        method = call.child_by_field_name("function") if call.type == "call_expression" else None
        if method is not None and method.type == "field_expression":
            name = method.child_by_field_name("field")
            if name is not None and name.text == b"push_str":
                return {"_node": call}
    elif outer is not None and outer.type == "compound_assignment_expr" and \
            outer.child_by_field_name("right") == ref and outer.child_by_field_name("operator").type == "+=":
        return {"_node": outer}
    return None


@_file
def mod_rs_file(ctx, rule):
    """A module kept as `name/mod.rs` rather than `name.rs`."""
    if ctx.path == "mod.rs" or ctx.path.endswith("/mod.rs"):
        yield (0, 0, (0, 0), (0, 0)), {"file": ctx.path}


@_filter
def not_pub_use(ctx, rule, node, caps):
    """Glob imports that are neither re-exports (`pub use`) nor enum globs (`use Type::*`)."""
    path = node.text.rsplit(b"::", 2)
    if len(path) >= 2 and path[-2].rsplit(b"::", 1)[-1][:1].isupper():
        return None  # `use IrType::*` imports enum variants: clippy's enum_glob_use
    parent = node.parent
    while parent is not None and parent.type != "use_declaration":
        parent = parent.parent
    return parent is None or not any(c.type == "visibility_modifier" for c in parent.children)


_EMPTY_ARGS = re.compile(rb"\(\s*\)")
_EXPECT_ARGS = re.compile(rb"\([^,]+\)|\(\s*\"(?:.|\n)*\"\s*\)")


def _receiver(node):
    function = node.child_by_field_name("function")
    return function.child_by_field_name("value") if function is not None else None


@_filter
def unwrap_call(ctx, rule, node, caps):
    """`.unwrap()` / `.unwrap_err()` with no arguments (the query is shared with expect-used)."""
    return caps["method"][0].text in (b"unwrap", b"unwrap_err") and \
        _EMPTY_ARGS.fullmatch(caps["args"][0].text) is not None


@_filter
def expect_call(ctx, rule, node, caps):
    """`.expect(msg)` / `.expect_err(msg)` with one argument, not on `self`: a type's own
    `expect` (a parser's `self.expect(Token::Semi)`) is not Option's."""
    if caps["method"][0].text not in (b"expect", b"expect_err"):
        return None
    receiver = _receiver(node)
    if receiver is not None and receiver.type == "self":
        return None
    return _EXPECT_ARGS.fullmatch(caps["args"][0].text) is not None


_DEBUG_PLACEHOLDER = re.compile(rb"\{[^{}]*:[^{}]*\?\}")


@_filter
def debug_format(ctx, rule, node, caps):
    """Macro calls whose format string has a `{:?}`-style Debug placeholder."""
    return any(c.type == "string_literal" and _DEBUG_PLACEHOLDER.search(c.text)
               for c in caps["tt"][0].children)
