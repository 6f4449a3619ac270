"""The metrics walk gives the same units and counts whichever way it reaches the nodes:
a TreeCursor, the query's matches, or the walker query's captures put in tree order."""

from __future__ import annotations

import os

import pytest
from tree_sitter import Query

from audit.lang import language_for
from audit.lang.walker import walk_query, walker_for
from audit.parse import ParsedFile
from audit.walk import source_from_bytes

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = [os.path.join(d, f) for top in ("fixtures/refcc", "fixtures/metrics", "fixtures/clones")
            for d, _, fs in os.walk(os.path.join(ROOT, top)) for f in sorted(fs)
            if f.endswith((".rs", ".py"))]
BROKEN = b"fn f(x: i32) -> i32 {\n    if x > 0 && x < 9 { return x \n    match x { 1 => 2, _ => 3 }\n"


def _walked(path: str, data: bytes, how: str):
    lang = language_for(path)
    source = source_from_bytes(path, lang.name, data, 1 << 22)
    parsed = ParsedFile(source, lang.parser().parse(data))
    walker = walker_for(lang.name)(parsed)
    query = walk_query(lang.name)
    if how == "cursor":
        walker.run()
    elif how == "matches":  # a second pattern makes the walk read matches, as with riders
        tl = parsed.tree.language
        walker.run(Query(tl, walker.pattern(tl) + " (identifier) @other"), [])
    else:
        walker.run(query)
    units = [(u.qualname, u.kind, u.start_line, u.end_line, u.cyclomatic, u.cognitive, u.nesting,
              u.params, u.returns, u.early_exits, u.falls_through) for u in parsed.units]
    captured = walker._captured(query)  # noqa: SLF001
    return units, parsed.comments, parsed.file_cyclomatic, captured, parsed.root.has_error


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: os.path.relpath(p, ROOT))
def test_cursor_matches_and_captures_walk_alike(path):
    with open(path, "rb") as fh:
        data = fh.read()
    cursor, matches, captures = (_walked(path, data, how) for how in ("cursor", "matches", "captures"))
    assert cursor[:3] == matches[:3] == captures[:3]
    captured, has_error = captures[3:]
    assert has_error or captured is not None  # the captures were the walk's


def test_a_syntax_error_is_walked_from_matches():
    units, _, _, captured, _ = _walked("broken.rs", BROKEN, "captures")
    assert captured is None  # MISSING nodes are zero-width: their order is not read from captures
    assert units == _walked("broken.rs", BROKEN, "cursor")[0]
