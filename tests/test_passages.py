"""Many separate shared text passages with one corpus file: the file-level test and its null.

Fixtures (tests/data/passages): a small bytecode machine in C with a one-line comment above
each routine, and a Rust rewrite of it that changed every name, type and statement but kept
the comments.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from scipy.stats import poisson

from audit.provenance import api, chance, passages
from audit.provenance.match import EntryMatch, Fragment

DATA = Path(__file__).parent / "data" / "passages"


@pytest.mark.parametrize("k,mu", [(1, 0.5), (3, 3.29), (9, 2.99), (21, 3.29), (20, 1.09), (2, 5.0),
                                  (10, 10.0), (11, 10.0), (60, 4.0)])
def test_poisson_tail_agrees_with_scipy(k, mu):
    assert math.isclose(passages.poisson_sf(k, mu), float(poisson.sf(k - 1, mu)), rel_tol=1e-9)


def test_poisson_tail_edges():
    assert passages.poisson_sf(0, 2.0) == 1.0
    assert passages.poisson_sf(3, 0.0) == 0.0


def _match(tmp_path, corpus: dict[str, str], audited: dict[str, str]):
    (tmp_path / "corpus").mkdir()
    (tmp_path / "tree").mkdir()
    for name, text in corpus.items():
        (tmp_path / "corpus" / name).write_text(text)
    for name, text in audited.items():
        (tmp_path / "tree" / name).write_text(text)
    index = api.index_paths([str(tmp_path / "corpus")], "origin", str(tmp_path / "idx"), workers=1)
    result, payloads = api.scan_tree(str(tmp_path / "tree"), jobs=1)
    return result, payloads, index


def test_a_rewrite_that_kept_its_comments_shares_many_passages_with_its_original(tmp_path, monkeypatch):
    result, payloads, index = _match(tmp_path, {"vm.c": (DATA / "vm.c").read_text()},
                                     {"vm.rs": (DATA / "vm_port.rs").read_text()})
    (file,) = api.match_result(result, payloads, [index]).files
    (best,) = [m for m in file.matches if m.passages]
    record = best.passages
    assert best.corpus_path == "vm.c"
    assert record["significant"] and record["passages"] >= 10  # of the 14 comments
    assert record["expected_chance"] < 1e-10
    assert file.verdict == "derived"
    assert best.to_dict()["passages"] == record
    # the units carrying a passage count as wholly covered: more than their matches alone give
    monkeypatch.setattr(chance, "shipped", lambda: None)  # no calibrated rate: no test
    (alone,) = api.match_result(result, payloads, [index]).files
    assert not any(m.passages for m in alone.matches)
    assert alone.score < file.score


REPEATED = '''\
class CType:
    """A C type as the checker sees it."""

    def __init__(self, size, kind):
        self.size = size
        self.kind = kind

{methods}'''

METHOD = '''    def is_{name}(self):
        """Check whether this is a complete object type whose size is known here: {name}."""
        return self.kind == "{name}"

'''

CORPUS_C = """\
#include "rtl.h"

/* Check whether this is a complete object type whose size is known here, so that
   the caller can lay out the frame before the body is expanded. */
int fits_immediate (long value, int bits)
{
  long limit = 1L << (bits - 1);
  return value >= -limit && value < limit;
}
"""


def test_one_phrase_repeated_many_times_is_one_passage(tmp_path):
    """Twenty docstrings that all match the same corpus sentence are one piece of evidence."""
    kinds = ["void", "pointer", "array", "function", "integral", "arithmetic", "scalar",
             "object", "complete", "incomplete", "const", "volatile", "signed", "unsigned",
             "floating", "struct", "union", "enum", "bool", "char"]
    source = REPEATED.format(methods="".join(METHOD.format(name=k) for k in kinds))
    result, payloads, index = _match(tmp_path, {"rtl.c": CORPUS_C}, {"ctype.py": source})
    report = api.match_result(result, payloads, [index])
    (file,) = report.files
    assert not any(m.passages for m in file.matches)
    sketch = next(iter(payloads.values()))["sketch"]
    from audit.provenance.match import DocFreq, Timing, match_sketch

    matches, _ = match_sketch(sketch, [index], DocFreq([index]), api.MATCH, Timing())
    fragments = [f for m in matches for f in m.fragments if f.kind == "text"]
    assert len(fragments) >= 10  # the sentence is found again and again...
    (test,) = passages.file_tests(matches, chance.shipped(), file.code_lines)
    assert test.passages == 1  # ...but it is one passage
    assert test.p > 0.01


def _fragment(lines, corpus_lines, keys=()):
    return Fragment("text", lines, corpus_lines, max(1, len(keys)), 1, keys=frozenset(keys))


def _entry_match(entry, corpus_path, fragments):
    m = EntryMatch(entry, "origin", corpus_path, "swh:1:cnt:0", "f", (1, 9), 0.3, {"text": 1.0})
    m.fragments = fragments
    return m


def test_passages_join_by_shared_fingerprint_or_corpus_lines_and_merge_versions():
    table = chance.ChanceTable(1000, {"text": {"1": 2}})  # 2 fragments per 1,000 lines
    matches = [
        _entry_match(0, "parse.c@aaaa", [_fragment((3, 3), (10, 10), {11})]),
        _entry_match(1, "parse.c@bbbb", [_fragment((9, 9), (40, 40), {11})]),  # same fingerprint
        _entry_match(2, "parse.c@bbbb", [_fragment((15, 15), (40, 40), {12})]),  # same corpus lines
        _entry_match(3, "parse.c@bbbb", [_fragment((21, 21), (70, 70), {13})]),
        _entry_match(4, "type.c@aaaa", [_fragment((30, 30), (5, 5), {14})]),
    ]
    first, second = passages.file_tests(matches, table, 500)
    assert (first.path, first.passages, first.blob) == ("parse.c", 2, "parse.c@bbbb")
    assert first.entries == [0, 1, 2, 3]
    assert math.isclose(first.expected, 1.0)
    assert math.isclose(first.p, 1 - 2 * math.exp(-1.0))  # P(Poisson(1) >= 2)
    assert (second.path, second.passages) == ("type.c", 1)


def test_without_text_fragments_there_is_no_test():
    table = chance.ChanceTable(1000, {"text": {"1": 2}})
    other = Fragment("ident", (1, 2), (3, 4), 5, 1)
    assert passages.file_tests([_entry_match(0, "a.c", [other])], table, 100) == []
    assert passages.file_tests([_entry_match(0, "a.c", [_fragment((1, 1), (1, 1), {5})])], None, 100) == []


def test_the_report_states_the_passages_in_words(tmp_path):
    """The JSON record reaches the HTML provenance page, in words, beside the match it decided."""
    import json
    import subprocess
    import sys

    (tmp_path / "corpus").mkdir()
    (tmp_path / "tree").mkdir()
    (tmp_path / "corpus" / "vm.c").write_text((DATA / "vm.c").read_text())
    (tmp_path / "tree" / "vm.rs").write_text((DATA / "vm_port.rs").read_text())
    run = [sys.executable, "-m", "audit"]
    subprocess.run(run + ["corpus", "build", "vm", str(tmp_path / "corpus"), "--index-dir",
                          str(tmp_path / "idx")], check=True, capture_output=True)
    done = subprocess.run(run + ["scan", str(tmp_path / "tree"), "--corpus", "vm", "--index-dir",
                                 str(tmp_path / "idx"), "--json", str(tmp_path / "r.json"), "--html",
                                 str(tmp_path / "html"), "-q", "--no-rules", "--no-clones"],
                          capture_output=True, text=True)
    assert done.returncode in (0, 1), done.stderr
    (match,) = [m for f in json.loads((tmp_path / "r.json").read_text())["provenance"]["files"]
                for m in f["matches"] if m["passages"]]
    count = match["passages"]["passages"]
    page = (tmp_path / "html" / "provenance.html").read_text(encoding="utf-8")
    assert f"{count} separate text passages shared with this file" in page
    assert "significant" in page.split(f"{count} separate text passages", 1)[1][:400]


def test_a_larger_corpus_than_the_calibrations_raises_the_chance_rate_never_lowers_it():
    table = chance.ChanceTable(1000, {"text": {"1": 2}}, corpus_files=1000)
    matches = [_entry_match(0, "a.c", [_fragment((1, 1), (1, 1), {5})])]
    (same,) = passages.file_tests(matches, table, 500, corpus_files=1000)
    (small,) = passages.file_tests(matches, table, 500, corpus_files=10)
    (large,) = passages.file_tests(matches, table, 500, corpus_files=3000)
    assert math.isclose(same.expected, 1.0) and math.isclose(small.expected, 1.0)
    assert math.isclose(large.expected, 3.0) and large.p > same.p
    assert chance.shipped().corpus_files == sum(c["files"] for c in chance.shipped_section()["corpora"])


def test_a_fragments_chance_figure_grows_with_the_corpus_searched():
    table = chance.ChanceTable(1000, {"text": {"1": 4, "3": 1}}, corpus_files=100)
    assert table.expected("text", 3, 500).expected == 0.5
    assert table.expected("text", 3, 500, corpus_files=50).expected == 0.5
    assert table.expected("text", 3, 500, corpus_files=400).expected == 2.0
    assert table.expected("text", 9, 500, corpus_files=400).beyond_calibration


def test_passages_below_entry_min_still_show_their_evidence():
    """Every entry's match is too weak to count, yet together they are significant: the file
    match that the test creates carries the passages' fragments as its evidence."""
    from audit.parse import parse
    from audit.provenance.match import Discounted
    from audit.provenance.sketch import KIND_UNIT, sketch_parsed
    from audit.provenance.verdict import Thresholds, file_report
    from audit.walk import SourceFile, git_blob_sha1

    data = (DATA / "vm_port.rs").read_bytes()
    sk = sketch_parsed(parse(SourceFile("vm.rs", "rust", data, git_blob_sha1(data))))
    units = [q for q, k in enumerate(sk.entry_kind.tolist()) if k == KIND_UNIT]
    matches = []
    for n, q in enumerate(units):
        line = int(sk.entry_start[q])
        m = _entry_match(q, "vm.c@aaaa", [_fragment((line, line), (10 * n + 5, 10 * n + 5), {100 + n})])
        m.score = 0.1  # under entry_min: no match counts on its own
        matches.append(m)
    report = file_report(sk, matches, Discounted(), Thresholds(), n_files=1)
    (match,) = report.matches
    assert match.corpus_path == "vm.c@aaaa" and match.passages["significant"]
    assert match.passages["passages"] == len(units) >= 10
    assert len(match.evidence) >= 10 and all(f.kind == "text" for f in match.evidence)
    assert report.verdict == "derived"


def test_matches_group_by_the_indexs_document_not_by_their_labels():
    """A plain corpus's file names may hold an "@": the index's document decides what is one file."""
    table = chance.ChanceTable(1000, {"text": {"1": 2}})
    matches = [_entry_match(0, "img@2x.c", [_fragment((3, 3), (10, 10), {11})]),
               _entry_match(1, "img@3x.c", [_fragment((9, 9), (20, 20), {12})]),
               _entry_match(2, "lex.c@aaaa", [_fragment((15, 15), (5, 5), {13})]),
               _entry_match(3, "lex.c@bbbb", [_fragment((21, 21), (6, 6), {14})])]
    for m, doc in zip(matches, (7, 8, 9, 9)):
        m.corpus_doc = doc
    tests = passages.file_tests(matches, table, 500)
    assert sorted((t.blob, t.passages) for t in tests) == [("img@2x.c", 1), ("img@3x.c", 1),
                                                           ("lex.c@aaaa", 2)]
