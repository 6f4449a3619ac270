"""The fix-first list: a nested function outranks a flat dispatch; clones, findings, tests."""

import json

from audit.metrics.fixfirst import points


def _dispatch(arms: int) -> str:
    body = "\n".join(f"        {i} => \"m{i}\"," for i in range(arms))
    return f"pub fn encode(op: u32) -> &'static str {{\n    match op {{\n{body}\n        _ => \"\",\n    }}\n}}\n"


def _nested(name: str, var: str) -> str:
    return f"""pub fn {name}(v: &[i32], lim: i32) -> i32 {{
    let mut {var} = 0;
    for a in v {{
        if *a > lim {{
            for b in v {{
                if *b < *a {{
                    while {var} < lim {{
                        if {var} % 2 == 0 && *b > 0 {{
                            {var} += 2;
                        }} else {{
                            {var} += 1;
                        }}
                    }}
                }}
            }}
        }}
    }}
    {var}
}}
"""


def _scan(run_cli, tmp_path, files: dict, *flags):
    for name, text in files.items():
        path = tmp_path / "src" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    out = tmp_path / "out.json"
    code, _, err = run_cli("scan", "-q", "-j", "1", "--min-clone-lines", "5", "--json", str(out),
                           *flags, str(tmp_path / "src"))
    assert code == 0, err
    return json.loads(out.read_text())["fix_first"]


def test_nested_function_outranks_flat_dispatch(run_cli, tmp_path):
    ff = _scan(run_cli, tmp_path, {"enc.rs": _dispatch(60), "emit.rs": _nested("emit", "n")})
    names = [i["qualname"] for i in ff["items"]]
    assert names.index("emit::emit") < names.index("enc::encode")
    top = ff["items"][0]
    assert top["nesting"] == 6 and "nesting 6" in top["reasons"]
    assert top["score"] == round(points(top["cognitive"], 6, top["sloc"], top["findings"]), 1)
    assert "cognitive" in ff["formula"]


def test_clone_group_raises_the_score_and_is_the_reason(run_cli, tmp_path):
    files = {"a.rs": _nested("first", "n"), "b.rs": _nested("second", "m")}
    ff = _scan(run_cli, tmp_path, files)
    by_name = {i["qualname"]: i for i in ff["items"]}
    first = by_name["a::first"]
    assert first["clone"]["qualname"] == "b::second" and first["clone"]["size"] == 2
    assert any("clone of b::second" in r for r in first["reasons"])
    alone = _scan(run_cli, tmp_path, files, "--no-clones")
    single = {i["qualname"]: i for i in alone["items"]}["a::first"]
    assert single["clone"] is None and first["score"] > single["score"]


def test_test_code_is_left_out_unless_asked(run_cli, tmp_path):
    files = {"lib.rs": "pub fn small() -> i32 { 1 }\n",
             "tests.rs": "#[cfg(test)]\nmod tests {\n" + _nested("deep", "n") + "}\n"}
    names = [i["qualname"] for i in _scan(run_cli, tmp_path, files)["items"]]
    assert names == ["small"]
    names = [i["qualname"] for i in _scan(run_cli, tmp_path, files, "--include-tests")["items"]]
    assert names[0] == "tests::tests::deep"


def test_findings_count_by_severity():
    assert points(0, 0, 0, {"error": 1, "warning": 2, "info": 4}) == 10 + 6 + 2
    assert points(5, 5, 100, {}) == 5 + 20 + 10


def test_terminal_and_html_overview_show_the_list(run_cli, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "enc.rs").write_text(_dispatch(60))
    (src / "emit.rs").write_text(_nested("emit", "n"))
    code, out, _ = run_cli("scan", "-j", "1", "--no-color", "--html", str(tmp_path / "html"), str(src))
    assert code == 0
    listed = out[out.index("fix first"):]
    assert listed.index("emit::emit") < listed.index("enc::encode") and "nesting 6" in listed
    page = (tmp_path / "html" / "index.html").read_text()
    section = page[page.index("<h2>Fix first</h2>"):]
    assert section.index("emit::emit") < section.index("enc::encode")
    assert "points = cognitive" in section
