"""Establish the true number of Rust functions in a tree, independently of tree-sitter.

An independent lexer (not tree-sitter) strips comments, strings, raw strings and
char literals, then finds every `fn NAME` whose signature reaches a `{` before a
`;` (a definition, not a trait declaration or a function-pointer type). Those
inside `macro_rules!` bodies are counted separately: they are templates, not
functions, until the macro is expanded. The count is compared file by file with
the units audit finds (function and method units; named closures are extra).

    python bench/count_functions.py $AUDIT_BENCH_DATA/wangdalian+claudes-c-compiler
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

from audit.config import ScanConfig
from audit.pipeline import Job, scan

_STRIP = re.compile(rb"""
  //[^\n]*
| /\*(?:[^*]|\*(?!/))*\*/
| b?r\#+"(?:[^"]|"(?!\#))*"\#+
| b?r"[^"]*"
| b?"(?:\\.|[^"\\])*"
| b?'(?:\\(?:x[0-9a-fA-F]{2}|u\{[0-9a-fA-F]{1,6}\}|.)|[^'\\\n])'
""", re.VERBOSE | re.DOTALL)
_FN = re.compile(rb"\bfn\s+([A-Za-z_]\w*)")
_MACRO = re.compile(rb"\bmacro_rules!\s*\w+\s*\{")


def blank(match: re.Match) -> bytes:
    """Replace a comment or literal by spaces, keeping newlines (and so line numbers)."""
    return re.sub(rb"[^\n]", b" ", match.group())


def macro_spans(code: bytes) -> list[tuple[int, int]]:
    spans = []
    for m in _MACRO.finditer(code):
        depth, i = 1, m.end()
        while i < len(code) and depth:
            depth += {ord("{"): 1, ord("}"): -1}.get(code[i], 0)
            i += 1
        spans.append((m.start(), i))
    return spans


def has_body(code: bytes, i: int) -> bool:
    """True when the signature from i reaches `{` before `;`, outside () and []."""
    depth = 0
    for ch in code[i:]:
        if ch in b"([":
            depth += 1
        elif ch in b")]":
            depth -= 1
        elif depth == 0 and ch == ord("{"):
            return True
        elif depth == 0 and ch == ord(";"):
            return False
    return False


def count_file(data: bytes) -> tuple[int, int]:
    """(definitions outside macro_rules!, definitions inside macro_rules!)."""
    code = _STRIP.sub(blank, data)
    macros = macro_spans(code)
    outside = inside = 0
    for m in _FN.finditer(code):
        if not has_body(code, m.end()):
            continue  # declaration without a body
        if any(a <= m.start() < b for a, b in macros):
            inside += 1
        else:
            outside += 1
    return outside, inside


def main(root: str) -> None:
    lexer, in_macros = Counter(), 0
    for path in sorted(Path(root).rglob("*.rs")):
        out, inside = count_file(path.read_bytes())
        lexer[str(path.relative_to(root))] = out
        in_macros += inside
    result, _ = scan(ScanConfig(paths=(root,), languages=("rust",)), Job(1 << 30))
    found = Counter({f.path: sum(1 for u in f.units if u.kind in ("function", "method"))
                     for f in result.files})
    closures = sum(1 for f in result.files for u in f.units if u.kind == "closure")
    total_lexer, total_found = sum(lexer.values()), sum(found.values())
    print(f"independent lexer: {total_lexer} fn definitions (+{in_macros} inside macro_rules! bodies)")
    print(f"audit units: {total_found} functions and methods (+{closures} named closures)")
    print(f"difference: {total_found - total_lexer} ({abs(total_found - total_lexer) / total_lexer:.3%})")
    for path in sorted(set(lexer) | set(found)):
        if lexer[path] != found[path]:
            print(f"  {path}: lexer {lexer[path]}, audit {found[path]}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")
