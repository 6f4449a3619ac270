"""Rust rule checks that a query alone cannot express (registered into audit.rules.checks)."""

from __future__ import annotations

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
    count = sum(1 for c in params.named_children if c.type in _PARAM_KINDS) if params else 0
    if count <= rule.threshold or _in_trait_impl(node):
        return None
    return {"count": count}


def code_lines(text: bytes) -> int:
    """Lines holding code in a span, clippy's way: not blank, not only a comment."""
    count, in_block = 0, False
    for raw in text.split(b"\n"):
        line = raw.strip()
        if in_block:
            end = line.find(b"*/")
            if end < 0:
                continue
            in_block, line = False, line[end + 2:].strip()
        if not line or line.startswith(b"//"):
            continue
        if line.startswith(b"/*"):
            end = line.find(b"*/", 2)
            if end < 0:
                in_block = True
                continue
            if not line[end + 2:].strip():
                continue
        count += 1
    return count


@_filter
def long_body(ctx, rule, node, caps):
    """Function bodies with more code lines than the threshold."""
    body = node.child_by_field_name("body")
    count = code_lines(body.text) if body is not None else 0
    return {"count": count} if count > rule.threshold else None


@_file
def todo_comments(ctx, rule):
    """Comments that mark unfinished work."""
    import re

    marker = re.compile(r"\b(TODO|FIXME|XXX|HACK)\b")
    for span, text in ctx.comments():
        m = marker.search(text)
        if m:
            yield span, {"marker": m.group(1)}
