"""Structural provenance: ports found by the order and shape of their units, without names or text."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest

from audit.parse import parse
from audit.provenance import api
from audit.provenance.channels import extract
from audit.provenance.structure import best_scores, gumbel_p, sequence, tail_p, traceback
from audit.walk import SourceFile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIX = os.path.join(REPO, "fixtures", "provenance", "structure")


@pytest.fixture(scope="module")
def vm_index(tmp_path_factory):
    return api.index_paths([os.path.join(FIX, "corpus")], "vm", str(tmp_path_factory.mktemp("idx")), workers=1)


def _structure_only(sk):
    """What survives a careful translator: no identifier words, no comment or string words."""
    for c in ("ident", "text"):
        sk.bands[c] = np.zeros_like(sk.bands[c])
        for d in (sk.fp_hash, sk.fp_start, sk.fp_end):
            d[c] = d[c][:0]
        if sk.fp_iface is not None:
            sk.fp_iface[c] = sk.fp_iface[c][:0]
    return sk


def _report(path, index, structure_only=False):
    _, payloads = api.scan_tree(path, jobs=1)
    sketches = [p["sketch"] for p in payloads.values() if p and p.get("sketch") is not None]
    if structure_only:
        sketches = [_structure_only(s) for s in sketches]
    return api.match_sketches(sketches, [index]).to_dict()


@pytest.mark.parametrize("name", ["port.rs", "c2rust.rs"])
@pytest.mark.parametrize("structure_only", [False, True])
def test_ports_are_found_by_structure(vm_index, name, structure_only):
    report = _report(os.path.join(FIX, "audited", name), vm_index, structure_only)
    assert report["verdict"] == "derived"
    (f,) = report["files"]
    best = f["structure"][0]
    assert best["significant"] and best["corpus_path"] == "stackvm.c"
    assert best["expected_chance"] < 1e-3  # significant for the audit needs <= 0.01
    assert len(best["pairs"]) >= 8  # most of the ten functions, in order
    lines = [p["corpus_lines"][0] for p in best["pairs"]]
    assert lines == sorted(lines)


def test_independent_implementation_is_not_found(vm_index):
    for structure_only in (False, True):
        report = _report(os.path.join(FIX, "audited", "independent.rs"), vm_index, structure_only)
        assert report["verdict"] == "clean"
        assert not any(s["significant"] for f in report["files"] for s in f["structure"])


def _functions(text: str) -> list[str]:
    return re.split(r"\n(?=(?:pub )?fn )", text)


def test_order_carries_the_evidence(vm_index, tmp_path):
    """The same functions in another order: the alignment loses most of its significance."""
    with open(os.path.join(FIX, "audited", "port.rs"), encoding="utf-8") as fh:
        parts = _functions(fh.read())
    head, fns = parts[0], parts[1:]
    order = [fns[i] for i in (9, 2, 6, 0, 8, 4, 1, 7, 3, 5, 10) if i < len(fns)]
    (tmp_path / "shuffled.rs").write_text(head + "\n" + "\n".join(order))
    ordered = _report(os.path.join(FIX, "audited", "port.rs"), vm_index, True)["files"][0]["structure"][0]
    shuffled = _report(str(tmp_path / "shuffled.rs"), vm_index, True)["files"]
    e_shuffled = min((s["expected_chance"] for f in shuffled for s in f["structure"]), default=1.0)
    assert e_shuffled > 1000 * ordered["expected_chance"]


def test_alignment_score_and_null():
    rng = np.random.default_rng(1)
    m = rng.normal(-1.0, 1.0, (12, 15))
    m[np.arange(10), np.arange(10)] = 3.0  # a diagonal of strong agreements
    score, pairs = traceback(m, 1.0)
    assert best_scores(m, 1.0)[0] == pytest.approx(score)
    assert [(i, i) for i in range(10)] == pairs[:10]
    null = best_scores(m, 1.0, np.stack([rng.permutation(15) for _ in range(99)]))
    assert null.max() < score
    assert gumbel_p(score, null) < 1e-3 < gumbel_p(float(np.median(null)), null)


def test_sequence_reads_long_units_by_their_windows():
    start = np.array([1, 1, 40, 200, 300])
    end = np.array([100, 50, 100, 250, 320])  # 1-100 holds the windows 1-50 and 40-100
    assert sequence(start, end).tolist() == [1, 2, 3, 4]


def _struct(language: str, code: bytes) -> list[str]:
    path = "t.rs" if language == "rust" else "t.c"
    return extract(parse(SourceFile(path, language, code, "0" * 40))).tokens["struct"]


def test_c2rust_idioms_read_like_their_c():
    rust = _struct("rust", b"unsafe extern \"C\" fn f(mut p: *mut u8, mut n: i32) -> u32 {"
                           b" let mut h: u32 = (*p.offset(n as isize) as u32).wrapping_mul(3 as libc::c_uint);"
                           b" if p.is_null() { return 0 as u32; } return h; }")
    c = _struct("c", b"unsigned f(unsigned char *p, int n) { unsigned h = p[n] * 3;"
                     b" if (p == 0) { return 0; } return h; }")
    for category in ("INDEX", "MUL", "EQ", "IF", "RET"):
        assert rust.count(category) == c.count(category), category
    assert "CALL" not in rust and "CALL" not in c


def test_the_trees_own_c_files_are_matched(vm_index, tmp_path):
    """A copy of the original's C file shipped beside the port is checked, not skipped."""
    tree = tmp_path / "tree"
    tree.mkdir()
    for name, src in (("port.rs", os.path.join(FIX, "audited", "port.rs")),
                      ("tests/vm_copy.c", os.path.join(FIX, "corpus", "stackvm.c"))):
        (tree / name).parent.mkdir(exist_ok=True)
        with open(src, "rb") as fh:
            (tree / name).write_bytes(fh.read())
    result, payloads = api.scan_tree(str(tree), jobs=1)
    report = api.match_result(result, payloads, [vm_index]).to_dict()
    verdicts = {f["path"]: f["verdict"] for f in report["files"]}
    assert verdicts["tests/vm_copy.c"] == "derived"
    assert verdicts["port.rs"] == "derived"
    assert ".c" not in report["not_audited"]
    skipped = api.match_result(result, payloads, [vm_index], c_files=False).to_dict()
    assert "tests/vm_copy.c" not in {f["path"] for f in skipped["files"]}
    assert skipped["not_audited"] == {".c": 1}


def test_blanked_strings_change_no_structure():
    """A careful translator may blank every string; a one-character string ("(") and a char
    literal are still one literal kind, and their character codes stay out of the shape."""
    from audit.provenance.sketch import SHAPE_GROUPS, sketch_parsed

    def sketch(language, text):
        data = text.encode()
        return sketch_parsed(parse(SourceFile("x", language, data, "0" * 40)))

    src = 'fn f(t: &T) -> bool {{ if t.is({a}) {{ return t.next({b}); }} t.is({c}) }}\n'
    full = sketch("rust", src.format(a='"("', b="';'", c='"<="'))
    blank = sketch("rust", src.format(a='""', b="';'", c='""'))
    assert full.entry_shape.tolist() == blank.entry_shape.tolist()
    assert _struct("rust", src.format(a='"("', b="';'", c='"<="').encode()) == \
        _struct("rust", src.format(a='""', b="''", c='""').encode())
    c = sketch("c", "int f(T *t) { if (is(t, '(')) { return next(t, \";\"); } return is(t, \"<=\"); }\n")
    literals = [SHAPE_GROUPS.index(("STR",))] + list(range(len(SHAPE_GROUPS), full.entry_shape.shape[1]))
    assert c.entry_shape[:, literals].tolist() == full.entry_shape[:, literals].tolist()
    assert full.entry_shape[0, SHAPE_GROUPS.index(("STR",))] == 3


def test_matching_on_worker_processes_gives_the_same_report(vm_index):
    """Batches of files matched in forked workers (audit.provenance.pool): the report is the
    one a single process makes, structural significance included."""
    other = os.path.dirname(FIX)  # the text-level fixtures: more files, other languages
    trees = [os.path.join(FIX, "audited")] + [os.path.join(other, d) for d in
                                              ("rust_port", "python_port", "independent", "interface_only")]
    sketches = []
    for tree in trees:
        _, payloads = api.scan_tree(tree, jobs=1)
        sketches += [p["sketch"] for p in payloads.values() if p and p.get("sketch") is not None]
    assert len(sketches) >= 6  # enough to be shared by two workers
    one = api.match_sketches(sketches, [vm_index], jobs=1).to_dict()
    two = api.match_sketches(sketches, [vm_index], jobs=2).to_dict()
    one.pop("timings", None), two.pop("timings", None)
    assert one == two
    assert any(f["structure"] for f in one["files"])


def test_a_run_of_one_shape_moves_as_one_block():
    """Thousands of generated accessors of one shape are a low-complexity stretch: when the
    corpus file is shuffled, consecutive entries of identical shape move together, as the
    windows of one function do (the same shape later on is a block of its own)."""
    from audit.provenance.structure import blocks_of

    a, b = [3, 1, 0, 0, 0, 2, 0, 4], [1, 0, 2, 0, 0, 1, 0, 6]
    shapes = np.array([a, a, a, b, b, a, a, b], dtype=np.uint16)
    names = ["get_x", "get_y", "get_z", "f[0]", "g", "set_x", "set_y", "h"]
    assert [blk.tolist() for blk in blocks_of(names, shapes)] == [[0, 1, 2], [3, 4], [5, 6], [7]]
    names = ["get_x", "get_y", "get_z", "f[0]", "f[120]", "set_x", "set_y", "h"]
    assert [blk.tolist() for blk in blocks_of(names)] == [[0], [1], [2], [3, 4], [5], [6], [7]]


def test_p_values_near_the_significance_line_are_refined(monkeypatch):
    """A p-value within a factor ``near`` of the line where an alignment becomes significant
    is fitted on ``refine`` more shuffles; far from it, the usual ones suffice."""
    from audit.provenance import structure as S

    rng = np.random.default_rng(3)
    m = rng.normal(size=(30, 30)) - 0.5
    m[np.arange(30), np.arange(30)] += 3.0  # a strong diagonal: an alignment no shuffle equals
    blocks = [np.array([i]) for i in range(30)]
    cfg = S.StructureConfig()
    score = S.traceback(m, cfg.gap)[0]
    drawn = []
    real = S.best_scores
    monkeypatch.setattr(S, "best_scores", lambda mm, gap, perms=None: drawn.append(len(perms)) or real(mm, gap, perms))
    p = S._p_value(m, score, cfg, np.random.default_rng(1), blocks)
    assert sum(drawn) == cfg.first + cfg.screen + cfg.shuffles and p < 1e-6
    drawn.clear()
    refined = S._p_value(m, score, cfg, np.random.default_rng(1), blocks, line=p * 3)
    assert sum(drawn) == cfg.first + cfg.screen + cfg.shuffles + cfg.refine and refined != p
    drawn.clear()
    S._p_value(m, score, cfg, np.random.default_rng(1), blocks, line=p * 1000)
    assert sum(drawn) == cfg.first + cfg.screen + cfg.shuffles


def test_tail_p_counts_where_shuffles_reach_and_fits_beyond():
    """Where some shuffles reach the score the p-value is their count, exact whatever the
    null's shape; only a score beyond every shuffle is read from the fitted tail."""
    null = np.random.default_rng(3).gumbel(10.0, 2.0, 123)
    score = float(np.sort(null)[-4])  # three shuffles above it, one equal
    assert tail_p(score, null) == 5 / 124
    beyond = float(null.max()) + 5.0
    assert tail_p(beyond, null) == gumbel_p(beyond, null) < 1 / 124


def test_the_provenance_page_states_a_significant_alignment_in_words(vm_index):
    from audit.render.sidebyside import provenance_page

    report = _report(os.path.join(FIX, "audited", "port.rs"), vm_index, structure_only=True)
    (f,) = report["files"]
    best = f["structure"][0]
    page = provenance_page(report, lambda path: None, lambda match: None, {})
    (view,) = [m for pf in page.files for m in pf.matches if m.corpus_path == "stackvm.c"]
    assert view.order.startswith(f"{len(best['pairs'])} units align in order with this file's")
    assert f"p {best['p_value']}" in view.order
    others = [m for pf in page.files for m in pf.matches if m.corpus_path != "stackvm.c"]
    assert all(not m.order for m in others)


def test_the_report_lists_every_own_c_file_with_its_verdict(vm_index, tmp_path):
    """Shipped headers and copied programs each get a row on the provenance page: a copy with
    its strongest evidence, a header that shares nothing as clean."""
    import json
    import subprocess
    import sys

    tree = tmp_path / "tree"
    (tree / "include").mkdir(parents=True)
    with open(os.path.join(FIX, "corpus", "stackvm.c"), "rb") as fh:
        (tree / "vm_copy.c").write_bytes(fh.read())
    (tree / "include" / "limits_own.h").write_text(
        "#ifndef LIMITS_OWN_H\n#define LIMITS_OWN_H\n#define OWN_WIDTH 37\n"
        "static inline int own_clamp(int v) { return v < 0 ? 0 : v > OWN_WIDTH ? OWN_WIDTH : v; }\n#endif\n")
    with open(os.path.join(FIX, "audited", "port.rs"), "rb") as fh:
        (tree / "port.rs").write_bytes(fh.read())
    done = subprocess.run([sys.executable, "-m", "audit", "scan", str(tree), "--corpus", vm_index.path,
                           "--json", str(tmp_path / "r.json"), "--html", str(tmp_path / "html"), "-q",
                           "--no-rules", "--no-clones"], capture_output=True, text=True)
    assert done.returncode in (0, 1), done.stderr
    prov = json.loads((tmp_path / "r.json").read_text())["provenance"]
    assert prov["determination"]["scope"]["checked"]["compared_not_measured"] == [
        "include/limits_own.h", "vm_copy.c"]
    page = (tmp_path / "html" / "provenance.html").read_text(encoding="utf-8")
    table = page.split("The tree's own C and C++ files", 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr><td class=\"path\">([^<]+)</td><td class=\"verdict-(\w+)\">", table)
    assert rows == [("include/limits_own.h", "clean"), ("vm_copy.c", "derived")]
    assert "no shared material found" in table and "stackvm.c" in table
