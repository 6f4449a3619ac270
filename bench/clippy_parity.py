"""Parity of audit's Rust rules with their clippy equivalents, location by location.

Usage: python bench/clippy_parity.py [--clippy-json FILE] [--tree DIR] [--show N]

Without --clippy-json, copies the tree to a scratch folder and runs
`cargo clippy --message-format=json` offline there with every equivalent lint
enabled (-W clippy::...), once with default features and once with
--all-features; clippy's locations are the union of both runs, because a
syntactic rule sees code behind every feature. Locations are (file, line); clippy's primary span
gives its line, audit's finding its first line. Non-test code only: cargo
clippy does not compile #[cfg(test)] code, and audit excludes it by default.
Prints a per-rule table (Markdown) and samples of each disagreement.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
from collections import defaultdict

from audit.config import ScanConfig
from audit.pipeline import Job, scan
from audit.rules import engine, registry
from benchdata import CCC, data_path


def clippy_lints(reg) -> dict[str, str]:
    """clippy lint name -> audit rule id, for Rust rules with an equivalent."""
    return {r.equivalent["clippy"]: r.id for r in reg.for_language("rust") if "clippy" in r.equivalent}


def run_clippy(tree: str, lints) -> list[dict]:
    """clippy's JSON messages for the tree, default features and all features."""
    scratch = tempfile.mkdtemp(prefix="clippy-parity-")
    copy = os.path.join(scratch, "crate")
    shutil.copytree(tree, copy)
    args = [a for lint in sorted(lints) for a in ("-W", lint)]
    env = {**os.environ, "CARGO_NET_OFFLINE": "true"}
    messages = []
    for features in ([], ["--all-features"]):
        out = subprocess.run(["cargo", "clippy", *features, "--message-format=json", "--", *args],
                             cwd=copy, env=env, capture_output=True, text=True, check=False)
        if "error: could not compile" in out.stderr:
            raise SystemExit(f"cargo clippy failed offline:\n{out.stderr[-2000:]}")
        messages += [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    shutil.rmtree(scratch, ignore_errors=True)
    return messages


def clippy_locations(messages, lints) -> dict[str, set]:
    found = defaultdict(set)
    for d in messages:
        if d.get("reason") != "compiler-message":
            continue
        m = d["message"]
        code = (m.get("code") or {}).get("code")
        if code in lints:
            for span in m["spans"]:
                if span["is_primary"]:
                    found[lints[code]].add((span["file_name"], span["line_start"]))
    return found


def audit_locations(tree: str, rule_ids) -> dict[str, set]:
    settings = {"select": sorted(rule_ids)}
    result, payloads = scan(ScanConfig(paths=(tree,), languages=("rust",)),
                     Job(4 * 1024 * 1024, passes=("rules",), options={"rules": settings}))
    result, _ = engine.drop_test_modules(result, payloads, settings)
    found = defaultdict(set)
    for f in result.findings:
        found[f.rule].add((f.path, f.line))
    return found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tree", default=data_path(CCC), help="default: $AUDIT_BENCH_DATA/" + CCC)
    ap.add_argument("--clippy-json", action="append", default=[],
                    help="saved output of cargo clippy --message-format=json (repeatable: union)")
    ap.add_argument("--show", type=int, default=3, help="samples of each disagreement per rule")
    args = ap.parse_args()
    reg = registry.load()
    lints = clippy_lints(reg)
    if args.clippy_json:
        messages = []
        for path in args.clippy_json:
            with open(path) as fh:
                messages += [json.loads(line) for line in fh if line.startswith("{")]
    else:
        messages = run_clippy(args.tree, lints)
    theirs = clippy_locations(messages, lints)
    ours = audit_locations(args.tree, lints.values())
    print("| audit rule | clippy lint | clippy | audit | both | precision | recall |")
    print("|---|---|---:|---:|---:|---:|---:|")
    samples = []
    for lint, rule in sorted(lints.items(), key=lambda x: x[1]):
        a, c = ours.get(rule, set()), theirs.get(rule, set())
        both = a & c
        p = len(both) / len(a) if a else 1.0
        r = len(both) / len(c) if c else 1.0
        print(f"| {rule} | {lint} | {len(c)} | {len(a)} | {len(both)} | {p:.3f} | {r:.3f} |")
        for tag, diff in (("audit only", a - c), ("clippy only", c - a)):
            for path, line in sorted(diff)[:args.show]:
                samples.append(f"{rule} {tag}: {path}:{line}")
    print("\n".join(["", *samples]))


if __name__ == "__main__":
    main()
