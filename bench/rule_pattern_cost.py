"""What each rule's patterns cost in the shared query pass, counted in instructions.

Usage: python bench/rule_pattern_cost.py [TREE] [--language rust] [--jobs 2]

Parses every file of TREE once, then, under valgrind's callgrind tool, counts
the instructions executed inside ``QueryCursor.matches`` (the binding's C code,
including the text predicates it evaluates) for: the metrics walker's pattern
alone, the full shared query (walker, engine and every active rule), and the
full query with one rule's patterns left out, for each rule in turn. A rule's
figure is what leaving it out saves. The figures overlap (patterns rooted at
the same node share work), so they do not add up to the total; they show which
patterns are dear. Rules gated by ``words`` are not in the shared query.

Each count is one run of the parse and match under callgrind, about a minute
on CCC; --jobs runs that many at once (instruction counts do not depend on
the machine's load).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor

from benchdata import CCC, data_path


def _parts(language: str) -> list[tuple[str, str]]:
    from audit.rules import registry

    rules = registry.load().active({})[language]
    parts, _source = registry._source(language, rules)
    return [(o if isinstance(o, str) else ",".join(r.id for r in o), text) for o, text in parts]


def child(tree: str, language: str, leave_out: str) -> None:
    """In the process callgrind watches: parse the tree, then match the chosen query."""
    from tree_sitter import Query, QueryCursor

    from audit.lang import LANGUAGES

    parts = _parts(language)
    if leave_out == "-walk-only":
        text = parts[0][1]
    else:
        text = "\n".join(t for name, t in parts if name != leave_out)
    lang = LANGUAGES[language]
    suffixes = {"rust": (".rs",), "python": (".py",)}[language]
    trees = []
    for root, _dirs, names in os.walk(tree):
        for name in sorted(names):
            if name.endswith(suffixes):
                with open(os.path.join(root, name), "rb") as fh:
                    trees.append(lang.parser().parse(fh.read()))
    query = Query(lang.ts_language, text)
    print(sum(len(QueryCursor(query).matches(t.root_node)) for t in trees))


def count(tree: str, language: str, leave_out: str) -> tuple[int, int]:
    """(instructions inside matches, matches) for one configuration."""
    # the instruction count of bench/rules_overhead.py (this folder is on sys.path)
    from rules_overhead import callgrind

    argv = [sys.executable, __file__, "--child", tree, "--language", language, f"--leave-out={leave_out}"]
    ins, out = callgrind(argv, ("--collect-atstart=no", "--toggle-collect=*query_cursor_matches*"))
    return ins, int(out.split()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("tree", nargs="?", default=data_path(CCC), help="default: $AUDIT_BENCH_DATA/" + CCC)
    ap.add_argument("--language", default="rust", choices=("rust", "python"))
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--leave-out", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.tree, args.language, args.leave_out)
        return
    if shutil.which("valgrind") is None:
        sys.exit("this benchmark needs valgrind (apt-get install valgrind)")
    names = [name for name, _text in _parts(args.language)[1:]]
    configs = ["-walk-only", "", *names]
    with ThreadPoolExecutor(args.jobs) as ex:
        results = dict(zip(configs, ex.map(lambda c: count(args.tree, args.language, c), configs)))
    walk, full = results["-walk-only"][0], results[""][0]
    print(f"tree: {args.tree}  ({results[''][1]} matches of the full query)")
    print(f"walker's pattern alone: {walk / 1e6:,.1f} M instructions in matches")
    print(f"full shared query:      {full / 1e6:,.1f} M  (the rules add {(full - walk) / 1e6:,.1f} M)")
    print("\n| left out | saves (M instructions) | matches lost |\n|---|---:|---:|")
    for name in sorted(names, key=lambda n: results[n][0]):
        ins, matches = results[name]
        print(f"| {name} | {(full - ins) / 1e6:,.1f} | {results[''][1] - matches} |")


if __name__ == "__main__":
    main()
