"""Rust metrics: one row per construct of the counting table in docs/metrics.md."""

import pytest

from conftest import measure_snippet, unit_named

from audit.metrics.measure import measure
from audit.parse import parse
from audit.rules import engine
from audit.walk import SourceFile, git_blob_sha1

# (case, code, unit, cyclomatic, cognitive, nesting, params, exits)
CASES = [
    ("empty", "fn a() {}", "a", 1, 0, 0, 0, 1),
    ("if-else", "fn a(x: i32) -> i32 { if x > 0 { 1 } else { 2 } }", "a", 2, 2, 1, 1, 1),
    ("else-if chain", "fn a(x: i32) -> i32 { if x > 0 { 1 } else if x < 0 { 2 } else { 3 } }",
     "a", 3, 3, 1, 1, 1),
    ("if-let", "fn a(x: Option<u8>) -> u8 { if let Some(v) = x { v } else { 0 } }", "a", 2, 2, 1, 1, 1),
    ("nesting", "fn a(v: &[i32]) -> i32 { let mut s = 0; for x in v { if *x > 0 "
                "{ while s < 10 { s += 1; } } } s }", "a", 4, 6, 3, 1, 1),
    ("match arms and guard", "fn a(x: u8) -> u8 { match x { 0 => 1, 1 | 2 => 2, n if n > 9 => 3, "
                             "_ => 4 } }", "a", 5, 1, 1, 1, 1),
    ("boolean runs", "fn a(a: bool, b: bool, c: bool, d: bool) -> bool { a && b && c || d }",
     "a", 4, 2, 0, 4, 1),
    ("comments between operands", "fn a(x: bool, y: bool, z: bool) -> bool { x // first\n"
                                  "    || y /* second */ || z\n    // third\n    && x }", "a", 4, 2, 0, 3, 1),
    ("loop and labelled break", "fn a() { 'outer: loop { loop { break 'outer; } } }", "a", 1, 4, 2, 0, 1),
    ("closure nests", "fn a(v: Vec<i32>) -> Vec<i32> { v.into_iter().filter(|x| { if *x > 0 { true } "
                      "else { false } }).collect() }", "a", 2, 3, 2, 1, 1),
    ("question mark and return", "fn a(x: Option<i32>) -> Option<i32> { let y = x?; if y > 0 "
                                 "{ return Some(1); } Some(y) }", "a", 3, 1, 1, 1, 3),
    # an early exit is a decision: 1 + two `?` (lizard agrees)
    ("two question marks", "fn a(x: Option<i32>, y: Option<i32>) -> Option<i32> { let p = x?; "
                           "let q = y?; Some(p + q) }", "a", 3, 0, 0, 2, 3),
    ("let-else", "fn a(x: Option<i32>) -> i32 { let Some(y) = x else { return 0 }; y }", "a", 2, 1, 0, 1, 2),
    ("while let", "fn a(mut v: Vec<i32>) { while let Some(x) = v.pop() { if x > 1 { continue; } } }",
     "a", 3, 3, 2, 1, 1),
    ("ends in return", "fn a(x: i32) -> i32 { return x; }", "a", 1, 0, 0, 1, 1),
    ("return in closure is not an exit", "fn a() -> i32 { let f = |x: i32| { return x; }; f(1) }",
     "a", 1, 0, 1, 0, 1),
    # a closure bound by `let` counts inline in its parent like an unbound one (for +1,
    # if at nesting 2: +3, else +1) and is still a unit of its own
    ("let-bound closure counts inline", "fn a(v: &[i32]) -> i32 { let mut s = 0; for x in v { "
                                        "let f = |y: i32| if y > 0 { y } else { 0 }; s += f(*x); } s }",
     "a", 3, 5, 3, 1, 1),
    ("let-bound closure is its own unit", "fn a(v: &[i32]) -> i32 { let mut s = 0; for x in v { "
                                          "let f = |y: i32| if y > 0 { y } else { 0 }; s += f(*x); } s }",
     "a::f", 2, 2, 1, 1, 1),
    ("macro arguments are measured", 'fn a(a: i32, b: i32) -> String { assert!(a > 0 && b > 0); '
                                     'format!("{}", if a > b { a } else { b }) }', "a", 3, 3, 1, 2, 1),
    ("macro argument nesting", 'fn a(v: &[i32]) { for x in v { println!("{:?}", x.checked_add(1)?); '
                               'assert!(if *x > 0 { true } else { false }); } }', "a", 4, 4, 2, 1, 2),
    ("macro syntax that is not an expression", "fn a(x: Option<u8>) -> bool { matches!(x, Some(n) "
                                               "if n > 2 && n < 9) }", "a", 1, 0, 0, 1, 1),
    # a nested function counts in the outer one's cognitive complexity, one level deeper
    ("nested fn", "fn a(x: i32) -> i32 { fn inner(y: i32) -> i32 { if y > 0 { 1 } else { 2 } } "
                  "inner(x) }", "a", 1, 3, 2, 1, 1),
    ("nested fn is its own unit", "fn a(x: i32) -> i32 { fn inner(y: i32) -> i32 { if y > 0 { 1 } "
                                  "else { 2 } } inner(x) }", "a::inner", 2, 2, 1, 1, 1),
    # a condition is not nested under its own `if`: 1 + 1 (else), inner if 1 + 1 (else)
    ("if in a condition", "fn a(a: bool, x: i32) -> i32 { if (if a { 1 } else { 2 }) > x { 1 } "
                          "else { 2 } }", "a", 3, 4, 1, 2, 1),
    ("match with no arms", "fn a(x: Never) -> u8 { match x {} }", "a", 1, 1, 1, 1, 1),
    ("match on a match", "fn a(x: u8) -> u8 { match match x { 0 => 1, _ => 2 } { 1 => 0, _ => 1 } }",
     "a", 3, 2, 1, 1, 1),
    ("loop condition", "fn a(mut n: u32) { while (if n > 3 { n } else { 0 }) > 0 { if n > 9 { n -= 1; } "
                       "n -= 1; } }", "a", 4, 5, 2, 1, 1),
]


@pytest.mark.parametrize("case,code,unit,cc,cog,nest,params,exits", CASES, ids=[c[0] for c in CASES])
def test_rust_metrics(case, code, unit, cc, cog, nest, params, exits):
    m = unit_named(measure_snippet(code, "rust"), unit).metrics
    assert (m.cyclomatic, m.cognitive, m.nesting, m.params, m.exits) == (cc, cog, nest, params, exits)


@pytest.mark.parametrize("case,code,unit,cc,cog,nest,params,exits", CASES, ids=[c[0] for c in CASES])
def test_rust_metrics_with_the_rules_riding_on_the_walk(case, code, unit, cc, cog, nest, params, exits):
    """The query walk the rules ride on counts every construct as the walk alone does."""
    query = engine.walk_query("rust", "src/lib.rs", {"rules": {}})
    data = code.encode()
    parsed = parse(SourceFile("src/lib.rs", "rust", data, git_blob_sha1(data)), query)
    m = unit_named(measure(parsed), unit).metrics
    assert (m.cyclomatic, m.cognitive, m.nesting, m.params, m.exits) == (cc, cog, nest, params, exits)


def test_units_and_qualnames():
    code = """
pub struct Foo<T>(T);
impl<T> Foo<T> {
    pub fn get(&self, i: usize) -> i32 { 0 }
}
trait Shape {
    fn area(&self) -> f64;
    fn double(&self) -> f64 { self.area() * 2.0 }
}
impl Shape for Foo<u8> { fn area(&self) -> f64 { 1.0 } }
fn outer() {
    fn inner(x: i32) -> i32 { if x > 0 { 1 } else { 0 } }
    let add = |a: i32, b: i32| a + b;
    inner(add(1, 2));
}
mod nested { pub fn deep() {} }
"""
    result = measure_snippet(code, "rust", "src/backend/x86/mod.rs")
    kinds = {u.qualname: u.kind for u in result.units}
    assert kinds == {
        "backend::x86::Foo::get": "method",
        "backend::x86::Shape::double": "method",
        "backend::x86::Foo::area": "method",
        "backend::x86::outer": "function",
        "backend::x86::outer::inner": "function",
        "backend::x86::outer::add": "closure",
        "backend::x86::nested::deep": "function",
    }
    assert unit_named(result, "backend::x86::Foo::get").metrics.params == 2
    assert unit_named(result, "backend::x86::outer::add").metrics.params == 2
    # the nested function's decision is its own, not the outer function's
    assert unit_named(result, "backend::x86::outer").metrics.cyclomatic == 1
    assert unit_named(result, "backend::x86::outer::inner").metrics.cyclomatic == 2


def test_test_code_is_marked():
    code = """
fn real() {}
#[test]
fn top_test() {}
#[cfg(test)]
mod tests {
    fn helper() {}
    #[test]
    fn works() { helper(); }
}
"""
    result = measure_snippet(code, "rust")
    flags = {u.qualname: u.is_test for u in result.units}
    assert flags == {"real": False, "top_test": True, "tests::helper": True, "tests::works": True}
    assert measure_snippet("fn t() {}", "rust", "tests/integration.rs").units[0].is_test


def test_unit_spans_and_lines():
    code = "// header\n\nfn a() {\n    // note\n    let x = 1; // trailing\n\n    x;\n}\n"
    result = measure_snippet(code, "rust")
    u = unit_named(result, "a")
    assert (u.start_line, u.end_line) == (3, 8)
    lines = u.metrics.lines
    assert (lines.physical, lines.source, lines.comment, lines.blank) == (6, 4, 1, 1)
    f = result.lines
    assert (f.physical, f.source, f.comment, f.blank) == (8, 4, 2, 2)


def test_comments_inside_skipped_subtrees_are_counted():
    code = ("struct S {\n    // field note\n    a: i32,\n}\n"
            "fn f(\n    // parameter note\n    x: i32,\n) {\n    println!(\n        // macro note\n"
            "        \"{}\", x);\n}\n")
    assert measure_snippet(code, "rust").lines.comment == 3


def test_syntax_error_is_measured_and_recorded():
    code = "fn good() { if true { 1 } else { 2 }; }\nfn broken( {\nfn later() {}\n"
    result = measure_snippet(code, "rust")
    assert result.parse_errors, "the error region is recorded"
    assert "good" in {u.qualname for u in result.units}
    assert any("syntax error" in w for w in result.warnings)


def test_deep_nesting_does_not_overflow():
    depth = 3000
    code = "fn deep() -> i32 { " + "{ " * depth + "1" + " }" * depth + " }"
    result = measure_snippet(code, "rust")
    assert unit_named(result, "deep").metrics.cyclomatic == 1


def test_halstead_counts():
    result = measure_snippet("fn f(a: i32) -> i32 { a + 1 } // a comment with words", "rust")
    h = unit_named(result, "f").metrics.halstead
    # operators: fn ( : ) -> { + }  ; operands: f a i32 a i32 a 1 (distinct f a i32 1)
    assert (h.n1, h.N1, h.n2, h.N2) == (8, 8, 4, 6)
    assert h.volume > 0 and h.difficulty > 0


def test_file_maintainability_index_does_not_fall_with_length():
    func = ("fn f{i}(x: i32) -> i32 {{\n    // keep positive\n    if x > 0 {{ x * 2 }} else {{ -x }}\n}}\n")
    one = measure_snippet(func.format(i=0), "rust")
    many = measure_snippet("".join(func.format(i=i) for i in range(400)), "rust")
    assert one.mi == pytest.approx(one.units[0].metrics.mi)
    assert many.mi == pytest.approx(one.mi, abs=0.5) and many.mi > 20
    tables = measure_snippet("const T: [u8; 3] = [1, 2, 3];\n", "rust")  # no function: whole file
    assert 0 < tables.mi <= 100


SPEC_FILE_CASES = [  # fixtures/metrics/spec_cases.rs: (function, cyclomatic, cognitive)
    ("two_question_marks", 3, 0), ("bound_closure", 3, 5), ("macro_arguments", 3, 3),
    ("nested_fn", 1, 3), ("if_in_condition", 3, 4),
]


def test_a_scan_of_the_spec_cases_file(run_cli, tmp_path):
    import json
    import os

    from conftest import FIXTURES

    out = tmp_path / "out.json"
    code, _, err = run_cli("scan", "-q", "-j", "1", "--no-rules", "--no-clones", "--json", str(out),
                           os.path.join(FIXTURES, "metrics", "spec_cases.rs"))
    assert code == 0, err
    units = {u["name"]: u["metrics"] for f in json.loads(out.read_text())["files"] for u in f["units"]}
    got = [(name, units[name]["cyclomatic"], units[name]["cognitive"]) for name, _, _ in SPEC_FILE_CASES]
    assert got == SPEC_FILE_CASES


def test_deeply_nested_macro_arguments_stop_at_a_depth():
    from audit.lang.rust import MACRO_DEPTH

    def nested(levels):
        return "fn a(x: bool, y: bool) { " + "m!(" * levels + "x && y" + ")" * levels + "; }"

    assert unit_named(measure_snippet(nested(MACRO_DEPTH), "rust"), "a").metrics.cyclomatic == 2
    assert unit_named(measure_snippet(nested(MACRO_DEPTH + 1), "rust"), "a").metrics.cyclomatic == 1
    assert unit_named(measure_snippet(nested(2000), "rust"), "a").metrics.cyclomatic == 1
