"""Look inside Rust expression macros: re-parse their token trees as ordinary code.

tree-sitter leaves ``format!(...)`` arguments as a flat token tree, so an
``.unwrap()`` inside it is not a call node. All such token trees of a file are
copied, verbatim, into one synthetic function (each as the arguments of a call,
or an array for ``vec!``), parsed once, and matched with the same query; every
hit is mapped back to the original bytes, lines and columns.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from audit.lang import LANGUAGES

_HEAD = b"fn __audit_macros() {\n"
_ARRAY_MACROS = (b"vec",)


@dataclass(frozen=True)
class Segment:
    """Where one token tree's inner text sits in the synthetic source and in the file."""

    synth_start: int
    synth_end: int
    stmt_start: int  # the wrapper statement around the text, in the synthetic source
    stmt_end: int
    orig_start: int
    orig_row: int
    orig_col: int


class MacroSource:
    """The synthetic source for a list of (macro name, token tree node) pairs."""

    def __init__(self, data: bytes, macros: list[tuple[bytes, object]]):
        self.data = data
        chunks, self.segments, pos = [_HEAD], [], len(_HEAD)
        for name, tt in macros:
            start, end = tt.start_byte + 1, tt.end_byte - 1
            if end <= start:
                continue
            open_, close = (b"[", b"];\n") if name in _ARRAY_MACROS else (b"__m(", b");\n")
            stmt = pos
            pos += len(open_)
            row, col = tt.start_point
            self.segments.append(Segment(pos, pos + end - start, stmt, pos + end - start + len(close),
                                         start, row, col + 1))
            chunks += [open_, data[start:end], close]
            pos += end - start + len(close)
        chunks.append(b"}\n")
        self.text = b"".join(chunks)
        self._starts = [s.synth_start for s in self.segments]

    def parse(self):
        """The synthetic tree, or None when there is nothing to look into."""
        if not self.segments:
            return None
        return LANGUAGES["rust"].parser().parse(self.text)

    def map_bytes(self, start: int, end: int) -> tuple[int, int] | None:
        """The bytes of a synthetic span in ``data``, or None when it covers the wrapper."""
        i = bisect.bisect_right(self._starts, start) - 1
        if i < 0 or end > self.segments[i].synth_end:
            return None
        seg = self.segments[i]
        return seg.orig_start + start - seg.synth_start, seg.orig_start + end - seg.synth_start

    def in_error(self, node) -> bool:
        """True when the node, or an ancestor inside its own wrapper statement, failed to parse.

        A parse error elsewhere (another macro's text) may wrap the whole synthetic
        function in an ERROR node; that does not make this macro's text unreadable.
        """
        if node.has_error:
            return True
        i = bisect.bisect_right(self._starts, node.start_byte) - 1
        seg = self.segments[max(i, 0)]
        parent = node.parent
        while parent is not None and parent.start_byte >= seg.stmt_start \
                and parent.end_byte <= seg.stmt_end:
            if parent.is_error:
                return True
            parent = parent.parent
        return False

    def point(self, byte: int) -> tuple[int, int]:
        """(row, column) of a byte of ``data`` that lies inside one of the token trees."""
        i = bisect.bisect_right([s.orig_start for s in self.segments], byte) - 1
        seg = self.segments[max(i, 0)]
        newlines = self.data.count(b"\n", seg.orig_start, byte)
        if not newlines:
            return seg.orig_row, seg.orig_col + byte - seg.orig_start
        return seg.orig_row + newlines, byte - self.data.rfind(b"\n", seg.orig_start, byte) - 1
