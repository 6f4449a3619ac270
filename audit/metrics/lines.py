"""Line classification from the tree: blank, comment-only and source lines.

A line is *blank* when it holds only white space, *comment* when everything on
it lies inside comments (or a docstring), and *source* otherwise. Counts for any
span come from prefix sums, so per-unit counts cost O(1).
"""

from __future__ import annotations

from itertools import accumulate

from audit.results import LineCounts

BLANK, COMMENT, SOURCE = 0, 1, 2


class LineTable:
    """Per-line kinds of one file, with prefix sums for fast span counts."""

    def __init__(self, data: bytes, comments, docstrings=(), lines: list[bytes] | None = None):
        """``lines``: ``data`` already split at newlines, if at hand (it is not changed)."""
        lines = data.split(b"\n") if lines is None else lines
        kinds = [BLANK if not ln.strip() else SOURCE for ln in lines]
        if lines and lines[-1] == b"":
            kinds.pop()  # a final newline does not start a line
        for sr, sc, er, ec in list(comments) + list(docstrings):
            _mark_comment(kinds, lines, sr, sc, er, ec)
        self.kinds = kinds
        self.n = len(kinds)
        self._source = [0, *accumulate(k == SOURCE for k in kinds)]
        self._comment = [0, *accumulate(k == COMMENT for k in kinds)]

    def counts(self, start_line: int = 1, end_line: int | None = None) -> LineCounts:
        """Counts for 1-based inclusive lines start_line..end_line."""
        end = self.n if end_line is None else min(end_line, self.n)
        start = max(start_line, 1)
        if end < start:
            return LineCounts()
        physical = end - start + 1
        source = self._source[end] - self._source[start - 1]
        comment = self._comment[end] - self._comment[start - 1]
        return LineCounts(physical, source, comment, physical - source - comment)

    def source_lines(self, start_line: int, end_line: int) -> int:
        end = min(end_line, self.n)
        return self._source[end] - self._source[start_line - 1] if end >= start_line else 0


def _mark_comment(kinds, lines, sr, sc, er, ec) -> None:
    if sr >= len(kinds):
        return
    er = min(er, len(kinds) - 1)
    for row in range(sr, er + 1):
        if kinds[row] != SOURCE:
            continue
        line = lines[row]
        before = line[:sc] if row == sr else b""
        after = line[ec:] if row == er else b""
        if not before.strip() and not after.strip():
            kinds[row] = COMMENT
        elif row not in (sr, er):
            kinds[row] = COMMENT


def union_source_lines(table: LineTable, spans) -> int:
    """Source lines covered by any of the (start, end) spans, overlaps counted once."""
    total, cur_start, cur_end = 0, None, None
    for start, end in sorted(spans):
        if cur_end is not None and start <= cur_end:
            cur_end = max(cur_end, end)
            continue
        if cur_end is not None:
            total += table.source_lines(cur_start, cur_end)
        cur_start, cur_end = start, end
    if cur_end is not None:
        total += table.source_lines(cur_start, cur_end)
    return total
