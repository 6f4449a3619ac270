"""Disjoint sets (union-find) over the numbers 0..n-1, with path halving.

Shared by clone grouping (verified pairs into groups, keeping a spanning tree) and
evidence grouping (fragments of one passage), and the passages test (fragments of one text
passage). A set's representative is its
smallest member, so groups come out the same whatever order the unions ran in.
"""

from __future__ import annotations


class DisjointSets:
    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        parent = self.parent
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(self, i: int, j: int) -> bool:
        """Join the sets of ``i`` and ``j``; False when they were one set already."""
        a, b = self.find(i), self.find(j)
        if a == b:
            return False
        self.parent[max(a, b)] = min(a, b)
        return True
