"""Dev-set evaluation of provenance verdicts (../shared/eval/DEV-SET.md).

Run on demand (not by pytest), after building the indexes once:
    python bench/devset.py build --index-dir /tmp/dev-idx     # the four originals
    python bench/provenance_scale.py build --index-dir /tmp/prov-idx   # GCC 12 + binutils distractor
    python bench/devset.py eval --index-dir /tmp/dev-idx --distractor /tmp/prov-idx/gcc12-binutils

Every target is scanned (Rust and Python only; C files in the derivatives are
skipped and counted as not audited) and matched against all originals plus the
distractor. Prints a markdown table and precision/recall over the whole set.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

EXT = "/work/ext"
ORIGINALS = {
    "chibicc": f"{EXT}/rui314+chibicc",
    "c4": f"{EXT}/rswier+c4",
    "clox": f"{EXT}/munificent+craftinginterpreters/c",
    "8cc": f"{EXT}/rui314+8cc",
}
# id, target folder, the original it derives from (None: independent), reference for N
PAIRS = [
    ("D1", "sky87+chibicc-rs", "chibicc"),
    ("D2", "Maya678-byte+Cosc320_C2Rust", "c4"),
    ("D3", "simoc+lox2", "clox"),
    ("D4", "ahaoboy+clox-rs", "clox"),
    ("N1", "jyn514+saltwater", None),
    ("N2", "ShivamSarodia+ShivyC", None),
    ("N3", "vickenty+lang-c", None),
    ("N4", "abesto+jlox-rs", None),
]
# derivative file stem -> original file stems it stands for (when the names differ)
SYNONYMS = {"parser": {"parse", "type"}, "lexer": {"tokenize"}, "valuearray": {"value"},
            "token": {"scanner"}, "lib": {"c4"}}


def build(args) -> None:
    from audit.provenance.build import build_index

    for name, src in ORIGINALS.items():
        t0 = time.perf_counter()
        ix = build_index(name, [src], args.index_dir, workers=args.jobs)
        print(f"{name}: {ix.n_files} files, {ix.manifest['counts']['entries']} entries, "
              f"{time.perf_counter() - t0:.1f}s")


def _stem(path: str) -> str:
    return re.sub(r"\.[^.]*$", "", os.path.basename(path)).lower()


def right_file(path: str, corpus_path: str, original_stems: set[str]) -> bool | None:
    """Whether a derivative file's top match is its original file; None when no file corresponds."""
    stem = _stem(path)
    wanted = {stem} | SYNONYMS.get(stem, set())
    if not wanted & original_stems:
        return None
    return _stem(corpus_path) in wanted


def unit_agreement(report, expected: str) -> tuple[int, int]:
    """Units whose best match is the same-named function of the expected original."""
    hit = total = 0
    for f in report.files:
        for m in f.matches:
            for u in m.units:
                short = u["unit"].split("::")[-1].split(".")[-1]
                if m.corpus != expected:
                    continue
                total += 1
                hit += short == u["corpus_unit"].split("::")[-1]
    return hit, total


def evaluate(args) -> None:
    from audit.provenance import api

    corpora = [os.path.join(args.index_dir, n) for n in ORIGINALS]
    if args.distractor:
        corpora.append(args.distractor)
    rows, summary = [], []
    for pid, target, expected in PAIRS:
        t0 = time.perf_counter()
        report, timings = api.scan_against(os.path.join(EXT, target), corpora, jobs=args.jobs)
        row = _row(pid, target, expected, report, time.perf_counter() - t0)
        rows.append(row)
        summary.append({**row, "corpora": {c["name"]: c["score"] for c in report.corpora}})
    _print(rows)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(summary, fh, indent=1)


def _row(pid, target, expected, report, wall) -> dict:
    original_stems = set()
    if expected:
        original_stems = {_stem(p) for p in os.listdir(ORIGINALS[expected]) if p.endswith((".c", ".h"))}
    files = [f for f in report.files if f.code_lines > 0]
    with_match = [f for f in files if f.matches]
    right_corpus = sum(1 for f in with_match if f.matches[0].corpus == expected)
    judged = [right_file(f.path, f.matches[0].corpus_path, original_stems)
              for f in with_match if expected and f.matches[0].corpus == expected]
    judged = [j for j in judged if j is not None]
    hit, total = unit_agreement(report, expected) if expected else (0, 0)
    return {"id": pid, "target": target, "expected": expected or "-", "verdict": report.verdict,
            "score": report.score, "top": report.top_corpus or "-", "files": len(files),
            "files_matched": len(with_match), "top_is_right_original": right_corpus,
            "right_file": f"{sum(judged)}/{len(judged)}", "same_name_units": f"{hit}/{total}",
            "not_audited": sum(report.skipped_languages.values()), "wall_s": round(wall, 1)}


def _print(rows) -> None:
    print("| id | target | verdict | score | top corpus | files (matched) | top match in right original "
          "| right original file | same-name units | not audited | wall s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['id']} | {r['target']} | {r['verdict']} | {r['score']:.3f} | {r['top']} | "
              f"{r['files']} ({r['files_matched']}) | {r['top_is_right_original']}/{r['files_matched']} | "
              f"{r['right_file']} | {r['same_name_units']} | {r['not_audited']} | {r['wall_s']} |")
    derived = [r for r in rows if r["id"].startswith("D")]
    flagged = [r for r in rows if r["verdict"] != "clean"]
    tp = sum(1 for r in flagged if r["id"].startswith("D") and r["top"] == r["expected"])
    precision = tp / len(flagged) if flagged else 1.0
    recall = tp / len(derived)
    print(f"\nflagged (review or derived) with the right top corpus: precision {precision:.2f}, "
          f"recall {recall:.2f} over {len(rows)} pairs")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("what", choices=("build", "eval"))
    p.add_argument("--index-dir", default="/tmp/dev-idx")
    p.add_argument("--distractor", default="")
    p.add_argument("--json")
    p.add_argument("-j", "--jobs", type=int, default=1)
    args = p.parse_args()
    build(args) if args.what == "build" else evaluate(args)


if __name__ == "__main__":
    main()
