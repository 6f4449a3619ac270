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

# One alternation without capture groups, so ``findall`` returns plain tokens.
_RUST_TOKEN = re.compile(rb"""
  //[^\n]*
| /\*(?:[^*]|\*(?!/))*\*/
| b?r\#+"(?:[^"]|"(?!\#))*"\#+
| b?r"[^"]*"
| b?"(?:\\.|[^"\\])*"
| b?'(?:\\.|[^'\\\n]){1,10}'
| '[A-Za-z_]\w*
| \d\w*(?:\.\d\w*)?
| [A-Za-z_]\w*!?
| >>=|<<=|\.\.=|\.\.\.|::|->|=>|==|!=|<=|>=|&&|\|\||\+=|-=|\*=|/=|%=|\^=|&=|\|=|<<|\.\.
| [^\s\w]
""", re.VERBOSE | re.DOTALL)

_OPERAND_START = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789\"'")


def rust_tokens(data: bytes, start: int = 0, end: int | None = None) -> list[bytes]:
    """Rust tokens of data[start:end], comments included (callers filter them)."""
    return _RUST_TOKEN.findall(data, start, len(data) if end is None else end)


def rust_token_counts(data: bytes, start: int = 0, end: int | None = None) -> Counter:
    """How often each token occurs in data[start:end]."""
    return Counter(rust_tokens(data, start, end))


def rust_halstead(data: bytes, start: int = 0, end: int | None = None) -> Halstead:
    """Halstead counts of Rust source bytes data[start:end]."""
    return halstead_from_counts(rust_token_counts(data, start, end))


def halstead_from_counts(counts: Counter) -> Halstead:
    """Split token counts into operators and operands (comments dropped)."""
    n1 = n2 = big_n1 = big_n2 = 0
    for tok, count in counts.items():
        first = tok[0]
        if tok[:2] in (b"//", b"/*"):
            continue
        if first in _OPERAND_START and tok not in RUST_KEYWORDS:
            n2 += 1
            big_n2 += count
        else:
            n1 += 1
            big_n1 += count
    return Halstead(n1, n2, big_n1, big_n2)
