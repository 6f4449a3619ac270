"""Compare audit's Python cognitive complexity with complexipy's, per function.

    python bench/complexipy_agreement.py TREE [--show N]

Scans TREE with audit (Python only) and runs complexipy (`file_complexity`) on
the same files; functions are joined by file and first line. Prints the share
that agree and the disagreements by class, a class being the constructs the
function holds that the two tools count differently (see docs/metrics.md);
a function with none of them is "other".
"""

from __future__ import annotations

import argparse
import os
import re
from collections import Counter

from audit.config import ScanConfig
from audit.pipeline import Job, scan

# constructs whose counting differs between tools or implementations, as (class, pattern)
CLASSES = [
    ("nested def", re.compile(r"^\s+(async\s+)?def ", re.M)),
    ("lambda", re.compile(r"\blambda\b")),
    ("try", re.compile(r"^\s+try:", re.M)),
    ("match", re.compile(r"^\s+match ", re.M)),
    ("boolean operators", re.compile(r"\b(and|or)\b")),
    ("conditional expression", re.compile(r"\bif\b[^:\n]*\belse\b")),
    ("assert", re.compile(r"^\s*assert\b", re.M)),
    ("comprehension", re.compile(r"\bfor\b[^:\n]*\bin\b[^:\n]*[\]\)}]")),
]


def audit_functions(tree: str) -> dict:
    config = ScanConfig(paths=(tree,), languages=("python",), use_gitignore=False, skip_dirs=())
    result, _ = scan(config, Job(1 << 30, python_engine="tree-sitter"))
    return {(f.path, u.start_line): (u.qualname, u.metrics.cognitive, u.end_line)
            for f in result.files for u in f.units if u.kind != "class"}


def complexipy_functions(tree: str, paths: set[str]) -> dict:
    import complexipy

    out = {}
    for path in sorted(paths):
        try:
            fc = complexipy.file_complexity(os.path.join(tree, path))
        except Exception:  # noqa: BLE001 - a file complexipy cannot read is left out
            continue
        for fn in fc.functions:
            out[(path, fn.line_start)] = fn.complexity
    return out


def classify(tree: str, path: str, start: int, end: int) -> str:
    with open(os.path.join(tree, path), encoding="utf-8", errors="replace") as fh:
        body = "".join(fh.readlines()[start:end])  # past the def line
    found = [name for name, pattern in CLASSES if pattern.search(body)]
    return " + ".join(found[:2]) if found else "other"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("tree")
    ap.add_argument("--show", type=int, default=5)
    args = ap.parse_args()
    mine = audit_functions(args.tree)
    theirs = complexipy_functions(args.tree, {p for p, _ in mine})
    common = sorted(mine.keys() & theirs.keys())
    differ = [k for k in common if mine[k][1] != theirs[k]]
    print(f"{len(common):,} functions found by both; {len(common) - len(differ):,} agree "
          f"({(len(common) - len(differ)) / max(len(common), 1):.1%})")
    classes = Counter()
    examples: dict[str, list] = {}
    for key in differ:
        qual, cog, end = mine[key]
        cls = classify(args.tree, key[0], key[1], end)
        direction = "audit higher" if cog > theirs[key] else "audit lower"
        classes[(cls, direction)] += 1
        examples.setdefault((cls, direction), []).append(f"{key[0]}:{key[1]} {qual} audit {cog} "
                                                         f"complexipy {theirs[key]}")
    print("| constructs held | direction | functions | example |")
    print("|---|---|---|---|")
    for (cls, direction), n in classes.most_common():
        print(f"| {cls} | {direction} | {n:,} | {examples[(cls, direction)][0]} |")


if __name__ == "__main__":
    main()
