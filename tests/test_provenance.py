"""Provenance: channels survive translation, ports are found, independent code is clean.

Fixtures (fixtures/provenance): a small C corpus (lexer, parser, CRC table,
driver), a hand-written Rust port of lexer.c and Python port of parser.c, an
independent Rust calculator for the same task, and a Rust driver that shares
only interface-forced material (GCC's --version banner, ELF constants).
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from audit.cli import main
from audit.parse import parse
from audit.provenance import api
from audit.provenance.channels import char_value, extract, number_value, subwords, words
from audit.provenance.sketch import kgram_hashes, sketch_parsed, winnow
from audit.walk import SourceFile, git_blob_sha1

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIX = os.path.join(REPO, "fixtures", "provenance")


def parsed(text: str, language: str, path: str = "x"):
    data = text.encode()
    return parse(SourceFile(path, language, data, git_blob_sha1(data)))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return api.index_paths([os.path.join(FIX, "corpus")], "calc",
                           str(tmp_path_factory.mktemp("idx")), workers=1)


@pytest.fixture(scope="module")
def reports(corpus):
    out = {}
    for name in ("rust_port", "python_port", "independent", "interface_only"):
        result, payloads = api.scan_tree(os.path.join(FIX, name), jobs=1)
        out[name] = api.match_result(result, payloads, [corpus])
    return out


# -- normalisation ---------------------------------------------------------
@pytest.mark.parametrize("identifier, expected", [
    ("parse_declarator", ("parse", "declarator")),
    ("parseDeclarator", ("parse", "declarator")),
    ("HTTPServer22", ("http", "server", "22")),
    ("self", ()),
    ("x", ()),
])
def test_subwords(identifier, expected):
    assert subwords(identifier) == expected


@pytest.mark.parametrize("literal, expected", [
    ("0x10", "16"), ("16u", "16"), ("16_usize", "16"), ("0b1_0000", "16"), ("020", "16"),
    ("1.5f", "1.5"), ("0o20", "16"),
])
def test_number_values_agree_across_languages(literal, expected):
    assert number_value(literal) == expected


@pytest.mark.parametrize("literal, expected", [("'a'", "97"), ("b'a'", "97"), ("'\\n'", "10"),
                                               ("'\\x41'", "65"), ("'ab'", None)])
def test_char_values(literal, expected):
    assert char_value(literal) == expected


def test_format_directives_fold():
    assert words('"expected %d got %s\\n"') == words('"expected {} got {:?}"') == \
        ["expected", "%fmt", "got", "%fmt"]


@pytest.mark.parametrize("language, path, text", [
    ("c", "a.c", "int f(int n) { int s = 0; for (int i = 0; i < n; i++) { s += i * 2; } return s; }"),
    ("rust", "a.rs", "fn f(n: i32) -> i32 { let mut s = 0; let mut i = 0; while i < n { s += i * 2; i += 1; } return s; }"),
    ("python", "a.py", "def f(n):\n    s = 0\n    i = 0\n    while i < n:\n        s += i * 2\n        i += 1\n    return s\n"),
])
def test_struct_channel_is_language_neutral(language, path, text):
    toks = extract(parsed(text, language, path)).tokens["struct"]
    core = " ".join(toks[toks.index("LOOP"):])
    assert "LOOP LT ID ID ASSIGN_ADD ID MUL ID NUM" in core
    assert toks[-2:] == ["RET", "ID"]


def test_casts_and_unsafe_vanish():
    c = extract(parsed("int f(long x) { return (int)x + 1; }", "c", "a.c")).tokens["struct"]
    r = extract(parsed("fn f(x: i64) -> i32 { unsafe { return x as i32 + 1; } }", "rust", "a.rs")).tokens["struct"]
    assert c[-4:] == r[-4:] == ["RET", "ADD", "ID", "NUM"]


def test_winnowing_keeps_a_minimum_per_window():
    h = kgram_hashes(np.arange(1, 40, dtype=np.uint64), 3)
    picks = winnow(h, 4)
    for i in range(len(h) - 3):
        assert any(i <= p < i + 4 for p in picks)


def test_sketch_has_units_and_windows():
    body = "\n".join(f"  x = x * {i} + y;" for i in range(300))
    sk = sketch_parsed(parsed(f"int f(int x, int y) {{\n{body}\n  return x;\n}}\n", "c", "a.c"))
    kinds = sk.entry_kind.tolist()
    assert kinds.count(0) == 1 and kinds.count(1) >= 3  # one unit, several windows
    assert (sk.bands["struct"][0] != 0).all()


@pytest.mark.parametrize("cache_rows", [1 << 18, 8])  # permuted once ahead, or per entry
def test_entry_signatures_are_datasketch_minhashes(monkeypatch, cache_rows):
    """Band keys from the per-file batch equal datasketch's MinHash.bulk over each entry's
    k-gram set, for overlapping entries, lines out of order (C's for step) and void k-grams."""
    import datasketch

    from audit.provenance import sketch

    monkeypatch.setattr(sketch._Permuted, "CACHE_ROWS", cache_rows)
    rng = np.random.default_rng(11)
    h = rng.integers(1, 50, 3000).astype(np.uint64)  # a small vocabulary: repeated k-grams
    lines = np.sort(rng.integers(1, 400, 3000)).astype(np.uint32)
    lines[100:110] = lines[100:110][::-1]  # a step emitted after its loop body
    void = rng.random(3000) < 0.05
    void[200:400] = True  # a run of data: its k-grams are void
    start = np.array([1, 50, 120, 300, 390, 5, lines[220]], dtype=np.uint32)
    end = np.array([200, 60, 399, 310, 400, 6, lines[380]], dtype=np.uint32)  # the last: data only
    params = sketch.PARAMS
    got = sketch._bands(h, lines, start, end, "struct", params, void)
    k = params.get("shingle", "struct")
    kg = kgram_hashes(h, k, void)
    first, last = lines[:len(kg)], lines[k - 1:]
    for i in range(len(start)):
        sel = kg[(first >= start[i]) & (last <= end[i])]
        sel = sel[sel != sketch._VOID]
        if len(sel) < params.get("min_shingles", "struct"):
            assert not got[i].any()
            continue
        m = datasketch.MinHash.bulk([((np.unique(sel) >> np.uint64(32)).astype(np.uint32)).tolist()],
                                    num_perm=params.num_perm, seed=params.seed, scheme=params.scheme,
                                    hashfunc=lambda v: v)[0]
        want = sketch.band_keys(m.hashvalues.astype(np.uint64)[None, :], params)[0]
        assert np.array_equal(got[i], want), i
    assert not got[5:].any() and got[:5].any(axis=1).all()


# -- matching on fixtures --------------------------------------------------
@pytest.mark.parametrize("name, verdicts, corpus_file", [
    ("rust_port", ("derived", "review"), "lexer.c"),
    ("python_port", ("derived", "review"), "parser.c"),
])
def test_translation_is_found(reports, name, verdicts, corpus_file):
    report = reports[name]
    assert report.verdict in verdicts
    assert report.top_corpus == "calc"
    top = report.files[0].matches[0]
    assert top.corpus_path == corpus_file
    assert top.evidence and all(e.lines[0] <= e.lines[1] for e in top.evidence)


def test_ported_functions_pair_with_their_originals(reports):
    units = {u["unit"].split("::")[-1]: u["corpus_unit"] for u in reports["rust_port"].files[0].matches[0].units}
    assert units["tokenize"] == "tokenize"
    assert units["is_ident_start"] == "is_ident_start"


def test_independent_implementation_is_clean(reports):
    assert reports["independent"].verdict == "clean"
    assert reports["independent"].score < 0.02


def test_interface_forced_material_is_discounted_not_hidden(reports):
    report = reports["interface_only"]
    assert report.verdict == "clean"
    d = report.discounted.to_dict()
    assert d["interface"]["text"] > 0 and d["total"] >= d["interface"]["text"]


@pytest.mark.parametrize("language, source, expected", [
    # the same words: forced inside an emitted string, prose inside a comment
    ("rust", 'fn f() { emit("call the function"); }', True),
    ("rust", "fn f() {\n    // call the function\n    g();\n}", False),
    ("python", "def f():\n    # call the function\n    g()", False),
    ("c", "int f(void) { /* call the function */ return 0; }", False),
    # ordinary English is never forced, not even in a string
    ("rust", 'fn f() { error("this is the output file name"); }', False),
    # the banner is forced as a phrase, in a string or a comment
    ("rust", 'fn f() { println!("Copyright (C) 2022 Free Software Foundation, Inc."); }', True),
    ("c", "/* Copyright (C) 2022 Free Software Foundation, Inc. */ int x;", True),
])
def test_text_allow_list_spares_prose(language, source, expected):
    from audit.provenance import allow

    streams = extract(parsed(source, language))
    words_ = [w for w in streams.tokens["text"] if w in ("call", "this", "copyright")]
    assert words_, streams.tokens["text"]
    flags = allow.load().token_flags(streams)["text"]
    assert bool(flags[streams.tokens["text"].index(words_[0])]) is expected


# -- the JSON contract -----------------------------------------------------
def test_json_contract(corpus, tmp_path):
    out = tmp_path / "r.json"
    code = main(["scan", os.path.join(FIX, "rust_port"), "--corpus", corpus.path, "--json", str(out), "-q"])
    assert code == 0
    prov = json.loads(out.read_text())["provenance"]
    assert prov["verdict"] in ("clean", "review", "derived") and 0 <= prov["score"] <= 1
    assert prov["corpora"][0]["name"] == "calc"
    assert {"interface", "common", "total"} <= set(prov["discounted"])
    f = prov["files"][0]
    assert {"path", "verdict", "score", "matches"} <= set(f)
    m = f["matches"][0]
    assert {"corpus", "corpus_path", "swhid", "score", "channels", "evidence"} <= set(m)
    assert m["swhid"].startswith("swh:1:cnt:") and len(m["swhid"]) == 50
    assert set(m["channels"]) <= {"struct", "ident", "text", "num"}
    ev = m["evidence"][0]
    assert {"kind", "lines", "corpus_lines"} <= set(ev)
    assert len(ev["lines"]) == 2 and len(ev["corpus_lines"]) == 2


@pytest.mark.parametrize("name, threshold, code", [
    ("rust_port", "review", 1), ("independent", "review", 0), ("independent", "derived", 0),
])
def test_fail_on_verdict(corpus, name, threshold, code):
    argv = ["scan", os.path.join(FIX, name), "--corpus", corpus.path, "-q", "--no-rules",
            "--fail-on-verdict", threshold]
    assert main(argv) == code


def test_swhid_is_the_corpus_file_blob(corpus, reports):
    m = reports["rust_port"].files[0].matches[0]
    with open(os.path.join(FIX, "corpus", m.corpus_path), "rb") as fh:
        assert m.swhid == f"swh:1:cnt:{git_blob_sha1(fh.read())}"


def test_rust_tree_can_be_a_corpus(tmp_path):
    ix = api.index_paths([os.path.join(FIX, "rust_port")], "port", str(tmp_path), workers=1)
    result, payloads = api.scan_tree(os.path.join(FIX, "rust_port"), jobs=1)
    report = api.match_result(result, payloads, [ix])
    assert report.verdict == "derived" and report.score > 0.8


def test_repeated_shape_weighs_once(tmp_path):
    # The corpus has a short run of calls; the audited file repeats the same call
    # shape forty times. Repetition is one shape, not forty pieces of evidence.
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "defs.c").write_text(
        "void defs(void) {\n" + "".join(f'  def("N{i}", {i});\n' for i in range(6)) + "}\n")
    (tmp_path / "rs").mkdir()
    (tmp_path / "rs" / "emit.rs").write_text(
        "fn emit_all(o: &mut Out) {\n" + "".join(f'    o.put("x{i}", {i * 7});\n' for i in range(40)) + "}\n")
    ix = api.index_paths([str(tmp_path / "c")], "defs", str(tmp_path / "idx"), workers=1)
    result, payloads = api.scan_tree(str(tmp_path / "rs"), jobs=1)
    report = api.match_result(result, payloads, [ix])
    assert report.score == 0.0, [m.units for f in report.files for m in f.matches]


# -- batched lookups agree with the one-entry ones -----------------------------
def test_batched_fingerprints_equal_per_entry(corpus):
    from audit.provenance.channels import CHANNELS

    entries = np.arange(len(corpus.entry_names))
    for c in CHANNELS:
        owner, hashes = corpus.entry_fingerprints(c, entries)
        for e in entries.tolist():
            assert sorted(hashes[owner == e].tolist()) == sorted(corpus.fingerprints(c, e)[0].tolist())
        starts = np.asarray(corpus.a[f"fp_{c}_start"])
        off = np.asarray(corpus.a[f"fp_{c}_offset"])
        assert all((np.diff(starts[a:b].astype(np.int64)) >= 0).all() for a, b in zip(off[:-1], off[1:]))


def test_batched_pair_scores_equal_exact_verification(corpus):
    from audit.provenance.index import BandLookup
    from audit.provenance.match import DocFreq, FileMatcher, MatchConfig, Timing

    sketches = []
    for name in ("rust_port", "python_port", "independent"):
        result, payloads = api.scan_tree(os.path.join(FIX, name), jobs=1)
        sketches += api.result_sketches(result, payloads, False)[0]
    checked, indexes = 0, [corpus, corpus]  # two indexes: their candidates are joined apart
    for sk in sketches:
        fm = FileMatcher(sk, indexes, DocFreq(indexes), MatchConfig(), Timing(),
                         BandLookup(sk.bands, indexes, MatchConfig().bucket_cap))
        pairs = fm._candidates()
        if not pairs:
            continue
        arr = np.array(pairs)
        batched = fm._pair_scores(arr[:, 0], arr[:, 1], arr[:, 2])
        assert set(arr[:, 0].tolist()) == {0, 1}
        for (n, q, e), got in zip(pairs, batched.tolist()):
            m = fm._verify(indexes[n], q, e)
            assert got == pytest.approx(m.score if m else 0.0, abs=1e-9)
            checked += 1
    assert checked > 20  # candidates of all three trees, the independent one's included
