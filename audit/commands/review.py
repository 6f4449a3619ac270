"""`audit review`: list, add and prune review decisions on provenance matches."""

from __future__ import annotations

import fnmatch
import json
import os
from datetime import date

from audit.commands import common_options
from audit.errors import EXIT_OK, InputError, UsageError


def add_parser(sub) -> None:
    p = sub.add_parser("review", help="record review decisions on provenance matches",
                       description="Decisions live in audit-review.toml beside the audited "
                                   "project's audit.toml (or in the audited folder). Each is "
                                   "pinned to a matched unit's text, so it survives reruns and "
                                   "edits elsewhere; `audit scan --fail-on-verdict` honours them.")
    common_options(p)
    verbs = p.add_subparsers(dest="verb", metavar="VERB")
    ls = verbs.add_parser("list", help="list recorded decisions, or a result's matched units")
    ls.add_argument("result", nargs="?", metavar="RESULT_JSON",
                    help="a result of `audit scan --corpus ... --json`: list its matched units "
                         "with their decisions")
    add = verbs.add_parser("add", help="record a decision on matched units of a result")
    add.add_argument("result", metavar="RESULT_JSON")
    add.add_argument("--decision", required=True, metavar="DECISION",
                     help="coincidental, interface-forced, licensed-and-attributed or needs-action")
    add.add_argument("--by", required=True, metavar="WHO", help="who decided")
    add.add_argument("--reason", required=True, metavar="WHY", help="why")
    pr = verbs.add_parser("prune", help="remove decisions: those selected, or those a result "
                                        "no longer uses")
    pr.add_argument("result", nargs="?", metavar="RESULT_JSON")
    for v in (ls, add, pr):
        v.add_argument("--review-file", metavar="FILE",
                       help="the review file (default: the one the result names, else "
                            "audit-review.toml in the current folder)")
    for v in (add, pr):
        v.add_argument("--path", metavar="GLOB", help="audited file(s) (glob)")
        v.add_argument("--unit", metavar="NAME", help="the matched unit's qualified name")
        v.add_argument("--corpus-path", metavar="LABEL", help="the matched corpus file")
    p.set_defaults(run=run)


def run(args) -> int:
    verb = getattr(args, "verb", None)
    if verb is None:
        raise UsageError("audit review needs a verb", "use one of: list, add, prune")
    return {"list": _list, "add": _add, "prune": _prune}[verb](args)


def _result(path: str | None) -> dict:
    if not path:
        return {}
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the result {path}: {exc}",
                         "write one with: audit scan PATH --corpus NAME --json RESULT_JSON") from exc
    det = (doc.get("provenance") or {}).get("determination")
    if not det:
        raise InputError(f"{path} has no provenance determination",
                         "the scan must compare corpora: audit scan PATH --corpus NAME --json FILE")
    return det


def _file(args, det: dict) -> str:
    return args.review_file or (det.get("review") or {}).get("file") or os.path.join(
        os.getcwd(), "audit-review.toml")


def _selected(args, rows: list[dict]) -> list[dict]:
    return [r for r in rows
            if (not args.path or fnmatch.fnmatch(r["path"], args.path))
            and (not args.unit or r["unit"] == args.unit)
            and (not args.corpus_path or r["corpus_path"] == args.corpus_path)]


def _list(args) -> int:
    from audit.provenance import review as rv

    det = _result(args.result)
    path = _file(args, det)
    if det:
        for m in det.get("matches", []):
            status = f"{m['decision']} ({m['decision_status']})" if m.get("decision") else "undecided"
            print(f"{m['path']}:{m['lines'][0]}-{m['lines'][1]} {m['unit']} ~ {m['corpus']}:"
                  f"{m['corpus_path']} {m['corpus_lines'][0]}-{m['corpus_lines'][1]}  {status}")
        return EXIT_OK
    decisions = rv.load(path)
    if not decisions:
        print(f"no review decisions in {path}")
    for d in decisions:
        print(f"{d.path} {d.unit} ~ {d.corpus_path}: {d.decision} by {d.by}"
              f"{' on ' + d.date if d.date else ''}: {d.reason}")
    return EXIT_OK


def _add(args) -> int:
    from audit.provenance import review as rv

    rv.check_decision(args.decision)
    if not args.path:
        raise UsageError("audit review add needs --path", "name the audited file(s), e.g. --path "
                         "src/lexer.rs, and optionally --unit and --corpus-path")
    det = _result(args.result)
    chosen = [m for m in _selected(args, det.get("matches", [])) if m.get("content")]
    if not chosen:
        raise UsageError("no matched unit of the result fits --path, --unit and --corpus-path",
                         f"see them with: audit review list {args.result}")
    path = _file(args, det)
    keep = {(m["path"], m["unit"], m["corpus_path"]) for m in chosen}
    decisions = [d for d in rv.load(path) if d.key not in keep]
    today = date.today().isoformat()
    decisions += [rv.Decision(m["path"], m["unit"], m["corpus_path"], m["content"], args.decision,
                              args.by, args.reason, today, m["corpus"]) for m in chosen]
    rv.save(path, decisions)
    print(f"recorded {args.decision} on {len(chosen)} matched unit(s) in {path}")
    return EXIT_OK


def _prune(args) -> int:
    from audit.provenance import review as rv

    det = _result(args.result)
    path = _file(args, det)
    decisions = rv.load(path)
    if args.path or args.unit or args.corpus_path:
        rows = [{"path": d.path, "unit": d.unit, "corpus_path": d.corpus_path, "d": d} for d in decisions]
        drop = {id(r["d"]) for r in _selected(args, rows)}
    elif det:
        live = {(m["path"], m["unit"], m["corpus_path"], m["content"]) for m in det.get("matches", [])}
        drop = {id(d) for d in decisions if (*d.key, d.content) not in live}
    else:
        raise UsageError("audit review prune needs a selection or a result",
                         "give --path/--unit/--corpus-path, or RESULT_JSON to drop decisions "
                         "that no longer match")
    left = [d for d in decisions if id(d) not in drop]
    rv.save(path, left)
    print(f"removed {len(decisions) - len(left)} decision(s) from {path}; {len(left)} left")
    return EXIT_OK
