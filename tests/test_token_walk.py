"""The default scan walks each tree once, in Python, for the metrics and the clone tokens
(audit.clone_tokens.WalkTokens), and runs the rules' query apart: units, counts, clone
sketches and findings are what the query walk with the rules riding on it, followed by
the token walk over the units, gives."""

from __future__ import annotations

import dataclasses
import os

import pytest

from audit.clone_params import CloneParams
from audit.clone_sketch import sketch_units
from audit.clone_tokens import WalkTokens, outermost_nodes, token_stream
from audit.lang import language_for
from audit.metrics.measure import measure
from audit.parse import parse
from audit.pipeline import Job, _walk_rider, analyse_source
from audit.rules import engine
from audit.walk import source_from_bytes
from conftest import same_prints

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = [os.path.join(d, f) for top in ("fixtures/refcc", "fixtures/metrics", "fixtures/clones")
            for d, _, fs in os.walk(os.path.join(ROOT, top)) for f in sorted(fs)
            if f.endswith((".rs", ".py"))]

# Nodes of the walker's kinds inside subtrees that give one clone token (a string) or none
# (a comment): the walk must still hand them to the metrics walker.
INSIDE_LITERALS = {
    "inside.py": b'''
def describe(items, verbose):
    """Summary of the items."""
    label = f"{len(items) if items else 'no'} items, {'long' if verbose and items else 'short'}"
    pick = f"{(lambda x: x if x > 0 else -x)(len(items))}"
    for item in items:
        if item and verbose:
            print(f"{item!r:>{10 if verbose else 4}}")
    return label + pick
''',
    "inside.rs": b'''
/// Adds one.
///
/// ```
/// if x > 0 { assert!(add(x) > x) }
/// ```
pub fn add(x: i32) -> i32 {
    //! inner doc
    let s = "if a && b { } else { }";
    assert!(x > 0 && x < 100, "x={} {}", x, if x > 5 { "big" } else { "small" });
    x + 1
}
''',
    "broken.rs": b"fn f(x: i32) -> i32 {\n    if x > 0 && x < 9 { return x \n"
                 b"    match x { 1 => 2, _ => 3 }\n}\nfn g(y: i32) -> i32 {\n    if y > 1 { y } else { 0 }\n}\n",
}


def _inputs():
    for path in FIXTURES:
        with open(path, "rb") as fh:
            yield os.path.relpath(path, ROOT), fh.read()
    yield from INSIDE_LITERALS.items()


CASES = list(_inputs())
SMALL = {"min_lines": 1, "min_tokens": 10, "kgram": 4, "window": 8}


def _units(parsed):
    return [(u.qualname, u.kind, u.start_line, u.end_line, u.cyclomatic, u.cognitive, u.nesting,
             u.params, u.returns, u.early_exits, u.falls_through, u.structural) for u in parsed.units]


def _source(name, data):
    return source_from_bytes(name, language_for(name).name, data, 1 << 22)


@pytest.mark.parametrize("name,data", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("mode", ["type2", "type1"])
def test_one_walk_gives_the_query_walks_units_and_sketches(name, data, mode):
    source = _source(name, data)
    rider = _walk_rider(Job(1 << 22, passes=("rules",)))(source.language, name, {})
    by_query = parse(source, rider)
    tokens = WalkTokens(mode)
    by_walk = parse(source, rider, tokens=tokens)
    assert by_walk.rider_query is None and by_walk.rider_matches == []  # no query ran
    assert _units(by_walk) == _units(by_query)
    assert by_walk.comments == by_query.comments
    assert by_walk.file_cyclomatic == by_query.file_cyclomatic
    assert tokens.complete and len(tokens.codes) == len(tokens.starts) > 0
    params = CloneParams(mode=mode, **SMALL)
    slocs = [u.metrics.sloc for u in measure(by_query).units]
    expected = sketch_units(by_query, slocs, params)  # tokens walked over the units
    got = sketch_units(by_walk, slocs, params)  # the whole file's stream, cut at unit edges
    same_prints(got, expected)
    assert expected or not by_query.units
    if by_query.root.has_error:
        assert tokens.arrays(by_walk) is None  # zero-width nodes: the units are walked again


def test_the_walk_reaches_nodes_inside_strings_and_comments():
    """An f-string's conditional counts in its function as it did (the clone token of the
    string is one, and the walk still goes inside it)."""
    source = _source("inside.py", INSIDE_LITERALS["inside.py"])
    by_walk = parse(source, tokens=WalkTokens("type2"))
    (unit,) = [u for u in by_walk.units if u.name == "describe"]
    assert unit.cyclomatic >= 5 and unit.cognitive >= 5
    assert _units(by_walk) == _units(parse(source))


def test_tokens_of_a_unit_are_the_token_walks_over_it():
    with open(os.path.join(ROOT, "fixtures/clones/rust/x86_backend.rs"), "rb") as fh:
        source = _source("x86_backend.rs", fh.read())
    tokens = WalkTokens("type2")
    parsed = parse(source, tokens=tokens)
    codes, starts, lines = tokens.arrays(parsed)
    alone = token_stream(parsed, outermost_nodes(parsed.units), "type2")
    for cu in outermost_nodes(parsed.units):
        lo, hi = starts.searchsorted([cu.start_byte, cu.end_byte])
        a_lo, a_hi = alone[1].searchsorted([cu.start_byte, cu.end_byte])
        assert (codes[lo:hi] == alone[0][a_lo:a_hi]).all() and (lines[lo:hi] == alone[2][a_lo:a_hi]).all()
    assert len(codes) > len(alone[0])  # the stream also holds what lies outside the units


@pytest.mark.parametrize("name,data", CASES, ids=[c[0] for c in CASES])
def test_findings_do_not_depend_on_the_rules_riding_on_the_walk(name, data):
    """The default scan (rules and clones): the rules run their own query, without the
    walker's pattern; the findings are those of the rules riding on the walk's query."""
    source = _source(name, data)
    clones = {"clones": dataclasses.asdict(CloneParams())}
    default, _ = analyse_source(source, Job(1 << 22, passes=("rules", "clones"), options=clones))
    riding, _ = analyse_source(source, Job(1 << 22, passes=("rules",)))
    assert default.findings == riding.findings
    assert default.units == riding.units and default.halstead == riding.halstead
    combined = engine._combined(source.language, engine._settings_and_rules({}, source.language)[1])
    alone = engine._combined(source.language, engine._settings_and_rules({}, source.language)[1], walk=False)
    assert combined.owners[0] == "walk" and "walk" not in alone.owners
    assert alone.query.pattern_count == combined.query.pattern_count - 1
