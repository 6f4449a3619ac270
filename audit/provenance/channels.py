"""Normalisation: turn one parsed file into token streams that survive translation.

Four channels, each a sequence of (token, line) in source order:

* ``struct``  language-neutral categories for control flow, calls, operators and
  literals (IF LOOP CALL ADD ID NUM ...), from the per-grammar tables in
  ``tables/*.toml``; types, casts and ``unsafe`` vanish.
* ``ident``   identifier sub-words (``parseDeclarator`` and ``parse_declarator``
  both give ``parse declarator``).
* ``text``    words of comments and string literals, format directives folded
  (``%d`` and ``{}`` are both ``%fmt``).
* ``num``     numeric constants as values (``0x10``, ``16u``, ``16_usize`` are all 16)
  and character codes.

The walk uses an explicit stack over named children, so deep trees cannot
overflow the Python stack. Bump ``NORMALISER_VERSION`` whenever the output of
this module or a table changes: indexes built with another version are refused.
"""

from __future__ import annotations

import functools
import os
import re
import tomllib
from dataclasses import dataclass, field

NORMALISER_VERSION = 10
CHANNELS = ("struct", "ident", "text", "num")
_TABLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tables")

_SUBWORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
_WORD = re.compile(r"%[-+ #0]*[0-9*]*(?:\.[0-9*]+)?[hlLqjzt]*[diouxXeEfgGcspn]"
                   r"|\{[^{}\s]*\}|[A-Za-z][A-Za-z0-9_']*")
_ESCAPE = re.compile(r"\\[ntr0abfv]")
_NUM = re.compile(r"0x[0-9a-f]+|0b[01]+|0o[0-7]+|[0-9]+(?:\.[0-9]*)?(?:e[-+]?[0-9]+)?")
_CHAR_ESCAPES = {"n": 10, "t": 9, "r": 13, "0": 0, "\\": 92, "'": 39, '"': 34, "a": 7,
                 "b": 8, "f": 12, "v": 11, "e": 27}
_STOP_SUBWORDS = frozenset({"self", "this", "the", "to", "of", "is", "in", "it", "let", "mut"})


@dataclass(slots=True)
class Streams:
    """The four channel streams of one file: parallel token and line lists."""

    tokens: dict[str, list[str]] = field(default_factory=lambda: {c: [] for c in CHANNELS})
    lines: dict[str, list[int]] = field(default_factory=lambda: {c: [] for c in CHANNELS})
    # what each ident/text token came from (whole identifier, whole literal), for the allow-list
    origins: dict[str, list[str]] = field(default_factory=lambda: {"ident": [], "text": []})
    # positions in the num stream of character codes (of 'c' or a one-character string): text
    # a careful translator may blank, so shapes leave them out
    num_chars: list[int] = field(default_factory=list)

    def add(self, channel: str, token: str, line: int) -> None:
        self.tokens[channel].append(token)
        self.lines[channel].append(line)

    def add_from(self, channel: str, token: str, line: int, origin: str) -> None:
        self.tokens[channel].append(token)
        self.lines[channel].append(line)
        self.origins[channel].append(origin)


@dataclass(frozen=True)
class Table:
    """A grammar's node-kind actions, resolved to tree-sitter kind ids."""

    actions: dict[int, str]
    operators: dict[str, str]
    unary: dict[str, str]
    assign: dict[str, str]
    calls: dict[str, str]  # callee name -> category (or "pass"): translation idioms, see [calls]


def _load(name: str) -> dict:
    with open(os.path.join(_TABLES, f"{name}.toml"), "rb") as fh:
        return tomllib.load(fh)


@functools.lru_cache(maxsize=None)
def table_for(language: str) -> Table:
    """The resolved table for a language (rust, python, c, cpp)."""
    from audit.lang import LANGUAGES

    raw = _load(language)
    nodes, suffixes = dict(raw.get("nodes", {})), list(raw.get("skip_suffixes", []))
    calls = dict(raw.get("calls", {}))
    if "extends" in raw:
        base = _load(raw["extends"])
        nodes = {**base.get("nodes", {}), **nodes}
        calls = {**base.get("calls", {}), **calls}
        suffixes += base.get("skip_suffixes", [])
    ts = LANGUAGES[language].ts_language
    actions: dict[int, str] = {}
    for kid in range(ts.node_kind_count):
        kind = ts.node_kind_for_id(kid)
        if kind and ts.node_kind_is_named(kid):
            if kind in nodes:
                actions[kid] = nodes[kind]
            elif any(kind.endswith(s) for s in suffixes):
                actions[kid] = "skip"
    neutral = _load("neutral")
    return Table(actions, neutral["operators"], neutral["unary"], neutral["assign"], calls)


@functools.lru_cache(maxsize=1 << 16)
def subwords(identifier: str) -> tuple[str, ...]:
    """Lower-case sub-words of an identifier, without one-letter and filler words."""
    out = []
    for w in _SUBWORD.findall(identifier):
        w = w.lower()
        if len(w) > 1 and w not in _STOP_SUBWORDS:
            out.append(w)
    return tuple(out)


@functools.lru_cache(maxsize=1 << 16)
def _subwords_of(name: bytes) -> tuple[str, ...]:
    return subwords(name.decode("utf-8", "replace"))


def words(text: str) -> list[str]:
    """Words of a comment or literal; printf and Rust format directives fold to %fmt."""
    out = []
    for w in _WORD.findall(_ESCAPE.sub(" ", text)):
        if w[0] in "%{":
            out.append("%fmt")
        elif len(w) > 1:
            out.append(w.lower())
    return out


@functools.lru_cache(maxsize=1 << 16)
def number_value(literal: str) -> str:
    """The value of a numeric literal with separators, prefixes' case and suffixes dropped."""
    text = literal.replace("_", "").replace("'", "").lower()
    m = _NUM.match(text)
    if not m:
        return text
    digits = m.group(0)
    try:
        if digits.startswith(("0x", "0b", "0o")):
            return str(int(digits, 0))
        if len(digits) > 1 and digits[0] == "0" and digits.isdigit():
            return str(int(digits, 8))
        if digits.isdigit():
            return str(int(digits))
        return repr(float(digits))
    except ValueError:
        return digits


def char_value(literal: str) -> str | None:
    """The code of a character literal ('a', b'a', '\\n', '\\x41'), or None."""
    body = literal.split("'", 1)[1].rsplit("'", 1)[0] if literal.count("'") >= 2 else ""
    if len(body) == 1:
        return str(ord(body))
    if len(body) == 2 and body[0] == "\\" and body[1] in _CHAR_ESCAPES:
        return str(_CHAR_ESCAPES[body[1]])
    if body.startswith(("\\x", "\\u{")):
        try:
            return str(int(body.strip("\\xu{}"), 16))
        except ValueError:
            return None
    return None


def extract(parsed) -> Streams:
    """All four channel streams of a parsed file, in source order."""
    return _Extractor(parsed).run()


class _Extractor:
    """One pass over the tree with an explicit stack of (node, quiet) pairs."""

    def __init__(self, parsed):
        self.data = parsed.data
        self.root = parsed.root
        self.table = table_for(parsed.language)
        self.python = parsed.language == "python"
        self.out = Streams()

    def text(self, node) -> str:
        return self.data[node.start_byte:node.end_byte].decode("utf-8", "replace")

    def run(self) -> Streams:
        actions = self.table.actions
        out = self.out
        stack = [(self.root, False)]
        while stack:
            node, quiet = stack.pop()
            if node.__class__ is tuple:  # a category queued by an action (see a_for)
                if not quiet:
                    out.add("struct", node[0], node[1])
                continue
            action = actions.get(node.kind_id)
            if action is None:
                kids = node.named_children
            elif action.isupper():
                if not quiet:
                    out.add("struct", action, node.start_point[0] + 1)
                kids = node.named_children
            else:
                kids = getattr(self, "a_" + action)(node, quiet, stack)
            if kids:
                kids.reverse()
                stack.extend((k, quiet) for k in kids)
        return out

    # -- actions: each returns the children to visit with the same quiet flag --
    def a_skip(self, node, quiet, stack):
        return None

    def a_pass(self, node, quiet, stack):
        return node.named_children

    def a_quiet(self, node, quiet, stack):
        stack.extend((k, True) for k in reversed(node.named_children))
        return None

    def _emit(self, category, node, quiet):
        if not quiet and category:
            self.out.add("struct", category, node.start_point[0] + 1)

    def a_for(self, node, quiet, stack):
        """C's ``for (init; cond; step) body`` reads as ``init; while (cond) { body; step }``."""
        parts = {f: node.child_by_field_name(f) for f in ("initializer", "condition", "update", "body")}
        for f in ("update", "body", "condition"):
            if parts[f] is not None:
                stack.append((parts[f], quiet))
        stack.append((("LOOP", node.start_point[0] + 1), quiet))
        if parts["initializer"] is not None:
            stack.append((parts["initializer"], quiet))
        return None

    def a_call(self, node, quiet, stack):
        callee = node.child_by_field_name("function") or node.child_by_field_name("macro")
        rest = [k for k in node.named_children if callee is None or k.id != callee.id]
        idiom = self.table.calls.get(_callee_name(self.data, callee)) if callee is not None else None
        if idiom is not None:  # a translation idiom: `p.offset(n)` reads as `p[n]`, `a.wrapping_add(b)` as `a + b`
            self._emit(idiom if idiom != "pass" else None, node, quiet)
            receiver = callee.child_by_field_name("value") or callee.child_by_field_name("object")
            stack.extend((k, quiet) for k in reversed(rest))
            if receiver is not None:
                stack.append((receiver, quiet))
            return None
        self._emit("CALL", node, quiet)
        stack.extend((k, quiet) for k in reversed(rest))
        if callee is not None:
            stack.append((callee, True))
        return None

    def _operator(self, node) -> str:
        op = node.child_by_field_name("operator")
        if op is not None:
            return self.text(op)
        for k in node.children:
            if not k.is_named:
                return self.text(k)
        return ""

    def a_binop(self, node, quiet, stack):
        self._emit(self.table.operators.get(self._operator(node), "BINOP"), node, quiet)
        return node.named_children

    def a_unop(self, node, quiet, stack):
        self._emit(self.table.unary.get(self._operator(node), "UNOP"), node, quiet)
        return node.named_children

    def a_assignop(self, node, quiet, stack):
        self._emit(self.table.assign.get(self._operator(node), "ASSIGN"), node, quiet)
        return node.named_children

    def a_update(self, node, quiet, stack):
        """``i++`` reads as ``i += 1`` (Rust and Python have no ++)."""
        self._emit(self.table.assign.get(self._operator(node), "ASSIGN_ADD"), node, quiet)
        kids = node.named_children
        if len(kids) == 1 and self.table.actions.get(kids[0].kind_id) == "ident":
            self.a_ident(kids[0], quiet, stack)
            kids = None
        if not quiet:
            self.out.add("struct", "NUM", node.start_point[0] + 1)
        self.out.add("num", "1", node.start_point[0] + 1)
        return kids

    def a_ident(self, node, quiet, stack):
        line = node.start_point[0] + 1
        out = self.out
        if not quiet:
            out.tokens["struct"].append("ID")
            out.lines["struct"].append(line)
        name = self.data[node.start_byte:node.end_byte]
        parts = _subwords_of(name)
        if parts:
            n = len(parts)
            out.tokens["ident"].extend(parts)
            out.lines["ident"].extend([line] * n)
            out.origins["ident"].extend([name.decode("utf-8", "replace")] * n)
        return None

    def a_num(self, node, quiet, stack):
        line = node.start_point[0] + 1
        self._emit("NUM", node, quiet)
        self.out.add("num", number_value(self.text(node)), line)
        return None

    def a_chr(self, node, quiet, stack):
        self._emit("STR", node, quiet)  # one literal kind: 'c' in C is "c" in Python
        value = char_value(self.text(node))
        if value is not None:
            self._char_num(value, node)
        return None

    def _char_num(self, value: str, node) -> None:
        self.out.num_chars.append(len(self.out.tokens["num"]))
        self.out.add("num", value, node.start_point[0] + 1)

    def a_str(self, node, quiet, stack):
        text = self.text(node)
        line = node.start_point[0] + 1
        self._emit("STR", node, quiet)
        if _is_char_string(text):
            self._char_num(str(ord(_char_of(text))), node)
            return None
        for w in words(text):
            self.out.add_from("text", w, line, text)
        if self.python:  # f-string interpolations hold code
            return [k for k in node.named_children if k.type == "interpolation"]
        return None

    def a_comment(self, node, quiet, stack):
        row = node.start_point[0] + 1
        text = self.text(node)
        for i, part in enumerate(text.split("\n")):
            for w in words(part):
                self.out.add_from("text", w, row + i, text)
        return None


_LAST_NAME = re.compile(rb"([A-Za-z_][A-Za-z0-9_]*)\s*(?:::\s*<.*)?!?$", re.S)


def _callee_name(data: bytes, callee) -> str:
    """The last name of a callee: ``offset`` of ``p.offset``, ``null_mut`` of ``std::ptr::null_mut::<T>``."""
    if callee.end_byte - callee.start_byte > 200:
        return ""
    m = _LAST_NAME.search(data[callee.start_byte:callee.end_byte])
    return m.group(1).decode("ascii") if m else ""


def _char_of(text: str) -> str:
    body = text.strip("bBrRuU")[1:-1]
    if len(body) == 2 and body[0] == "\\":
        return chr(_CHAR_ESCAPES.get(body[1], ord(body[1])))
    return body


def _is_char_string(text: str) -> bool:
    """A Python literal of one character ('a', '\\n'): the C port's char constant."""
    body = text.lstrip("bBrRuU")
    if len(body) < 3 or body[0] not in "'\"" or body[:3] in ('"""', "'''"):
        return False
    inner = body[1:-1]
    return len(inner) == 1 or (len(inner) == 2 and inner[0] == "\\" and inner[1] in _CHAR_ESCAPES)
