"""Normalised token streams for clone detection, from the tree-sitter tree the scan parsed.

Leaf node kinds and anonymous tokens are kept; identifiers and literals are
abstracted to category tokens (type-2 clones) or kept verbatim (type-1);
comments are dropped. Each token is a stable 64-bit code, equal in every process.
"""

from __future__ import annotations

import hashlib

import numpy as np

# Leaf kinds abstracted to a category token in type-2 mode (kept verbatim in type-1).
CATEGORIES: dict[str, dict[str, str]] = {
    "rust": {
        "identifier": "$id", "field_identifier": "$id", "shorthand_field_identifier": "$id",
        "type_identifier": "$type", "primitive_type": "$type",
        "integer_literal": "$num", "float_literal": "$num", "negative_literal": "$num",
        "string_literal": "$str", "raw_string_literal": "$str", "char_literal": "$chr",
    },
    "python": {
        "identifier": "$id", "integer": "$num", "float": "$num",
        "string": "$str", "concatenated_string": "$str",
    },
}
_C_CATEGORIES = {
    "identifier": "$id", "field_identifier": "$id", "statement_identifier": "$id",
    "type_identifier": "$type", "primitive_type": "$type", "number_literal": "$num",
    "string_literal": "$str", "raw_string_literal": "$str", "char_literal": "$chr",
}
CATEGORIES["c"] = _C_CATEGORIES
CATEGORIES["cpp"] = {**_C_CATEGORIES, "namespace_identifier": "$id"}
# Kinds whose whole subtree is one token (literals with inner nodes) or none (comments).
LEAF_KINDS = {"string_literal", "raw_string_literal", "char_literal", "negative_literal",
              "string", "concatenated_string"}
SKIP_KINDS = {"line_comment", "block_comment", "comment"}

_label_cache: dict[bytes, int] = {}


def _code(label: bytes) -> int:
    """A stable 64-bit code for a token label, equal in every process."""
    code = _label_cache.get(label)
    if code is None:
        code = int.from_bytes(hashlib.blake2b(label, digest_size=8).digest(), "little")
        _label_cache[label] = code
    return code


SKIP, TEXT, FIXED, PLAIN = 0, 1, 2, 3  # per-kind actions of the token walk


def _kind_table(ts_language, language: str, mode: str) -> tuple[list[int], list[int]]:
    """Per kind id: the walk's action and the token code.

    SKIP drops the subtree (comments), TEXT emits the node's own text (type-1
    identifiers and literals), FIXED emits the code without descending (category
    tokens, literals with inner nodes), PLAIN descends or, for a leaf, emits its kind.
    """
    cats = CATEGORIES.get(language, {})
    actions, codes = [], []
    for kid in range(ts_language.node_kind_count):
        kind = ts_language.node_kind_for_id(kid) or ""
        code = _code(kind.encode())
        if kind in SKIP_KINDS:
            action = SKIP
        elif kind in cats:
            action = TEXT if mode == "type1" else FIXED
            code = _code(cats[kind].encode())
        elif kind in LEAF_KINDS:
            action, code = FIXED, _code(f"${kind}".encode())
        else:
            action = PLAIN
        actions.append(action)
        codes.append(code)
    actions.append(PLAIN)  # last entry: ERROR nodes, whose kind id (65535) is past the table
    codes.append(_code(b"ERROR"))
    return actions, codes


_tables: dict[tuple, tuple] = {}


def _walk_tokens(node, actions, codes, data, out_codes, out_starts) -> None:
    """Append the tokens under node (one cursor walk, no recursion)."""
    cursor = node.walk()
    first_child, next_sibling, parent = (cursor.goto_first_child, cursor.goto_next_sibling,
                                         cursor.goto_parent)
    add_code, add_start = out_codes.append, out_starts.append  # bound once: this loop is hot
    while True:
        node = cursor.node
        kid = node.kind_id
        try:
            action = actions[kid]
        except IndexError:  # an ERROR node: walked like any other inner node
            kid = len(actions) - 1
            action = PLAIN
        if action == PLAIN:
            if first_child():
                continue
            add_code(codes[kid])
            add_start(node.start_byte)
        elif action == FIXED:
            add_code(codes[kid])
            add_start(node.start_byte)
        elif action == TEXT:
            add_code(_code(data[node.start_byte:node.end_byte]))
            add_start(node.start_byte)
        while not next_sibling():
            if not parent():
                return


def token_stream(parsed, roots, mode: str = "type2") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Normalised tokens under the root nodes (in tree order, not overlapping).

    Returns token codes (uint64), start bytes (int64) and 1-based lines (int32).
    """
    lang = parsed.tree.language
    key = (id(lang), parsed.language, mode)
    table = _tables.get(key)
    if table is None:
        table = _tables[key] = _kind_table(lang, parsed.language, mode)
    codes: list[int] = []
    starts: list[int] = []
    for root in roots:
        _walk_tokens(root, *table, parsed.data, codes, starts)
    starts_arr = np.array(starts, dtype=np.int64)
    newlines = np.flatnonzero(np.frombuffer(parsed.data, dtype=np.uint8) == 10)
    lines = (np.searchsorted(newlines, starts_arr) + 1).astype(np.int32)
    return np.array(codes, dtype=np.uint64), starts_arr, lines


def outermost_nodes(units) -> list:
    """Nodes of the units not nested in another one of them, in tree order."""
    roots, end = [], -1
    for cu in sorted(units, key=lambda cu: (cu.start_byte, -cu.end_byte)):
        if cu.start_byte >= end:
            roots.append(cu.node)
            end = cu.end_byte
    return roots
