"""Python rule checks that a query alone cannot express (registered into audit.rules.checks)."""

from __future__ import annotations

import re

from audit.rules.checks import _file, _filter

_LOGGING_EXC = re.compile(rb"\.exception\(|exc_info\s*=")
_BLANKET_NOQA = re.compile(r"#\s*noqa(?!\s*:\s*[A-Z]+[0-9]+)", re.I)
_BLANKET_IGNORE = re.compile(r"#\s*type:\s*ignore(?!\[)")
_FUNCTION_KINDS = ("function_definition", "lambda")


@_filter
def swallows_broad(ctx, rule, node, caps):
    """`except Exception` handlers that neither re-raise nor log the exception."""
    body = node.child_by_field_name("body") or node.named_children[-1]
    stack = [body]
    while stack:
        n = stack.pop()
        if n.type == "raise_statement":
            return None
        if n.type in ("function_definition", "class_definition"):
            continue
        stack.extend(n.named_children)
    return None if _LOGGING_EXC.search(body.text) else True


@_filter
def too_many_args_py(ctx, rule, node, caps):
    """Functions with more positional and keyword parameters than the threshold."""
    params = node.child_by_field_name("parameters")
    count = 0
    for p in params.named_children if params else ():
        if p.type in ("list_splat_pattern", "dictionary_splat_pattern", "keyword_separator",
                      "positional_separator"):
            continue
        name = p if p.type == "identifier" else (p.child_by_field_name("name") or p.named_children[0])
        if name.type == "identifier" and name.text == b"_":
            continue
        count += 1
    return {"count": count} if count > rule.threshold else None


@_filter
def no_placeholders(ctx, rule, node, caps):
    """f-strings (all parts of an implicit concatenation) without any `{..}` placeholder."""
    parts = node.named_children if node.type == "concatenated_string" else [node]
    if node.type == "string" and node.parent is not None and node.parent.type == "concatenated_string":
        return None  # judged as a whole
    fparts = [p for p in parts if p.type == "string" and b"f" in p.named_children[0].text.lower()]
    if not fparts:
        return None
    return not any(c.type == "interpolation" for p in fparts for c in p.named_children)


@_filter
def in_loop(ctx, rule, node, caps):
    """Hits inside a `for` or `while` body of the same function."""
    parent = node.parent
    while parent is not None and parent.type not in _FUNCTION_KINDS + ("class_definition",):
        if parent.type in ("for_statement", "while_statement"):
            return True
        parent = parent.parent
    return None


@_filter
def in_function(ctx, rule, node, caps):
    """Hits inside a function body."""
    parent = node.parent
    while parent is not None:
        if parent.type == "function_definition":
            return True
        parent = parent.parent
    return None


def _comment_matches(ctx, pattern):
    for span, text in ctx.comments():
        if pattern.search(text):
            yield span, {}


@_file
def blanket_noqa(ctx, rule):
    """`# noqa` comments that name no rule codes."""
    yield from _comment_matches(ctx, _BLANKET_NOQA)


@_file
def blanket_type_ignore(ctx, rule):
    """`# type: ignore` comments that name no error codes."""
    yield from _comment_matches(ctx, _BLANKET_IGNORE)
