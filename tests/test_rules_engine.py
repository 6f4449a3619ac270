"""The rules engine end to end: macros, test code, suppression, config, baseline, errors."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from audit.cli import main
from audit.errors import EXIT_USAGE, ConfigError
from audit.metrics.measure import measure
from audit.parse import parse
from audit.rules import baseline, config, engine, registry, scores
from audit.rules.checks_rust import code_lines
from audit.rules.loader import load_rules
from audit.walk import SourceFile, git_blob_sha1
from conftest import REPO

FIX = os.path.join(os.path.dirname(__file__), "..", "fixtures", "rules")
PROJECT = os.path.join(FIX, "project")


def scan_json(tmp_path, *extra, target=PROJECT):
    out = tmp_path / "out.json"
    code = main(["scan", target, "-q", "-j", "1", "--json", str(out), *extra])
    return code, (json.loads(out.read_text()) if out.exists() else None)


def test_findings_inside_macros_map_to_their_lines(tmp_path):
    code, doc = scan_json(tmp_path)
    assert code == 0
    got = sorted((f["rule"], f["line"], f["column"], f.get("suppressed"))
                 for f in doc["findings"] if f["path"] == "src/lib.rs")
    assert got == [
        ("expect-used", 10, 18, None),       # vec![..] inside format!
        ("unwrap-used", 4, 6, None),
        ("unwrap-used", 9, 13, None),        # format! argument on its own line
        ("unwrap-used", 14, 33, None),       # format! inside format!
        ("unwrap-used", 19, 5, "checked by the caller"),
        ("unwrap-used", 23, 5, "len checked above"),
    ]


def test_test_code_is_excluded_unless_asked(tmp_path):
    _, doc = scan_json(tmp_path)
    assert not [f for f in doc["findings"] if f["line"] == 30 or f["path"].startswith("tests/")]
    _, doc = scan_json(tmp_path, "--include-tests")
    paths = {(f["path"], f["line"]) for f in doc["findings"] if f["rule"] == "unwrap-used"}
    assert ("src/lib.rs", 30) in paths and ("tests/it.rs", 3) in paths


def test_config_file_sets_severity_and_ignore(tmp_path):
    _, doc = scan_json(tmp_path)
    sev = {f["severity"] for f in doc["findings"] if f["rule"] == "unwrap-used"}
    assert sev == {"error"}
    assert not [f for f in doc["findings"] if f["rule"] == "todo-comment"]
    assert doc["rules"]["config_file"].endswith("audit.toml")
    assert doc["rules"]["suppressed"] == 2


def test_select_on_command_line_limits_rules(tmp_path):
    _, doc = scan_json(tmp_path, "--select", "RS002")
    assert {f["rule"] for f in doc["findings"]} == {"expect-used"}


@pytest.mark.parametrize("argv,needle", [
    (["--select", "no-such-rule"], "unknown rule id, code or category 'no-such-rule'"),
    (["--rules-dir", os.path.join(FIX, "badpacks", "malformed")], "broken.toml"),
    (["--rules-dir", os.path.join(FIX, "badpacks", "badquery")], "bad query"),
])
def test_bad_configuration_fails_cleanly_and_writes_nothing(tmp_path, capsys, argv, needle):
    code, doc = scan_json(tmp_path, *argv)
    assert code == EXIT_USAGE and doc is None
    assert needle in capsys.readouterr().err


def test_unknown_rule_in_config_file_is_an_error(tmp_path, capsys):
    shutil.copytree(PROJECT, tmp_path / "p")
    (tmp_path / "p" / "audit.toml").write_text('select = ["unwrap-used", "RS999"]\n')
    code, doc = scan_json(tmp_path, target=str(tmp_path / "p"))
    assert code == EXIT_USAGE and doc is None
    assert "RS999" in capsys.readouterr().err


def test_malformed_pack_reports_every_problem_with_its_file():
    with pytest.raises(ConfigError) as exc:
        load_rules(os.path.join(FIX, "badpacks", "malformed"), registry.bad_queries)
    text = "\n".join(exc.value.problems)
    for needle in ("not-toml.toml: not valid TOML", "broken.toml: code 'RS9'",
                   "broken.toml: severity 'loud'", "broken.toml: missing [docs] table"):
        assert needle in text


@pytest.mark.parametrize("queries,bad", [
    (["(integer_literal) @hit", "(identifier @hit"], [1]),          # does not compile
    (["((identifier) @hit", "(integer_literal) @hit)"], [0, 1]),    # only valid together
    (["(integer_literal) @hit", "(identifier) @hit"], []),
])
def test_bad_queries_are_named_even_when_valid_together(queries, bad):
    base = registry.load().find("unwrap-used", "rust")
    rules = [replace(base, id=f"r{i}", code=f"RS9{i:02d}", query=q) for i, q in enumerate(queries)]
    assert [rules.index(r) for r, _ in registry.bad_queries(rules)] == bad


def test_rules_sharing_a_query_are_each_reported():
    reg = registry.load()
    long_fn = replace(reg.find("too-many-lines", "rust"), threshold=1)
    bools = replace(reg.find("fn-params-excessive-bools", "rust"), threshold=1)
    assert long_fn.query.strip() == bools.query.strip()
    code = b"fn f(a: bool, b: bool) {\n    g();\n    h();\n}\n"
    parsed = parse(SourceFile("src/x.rs", "rust", code, git_blob_sha1(code)))
    found = engine.analyse(parsed, measure(parsed), (long_fn, bools))
    assert sorted(f.rule for f in found) == ["fn-params-excessive-bools", "too-many-lines"]


@pytest.mark.parametrize("dense,ranges", [(0, 5), (10**9, 1)])  # a range per occurrence, or one
def test_a_gated_rule_runs_only_where_its_words_are_and_finds_every_match(monkeypatch, dense, ranges):
    monkeypatch.setattr(registry.Gate, "DENSE", dense)
    rule = registry.load().find("transmute-used", "rust")
    assert rule.words == ("transmute",)
    code = (b"// transmute: the word first appears in a comment\n"
            b"fn a(x: f32) -> u32 { unsafe { std::mem::transmute(x) } }\n"
            + b"fn filler() -> u8 { 0 }\n" * 50
            + b"fn b(x: f64) { println!(\"{}\", unsafe { mem::transmute::<f64, u64>(x) }); }\n"
            b"fn c() { transmute_later(); } // transmute\n")
    parsed = parse(SourceFile("src/x.rs", "rust", code, git_blob_sha1(code)))
    found = engine.analyse(parsed, measure(parsed), (rule,))
    assert [(f.line, f.rule) for f in found] == [(2, "transmute-used"), (53, "transmute-used")]
    gate, = registry.combined("rust", (rule,)).gates
    assert len(gate.ranges(code)) == ranges and gate.ranges(b"fn f() {}") == []
    ran, cursor = [], engine.QueryCursor
    monkeypatch.setattr(engine, "QueryCursor", lambda q: ran.append(q) or cursor(q))
    quiet = b"fn f(x: u32) -> u64 { u64::from(x) }\n"
    parsed = parse(SourceFile("src/y.rs", "rust", quiet, git_blob_sha1(quiet)))
    assert engine.analyse(parsed, measure(parsed), (rule,)) == []
    assert ran and gate.query not in ran  # the shared pass ran; the gated query did not


@pytest.mark.parametrize("words,problem", [
    ('["transmut"]', "word 'transmut' is not a quoted string of the query's predicates"),
    ("[]", "words must be a non-empty list of non-empty strings"),
    ('"transmute"', "words must be a non-empty list of non-empty strings"),
])
def test_words_must_be_strings_the_query_compares_with(tmp_path, words, problem):
    source = Path(registry.load().find("transmute-used", "rust").path).read_text(encoding="utf-8")
    folder = tmp_path / "rust" / "correctness"
    folder.mkdir(parents=True)
    (folder / "transmute-used.toml").write_text(source.replace('words = ["transmute"]', f"words = {words}", 1))
    with pytest.raises(ConfigError) as exc:
        load_rules(str(tmp_path), registry.bad_queries)
    assert any(problem in p and "transmute-used.toml" in p for p in exc.value.problems), exc.value.problems


def test_a_bad_gated_query_is_named():
    base = registry.load().find("transmute-used", "rust")
    bad = replace(base, id="gated-bad", code="RS990", query='((no_such_node) @hit (#eq? @hit "transmute"))')
    assert [r.id for r, _ in registry.bad_queries([base, bad])] == ["gated-bad"]


@pytest.mark.parametrize("body,lines", [
    (b"{\n a;\n // c\n /* x */ b;\n /* multi\n line */ c;\n d; // t\n}", 4),
    (b"{ x /* a\n b */ y\n // /* \n z }", 3),
    (b"{ a // b /* c\n d */ e\n}", 2),      # `/*` inside a line comment opens nothing
    (b"{\n/* open\n never closed\n", 1),   # the `{` line, then an unclosed comment
    (b"{\n\n  \n}", 0),
])
def test_code_lines_skip_comments_and_blank_lines(body, lines):
    assert code_lines(body) == lines


def test_pyproject_tool_audit_is_found_and_checked(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.audit]\nselect = ["unwrap-used"]\ncolour = 1\n')
    assert config.find_config((str(tmp_path),)) == str(tmp_path / "pyproject.toml")
    with pytest.raises(ConfigError, match="unknown key 'colour'"):
        config.read_settings(str(tmp_path / "pyproject.toml"))


def test_baseline_hides_known_findings_and_survives_moved_lines(tmp_path):
    shutil.copytree(PROJECT, tmp_path / "p")
    base = tmp_path / "base.json"
    code, doc = scan_json(tmp_path, "--baseline-write", str(base), target=str(tmp_path / "p"))
    assert code == 0 and sum(json.loads(base.read_text())["findings"].values()) == 4
    lib = tmp_path / "p" / "src" / "lib.rs"
    text = lib.read_text()
    lib.write_text("// moved\n\n" + text + "\npub fn more(x: Option<u8>) -> u8 { x.unwrap() }\n")
    _, doc = scan_json(tmp_path, "--baseline", str(base), target=str(tmp_path / "p"))
    new = [(f["rule"], f["line"]) for f in doc["findings"] if "suppressed" not in f]
    assert new == [("unwrap-used", text.count("\n") + 4)]
    assert doc["rules"]["baselined"] == 4


def test_fingerprints_ignore_white_space_but_not_rule_or_path():
    from audit.results import Finding

    f = Finding("unwrap-used", "warning", "suspicious", "a.rs", 1, 1, "m")
    a = engine.fingerprints([f], b"  x.unwrap()  \n")
    b = engine.fingerprints([f], b"x.unwrap()\n")
    c = engine.fingerprints([Finding("expect-used", "warning", "suspicious", "a.rs", 1, 1, "m")],
                            b"x.unwrap()\n")
    assert a == b != c


@pytest.mark.parametrize("per_kloc,band", [(0.0, "A"), (0.99, "A"), (1.0, "B"), (5.9, "C"),
                                           (9.0, "D"), (19.9, "E"), (20.0, "F")])
def test_findings_grade_bands(per_kloc, band):
    assert scores.grade(per_kloc) == band


def test_info_findings_stay_out_of_the_debt_and_the_grade(tmp_path):
    prints = "".join(f"    print({i})\n" for i in range(300))  # 300 info findings
    (tmp_path / "app.py").write_text(f"def f():\n{prints}")
    _, doc = scan_json(tmp_path, target=str(tmp_path))
    debt = doc["rules"]["debt"]
    assert debt["hours"] == 0 and debt["advisory_hours"] == 10.0 and debt["rating"] == "A"


def test_bad_baseline_file_is_a_config_error(tmp_path):
    p = tmp_path / "b.json"
    p.write_text('{"version": 99}')
    with pytest.raises(ConfigError, match="not an audit baseline"):
        baseline.load(str(p))


def test_terminal_summary_puts_warnings_before_larger_info_groups(tmp_path, capsys):
    prints = "".join(f"    print({i})\n" for i in range(30))  # 30 info findings: 60 minutes
    (tmp_path / "app.py").write_text(f"def f():\n{prints}    try:\n        g()\n    except:\n        pass\n")
    code = main(["scan", str(tmp_path), "-j", "1", "--no-color", "--no-clones", "--findings", "1"])
    out = capsys.readouterr().out
    assert code == 0
    rows = [line for line in out.splitlines() if "print-call" in line or "bare-except" in line]
    assert len(rows) == 1 and "bare-except" in rows[0]  # the warning leads, the info group is cut
    assert "2 more rule(s) with 31 finding(s)" in " ".join(out.split())  # print-call, try-except-pass


@pytest.mark.parametrize("path,source,expected", [
    ("src/lib.rs", b"#[cfg(test)]\nmod tests;\n", ["src/tests.rs", "src/tests/mod.rs"]),
    ("src/ir/lower.rs", b"#[cfg(test)] pub(crate) mod checks;", ["src/ir/lower/checks.rs",
                                                                  "src/ir/lower/checks/mod.rs"]),
    ("src/ir/mod.rs", b"#[cfg(test)]\nmod tests { }\n", []),   # inline: handled in the file itself
    ("src/main.rs", b"mod tests;\n", []),
])
def test_out_of_line_test_modules_are_named(path, source, expected):
    assert engine.declared_test_modules(path, source) == expected


def test_findings_in_an_out_of_line_test_module_are_dropped(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "lib.rs").write_text("#[cfg(test)]\nmod tests;\npub fn f(x: Option<u8>) -> u8 { x.unwrap() }\n")
    (tmp_path / "src" / "tests.rs").write_text("fn t() { Some(1).unwrap(); }\n")
    for extra, paths in (((), {"src/lib.rs"}), (("--include-tests",), {"src/lib.rs", "src/tests.rs"})):
        _, doc = scan_json(tmp_path, "--select", "unwrap-used", *extra, target=str(tmp_path))
        assert {f["path"] for f in doc["findings"]} == paths


@pytest.mark.parametrize("drop,problem", [
    ("why = ", "docs.why is missing"),
    ("references = [", "docs.references is missing"),
    ("valid = [", "valid must be a non-empty list of code examples"),
    ("invalid = [", "invalid must be a non-empty list of code examples"),
])
def test_a_rule_without_a_doc_section_or_examples_is_refused(tmp_path, drop, problem):
    source = registry.load().find("unwrap-used", "rust").path
    lines, out, skipping = Path(source).read_text(encoding="utf-8").splitlines(), [], False
    for line in lines:  # drop the key and, for a multi-line value, its continuation lines
        if line.startswith(drop):
            skipping = not line.rstrip().endswith(("]", "'"))
            continue
        if skipping:
            skipping = not line.startswith("]")
            continue
        out.append(line)
    folder = tmp_path / "rust" / "suspicious"
    folder.mkdir(parents=True)
    (folder / "unwrap-used.toml").write_text("\n".join(out) + "\n")
    with pytest.raises(ConfigError) as exc:
        load_rules(str(tmp_path), registry.bad_queries)
    assert any(problem in p and "unwrap-used.toml" in p for p in exc.value.problems), exc.value.problems


@pytest.fixture
def rules_copy(tmp_path, monkeypatch):
    """A copy of the bundled rules folder, with the user cache in tmp_path/cache."""
    monkeypatch.setenv("AUDIT_CACHE_DIR", str(tmp_path / "cache"))
    rules_dir = tmp_path / "rules"
    shutil.copytree(os.path.join(REPO, "rules"), rules_dir)
    return rules_dir


def test_validated_queries_are_remembered_and_any_change_is_checked_again(tmp_path, monkeypatch, rules_copy):
    rules_dir = rules_copy
    compiled = []
    real = registry.bad_queries
    monkeypatch.setattr(registry, "bad_queries", lambda rules: compiled.append(1) or real(rules))
    load = registry._load.__wrapped__  # past the per-process cache
    load(str(rules_dir))
    load(str(rules_dir))
    assert len(compiled) == 1  # the second load trusted the marker
    assert len(os.listdir(tmp_path / "cache" / "rules-validated")) == 1
    rule = rules_dir / "rust" / "suspicious" / "allow-attribute.toml"
    rule.write_text(rule.read_text().replace("(attribute_item", "(no_such_node", 1))
    with pytest.raises(ConfigError, match="bad query"):
        load(str(rules_dir))
    assert len(compiled) == 2


def test_a_loaded_rule_set_is_reused_until_a_rule_file_changes(tmp_path, monkeypatch, rules_copy):
    rules_dir = rules_copy
    read = []
    real = registry.load_rules
    monkeypatch.setattr(registry, "load_rules", lambda *a: read.append(1) or real(*a))
    load = registry._load.__wrapped__  # past the per-process cache
    first = load(str(rules_dir))
    second = load(str(rules_dir))
    assert len(read) == 1  # the second came from the cache, not from the TOML files
    assert second.rules == first.rules and len(second.rules) == len(first.rules) > 80
    rule = rules_dir / "rust" / "suspicious" / "allow-attribute.toml"
    rule.write_text(rule.read_text().replace('severity = "info"', 'severity = "error"', 1))
    assert load(str(rules_dir)).find("allow-attribute").severity == "error"
    assert len(read) == 2
    for cached in (tmp_path / "cache" / "rules-loaded").iterdir():
        cached.write_bytes(b"not a pickle")
    assert load(str(rules_dir)).find("allow-attribute").severity == "error"  # read afresh
    assert len(read) == 3


@pytest.mark.parametrize("language, suffix", [("rust", ".rs"), ("python", ".py")])
def test_walk_with_the_rules_riding_counts_as_the_walk_alone(language, suffix):
    """The query walk (rules riding) and the TreeCursor walk (alone) give the same units."""
    query = engine.walk_query(language, "src/x" + suffix, {"rules": {}})
    assert query is not None
    paths = [p for p in Path(REPO, "fixtures").rglob("*" + suffix) if "hostile" not in p.parts]
    assert len(paths) >= 5
    for path in paths:
        data = path.read_bytes()
        source = SourceFile(str(path), language, data, git_blob_sha1(data))
        alone, riding = measure(parse(source)), measure(parse(source, query))
        assert riding.units == alone.units and riding.lines == alone.lines, path
        assert parse(source, query).rider_matches  # and the rules got their matches
