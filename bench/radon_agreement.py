"""Check that audit's tree-sitter cyclomatic counts agree with radon's, per function.

    python bench/radon_agreement.py $(python -c "import pip, os; print(os.path.dirname(pip.__file__))")

Scans the tree twice (radon engine, tree-sitter engine) and compares every
function and method found by both; prints the agreement share and each
disagreement with both numbers.
"""

from __future__ import annotations

import sys

from audit.config import ScanConfig
from audit.pipeline import Job, scan


def units(tree: str, engine: str) -> dict:
    config = ScanConfig(paths=(tree,), languages=("python",), use_gitignore=False, skip_dirs=())
    result, _ = scan(config, Job(1 << 30, python_engine=engine))
    skipped_by_radon = {f.path for f in result.files if any("radon could not" in w for w in f.warnings)}
    return {(f.path, u.qualname, u.start_line): u.metrics.cyclomatic
            for f in result.files if f.path not in skipped_by_radon
            for u in f.units if u.kind != "class"}, len(result.files), skipped_by_radon


def main(tree: str) -> None:
    radon, nfiles, unparsed = units(tree, "radon")
    ts, _, _ = units(tree, "tree-sitter")
    common = radon.keys() & ts.keys()
    diff = sorted(k for k in common if radon[k] != ts[k])
    print(f"{nfiles} files ({len(unparsed)} radon could not parse), {len(common)} functions compared")
    print(f"agreement: {len(common) - len(diff)}/{len(common)} = {1 - len(diff) / max(1, len(common)):.4%}")
    for path, qual, line in diff:
        print(f"  {path}:{line} {qual}: radon {radon[(path, qual, line)]}, tree-sitter {ts[(path, qual, line)]}")


if __name__ == "__main__":
    main(sys.argv[1])
