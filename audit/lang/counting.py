"""Cognitive-complexity bookkeeping the Rust and Python walkers share.

Two rules of SonarSource's specification need more than the walk's push/pop
state:

- a structure's condition is not nested under the structure itself: the nesting
  level rises where its body starts (:meth:`Counting.structural_at` defers it),
  so ``if (if a {1} else {2}) > x`` counts the inner ``if`` at the outer level;
- nested functions and closures count in their enclosing function, one level
  deeper, and stay units of their own: each unit is measured alone during the
  walk and folded into its parent afterwards (:func:`fold_into`).
"""

from __future__ import annotations


class Counting:
    """Mixin for a Walker: deferred nesting (``pending``) and folding of nested units."""

    pending: list  # (body start byte, construct end byte), the innermost last

    def sync(self, node) -> None:
        """Raise the nesting level for every deferred construct whose body the walk reached."""
        start = node.start_byte
        pending = self.pending
        while pending and pending[-1][0] <= start:
            _, end = pending.pop()
            if start < end:  # still inside it (its state is restored when the walk leaves it)
                self.cog += 1

    def structural_at(self, node, depth, body) -> int:
        """+1 plus the nesting level; the level rises where ``body`` starts, not at ``node``."""
        if self.pending:
            self.sync(node)
        self.unit.structural += 1
        action = self.structural(depth)
        if body is not None and body.start_byte > node.start_byte:
            self.cog -= 1  # nest() already recorded the deepest level the body reaches
            self.pending.append((body.start_byte, node.end_byte))
        return action

    def fold_units(self, kinds: tuple, cyclomatic_kinds: tuple) -> None:
        """Count each nested function or closure in its parent too (innermost first)."""
        for unit in reversed(self.parsed.units):
            parent = unit.parent
            if parent is None or parent.kind == "class" or unit.kind not in kinds:
                continue
            fold_into(parent, unit, unit.nest_base + 1, unit.kind in cyclomatic_kinds)


def fold_into(parent, child, level: int, cyclomatic: bool) -> None:
    """Add ``child``'s counts to ``parent``, its body sitting ``level`` levels deep there."""
    parent.cognitive += child.cognitive + child.structural * level
    parent.structural += child.structural
    parent.nesting = max(parent.nesting, level + child.nesting)
    if cyclomatic:
        parent.cyclomatic += child.cyclomatic - 1
