"""Grades computed from numbers: radon's cyclomatic bands and MI bands.

Cyclomatic rank (radon ``cc_rank``):

====  ==========  ======================================
rank  complexity  risk
====  ==========  ======================================
A     1 - 5       low: simple block
B     6 - 10      low: well structured and stable block
C     11 - 20     moderate: slightly complex block
D     21 - 30     more than moderate: more complex block
E     31 - 40     high: complex block, alarming
F     41+         very high: error-prone, unstable block
====  ==========  ======================================

Maintainability-index rank (radon ``mi_rank``): A 20-100, B 10-19, C 0-9.
"""

from __future__ import annotations

_CC_BANDS = ((5, "A"), (10, "B"), (20, "C"), (30, "D"), (40, "E"))
POOR_RANKS = frozenset("DEF")


def cc_rank(cc: int) -> str:
    """Rank a cyclomatic complexity A-F with radon's bands."""
    if cc < 0:
        raise ValueError(f"complexity cannot be negative: {cc}")
    for top, rank in _CC_BANDS:
        if cc <= top:
            return rank
    return "F"


def mi_rank(mi: float) -> str:
    """Rank a maintainability index A (good) to C."""
    if mi >= 20:
        return "A"
    return "B" if mi >= 10 else "C"
