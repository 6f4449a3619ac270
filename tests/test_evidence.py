"""Evidence strength: the expected number of chance fragments, and passages grouped across places.

Fixtures (fixtures/provenance/repeated): a C corpus file holding one unsigned
LEB128 decoder among other DWARF readers, and four Rust files that each write
the same decoder out again (under four names) beside unrelated code.
"""

from __future__ import annotations

import json
import os

import pytest

from audit.cli import main
from audit.provenance import api, chance
from audit.provenance.evidence import Instance, group_instances, group_label
from audit.provenance.match import Fragment

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIX = os.path.join(REPO, "fixtures", "provenance", "repeated")
TABLE = chance.ChanceTable(20_000, {"struct": {"1": 400, "2": 120, "3": 40, "6": 10, "11": 2},
                                    "num": {"3": 30, "5": 4}})


# -- the chance figure -----------------------------------------------------
@pytest.mark.parametrize("channel, size, lines, expected, beyond", [
    ("struct", 1, 1000, 28.6, False),  # 572 fragments of size >= 1 over 20,000 lines
    ("struct", 2, 1000, 8.6, False),
    ("struct", 3, 1000, 2.6, False),
    ("struct", 4, 1000, 0.6, False),  # sizes between the table's rows take the next row up
    ("struct", 11, 1000, 0.1, False),
    ("struct", 12, 1000, 0.05, True),  # past the table: "fewer than one in 20,000 lines"
    ("struct", 3, 4000, 10.4, False),
    ("num", 3, 1000, 1.7, False),
    ("ident", 1, 1000, 0.05, True),  # a channel the calibration never saw matched
])
def test_expected_chance_from_the_table(channel, size, lines, expected, beyond):
    got = TABLE.expected(channel, size, lines)
    assert got.expected == pytest.approx(expected, abs=0.05) and got.beyond_calibration is beyond


def test_figure_falls_with_size_and_rises_with_file_size():
    for table, channels in ((TABLE, ("struct", "num")), (chance.shipped(), ("struct", "ident", "text", "num"))):
        for channel in channels:
            by_size = [table.expected(channel, n, 1500).expected for n in range(1, 40)]
            assert all(a >= b for a, b in zip(by_size, by_size[1:]))
            assert by_size[0] > by_size[-1]
            by_lines = [table.expected(channel, 4, n).expected for n in (100, 1000, 10_000)]
            assert by_lines[0] < by_lines[1] < by_lines[2]


def test_shipped_calibration_gives_small_runs_a_large_expected_count():
    """A run of one or two shared fingerprints is what unrelated code of the same domain shows:
    in a 2,000-line file it is expected at least once on every channel."""
    table, section = chance.shipped(), chance.shipped_section()
    assert section["code_lines"] > 20_000 and {p["id"] for p in section["pairs"]} == {"N1", "N2", "N3", "N4"}
    for channel in ("struct", "ident", "num"):
        assert table.expected(channel, 1, 2000).expected >= 1.0
    assert table.expected("struct", 2, 2000).expected >= 1.0


@pytest.mark.parametrize("value, beyond, text", [
    (0.00312, False, "0.0031"), (0.42, False, "0.42"), (3.14, False, "3.1"), (123.4, False, "123"),
    (0.004, True, "< 1 in the calibration's 1,000 lines (< 0.0040 here)"), (None, False, "not calibrated"),
])
def test_describe(value, beyond, text):
    assert chance.describe(value, beyond, 1000) == text


# -- grouping ----------------------------------------------------------------
def _inst(path, lines, cpath, clines, kind="struct", n=8, chance_=0.5) -> Instance:
    return Instance(path, "c", cpath, Fragment(kind, lines, clines, n, 3, chance_))


def test_one_corpus_passage_at_four_places_is_one_group():
    rows = [_inst(f"src/{name}.rs", (10 + i, 20 + i), "leb.c", (5, 15), chance_=0.1 * (i + 1))
            for i, name in enumerate(("a", "b", "c", "d"))]
    rows.append(_inst("src/a.rs", (40, 50), "other.c", (100, 110)))
    first, second = group_instances(rows)
    assert (first.places, first.corpus_places, first.label) == (4, 1, "one passage, 4 places")
    assert first.instances[0].path == "src/a.rs"  # the least expected by chance leads
    assert (second.places, second.label) == (1, "one passage, one place")
    assert [r.fragment.group for r in rows] == [0, 0, 0, 0, 1]
    assert len(first.to_dict()["instances"]) == 4


def test_one_audited_shape_at_several_corpus_places_is_one_group():
    rows = [_inst("src/x.rs", (10, 20), f"gcc/config/{t}/intrin.h", (50, 60)) for t in ("i386", "arm", "rs6000")]
    rows.append(_inst("src/x.rs", (14, 18), "gcc/config/i386/intrin.h", (52, 57), kind="ident"))
    (g,) = group_instances(rows)
    assert (g.places, g.corpus_places, g.label) == (1, 3, "one passage, 3 corpus places")
    assert g.to_dict()["channels"] == ["ident", "struct"]


def test_disjoint_fragments_stay_apart():
    rows = [_inst("a.rs", (1, 5), "x.c", (1, 5)), _inst("a.rs", (20, 29), "x.c", (40, 49)),
            _inst("a.rs", (7, 9), "x.c", (30, 32)),  # next to the first here, far from it there
            _inst("b.rs", (1, 5), "y.c", (1, 5))]
    assert [len(g.instances) for g in group_instances(rows)] == [1, 1, 1, 1]


def test_a_signature_line_just_above_its_body_is_the_same_passage():
    """The signature is near the body as a whole (369-378 ~ 58-71), though no single piece of
    the body is near it on both sides; the next function (381-397 ~ 87-107) stays apart."""
    body = [_inst("eh.rs", (369, 376), "leb128.h", (65, 71), kind="num", n=4, chance_=0.5),
            _inst("eh.rs", (373, 376), "leb128.h", (67, 71), n=8, chance_=0.02),
            _inst("eh.rs", (376, 378), "leb128.h", (58, 59), kind="ident", n=1, chance_=9.0)]
    signature = _inst("eh.rs", (366, 366), "leb128.h", (54, 54), kind="ident", n=2, chance_=3.5)
    after = _inst("eh.rs", (381, 397), "leb128.h", (87, 107), n=11, chance_=0.015)
    first, second = group_instances([signature, *body, after])
    assert first.instances == [after] and second.instances[0] is body[1]
    assert len(second.instances) == 4 and (second.places, second.corpus_places) == (1, 1)


@pytest.mark.parametrize("places, corpus_places, label", [
    (1, 1, "one passage, one place"), (4, 1, "one passage, 4 places"),
    (1, 2, "one passage, 2 corpus places"), (3, 2, "3 places, 2 corpus places"),
])
def test_group_label(places, corpus_places, label):
    assert group_label(places, corpus_places) == label


# -- end to end on the fixture -------------------------------------------------
@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return api.index_paths([os.path.join(FIX, "corpus")], "dwarf", str(tmp_path_factory.mktemp("idx")),
                           workers=1)


@pytest.fixture(scope="module")
def report(corpus):
    result, payloads = api.scan_tree(os.path.join(FIX, "audited"), jobs=1)
    return api.match_result(result, payloads, [corpus])


def test_four_copies_of_a_standard_routine_are_one_group_with_four_places(report):
    doc = report.to_dict()
    assert len(doc["files"]) == 4
    (group,) = [g for g in doc["evidence_groups"] if g["places"] > 1]
    assert group["label"] == "one passage, 4 places" and group["corpus_places"] == 1
    assert {i["path"] for i in group["instances"]} == {"eh_frame.rs", "line_program.rs", "wasm_module.rs",
                                                      "debug_info.rs"}
    every = [ev for f in doc["files"] for m in f["matches"] for ev in m["evidence"]]
    assert len(group["instances"]) == len(every) and {ev["group"] for ev in every} == {group["id"]}


def test_each_fragment_carries_its_files_figure(report):
    table = chance.shipped()
    for f in report.files:
        for m in f.matches:
            for ev in m.evidence:
                want = table.expected(ev.kind, ev.fingerprints, f.code_lines)
                assert (ev.expected_chance, ev.beyond_calibration) == (want.expected, want.beyond_calibration)
            chances = [ev.expected_chance for ev in m.evidence]
            assert chances == sorted(chances)  # least expected by chance first


def _outputs(tmp_path, corpus, capsys) -> dict[str, str]:
    out = {k: tmp_path / f"r.{k}" for k in ("json", "md")}
    argv = ["scan", os.path.join(FIX, "audited"), "--corpus", corpus.path, "--no-rules",
            "--json", str(out["json"]), "--markdown", str(out["md"]), "--html", str(tmp_path / "html")]
    assert main(argv) == 0
    return {"terminal": capsys.readouterr().out, "json": out["json"].read_text(),
            "md": out["md"].read_text(), "html": (tmp_path / "html" / "provenance.html").read_text()}


def test_reports_say_expected_by_chance_not_rarity(tmp_path, corpus, capsys):
    got = _outputs(tmp_path, corpus, capsys)
    for name, text in got.items():
        assert "rarity" not in text.lower(), name
    assert "expected by chance" in got["terminal"] and "one passage, 4 places" in got["terminal"]
    assert "expected by chance" in got["md"] and "one passage, 4 places (12 fragments)" in got["md"]
    assert chance.MEANING in got["md"]
    assert 'title="how many shared runs' in got["html"] and "Passages found in several places" in got["html"]
    prov = json.loads(got["json"])["provenance"]
    assert prov["version"] == 2 and prov["evidence_groups"][0]["places"] == 4
