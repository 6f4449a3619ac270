"""A rule id used by both the Rust and Python packs: each language's finding shows its own rule."""

import json

from audit.rules import registry

RUST = ("pub fn f(a: i32, b: i32, c: i32, d: i32, e: i32, g: i32, h: i32, i: i32) -> i32 "
        "{ a + b + c + d + e + g + h + i }\n")
PYTHON = "def f(a, b, c, d, e, g, h, i):\n    return a\n"


def test_shared_ids_are_found_and_keyed_by_language():
    shared = registry.shared_ids(registry.load().rules)
    assert "too-many-arguments" in shared and "unwrap-used" not in shared
    assert registry.rule_key("too-many-arguments", "src/a.rs") == "rust/too-many-arguments"
    assert registry.rule_key("too-many-arguments", "pkg/b.py") == "python/too-many-arguments"
    assert registry.rule_key("unwrap-used", "src/a.rs") == "unwrap-used"


def test_sarif_and_html_name_each_languages_rule(run_cli, tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.rs").write_text(RUST)
    (tmp_path / "src" / "b.py").write_text(PYTHON)
    sarif, html = tmp_path / "out.sarif", tmp_path / "html"
    code, _, err = run_cli("scan", "-q", "-j", "1", "--select", "too-many-arguments",
                           "--sarif", str(sarif), "--html", str(html), str(tmp_path / "src"))
    assert code == 0, err
    run = json.loads(sarif.read_text())["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    seen = {}
    for res in run["results"]:
        uri = res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        seen[uri] = (res["ruleId"], rules[res["ruleIndex"]]["fullDescription"]["text"])
    assert seen["a.rs"][0] == "rust/too-many-arguments" and "self" in seen["a.rs"][1]
    assert seen["b.py"][0] == "python/too-many-arguments" and "ruff" in seen["b.py"][1]
    for name, words in (("a.rs", "including `self`"), ("b.py", "as ruff")):
        page = next(p for p in html.iterdir() if p.name.startswith(f"file-{name}-")).read_text()
        href = page[page.index('href="rule-too-many-arguments'):].split('"')[1]
        assert words in (html / href).read_text()
