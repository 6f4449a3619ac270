"""Review decisions: recorded on one run, applied on the next after edits elsewhere in the
file, not applied after an edit inside the unit, gone once pruned; --fail-on-verdict
honours them."""

from __future__ import annotations

import json
import os
import shutil

import pytest
from test_determination import FIX, make_corpus, scan

from audit.cli import main
from audit.errors import ConfigError
from audit.provenance import review as rv


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture
def tree(tmp_path):
    """A project with an audit.toml and the Python port of the corpus parser."""
    root = tmp_path / "proj"
    shutil.copytree(os.path.join(FIX, "python_port"), root)
    (root / "audit.toml").write_text("# project settings\n")
    return root


def _units(doc: dict) -> list[dict]:
    return doc["provenance"]["determination"]["matches"]


def _add(result, *selection: str, decision: str = "coincidental") -> int:
    return main(["review", "add", str(result), *selection, "--decision", decision,
                 "--by", "R. Viewer", "--reason", "grammar-forced shape"])


def test_decision_survives_an_edit_elsewhere_and_clears_the_file(tree, corpus, tmp_path):
    code, first = scan(str(tree), corpus, tmp_path / "r1.json", "--fail-on-verdict", "review")
    assert code == 1 and first["provenance"]["verdict"] != "clean"
    assert _add(tmp_path / "r1.json", "--path", "parser.py") == 0
    assert (tree / "audit-review.toml").is_file()  # beside audit.toml
    parser = tree / "parser.py"
    parser.write_text("# a new header comment\n\n\n" + parser.read_text() + "\n\ndef extra():\n    return 1\n")
    code, second = scan(str(tree), corpus, tmp_path / "r2.json", "--fail-on-verdict", "review")
    units = _units(second)
    assert units and all(u["decision"] == "coincidental" and u["decision_status"] == "applied"
                         for u in units)
    assert [a["lines"][0] + 3 for a in _units(first)] == [b["lines"][0] for b in units]
    det = second["provenance"]["determination"]
    assert det["review"]["cleared_files"] == ["parser.py"]
    assert det["verdict_after_review"] == "clean" and det["verdict"] != "clean"
    assert code == 0  # every matched unit was decided coincidental


def test_needs_action_never_clears(tree, corpus, tmp_path):
    scan(str(tree), corpus, tmp_path / "r1.json")
    assert _add(tmp_path / "r1.json", "--path", "parser.py", decision="needs-action") == 0
    code, doc = scan(str(tree), corpus, tmp_path / "r2.json", "--fail-on-verdict", "review")
    assert code == 1 and doc["provenance"]["determination"]["review"]["cleared_files"] == []


def test_edit_inside_the_unit_makes_the_decision_stale(tree, corpus, tmp_path):
    _, first = scan(str(tree), corpus, tmp_path / "r1.json")
    unit = next(u for u in _units(first) if u["unit"] == "parser.evaluate")  # matched on code, not comment
    assert _add(tmp_path / "r1.json", "--path", "parser.py", "--unit", unit["unit"]) == 0
    lines = (tree / "parser.py").read_text().split("\n")
    lines[unit["lines"][0]] += "  # reviewed?"  # a token inside the unit: its text changed
    lines.insert(unit["lines"][0] + 1, "    _probe = 0")
    (tree / "parser.py").write_text("\n".join(lines))
    _, second = scan(str(tree), corpus, tmp_path / "r2.json")
    got = next(u for u in _units(second) if u["unit"] == unit["unit"])
    assert got["decision_status"] == "stale"
    assert second["provenance"]["determination"]["review"]["applied"] == 0


def test_pruned_decision_no_longer_applies(tree, corpus, tmp_path, capsys):
    _, first = scan(str(tree), corpus, tmp_path / "r1.json")
    assert _add(tmp_path / "r1.json", "--path", "parser.py") == 0
    unit = _units(first)[0]["unit"]
    assert main(["review", "prune", str(tmp_path / "r1.json"), "--unit", unit]) == 0
    assert "removed 1 decision" in capsys.readouterr().out
    _, second = scan(str(tree), corpus, tmp_path / "r2.json")
    got = {u["unit"]: u for u in _units(second)}
    assert got[unit]["decision_status"] == "undecided"
    assert all(u["decision_status"] == "applied" for n, u in got.items() if n != unit)


def test_prune_by_result_drops_decisions_nothing_matches(tree, corpus, tmp_path, capsys):
    scan(str(tree), corpus, tmp_path / "r1.json")
    assert _add(tmp_path / "r1.json", "--path", "parser.py") == 0
    decisions = rv.load(str(tree / "audit-review.toml"))
    ghost = rv.Decision("gone.py", "gone", "parser.c", "sha256:00", "coincidental", "x", "y")
    rv.save(str(tree / "audit-review.toml"), decisions + [ghost])
    scan(str(tree), corpus, tmp_path / "r2.json")
    assert main(["review", "prune", str(tmp_path / "r2.json")]) == 0
    assert "removed 1 decision" in capsys.readouterr().out
    assert rv.load(str(tree / "audit-review.toml")) == sorted(decisions, key=lambda d: (d.key, d.content))


def test_list_shows_each_unit_with_its_decision(tree, corpus, tmp_path, capsys):
    scan(str(tree), corpus, tmp_path / "r1.json")
    _add(tmp_path / "r1.json", "--path", "parser.py")
    capsys.readouterr()
    scan(str(tree), corpus, tmp_path / "r2.json")
    assert main(["review", "list", str(tmp_path / "r2.json")]) == 0
    out = capsys.readouterr().out.strip().split("\n")
    assert out and all("coincidental (applied)" in line for line in out)
    assert main(["review", "list", "--review-file", str(tree / "audit-review.toml")]) == 0
    assert "by R. Viewer" in capsys.readouterr().out


def test_add_refuses_an_unknown_decision_or_no_match(tree, corpus, tmp_path, capsys):
    scan(str(tree), corpus, tmp_path / "r1.json")
    assert _add(tmp_path / "r1.json", "--path", "parser.py", decision="fine") == 2
    assert _add(tmp_path / "r1.json", "--path", "nothing.py") == 2
    assert "no matched unit" in capsys.readouterr().err


def test_content_hash_ignores_layout_but_not_tokens():
    a = "def f(x):\n    return x + 1\n"
    b = "def f(x):\n\n        return   x + 1\n"
    assert rv.content_hash(a, (1, 2)) == rv.content_hash(b, (1, 3))
    assert rv.content_hash(a, (1, 2)) != rv.content_hash(a.replace("1", "2"), (1, 2))


def test_a_broken_review_file_lists_every_problem(tmp_path):
    path = tmp_path / rv.REVIEW_FILE
    path.write_text('[[decision]]\npath = "a.py"\nunit = "f"\ncorpus_path = "a.c"\ndecision = "ok"\n'
                    '[[decision]]\npath = "b.py"\n')
    with pytest.raises(ConfigError) as exc:
        rv.load(str(path))
    assert len(exc.value.problems) == 2


def test_review_file_round_trips_awkward_text(tmp_path):
    d = rv.Decision('a "q".py', "f", "x\\y.c", "sha256:1", "licensed-and-attributed", "Zoë",
                    'line one\nline "two"', "2026-12-07", "calc")
    rv.save(str(tmp_path / "r.toml"), [d])
    assert rv.load(str(tmp_path / "r.toml")) == [d]
    json.dumps([d.__dict__])  # plain data


def test_clearing_the_listed_units_does_not_clear_lines_they_do_not_hold():
    """A file match lists its strongest units only: a file is cleared only when every line
    that counts towards a corpus lies inside a cleared unit."""
    from types import SimpleNamespace

    import numpy as np

    from audit.provenance.determination import _cleared_files

    covered = np.zeros(40)
    covered[5:11] = 0.8   # the listed unit
    covered[20:31] = 0.6  # a unit beyond the list's cap (or paired only by structure)
    f = SimpleNamespace(path="a.py", covered={"calc": covered})
    listed = [{"path": "a.py", "unit": "f", "lines": [5, 10], "decision_status": "applied",
               "decision": "coincidental"}]
    assert _cleared_files(listed, {"a.py": f}) == set()
    both = listed + [{"path": "a.py", "unit": "g", "lines": [20, 30], "decision_status": "applied",
                      "decision": "coincidental"}]
    assert _cleared_files(both, {"a.py": f}) == {"a.py"}
