"""Python metrics: counting-table rows, radon agreement, and radon fallback."""

import textwrap

import pytest

from conftest import measure_snippet, unit_named

# (case, code, unit, cyclomatic, cognitive, nesting, params, exits)
CASES = [
    ("empty", "def f():\n    pass\n", "f", 1, 0, 0, 0, 1),
    ("if-elif-else", """
def f(x):
    if x > 0:
        return 1
    elif x < 0:
        return -1
    else:
        return 0
""", "f", 3, 3, 1, 1, 4),
    ("for-else", """
def f(xs):
    for x in xs:
        if x:
            break
    else:
        return 1
    return 0
""", "f", 4, 4, 2, 1, 2),
    ("try-except-else", """
def f():
    try:
        a()
    except KeyError:
        b()
    except (ValueError, TypeError):
        c()
    else:
        d()
""", "f", 4, 2, 1, 0, 1),
    ("boolean runs", "def f(a, b, c):\n    return a and b or c\n", "f", 3, 2, 0, 3, 1),
    ("comprehension", "def f(xs, y):\n    return [x for x in xs if x if y]\n", "f", 4, 0, 0, 2, 1),
    ("ternary", "def f(a):\n    return 1 if a else 2\n", "f", 2, 1, 1, 1, 1),
    ("lambda nests", "def f():\n    g = lambda x: 1 if x else 2\n    return g\n", "f", 2, 2, 2, 0, 1),
    ("lambda nests once", "def f():\n    g = lambda x: x\n    return g\n", "f", 1, 0, 1, 0, 1),
    ("match with catch-all", """
def f(x):
    match x:
        case 1:
            return 'a'
        case [a, b]:
            return 'b'
        case _:
            return 'c'
""", "f", 3, 1, 1, 1, 4),
    ("while and raise", """
def f(n):
    while n:
        if n < 0:
            raise ValueError(n)
        n -= 1
""", "f", 3, 3, 2, 1, 2),
    # radon counts an assert as one decision and reads nothing inside; cognitive reads the `and`
    ("assert is one decision", "def f(x):\n    assert x and x > 1\n", "f", 2, 1, 0, 1, 1),
    ("assert a and b", "def f(a, b):\n    assert a and b\n", "f", 2, 1, 0, 2, 1),
    ("assert with a ternary", "def f(a, b):\n    assert (1 if a else 2) or b\n", "f", 2, 2, 1, 2, 1),
    # a comment inside a boolean chain does not split the run
    ("comment inside a chain", "def f(a, b, c):\n    return (a == 1  # note\n"
                               "            and b == 2 and c == 3)\n", "f", 3, 1, 0, 3, 1),
    # a condition is not nested under its own `if`
    ("ternary in a condition", "def f(a, b):\n    if a > (1 if b else 2):\n        return 1\n"
                               "    return 0\n", "f", 3, 2, 1, 2, 2),
    ("ternary in a loop condition", "def f(a, b):\n    while a > (1 if b else 2):\n"
                                    "        a -= 1\n", "f", 3, 2, 1, 2, 1),
    # a nested def counts in the outer function's cognitive complexity, one level deeper;
    # cyclomatic stays the outer function's own (radon: closures are their own blocks)
    ("nested def", """
def f(x):
    def g(y):
        if y:
            return 1
        return 2
    return g(x)
""", "f", 1, 2, 2, 1, 1),
    ("nested def is its own unit", """
def f(x):
    def g(y):
        if y:
            return 1
        return 2
    return g(x)
""", "f.g", 2, 1, 1, 1, 2),
    # for +1; the ternary sits under for, g and h: +1 + 3
    ("nested defs two deep", """
def f(x):
    for i in x:
        def g(y):
            def h(z):
                return 1 if z else 2
            return h(y)
""", "f", 2, 5, 4, 1, 1),
    # a decorator's wrapper is a nested def like any other (no exemption)
    ("decorator wrapper", """
def deco(fn):
    def wrapper(*a):
        if a:
            return fn(*a)
        return None
    return wrapper
""", "deco", 1, 2, 2, 1, 1),
    ("parameters", "def f(a, /, b=1, *args, c: int, d: int = 2, **kw):\n    pass\n", "f", 1, 0, 0, 6, 1),
]


@pytest.mark.parametrize("case,code,unit,cc,cog,nest,params,exits", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("engine", ["radon", "tree-sitter"])
def test_python_metrics(engine, case, code, unit, cc, cog, nest, params, exits):
    m = unit_named(measure_snippet(textwrap.dedent(code), "python", engine=engine), "pkg.mod." + unit).metrics
    assert (m.cyclomatic, m.cognitive, m.nesting, m.params, m.exits) == (cc, cog, nest, params, exits)


def test_units_and_qualnames():
    code = textwrap.dedent('''
        """Module docstring."""

        class Parser:
            """Parses."""

            def parse(self, text):
                def helper(t):
                    return t if t else None
                return helper(text)

            async def later(self):
                pass

        @decorator
        def top(a, b):
            return a or b
    ''')
    result = measure_snippet(code, "python", "src/pkg/parser.py")
    kinds = {u.qualname: u.kind for u in result.units}
    assert kinds == {
        "pkg.parser.Parser": "class",
        "pkg.parser.Parser.parse": "method",
        "pkg.parser.Parser.parse.helper": "function",
        "pkg.parser.Parser.later": "method",
        "pkg.parser.top": "function",
    }
    top = unit_named(result, "pkg.parser.top")
    assert top.start_line == 16 and top.metrics.cyclomatic == 2
    # docstrings count as comment lines
    assert result.lines.comment == 2


def test_radon_numbers_are_used_and_tree_sitter_agrees():
    code = textwrap.dedent("""
        def f(xs):
            total = 0
            for x in xs:
                if x and total or not x:
                    total += [y for y in range(x) if y % 2][0] if x else 0
            while total > 100:
                try:
                    total = g(total)
                except OverflowError:
                    break
                else:
                    total -= 1
            return total
    """)
    radon = unit_named(measure_snippet(code, "python"), "pkg.mod.f").metrics
    tree = unit_named(measure_snippet(code, "python", engine="tree-sitter"), "pkg.mod.f").metrics
    assert radon.cyclomatic == tree.cyclomatic == 11
    assert radon.halstead.N1 > 0  # radon's Halstead, not empty


def test_radon_failure_falls_back_and_says_so():
    code = "def ok(x):\n    if x:\n        return 1\n\nprint 'python 2'\n"
    result = measure_snippet(code, "python")
    assert any("radon could not parse" in w for w in result.warnings)
    assert unit_named(result, "pkg.mod.ok").metrics.cyclomatic == 2


def test_test_files_are_marked():
    assert measure_snippet("def test_x():\n    pass\n", "python", "tests/test_x.py").is_test
    assert not measure_snippet("def x():\n    pass\n", "python", "pkg/x.py").is_test


SPEC_FILE_CASES = [  # fixtures/metrics/spec_cases.py: (function, cyclomatic, cognitive)
    ("nested_def", 1, 2), ("ternary_in_condition", 3, 2), ("comment_in_chain", 3, 1),
    ("assert_and", 2, 1),
]


def test_a_scan_of_the_spec_cases_file(run_cli, tmp_path):
    import json
    import os

    from conftest import FIXTURES

    out = tmp_path / "out.json"
    code, _, err = run_cli("scan", "-q", "-j", "1", "--no-rules", "--no-clones", "--json", str(out),
                           os.path.join(FIXTURES, "metrics", "spec_cases.py"))
    assert code == 0, err
    units = {u["name"]: u["metrics"] for f in json.loads(out.read_text())["files"] for u in f["units"]}
    got = [(name, units[name]["cyclomatic"], units[name]["cognitive"]) for name, _, _ in SPEC_FILE_CASES]
    assert got == SPEC_FILE_CASES
