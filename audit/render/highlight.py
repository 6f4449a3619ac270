"""Syntax highlighting for report pages: a small tokenizer per language, every byte escaped.

The audited code is untrusted. Each token's text goes through one translation
table that escapes HTML metacharacters and turns invisible or direction-changing
characters (bidi controls, zero-width characters, C0/C1 controls, NUL) into a
visible marker, so a "Trojan Source" line reads the same in the report as it
does to the compiler. Lines beyond ``max_chars`` are cut with a note.
"""

from __future__ import annotations

import re

from markupsafe import Markup

MAX_LINE_CHARS = 2000  # a longer line is shown cut, with the number of hidden characters

# Characters that change how text is ordered or hide themselves: shown as markers.
_INVISIBLE = ([*range(0x09), *range(0x0B, 0x20), 0x7F, *range(0x80, 0xA0),
               0x061C, 0x200B, 0x200C, 0x200D, 0x200E, 0x200F, *range(0x202A, 0x202F),
               0x2028, 0x2029, 0x2060, *range(0x2066, 0x206A), 0xFEFF])


def _marker(cp: int) -> str:
    return f"U+{cp:04X}"


# Plain text (names, paths, messages): markers as text, HTML escaping left to jinja2.
_TEXT_TABLE = {cp: f"\u27e8{_marker(cp)}\u27e9" for cp in _INVISIBLE}
# Highlighted source: HTML escaping and markers as spans in one pass. Source lines only
# ever land in element content, where quotes need no escaping (a report of a 200k-line
# tree saves half a megabyte on them).
_HTML_TABLE = {ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;"}
_HTML_TABLE.update({cp: f'<span class="cc" title="{_marker(cp)}">{_marker(cp)}</span>'
                    for cp in _INVISIBLE})
_HAS_INVISIBLE = re.compile("[" + "".join(re.escape(chr(cp)) for cp in _INVISIBLE) + "]")


def visible(text: str) -> str:
    """Text with every invisible or bidi control character replaced by a visible marker."""
    if _HAS_INVISIBLE.search(text) is None:
        return text
    return text.translate(_TEXT_TABLE)


def escape(text: str) -> str:
    """HTML-escape text and make invisible characters visible (the result is markup)."""
    return text.translate(_HTML_TABLE)


_RUST_KW = ("as async await break const continue crate dyn else enum extern false fn for if impl "
            "in let loop match mod move mut pub ref return self Self static struct super trait "
            "true type union unsafe use where while")
_PY_KW = ("False None True and as assert async await break class continue def del elif else "
          "except finally for from global if import in is lambda nonlocal not or pass raise "
          "return try while with yield match case")
_C_KW = ("auto break case char const continue default do double else enum extern float for goto "
         "if inline int long register restrict return short signed sizeof static struct switch "
         "typedef union unsigned void volatile while bool true false class namespace template "
         "typename public private protected virtual new delete this nullptr using")

_NUMBER = r"\b(?:0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|\d[\d_]*(?:\.\d[\d_]*)?(?:[eE][+-]?\d+)?)\w*"


def _kw(words: str) -> str:
    return r"\b(?:" + "|".join(words.split()) + r")\b"


# Each pattern: (css class, regex). Order matters: comments and strings first.
_PATTERNS = {
    "rust": (("c", r"//[^\n]*|/\*[\s\S]*?(?:\*/|\Z)"),
             ("s", (r'b?r(?P<hashes>#*)"[\s\S]*?(?:"(?P=hashes)|\Z)|b?"(?:\\[\s\S]|[^"\\])*(?:"|\Z)'
                    r"|b?'(?:\\(?:x[0-9a-fA-F]{2}|u\{[0-9a-fA-F]{1,6}\}|.)|[^'\\\n])'")),
             ("a", r"#!?\[[^\]\n]*\]?"),
             ("k", _kw(_RUST_KW)),
             ("m", r"\b[A-Za-z_]\w*!"),
             ("n", _NUMBER)),
    "python": (("c", r"#[^\n]*"),
               ("s", (r"(?i:[rbuf]{0,2})(?:'''[\s\S]*?(?:'''|\Z)|\"\"\"[\s\S]*?(?:\"\"\"|\Z)"
                      r"|'(?:\\.|[^'\\\n])*'?|\"(?:\\.|[^\"\\\n])*\"?)")),
               ("a", r"^[ \t]*@[\w.]+"),
               ("k", _kw(_PY_KW)),
               ("n", _NUMBER)),
    "c": (("c", r"//[^\n]*|/\*[\s\S]*?(?:\*/|\Z)"),
          ("s", r'"(?:\\[\s\S]|[^"\\\n])*"?|\'(?:\\.|[^\'\\\n])*\'?'),
          ("a", r"^[ \t]*#[ \t]*\w+"),
          ("k", _kw(_C_KW)),
          ("n", _NUMBER)),
}
_PATTERNS["cpp"] = _PATTERNS["c"]


# The element each token class is wrapped in: one-letter tags without attributes, styled
# in report.css (keywords <b>, comments <i>, strings <s>, numbers <u>, macros <em>,
# attributes <var>). A source file is mostly such tokens, and on a 200k-line tree this
# takes megabytes off the report against ``<span class="k">``.
_TAG = {"k": "b", "c": "i", "s": "s", "n": "u", "m": "em", "a": "var"}


def _tags(cls: str) -> tuple[str, str]:
    return f"<{_TAG[cls]}>", f"</{_TAG[cls]}>"


def _compile(patterns) -> tuple[re.Pattern, tuple[str, ...]]:
    # Named groups g<i> give the class of each match (lastindex is the outer group).
    parts, classes = [], []
    for i, (cls, rx) in enumerate(patterns):
        parts.append(f"(?P<g{i}>{rx})")
        classes.append(cls)
    return re.compile("|".join(parts), re.MULTILINE), tuple(_tags(c) for c in classes)


_COMPILED = {lang: _compile(p) for lang, p in _PATTERNS.items()}


def _escape_plain(text: str) -> str:
    """HTML escaping for text known to hold no invisible characters (the common case)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def highlight_lines(text: str, language: str, max_chars: int = MAX_LINE_CHARS) -> list[Markup]:
    """One escaped, highlighted HTML fragment per source line (no trailing empty line).

    The whole file is tokenized at once (comments and strings may span lines);
    a token that spans lines is closed at each line end and reopened on the next.
    """
    text, precut = _precut(text.replace("\r\n", "\n"), max_chars)
    esc = escape if _HAS_INVISIBLE.search(text) else _escape_plain
    parts: list[str] = []
    pos = 0
    compiled = _COMPILED.get(language)
    if compiled is not None:
        pattern, tags = compiled
        for m in pattern.finditer(text):
            start = m.start()
            if start > pos:
                parts.append(esc(text[pos:start]))
            opener, closer = tags[int(m.lastgroup[1:])]
            body = esc(m.group())
            if "\n" in body:
                body = body.replace("\n", f"{closer}\n{opener}")
            parts.append(f"{opener}{body}{closer}")
            pos = m.end()
    if pos < len(text):
        parts.append(esc(text[pos:]))
    # adjacent keywords ("pub fn", "let mut") share one element
    lines = "".join(parts).replace("</b> <b>", " ").split("\n")
    if len(lines) > 1 and text.endswith("\n"):
        lines.pop()
    for i, hidden in precut.items():
        lines[i] += f'<span class="cut">\u2026 {hidden:,} more characters not shown</span>'
    return [Markup(line) for line in lines]


def _precut(text: str, max_chars: int) -> tuple[str, dict[int, int]]:
    """Cut very long lines before tokenizing, so a 10 MB line costs no more than a short one."""
    if len(text) <= max_chars:
        return text, {}
    lines = text.split("\n")
    if max(map(len, lines)) <= max_chars:
        return text, {}
    precut = {}
    for i, line in enumerate(lines):
        if len(line) > max_chars:
            precut[i] = len(line) - max_chars
            lines[i] = line[:max_chars]
    return "\n".join(lines), precut


def plain_lines(text: str, max_chars: int = MAX_LINE_CHARS) -> list[Markup]:
    """Escaped lines without highlighting (for corpus excerpts in unknown languages)."""
    return highlight_lines(text, "", max_chars)
