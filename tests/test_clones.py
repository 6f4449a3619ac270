"""Internal clones: fingerprints, verification, clone groups on purpose-written fixtures, CLI."""

from __future__ import annotations

import dataclasses
import io
import itertools
import json
import os

import numpy as np
import pytest

from audit.cli import main
from audit.clones import (CloneParams, CloneReport, find_clones, kgram_hashes, similarity,
                          sketch_units, unit_print, winnow)
from audit.clones_ext import render_terminal
from audit.config import ScanConfig
from audit.pipeline import Job, scan
from audit.render.terminal import make_console
from conftest import same_prints

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "clones")

# (file, function name) pairs that are copies: exact, renamed, or with statements edited.
CLONES = [
    ("rust/x86_backend.rs", "emit_prologue", "rust/arm_backend.rs", "emit_prologue"),  # exact
    ("rust/x86_backend.rs", "lower_binary", "rust/arm_backend.rs", "gen_arith"),  # renamed
    ("rust/x86_backend.rs", "lower_binary", "rust/riscv_backend.rs", "lower_binary"),  # edited
    ("python/lexer.py", "scan_number", "python/lexer_copy.py", "scan_number"),  # exact
    ("python/lexer.py", "scan_string", "python/lexer_copy.py", "read_literal"),  # renamed
    ("python/lexer.py", "scan_number", "python/lexer_copy.py", "number"),  # edited
]
# Near misses: same task or same opening, different code. Never clones.
NEAR_MISSES = [
    ("rust/x86_backend.rs", "emit_prologue", "rust/riscv_backend.rs", "emit_prologue"),
    ("rust/x86_backend.rs", "lower_binary", "rust/riscv_backend.rs", "lower_compare"),
    ("rust/riscv_backend.rs", "lower_binary", "rust/riscv_backend.rs", "lower_compare"),
    ("rust/arm_backend.rs", "gen_arith", "rust/riscv_backend.rs", "lower_compare"),
    ("python/lexer.py", "skip_space", "python/lexer_copy.py", "spaces"),
    ("python/lexer.py", "scan_number", "python/lexer_copy.py", "word"),
    ("python/lexer.py", "scan_string", "python/lexer_copy.py", "scan_number"),
]
# Copies that only type-2 normalisation (identifiers and literals abstracted) can see.
RENAMED = [CLONES[1], CLONES[4]]


def _key(unit) -> tuple[str, str]:
    return unit.path, unit.qualname.replace("::", ".").rsplit(".", 1)[-1]


@pytest.fixture(scope="module", params=["type2", "type1"])
def sketched(request):
    params = CloneParams(mode=request.param)
    config = ScanConfig(paths=(FIXTURES,), jobs=1)
    job = Job(config.max_file_size, passes=("clones",),
              options={"clones": dataclasses.asdict(params)})
    result, payloads = scan(config, job)
    units = [u for p in payloads.values() for u in p["clones"]]
    report = find_clones(units, params, result.totals.lines.source)
    return params, {_key(u): u for u in units}, report


def _grouped(report: CloneReport) -> set[frozenset]:
    """Every pair of units that share a clone group."""
    pairs = set()
    for g in report.groups:
        for a, b in itertools.combinations(g.members, 2):
            pairs.add(frozenset((_key(a), _key(b))))
    return pairs


def _pair(row) -> frozenset:
    return frozenset(((row[0], row[1]), (row[2], row[3])))


@pytest.mark.parametrize("row", CLONES, ids=lambda r: f"{r[1]}~{r[3]}")
def test_copies_share_a_group(sketched, row):
    params, _, report = sketched
    expected = params.mode == "type2" or row not in RENAMED
    assert (_pair(row) in _grouped(report)) is expected


@pytest.mark.parametrize("row", NEAR_MISSES, ids=lambda r: f"{r[1]}~{r[3]}")
def test_near_misses_score_below_threshold(sketched, row):
    params, units, report = sketched
    a, b = units[(row[0], row[1])], units[(row[2], row[3])]
    assert similarity(a, b, params.kgram)[0] < params.threshold
    assert _pair(row) not in _grouped(report)


def test_precision_every_grouped_pair_is_a_known_copy(sketched):
    params, _, report = sketched
    allowed = {_pair(r) for r in CLONES if params.mode == "type2" or r not in RENAMED}
    # members of one group are copies of each other by transitivity
    allowed.add(_pair(("rust/arm_backend.rs", "gen_arith",
                       "rust/riscv_backend.rs", "lower_binary")))
    allowed.add(_pair(("python/lexer_copy.py", "scan_number", "python/lexer_copy.py", "number")))
    assert _grouped(report) <= allowed
    assert _grouped(report)  # something was found


def test_tiny_units_are_not_compared(sketched):
    _, units, _ = sketched
    assert ("rust/x86_backend.rs", "ret") not in units
    assert ("rust/x86_backend.rs", "count_live") in units


def test_duplication_share_counts_members_after_the_first(sketched):
    _, _, report = sketched
    expected = sum(m.sloc for g in report.groups for m in g.members[1:])  # no nesting here
    assert report.duplicated_sloc == expected > 0
    assert report.duplication_share == pytest.approx(expected / report.total_sloc)
    for g in report.groups:
        assert [(m.path, m.start_line) for m in g.members] == sorted(
            (m.path, m.start_line) for m in g.members)


def test_fragments_pair_line_spans_inside_both_units(sketched):
    _, units, report = sketched
    for g in report.groups:
        for (i, j, _), evidence in zip(g.pairs, g.evidence):
            assert evidence
            a, b = g.members[i], g.members[j]
            for f in evidence:
                assert a.start_line <= f.left[0] <= f.left[1] <= a.end_line
                assert b.start_line <= f.right[0] <= f.right[1] <= b.end_line


# -- fingerprint primitives on synthetic token streams ---------------------------------

def _print(codes, params=CloneParams(), name="f", path="a.rs", start=1) -> object:
    codes = np.asarray(codes, dtype=np.uint64)
    lines = np.arange(start, start + len(codes), dtype=np.int32)
    return unit_print(path, "rust", name, (start, start + len(codes) - 1), len(codes), codes,
                      lines, np.zeros(params.num_perm, dtype=np.uint64), params)


@pytest.mark.parametrize("n,window", [(40, 4), (100, 6), (7, 6), (6, 6)])
def test_winnow_picks_a_fingerprint_in_every_window(n, window):
    rng = np.random.default_rng(n)
    hashes = rng.integers(0, 2**63, n, dtype=np.uint64)
    picked = set(winnow(hashes, window).tolist())
    for start in range(max(1, n - window + 1)):
        window_positions = range(start, min(n, start + window))
        assert picked & set(window_positions)
        assert min(window_positions, key=lambda p: hashes[p]) in picked


def test_kgram_hashes_depend_on_content_not_position():
    codes = np.array([5, 6, 7, 8, 5, 6, 7, 8, 9], dtype=np.uint64)
    h = kgram_hashes(codes, 4)
    assert len(h) == 6 and h[0] == h[4] and len(set(h.tolist())) == 5
    assert len(kgram_hashes(codes[:3], 4)) == 0


@pytest.mark.parametrize("left,right,low,high", [
    (list(range(60)), list(range(60)), 1.0, 1.0),  # identical
    (list(range(60)), list(range(100, 160)), 0.0, 0.0),  # disjoint
    (list(range(60)), list(range(30)) + list(range(200, 230)), 0.3, 0.6),  # first half shared
    # a pattern repeated in one unit covers no more than the other unit repeats it
    (list(range(20)) * 4, list(range(20)) + list(range(300, 360)), 0.1, 0.3),
])
def test_similarity_is_coverage_of_shared_fingerprints(left, right, low, high):
    sim, _ = similarity(_print(left), _print(right, path="b.rs"), CloneParams().kgram)
    assert low <= sim <= high


def test_nested_members_count_once():
    outer = _print(list(range(80)), name="outer", start=1)
    inner = _print(list(range(10, 70)), name="inner", start=11)
    other = _print(list(range(80)), path="b.rs", name="copy")
    report = CloneReport(CloneParams(), [], 3, 0, 0, 1000)
    group = dataclasses.make_dataclass("G", ["members"])([other, outer, inner])
    report.groups = [group]
    assert report.duplicated_sloc == outer.sloc


@pytest.mark.parametrize("changes,problem", [
    ({"mode": "type3"}, "clone mode"),
    ({"threshold": 1.5}, "threshold"),
    ({"lsh_threshold": 0.0}, "lsh threshold"),
    ({"kgram": 1}, "kgram"),
    ({"min_tokens": 3}, "min tokens"),
])
def test_bad_parameters_are_reported(changes, problem):
    problems = CloneParams(**changes).problems()
    assert len(problems) == 1 and problem in problems[0]


# -- command line ----------------------------------------------------------------------

def test_scan_json_has_clone_groups(tmp_path):
    out = tmp_path / "r.json"
    assert main(["scan", FIXTURES, "-q", "-j", "1", "--json", str(out)]) == 0
    clones = json.loads(out.read_text())["clones"]
    assert clones["parameters"]["mode"] == "type2"
    assert clones["group_count"] == len(clones["groups"]) == 4
    assert clones["units_compared"] == 16 and clones["units_skipped_small"] == 2  # the two ret()
    member = clones["groups"][0]["members"][0]
    assert set(member) == {"path", "qualname", "start_line", "end_line", "sloc", "tokens"}
    assert 0 < clones["duplication_share"] < 1
    assert clones["groups"][0]["pairs"][0]["fragments"][0]["other_lines"]


def test_no_clones_option_and_bad_threshold(tmp_path, capsys):
    out = tmp_path / "r.json"
    assert main(["scan", FIXTURES, "-q", "-j", "1", "--no-clones", "--json", str(out)]) == 0
    assert "clones" not in json.loads(out.read_text())
    assert main(["scan", FIXTURES, "-q", "--clone-threshold", "2"]) == 2
    assert "threshold" in capsys.readouterr().err


def test_terminal_section_lists_groups(sketched):
    _, _, report = sketched
    buf = io.StringIO()
    result = dataclasses.make_dataclass("R", ["sections"])({"clones": report})
    render_terminal(result, make_console(True, buf))
    text = buf.getvalue()
    assert "duplication share" in text and "emit_prologue" in text


def test_syntax_errors_inside_units_are_tokenised():
    from audit.parse import parse
    from audit.walk import source_from_bytes

    body = "".join(f"    let v{i} = w{i} + {i} * x;\n" for i in range(8))
    data = f"fn broken(x: i32) -> i32 {{\n{body}    let y = x $ 2;\n    x\n}}\n"
    parsed = parse(source_from_bytes("broken.rs", "rust", data.encode(), 1 << 20))
    assert parsed.error_spans and len(parsed.units) == 1  # an ERROR node inside the function
    prints = sketch_units(parsed, [11], CloneParams())
    assert len(prints) == 1 and prints[0].tokens > 90


# -- the numpy paths give what datasketch and the plain numpy forms give ---------------

@pytest.mark.parametrize("size", [1, 50, 255, 256, 257, 3000])
def test_minhash_signature_equals_datasketch(size):
    from datasketch import MinHash

    from audit.clones import minhash_signature

    values = np.unique(np.random.default_rng(size).integers(0, 2**64 - 1, size, dtype=np.uint64))
    expected = MinHash(num_perm=128, seed=1, scheme="affine64", hashfunc=lambda v: v)
    expected.update_batch(values.tolist())
    assert np.array_equal(minhash_signature(values, 128, 1), expected.hashvalues)


@pytest.mark.parametrize("n,window", [(40, 4), (100, 6), (7, 6), (500, 6)])
def test_winnow_equals_the_sliding_window_argmin(n, window):
    # few distinct values: ties, where the leftmost minimum must win
    hashes = np.random.default_rng(n).integers(0, 5, n).astype(np.uint64)
    views = np.lib.stride_tricks.sliding_window_view(hashes, window)
    expected = np.unique(views.argmin(axis=1) + np.arange(len(views)))
    assert np.array_equal(winnow(hashes, window), expected)


def test_occurrences_equal_unique_and_ranks():
    from audit.clones import _occurrences

    values = np.random.default_rng(3).integers(0, 20, 300).astype(np.uint64)
    distinct, counts, ranks = _occurrences(values)
    u, c = np.unique(values, return_counts=True)
    assert np.array_equal(distinct, u) and np.array_equal(counts, c)
    seen: dict = {}
    for value, rank in zip(values.tolist(), ranks.tolist()):
        assert rank == seen.get(value, 0)
        seen[value] = rank + 1


def test_candidate_pairs_equal_datasketch_lsh():
    from datasketch import LeanMinHash, MinHashLSH

    from audit.clones import candidate_pairs

    params = CloneParams()
    rng = np.random.default_rng(7)
    base = rng.integers(0, 2**40, (30, params.num_perm)).astype(np.uint64)
    # near copies share some bands with their original
    sigs = np.vstack([base, np.where(rng.random((30, params.num_perm)) < 0.6, base, base + 1)])
    units = [dataclasses.replace(_print(range(60), name=f"f{i}", path=f"{i}.rs"), signature=s)
             for i, s in enumerate(sigs)]
    lsh = MinHashLSH(threshold=params.lsh_threshold, num_perm=params.num_perm)
    sketches = [LeanMinHash(seed=params.seed, hashvalues=s, scheme="affine64") for s in sigs]
    for i, mh in enumerate(sketches):
        lsh.insert(i, mh)
    expected = {(i, j) for i, mh in enumerate(sketches) for j in lsh.query(mh) if j > i}
    assert expected and candidate_pairs(units, params) == expected


@pytest.mark.parametrize("num_perm", [64, 128, 256])
def test_lsh_bands_and_permutations_equal_datasketch(num_perm):
    from datasketch import MinHash, MinHashLSH

    from audit.clones import affine64_permutations, lsh_bands

    for threshold in (0.1, 0.2, 0.3, 0.45, 0.5, 0.7, 0.9):
        assert lsh_bands(threshold, num_perm) == \
            MinHashLSH(threshold=threshold, num_perm=num_perm).hashranges
    a, b = MinHash(num_perm=num_perm, seed=3, scheme="affine64").permutations
    mine = affine64_permutations(num_perm, 3)
    assert np.array_equal(a, mine[0]) and np.array_equal(b, mine[1])


def test_known_band_shapes_are_the_computed_ones():
    from datasketch import MinHashLSH

    from audit.clone_sketch import KNOWN_BANDS, band_shape

    for (threshold, num_perm), (bands, rows) in KNOWN_BANDS.items():
        assert band_shape(threshold, num_perm) == (bands, rows)
        lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
        assert (lsh.b, lsh.r) == (bands, rows)
    defaults = CloneParams()
    assert (defaults.lsh_threshold, defaults.num_perm) in KNOWN_BANDS


def test_a_scan_with_clones_does_not_load_datasketch(tmp_path):
    import subprocess
    import sys

    (tmp_path / "a.rs").write_text("fn f() {}\n")
    code = ("import sys\nfrom audit.cli import main\nmain(['scan', '-q', '-j', '1', sys.argv[1]])\n"
            "print('datasketch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True)
    assert out.stdout.strip().splitlines()[-1] == "False", out.stderr


def test_batch_similarities_equal_one_by_one():
    from audit.clones import similarities

    rng = np.random.default_rng(11)
    base = rng.integers(0, 40, 400)
    units = []
    for n in range(12):  # edited copies of one stream, some repeating a pattern, one identical
        codes = base.copy() if n == 0 else np.where(rng.random(400) < 0.1 * (n % 4), rng.integers(0, 40, 400), base)
        if n % 5 == 4:
            codes = np.concatenate([codes[:100]] * 4)
        units.append(_print(codes.astype(np.uint64), name=f"f{n}", path=f"{n}.rs"))
    units.append(_print(base.astype(np.uint64), name="same", path="same.rs"))
    pairs = [(i, j) for i in range(len(units)) for j in range(i + 1, len(units))]
    params = CloneParams()
    assert similarities(units, pairs, params.kgram) == \
        [similarity(units[i], units[j], params.kgram) for i, j in pairs]
    assert similarities(units, [], params.kgram) == []
    # pairs leaving units out (the first among them): only the units in a pair are flattened
    some = [(i, j) for i, j in pairs if i % 3 and j % 4 != 1][::2]
    assert {i for p in some for i in p} != set(range(len(units)))
    assert similarities(units, some, params.kgram) == \
        [similarity(units[i], units[j], params.kgram) for i, j in some]


@pytest.mark.parametrize("name,changes", [
    ("clones/rust/x86_backend.rs", {}),
    ("clones/python/lexer_copy.py", {"mode": "type1"}),
    # nested functions and closures; units shorter than a window of kgrams
    ("metrics/spec_cases.rs", {"min_lines": 1, "min_tokens": 10, "kgram": 4, "window": 24}),
    ("metrics/spec_cases.py", {"min_lines": 1, "min_tokens": 10, "kgram": 4, "window": 16}),
])
def test_a_file_sketched_at_once_equals_each_unit_alone(name, changes):
    from audit.clone_sketch import minhash_signature
    from audit.clone_tokens import outermost_nodes, token_stream
    from audit.parse import parse
    from audit.walk import source_from_bytes

    params = CloneParams(**changes)
    path = os.path.join(FIXTURES, "..", name)
    with open(path, "rb") as fh:
        data = fh.read()
    language = "rust" if name.endswith(".rs") else "python"
    parsed = parse(source_from_bytes(name, language, data, 1 << 20))
    slocs = [cu.end_line - cu.start_line + 1 for cu in parsed.units]
    units = [cu for cu, s in zip(parsed.units, slocs) if cu.kind in ("function", "method")]
    codes, starts, lines = token_stream(parsed, outermost_nodes(units), params.mode)
    expected = []
    for cu in units:
        lo, hi = np.searchsorted(starts, [cu.start_byte, cu.end_byte])
        if hi - lo >= params.min_tokens:
            hashes = kgram_hashes(codes[lo:hi], params.kgram)
            signature = minhash_signature(np.unique(hashes), params.num_perm, params.seed)
            expected.append(unit_print(name, language, cu.qualname, (cu.start_line, cu.end_line),
                                       cu.end_line - cu.start_line + 1, codes[lo:hi], lines[lo:hi],
                                       signature, params))
    got = sketch_units(parsed, slocs, params)
    assert len(got) == len(expected) >= 3
    if "spec_cases" in name:  # a nested function is there, beside its parent
        assert any(a.start_line < b.start_line and b.end_line < a.end_line
                   for a, b in itertools.permutations(got, 2))
    same_prints(got, expected)


def test_candidates_leave_out_nested_units_and_other_languages():
    from audit.clones import candidate_pairs

    same = np.arange(128, dtype=np.uint64)  # one signature: every band collides
    units = [dataclasses.replace(_print(range(60), name=name, path=path, start=start),
                                 signature=same, end_line=end, language=language)
             for name, path, start, end, language in [
                 ("outer", "a.rs", 1, 50, "rust"), ("inner", "a.rs", 10, 20, "rust"),
                 ("copy", "b.rs", 1, 50, "rust"), ("port", "c.py", 1, 50, "python"),
                 ("later", "a.rs", 60, 90, "rust")]]
    assert candidate_pairs(units, CloneParams()) == {(0, 2), (1, 2), (0, 4), (1, 4), (2, 4)}


def test_range_signatures_over_a_stream_longer_than_one_pass():
    """A stream past ``_STREAM`` kgrams is taken a piece at a time (the block's memory
    stays bounded): ranges across a cut, nested, overlapping, one kgram long and the
    whole stream still get the signature of their own values."""
    from audit.clone_sketch import _STREAM, minhash_signature, range_signatures

    rng = np.random.default_rng(7)
    values = rng.integers(0, 2 ** 63, 2 * _STREAM + 1000, dtype=np.uint64)
    values[100:400] = values[0]  # repeats: a minimum does not count them
    lo = np.array([0, 5, _STREAM - 8, _STREAM - 8, _STREAM + 40, 2 * _STREAM, 0, 3])
    hi = np.array([_STREAM + 9, 10, _STREAM + 20, _STREAM - 7, 2 * _STREAM + 999, 2 * _STREAM + 1,
                   len(values), 4])
    got = range_signatures(values, lo, hi, 128, 1)
    for row, (start, end) in zip(got, zip(lo.tolist(), hi.tolist())):
        assert np.array_equal(row, minhash_signature(np.unique(values[start:end]), 128, 1))
