"""`audit rules`: list the idiom rules and explain one of them."""

from __future__ import annotations

import argparse

from rich.table import Table

from audit.commands import common_options
from audit.errors import EXIT_OK, UsageError
from audit.render.terminal import make_console
from audit.rules import registry
from audit.rules.loader import CATEGORIES

SECTION_TITLES = (("what", "What it does"), ("why", "Why is this bad?"), ("example", "Example"),
                  ("instead", "Use instead"), ("options", "Options"), ("references", "References"))


def add_parser(sub) -> None:
    p = sub.add_parser("rules", help="list the idiom rules or explain one",
                       description="List the idiom rules by language and category, or show the "
                                   "documentation of one rule.")
    p.add_argument("--rules-dir", metavar="DIR", help="read rule packs from DIR")
    rsub = p.add_subparsers(dest="action", metavar="ACTION")
    lp = rsub.add_parser("list", help="table of rules by language and category")
    lp.add_argument("--language", choices=("rust", "python"), help="only this language")
    lp.add_argument("--category", choices=CATEGORIES, help="only this category")
    common_options(lp)
    ep = rsub.add_parser("explain", help="the documentation of one rule")
    ep.add_argument("rule", metavar="RULE", help="rule id (kebab name) or code, e.g. unwrap-used or RS001")
    ep.add_argument("--language", choices=("rust", "python"), help="when the id exists in both")
    common_options(ep)
    common_options(p)
    p.set_defaults(run=run, action=None, no_color=False)


def run(args: argparse.Namespace) -> int:
    reg = registry.load(args.rules_dir)
    console = make_console(args.no_color)
    if args.action == "explain":
        return explain(reg, args.rule, args.language, console)
    return list_rules(reg, getattr(args, "language", None), getattr(args, "category", None), console)


def list_rules(reg, language, category, console) -> int:
    """A table of rules sorted by language, category and code."""
    rules = sorted((r for r in reg.rules if language in (None, r.language)
                    and category in (None, r.category)),
                   key=lambda r: (r.language, CATEGORIES.index(r.category), r.code))
    table = Table(title=f"{len(rules)} idiom rules", title_justify="left")
    for col in ("code", "rule", "language", "category", "severity", "equivalent", "summary"):
        table.add_column(col, overflow="fold")
    for r in rules:
        eq = ", ".join(r.equivalent.values())
        table.add_row(r.code, r.id, r.language, r.category, r.severity, eq, r.summary)
    console.print(table)
    return EXIT_OK


def explain(reg, key: str, language, console) -> int:
    """Print one rule's documentation sections."""
    from rich.markdown import Markdown  # slow to import: only this command needs it

    rule = reg.find(key, language)
    if rule is None:
        raise UsageError(f"unknown rule {key!r}", "run `audit rules list` to see the rule ids")
    console.print(Markdown(explain_markdown(rule)))
    return EXIT_OK


def explain_markdown(rule) -> str:
    """The rule's documentation as Markdown (also used for docs and tests)."""
    fence = rule.language
    head = [f"# {rule.id} ({rule.code})", "",
            f"{rule.language} · {rule.category} · default severity {rule.severity}"
            + (f" · threshold {rule.threshold:g}" if rule.threshold is not None else ""), "",
            rule.summary, ""]
    for key, title in SECTION_TITLES:
        value = rule.docs[key]
        head.append(f"## {title}")
        if key in ("example", "instead"):
            head += [f"```{fence}", value.rstrip(), "```"]
        elif key == "references":
            head += [f"- {ref}" for ref in value]
        else:
            head.append(value)
        head.append("")
    return "\n".join(head)
