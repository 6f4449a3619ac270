"""Halstead counts for Rust from a token scan of the unit's text.

Operators are keywords and punctuation; operands are identifiers, literals and
lifetimes. Comments are skipped. A regular-expression scan is exact for
Halstead's purpose (it needs tokens, not structure) and runs in C, far faster
than visiting every leaf of the tree from Python. Python's Halstead counts
come from radon instead (see :mod:`audit.metrics.pyradon`).
"""

from __future__ import annotations

import re
from collections import Counter

from audit.results import Halstead

RUST_KEYWORDS = frozenset(b"""
as async await break const continue crate dyn else enum extern false fn for if impl in
let loop match mod move mut pub ref return self Self static struct super trait true type
union unsafe use where while yield macro_rules
""".split())

_MULTI_OPS = (b">>= <<= ..= ... :: -> => == != <= >= && || += -= *= /= %= ^= &= |= << ..").split()

# One match per token, whitespace before it included (atomically, so no backtracking).
# Comments match the group-less branch and the end of the text the last one, so
# ``findall`` returns b"" for them; every other token is returned as group 1. The
# commonest tokens (names, brackets) are tried first; a name starting with b or r
# waits until the byte-string and raw-string forms have been tried.
_RUST_TOKEN = re.compile(rb"""
  (?>\s*)
  (?: //[^\n]* | /\*(?:[^*]|\*(?!/))*\*/
  | ( [ac-qs-zA-Z_]\w*!?
    | [(){}\[\],;?]
    | b?r\#+"(?:[^"]|"(?!\#))*"\#+
    | b?r"[^"]*"
    | b?"(?:\\.|[^"\\])*"
    | b?'(?:\\(?:x[0-9a-fA-F]{2}|u\{[0-9a-fA-F]{1,6}\}|.)|[^'\\\n])'
    | '[A-Za-z_]\w*
    | \d\w*(?:\.\d\w*)?
    | [A-Za-z_]\w*!?
    | >>=|<<=|\.\.=|\.\.\.|::|->|=>|==|!=|<=|>=|&&|\|\||\+=|-=|\*=|/=|%=|\^=|&=|\|=|<<|\.\.
    | [^\s\w]
    )
  | \Z )
""", re.VERBOSE | re.DOTALL)

OPERATORS = frozenset(
    RUST_KEYWORDS | set(_MULTI_OPS)
    | {bytes([c]) for c in range(128) if not (chr(c).isalnum() or chr(c) == "_" or chr(c).isspace())}
)


def rust_token_counts(data: bytes, start: int = 0, end: int | None = None) -> Counter:
    """How often each token occurs in data[start:end]; comments are dropped."""
    counts = Counter(_RUST_TOKEN.findall(data, start, len(data) if end is None else end))
    counts.pop(b"", None)
    return counts


def rust_halstead(data: bytes, start: int = 0, end: int | None = None) -> Halstead:
    """Halstead counts of Rust source bytes data[start:end]."""
    return halstead_from_counts(rust_token_counts(data, start, end))


def halstead_from_counts(counts: Counter) -> Halstead:
    """Split token counts into operators (keywords, punctuation) and operands."""
    ops = counts.keys() & OPERATORS
    big_n1 = sum(counts[t] for t in ops)
    return Halstead(len(ops), len(counts) - len(ops), big_n1, counts.total() - big_n1)
