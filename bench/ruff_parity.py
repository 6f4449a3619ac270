"""Parity of audit's Python rules with their ruff equivalents, location by location.

Usage: python bench/ruff_parity.py [--tree DIR ...] [--show N]

Runs `ruff check --isolated --no-cache --ignore-noqa --config "exclude = []"
--output-format json --select <codes>` and `audit` (rules only, tests included
since ruff has no notion of test code) on the same trees, and compares (file,
line) locations per rule. `exclude = []` drops ruff's default folder excludes
(`venv`, `build`, ...), which audit does not have. Files ruff cannot parse (it
reports `invalid-syntax`, e.g. Python 2 test data) are set aside on both sides
and counted, since ruff checks nothing in them.
Default trees, under $AUDIT_BENCH_DATA: parity/pip (a copy of the installed pip
23.2.1 package, 180k lines), ShivamSarodia+ShivyC and simoc+lox2.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
from collections import defaultdict

from audit.config import ScanConfig
from audit.pipeline import Job, scan
from audit.rules import engine, registry
from benchdata import data_path

DEFAULT_TREES = tuple(data_path(*p) for p in (("parity", "pip"), ("ShivamSarodia+ShivyC",), ("simoc+lox2",)))


def ruff_codes(reg) -> dict[str, str]:
    """ruff code -> audit rule id, for Python rules with an exact ruff equivalent."""
    return {r.equivalent["ruff"]: r.id for r in reg.for_language("python") if "ruff" in r.equivalent}


def ruff_locations(tree: str, codes) -> tuple[dict[str, set], set[str]]:
    """ruff's locations per audit rule, and the files ruff could not parse."""
    out = subprocess.run(["ruff", "check", "--isolated", "--no-cache", "--ignore-noqa", "--config", "exclude = []",
                          "--output-format", "json", "--select", ",".join(sorted(codes)), "--exit-zero", tree],
                         capture_output=True, text=True, check=True)
    found, unparsed = defaultdict(set), set()
    for d in json.loads(out.stdout):
        path = os.path.relpath(d["filename"], tree)
        if d["code"] in codes:
            found[codes[d["code"]]].add((path, d["location"]["row"]))
        elif d["code"] in (None, "invalid-syntax"):
            unparsed.add(path)
    return found, unparsed


def audit_locations(tree: str, rule_ids) -> dict[str, set]:
    settings = {"select": sorted(rule_ids), "include_tests": True}
    config = ScanConfig(paths=(tree,), languages=("python",), skip_dirs=(".git",),
                        use_gitignore=False)
    result, payloads = scan(config, Job(4 * 1024 * 1024, passes=("rules",), options={"rules": settings}))
    result, _ = engine.drop_test_modules(result, payloads, settings)
    found = defaultdict(set)
    for f in result.findings:
        found[f.rule].add((f.path, f.line))
    return found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tree", action="append", default=[])
    ap.add_argument("--show", type=int, default=3, help="samples of each disagreement per rule")
    args = ap.parse_args()
    reg = registry.load()
    codes = ruff_codes(reg)
    theirs, ours = defaultdict(set), defaultdict(set)
    set_aside = 0
    for tree in args.tree or DEFAULT_TREES:
        if not os.path.isdir(tree):
            continue
        found, unparsed = ruff_locations(tree, codes)
        for rule, locs in found.items():
            theirs[rule] |= {(tree, *loc) for loc in locs if loc[0] not in unparsed}
        for rule, locs in audit_locations(tree, codes.values()).items():
            kept = {(tree, *loc) for loc in locs if loc[0] not in unparsed}
            set_aside += len(locs) - len(kept)
            ours[rule] |= kept
        print(f"{tree}: {len(unparsed)} file(s) ruff cannot parse, set aside: {', '.join(sorted(unparsed))}")
    print(f"audit findings in those files, not compared: {set_aside}\n")
    print("| audit rule | ruff code | ruff | audit | both | precision | recall |")
    print("|---|---|---:|---:|---:|---:|---:|")
    samples = []
    for code, rule in sorted(codes.items(), key=lambda x: x[1]):
        a, c = ours[rule], theirs[rule]
        both = a & c
        p = len(both) / len(a) if a else 1.0
        r = len(both) / len(c) if c else 1.0
        print(f"| {rule} | {code} | {len(c)} | {len(a)} | {len(both)} | {p:.3f} | {r:.3f} |")
        for tag, diff in (("audit only", a - c), ("ruff only", c - a)):
            for tree, path, line in sorted(diff)[:args.show]:
                samples.append(f"{rule} {tag}: {os.path.join(tree, path)}:{line}")
    print("\n".join(["", *samples]))


if __name__ == "__main__":
    main()
