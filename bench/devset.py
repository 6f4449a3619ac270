"""Dev-set evaluation of provenance verdicts (../shared/eval/DEV-SET.md), full text and structure-only.

Run on demand (not by pytest). Inputs come from the data folder (--data DIR, else
$AUDIT_BENCH_DATA, else ~/audit-bench-data) holding the dev-set repositories unpacked
as OWNER+NAME/ (rui314+chibicc/, rswier+c4/, munificent+craftinginterpreters/,
rui314+8cc/, sky87+chibicc-rs/, ...). Indexes go to DATA/idx/dev unless --index-dir:
    python bench/devset.py build                    # the four originals
    python bench/provenance_scale.py build --index-dir $AUDIT_BENCH_DATA/idx   # GCC 12 + binutils distractor
    python bench/devset.py eval [--distractor $AUDIT_BENCH_DATA/idx/gcc12-binutils]
    python bench/devset.py eval --structure-only    # both forms, side by side
    python bench/devset.py sweep [--distractor ...]

Every target is scanned (Rust and Python only; C files in the derivatives are
skipped and counted as not audited) and matched against all originals plus the
distractor. Prints a markdown table and precision/recall over the whole set.
With --structure-only each derivative is also copied by bench/structonly.py
(cached under DATA/structonly/OWNER+NAME, rebuilt when the tool changes), the
copies are evaluated the same way, and a table sets the two forms side by side.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import sys
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(BENCH))
sys.path.insert(0, BENCH)

from benchdata import data_dir  # noqa: E402

ORIGINALS = {
    "chibicc": "rui314+chibicc",
    "c4": "rswier+c4",
    "clox": "munificent+craftinginterpreters/c",
    "8cc": "rui314+8cc",
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
        ix = build_index(name, [os.path.join(args.data, src)], args.index_dir, workers=args.jobs)
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


def unit_agreement(report, expected: str, names: dict[str, str]) -> tuple[int, int]:
    """Units whose best match is the same-named function of the expected original (in a
    structure-only copy the unit's opaque name is first turned back into its own name)."""
    hit = total = 0
    for f in report.files:
        for m in f.matches:
            for u in m.units:
                if m.corpus != expected:
                    continue
                short = u["unit"].split("::")[-1].split(".")[-1]
                total += 1
                hit += names.get(short, short) == u["corpus_unit"].split("::")[-1]
    return hit, total


FORMS = ("full text", "structure-only")


def selected(args) -> list[tuple]:
    """The pairs named by --pairs (all by default)."""
    wanted = set(args.pairs.split(",")) if args.pairs else {p[0] for p in PAIRS}
    return [p for p in PAIRS if p[0] in wanted]


def evaluate(args) -> None:
    from audit.provenance import api

    corpora = [os.path.join(args.index_dir, n) for n in ORIGINALS]
    if args.distractor:
        corpora.append(args.distractor)
    forms = FORMS if args.structure_only else FORMS[:1]
    tables, summary = {}, []
    for form in forms:
        rows = []
        for pid, target, expected in selected(args):
            tree, names = target_tree(args, target, form)
            t0 = time.perf_counter()
            report, _ = api.scan_against(tree, corpora, jobs=args.jobs, c_files=False)
            row = _row(pid, target, expected, report, time.perf_counter() - t0, args, names)
            rows.append(row)
            summary.append({**row, "form": form,
                            "corpora": {c["name"]: c["score"] for c in report.corpora}})
        print(f"\n### {form}\n")
        _print(rows)
        tables[form] = rows
    if len(tables) > 1:
        print("\n### side by side\n")
        _print_side_by_side(tables)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(summary, fh, indent=1)


def target_tree(args, target: str, form: str) -> tuple[str, dict[str, str]]:
    """The tree to scan for a pair, and opaque name -> own name (empty for full text)."""
    if form == FORMS[0]:
        return os.path.join(args.data, target), {}
    return structure_only_copy(args.data, target)


def _tool_stamp() -> str:
    """Hash of the copying tool and its name lists: a change invalidates cached copies."""
    h = hashlib.sha256()
    for name in ("structonly.py", "structonly_names.toml"):
        with open(os.path.join(BENCH, name), "rb") as fh:
            h.update(fh.read())
    h.update(sys.version.encode())  # Python's builtin and stdlib names are part of the lists
    return h.hexdigest()


def structure_only_copy(data: str, target: str) -> tuple[str, dict[str, str]]:
    """DATA/structonly/TARGET/tree, made by bench/structonly.py unless cached by this tool."""
    import structonly

    home = os.path.join(data, "structonly", target)
    stamp_file, names_file = os.path.join(home, "stamp"), os.path.join(home, "names.json")
    stamp = _tool_stamp()
    if not _read(stamp_file) == stamp:
        if os.path.exists(stamp_file):  # only ever remove a folder this tool made
            shutil.rmtree(home)
        conv = structonly.convert_tree(os.path.join(data, target), os.path.join(home, "tree"))
        print(f"structure-only copy of {target}: {structonly.report(conv)}", file=sys.stderr)
        with open(names_file, "w", encoding="utf-8") as fh:
            json.dump(conv.names, fh)
        with open(stamp_file, "w", encoding="utf-8") as fh:
            fh.write(stamp)
    with open(names_file, encoding="utf-8") as fh:
        table = json.load(fh)
    return os.path.join(home, "tree"), {structonly.opaque_name(name, n): name for name, n in table.items()}


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except FileNotFoundError:
        return None


def _row(pid, target, expected, report, wall, args, names) -> dict:
    files = [f for f in report.files if f.code_lines > 0]
    with_match = [f for f in files if f.matches]
    right_corpus = sum(1 for f in with_match if f.matches[0].corpus == expected)
    hits = judged = 0
    if expected:
        originals = original_functions(os.path.join(args.index_dir, expected))
        # function names come from the full-text tree: a copy has the same paths
        functions = derivative_functions(os.path.join(args.data, target))
        for f in files:
            want = counterparts(f.path, functions.get(f.path, set()), originals)
            if want:  # a file without any match, or whose top match is elsewhere, is a miss
                judged += 1
                top = f.matches[0] if f.matches else None
                hits += bool(top and top.corpus == expected and top.corpus_path in want)
    hit, total = unit_agreement(report, expected, names) if expected else (0, 0)
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
    precision, recall = precision_recall(rows)
    print(f"\nflagged (review or derived) with the right top corpus: precision {precision:.2f}, "
          f"recall {recall:.2f} over {len(rows)} pairs")


def precision_recall(rows) -> tuple[float, float]:
    """A pair counts as found when flagged with its own original as top corpus."""
    derived = [r for r in rows if r["id"].startswith("D")]
    flagged = [r for r in rows if r["verdict"] != "clean"]
    tp = sum(1 for r in flagged if _right_first(r))
    return (tp / len(flagged) if flagged else 1.0), tp / max(len(derived), 1)


def _right_first(row) -> bool:
    return row["id"].startswith("D") and row["top"] == row["expected"]


def _print_side_by_side(tables: dict[str, list[dict]]) -> None:
    cells = ("verdict", "score", "top corpus", "right original first")
    print("| id | target | expected | " + " | ".join(f"{f}: {c}" for f in tables for c in cells) + " |")
    print("|---" * (3 + len(cells) * len(tables)) + "|")
    for rows in zip(*tables.values()):
        r0 = rows[0]
        line = [r0["id"], r0["target"], r0["expected"]]
        for r in rows:
            first = ("yes" if _right_first(r) else "no") if r["id"].startswith("D") else "-"
            line += [r["verdict"], f"{r['score']:.3f}", r["top"], first]
        print("| " + " | ".join(line) + " |")
    print()
    for form, rows in tables.items():
        precision, recall = precision_recall(rows)
        print(f"{form}: precision {precision:.2f}, recall {recall:.2f} over {len(rows)} pairs")


def sweep(args) -> None:
    """Project score, top corpus and highest file score for several entry_min values."""
    from audit.provenance import api
    from audit.provenance.verdict import Thresholds

    indexes = [api.open_index(os.path.join(args.index_dir, n)) for n in ORIGINALS]
    if args.distractor:
        indexes.append(api.open_index(args.distractor))
    print("| id | " + " | ".join(f"entry_min {e}" for e in SWEEP) + " |")
    print("|---" * (len(SWEEP) + 1) + "|")
    for pid, target, _ in selected(args):
        result, payloads = api.scan_tree(os.path.join(args.data, target), args.jobs)
        cells = []
        for em in SWEEP:
            r = api.match_result(result, payloads, indexes, thresholds=Thresholds(entry_min=em),
                                   c_files=False)  # the pair is judged on its Rust/Python (DEV-SET.md)
            top = max((f.score for f in r.files), default=0.0)
            cells.append(f"{r.score:.4f} {r.top_corpus or '-'} (file max {top:.3f})")
        print(f"| {pid} | " + " | ".join(cells) + " |", flush=True)


SWEEP = (0.15, 0.20, 0.25, 0.30)


def main() -> None:
    p = argparse.ArgumentParser(description="Dev-set evaluation of provenance verdicts.")
    p.add_argument("what", choices=("build", "eval", "sweep"))
    p.add_argument("--data", help="data folder with the dev-set trees as OWNER+NAME/ "
                                  "(default $AUDIT_BENCH_DATA or ~/audit-bench-data)")
    p.add_argument("--index-dir", help="where the originals' indexes are (default DATA/idx/dev)")
    p.add_argument("--distractor", default="", help="index folder of a distractor corpus")
    p.add_argument("--structure-only", action="store_true",
                   help="eval: also evaluate structure-only copies and print both forms")
    p.add_argument("--pairs", help="comma-separated pair ids to run (default: all), e.g. D2,N4")
    p.add_argument("--json")
    p.add_argument("-j", "--jobs", type=int, default=1)
    args = p.parse_args()
    args.data = data_dir(args.data)
    args.index_dir = args.index_dir or os.path.join(args.data, "idx", "dev")
    {"build": build, "eval": evaluate, "sweep": sweep}[args.what](args)


if __name__ == "__main__":
    main()
