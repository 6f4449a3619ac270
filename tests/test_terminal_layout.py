"""The terminal summary at 80 and 160 columns: tables fit the width and no word breaks at an edge."""

import json
import re

import pytest
from rich.console import Console

from audit.render.terminal import compact

# Two near-identical functions with long names in long-named files, as a linker's
# emit_dynamic_executable and emit_shared_library are: each is the other's clone, so the
# fix-first reasons name a qualified name longer than the reasons column at 80 columns.
BODY = """pub fn {name}(sections: &[u32], limit: u32) -> u32 {{
    let mut total = 0;
    for section in sections {{
        if *section > limit {{
            for other in sections {{
                if *other < *section {{
                    while total < limit {{
                        if total % 2 == 0 && *other > 0 {{
                            total += 2;
                        }} else {{
                            total += 1;
                        }}
                    }}
                }}
            }}
        }}
    }}
    total
}}
"""
FILES = {"emit_dynamic_linker_with_relocations_for_x86_64.rs": "emit_dynamic_executable_with_relocations",
         "emit_shared_linker.rs": "emit_shared_library_with_relocations"}
# findings of rules with long ids (unseparated-literal-suffix) in both files, so the rule
# table's widest id and its 'most in' file names together pass 80 columns
FINDINGS = {"emit_dynamic_linker_with_relocations_for_x86_64.rs":
            "let _v = sections.first().unwrap(); let _w = limit as u8;",
            "emit_shared_linker.rs": "let _z = 1u32;"}


@pytest.fixture
def tree(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for file, name in FILES.items():
        text = BODY.format(name=name).replace("total += 1;", "total += 1; " + FINDINGS[file])
        (src / file).write_text(text)
    return src


def _scan_at(width, tree, tmp_path, monkeypatch, capsys):
    """The summary as a terminal ``width`` columns wide draws it, and the JSON report."""
    from audit.cli import main

    monkeypatch.setattr("audit.commands.scan.make_console",
                        lambda no_color=False: Console(width=width, no_color=True, highlight=False))
    out = tmp_path / "out.json"
    assert main(["scan", "-j", "1", "--min-clone-lines", "5", "--json", str(out), str(tree)]) == 0
    return capsys.readouterr().out, json.loads(out.read_text())


def _section(text, title):
    start = text.index(title)
    end = text.index("└", start)
    return text[start:text.index("\n", end)]


@pytest.mark.parametrize("width", [80, 160])
def test_fix_first_fits_and_breaks_no_name(width, tree, tmp_path, monkeypatch, capsys):
    text, report = _scan_at(width, tree, tmp_path, monkeypatch, capsys)
    table = _section(text, "fix first")
    rows = [line for line in table.splitlines() if line.startswith(("│", "┃"))]
    assert rows and all(len(line) <= width and line.endswith(("│", "┃")) for line in rows)
    # every word drawn is a whole word of the reasons or a name cut at its left ("…name")
    words = set(re.findall(r"\w+", " ".join(r for i in report["fix_first"]["items"]
                                              for r in i["reasons"])))
    cells = [cell for line in rows[1:] for cell in line.split("│")[5:6]]
    drawn = re.findall(r"…?\w+", " ".join(cells))
    broken = [w for w in drawn if not w.startswith("…") and w not in words]
    assert not broken, broken
    assert "clone of" in " ".join(" ".join(cells).split())


def test_fix_first_at_160_columns_keeps_the_clone_name_whole(tree, tmp_path, monkeypatch, capsys):
    text, _ = _scan_at(160, tree, tmp_path, monkeypatch, capsys)
    table = _section(text, "fix first")
    assert "emit_shared_linker::emit_shared_library_with_relocations" in table


@pytest.mark.parametrize("width", [80, 160])
def test_rule_table_fits_and_breaks_no_file_name(width, tree, tmp_path, monkeypatch, capsys):
    text, _ = _scan_at(width, tree, tmp_path, monkeypatch, capsys)
    table = _section(text, "idiom findings")
    lines = table.splitlines()
    rows = [line for line in lines if line.startswith(("│", "┃"))]
    assert "unseparated-literal-suffix" in table
    # rich crops a table wider than the terminal: the right border and words are lost
    assert all(len(line) <= width and line.endswith(("│", "┃")) for line in rows)
    assert "(errors and warnings first, then by fix effort)" in " ".join(
        line.strip() for line in lines[:lines.index(next(x for x in lines if x.startswith("┏")))])
    names = set(FILES) | {"1", "2"}
    drawn = re.findall(r"…?[\w.]+", " ".join(line.split("│")[-2] for line in rows[1:]))
    assert not [w for w in drawn if not w.startswith("…") and w not in names], drawn


@pytest.mark.parametrize("text, width, expected", [
    ("clone of a::b::emit::emit_dynamic_executable (x/y/emit.rs:18)", 40,
     "clone of emit::emit_dynamic_executable (emit.rs:18)"),
    ("clone of emit_dynamic::emit_dynamic_executable (emit_dynamic.rs:18)", 30,
     "clone of emit_dynamic_executable (emit_dynamic.rs:18)"),
    ("clone of emit_dynamic::emit_dynamic_executable (emit_dynamic.rs:18)", 12,
     "clone of …_executable …amic.rs:18)"),
])
def test_compact_cuts_words_longer_than_the_column(text, width, expected):
    assert compact(text, width) == expected


@pytest.fixture(scope="module")
def provenance(tmp_path_factory):
    """The provenance record of a scan of the calculator ports against their corpus."""
    from test_determination import make_corpus, make_tree, scan

    root = tmp_path_factory.mktemp("prov")
    _, doc = scan(make_tree(root), make_corpus(root), root / "r.json")
    return doc["provenance"]


@pytest.mark.parametrize("width", [80, 160])
def test_determination_block_wraps_with_a_hanging_indent(width, provenance):
    from audit.render.determination_view import print_determination, summary_lines

    console = Console(width=width, no_color=True, highlight=False, record=True)
    print_determination(provenance, console)
    lines = console.export_text().splitlines()[1:]
    assert all(len(line) <= width for line in lines)
    items = []  # each item: its first line (two spaces, a label) and its indented rest
    for line in lines:
        if line.startswith("      "):
            items[-1].append(line.strip())
        else:
            assert re.match(r" {2,4}\w[\w ]*: ", line), line
            items.append([line.strip()])
    texts = [f"{label}: {text}" for label, text in summary_lines(provenance["determination"])]
    # joined again at the line ends, every item reads as it was written: no word was cut
    assert [" ".join(item) for item in items[:len(texts)]] == texts
    assert any(len(item) > 1 for item in items)


@pytest.mark.parametrize("width", [80, 160])
def test_provenance_notes_wrap_under_their_item(width, tmp_path, monkeypatch, capsys):
    """The legend and notes below the provenance table: a wrapped line is indented under
    its item, never back at column 0 where it would read as a new heading."""
    from test_determination import make_corpus, make_tree

    from audit.cli import main

    monkeypatch.setattr("audit.commands.scan.make_console",
                        lambda no_color=False: Console(width=width, no_color=True, highlight=False))
    idx, tree = make_corpus(tmp_path), make_tree(tmp_path)
    main(["scan", tree, "--corpus", "calc", "--index-dir", idx, "-j", "1", "--no-clones", "--no-rules"])
    out = capsys.readouterr().out.splitlines()
    start = next(i for i, line in enumerate(out) if line.startswith("  expected by chance:"))
    end = next(i for i, line in enumerate(out) if line.startswith("skipped"))
    block = out[start:end]
    assert len(block) >= 3 and all(len(line) <= width for line in block)
    assert all(line.startswith("    ") or re.match(r"  \w[\w ]*: ", line) for line in block), block


def test_compare_hotspot_lines_wrap_under_their_item():
    from types import SimpleNamespace

    from audit.commands.compare import _hotspot_lines

    console = Console(width=80, no_color=True, highlight=False, record=True)
    unit = SimpleNamespace(cyclomatic=(0, 179), qualname="backend::riscv::linker::emit_shared::emit_shared_library",
                           path="src/backend/riscv/linker/emit_shared.rs", start_line=48)
    _hotspot_lines(console, "new hotspots", [unit, unit])
    lines = console.export_text().splitlines()
    assert lines[0] == "new hotspots:" and len(lines) == 5
    assert all(line.startswith("  cyclomatic") or line.startswith("      ") for line in lines[1:])


def test_history_jump_lines_wrap_under_their_item():
    from audit.commands.history import render_terminal
    from audit.history import HistoryResult

    point = {"commit": "0" * 40, "files": 1, "sloc": 10}
    jump = {"from": 141908, "to": 142668, "commit": "e836df40" + "0" * 32,
            "subject": "Fix ARM assembler: support symbolic offset expressions in directives"}
    stats = {"commits_analysed": 2, "commits_excluded": 0, "blobs": 1, "blobs_analysed": 1,
             "blobs_from_cache": 0, "cache_bytes": 0, "seconds": 1.0}
    console = Console(width=80, no_color=True, highlight=False, record=True)
    render_terminal(HistoryResult("r.git", {}, [point, point], {"findings_per_kloc": [jump]}, stats), console)
    lines = console.export_text().splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("  findings_per_kloc:"))
    assert lines[at + 1].startswith("      ") and lines[at + 2].startswith("blobs:")
