"""Dev-set evaluation of provenance verdicts (../shared/eval/DEV-SET.md).

Run on demand (not by pytest), after building the indexes once:
    python bench/devset.py build --index-dir /tmp/dev-idx     # the four originals
    python bench/provenance_scale.py build --index-dir /tmp/prov-idx   # GCC 12 + binutils distractor
    python bench/devset.py eval --index-dir /tmp/dev-idx --distractor /tmp/prov-idx/gcc12-binutils
    python bench/devset.py sweep --index-dir /tmp/dev-idx --distractor /tmp/prov-idx/gcc12-binutils

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


def _norm(name: str) -> str:
    """A function's short name, case and underscores folded (parseDecl = parse_decl)."""
    short = re.split(r"::|\.", name)[-1].split("[")[0]
    return short.replace("_", "").lower()


def original_functions(index_path: str) -> dict[str, set[str]]:
    """Original file label -> folded names of the functions it defines (windows left out)."""
    from audit.provenance.index import CorpusIndex

    ix = CorpusIndex.load(index_path)
    out: dict[str, set[str]] = {}
    for e, name in enumerate(ix.entry_names):
        row = ix.files[int(ix.a["entry_file"][e])]
        if not name.startswith("<") and "[" not in name:
            out.setdefault(row.label, set()).add(_norm(name))
    return out


def derivative_functions(target: str) -> dict[str, set[str]]:
    """Derivative file path (as in reports) -> folded names of its functions and methods."""
    from audit.config import ScanConfig
    from audit.parse import parse
    from audit.walk import SourceFile, discover, read_source

    config = ScanConfig(paths=(target,))
    out = {}
    for cand in discover(config).candidates:
        src = read_source(cand, config.max_file_size)
        if isinstance(src, SourceFile):
            out[src.path] = {_norm(u.name) for u in parse(src).units if u.kind != "closure"}
    return out


def counterparts(path: str, names: set[str], originals: dict[str, set[str]]) -> set[str]:
    """The original files a derivative file stands for: same stem (or a known rename) or a
    same-named function. Empty when the file has no counterpart (it is then not judged)."""
    stem = _stem(path)
    wanted = {stem} | SYNONYMS.get(stem, set())
    by_stem = {lab for lab in originals if _stem(lab) in wanted}
    by_name = {lab for lab, fns in originals.items() if names & fns - {"main"}}
    return by_stem | by_name


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
        row = _row(pid, target, expected, report, time.perf_counter() - t0, args.index_dir)
        rows.append(row)
        summary.append({**row, "corpora": {c["name"]: c["score"] for c in report.corpora}})
    _print(rows)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(summary, fh, indent=1)


def _row(pid, target, expected, report, wall, index_dir) -> dict:
    files = [f for f in report.files if f.code_lines > 0]
    with_match = [f for f in files if f.matches]
    right_corpus = sum(1 for f in with_match if f.matches[0].corpus == expected)
    hits = judged = 0
    if expected:
        originals = original_functions(os.path.join(index_dir, expected))
        names = derivative_functions(os.path.join(EXT, target))
        for f in files:
            want = counterparts(f.path, names.get(f.path, set()), originals)
            if want:  # a file without any match, or whose top match is elsewhere, is a miss
                judged += 1
                top = f.matches[0] if f.matches else None
                hits += bool(top and top.corpus == expected and top.corpus_path in want)
    hit, total = unit_agreement(report, expected) if expected else (0, 0)
    return {"id": pid, "target": target, "expected": expected or "-", "verdict": report.verdict,
            "score": report.score, "top": report.top_corpus or "-", "files": len(files),
            "files_matched": len(with_match), "top_is_right_original": right_corpus,
            "right_file": f"{hits}/{judged}", "right_file_hits": hits, "right_file_judged": judged,
            "same_name_units": f"{hit}/{total}",
            "file_verdicts": {f.path: [f.verdict, round(f.score, 3),
                                       f.matches[0].corpus_path if f.matches else None] for f in files},
            "not_audited": sum(report.skipped_languages.values()), "wall_s": round(wall, 1)}


def _print(rows) -> None:
    print("| id | target | verdict | score | top corpus | files (matched) | top match in right original "
          "| top match is the right original file | same-name units | not audited | wall s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['id']} | {r['target']} | {r['verdict']} | {r['score']:.3f} | {r['top']} | "
              f"{r['files']} ({r['files_matched']}) | {r['top_is_right_original']}/{r['files_matched']} | "
              f"{r['right_file']} | {r['same_name_units']} | {r['not_audited']} | {r['wall_s']} |")
    derived = [r for r in rows if r["id"].startswith("D")]
    hits = sum(r["right_file_hits"] for r in derived)
    judged = sum(r["right_file_judged"] for r in derived)
    print(f"\nderivative files whose top match is the right original file: {hits}/{judged} "
          f"({hits / max(judged, 1):.0%})")
    flagged = [r for r in rows if r["verdict"] != "clean"]
    tp = sum(1 for r in flagged if r["id"].startswith("D") and r["top"] == r["expected"])
    precision = tp / len(flagged) if flagged else 1.0
    recall = tp / len(derived)
    print(f"\nflagged (review or derived) with the right top corpus: precision {precision:.2f}, "
          f"recall {recall:.2f} over {len(rows)} pairs")


def sweep(args) -> None:
    """Project score, top corpus and highest file score for several entry_min values."""
    from audit.provenance import api
    from audit.provenance.verdict import Thresholds

    indexes = [api.open_index(os.path.join(args.index_dir, n)) for n in ORIGINALS]
    if args.distractor:
        indexes.append(api.open_index(args.distractor))
    print("| id | " + " | ".join(f"entry_min {e}" for e in SWEEP) + " |")
    print("|---" * (len(SWEEP) + 1) + "|")
    for pid, target, _ in PAIRS:
        result, payloads = api.scan_tree(os.path.join(EXT, target), args.jobs)
        cells = []
        for em in SWEEP:
            r = api.match_result(result, payloads, indexes, thresholds=Thresholds(entry_min=em))
            top = max((f.score for f in r.files), default=0.0)
            cells.append(f"{r.score:.4f} {r.top_corpus or '-'} (file max {top:.3f})")
        print(f"| {pid} | " + " | ".join(cells) + " |", flush=True)


SWEEP = (0.15, 0.20, 0.25, 0.30)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("what", choices=("build", "eval", "sweep"))
    p.add_argument("--index-dir", default="/tmp/dev-idx")
    p.add_argument("--distractor", default="")
    p.add_argument("--json")
    p.add_argument("-j", "--jobs", type=int, default=1)
    args = p.parse_args()
    {"build": build, "eval": evaluate, "sweep": sweep}[args.what](args)


if __name__ == "__main__":
    main()
