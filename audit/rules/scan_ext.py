"""`audit scan` extension for idiom rules: options, the per-file pass, baseline, scores, summary."""

from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict
from dataclasses import replace

from rich.table import Table
from rich.text import Text

from audit.errors import ConfigError
from audit.render.terminal import fit_word

# The rules' own modules (engine, registry, config files, baseline, scores) are loaded
# when the rules run: a scan with --no-rules starts without them (about 30 ms).

SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def add_options(parser) -> None:
    g = parser.add_argument_group("idiom rules")
    g.add_argument("--no-rules", action="store_true", help="do not run the idiom rules")
    g.add_argument("--select", action="append", default=[], metavar="RULES",
                   help="run only these rules: ids, codes or categories, comma-separated "
                        "(replaces the config file's select)")
    g.add_argument("--ignore", action="append", default=[], metavar="RULES",
                   help="skip these rules: ids, codes or categories, comma-separated")
    g.add_argument("--config", metavar="FILE",
                   help="rule settings file (default: nearest audit.toml, or pyproject.toml "
                        "with [tool.audit], at or above the first path)")
    g.add_argument("--rules-dir", metavar="DIR", help="load rule packs from DIR instead of the bundled ones")
    g.add_argument("--include-tests", action="store_true", help="also report findings in test code")
    g.add_argument("--baseline", metavar="FILE", help="hide findings recorded in this baseline file")
    g.add_argument("--baseline-write", metavar="FILE",
                   help="record the current findings as the accepted baseline in FILE")
    g.add_argument("--findings", type=_count, default=15, metavar="N",
                   help="how many rules to list in the summary (default 15)")


def _count(text: str) -> int:
    """A non-negative whole number for --findings."""
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number of rules, got {text!r}")
    return int(text)


def settings_for(args, config) -> tuple[dict, str | None]:
    """Rule settings from the config file and the command line, validated."""
    from audit.rules import config as config_mod

    path = args.config or config_mod.find_config(config.paths)
    settings = config_mod.read_settings(path) if path else {}
    settings = config_mod.merge(settings, config_mod.split_option("--select", args.select),
                                config_mod.split_option("--ignore", args.ignore))
    if args.include_tests:
        settings["include_tests"] = True
    if args.rules_dir:
        settings["rules_dir"] = args.rules_dir
    return settings, path


def configure(args, config, job):
    """Validate rules and settings before any file is read, then ask for the rules pass."""
    if args.no_rules:
        return job
    from audit.rules import baseline as baseline_mod
    from audit.rules import engine, registry  # noqa: F401  loaded before the workers fork

    settings, path = settings_for(args, config)
    reg = registry.load(settings.get("rules_dir"))
    try:
        active = reg.active(settings)
    except ConfigError as exc:  # say where the settings came from
        where = f"settings from {path} and the command line" if path else "settings from the command line"
        raise ConfigError(exc.problems, f"{where}; run `audit rules list` for the known rule ids and codes") from exc
    if args.baseline:
        baseline_mod.load(args.baseline)  # a bad baseline fails before the scan
    args._rules_state = {"settings": settings, "path": path, "registry": reg, "active": active}
    # the queries are compiled by the scan for the languages it meets (see pipeline._prepare_walks)
    worker_settings = {**settings, "fingerprints": bool(args.baseline or args.baseline_write)}
    return replace(job, passes=(*job.passes, "rules"), options={**job.options, "rules": worker_settings})


def finish(args, result, payloads, console):
    """Apply the baseline, write a new one if asked, and attach the rules section."""
    state = getattr(args, "_rules_state", None)
    if state is None:
        return result
    from audit.rules import baseline as baseline_mod
    from audit.rules import engine
    from audit.rules.scores import score

    result, payloads = engine.drop_test_modules(result, payloads, state["settings"])
    fps = {path: p.get("rules", {}).get("fingerprints", []) for path, p in payloads.items()}
    if args.baseline_write:
        from audit.commands.scan import write_output

        doc = baseline_mod.build(result, fps)
        write_output("--baseline-write", args.baseline_write, json.dumps(doc, indent=1) + "\n")
        if not args.quiet:
            console.print(f"baseline of {sum(doc['findings'].values())} finding(s) "
                          f"written to {args.baseline_write}")
    dropped = 0
    if args.baseline:
        result, dropped = baseline_mod.apply(result, fps, baseline_mod.load(args.baseline))
    rules = [r for rs in state["active"].values() for r in rs]
    suppressed = sum(1 for x in result.findings if x.suppressed is not None)
    section = replace(score(result, rules, suppressed, dropped, state["path"], len(rules)),
                      shown=args.findings)
    return replace(result, sections={**result.sections, "rules": section})


SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


def render_terminal(result, console) -> None:
    """Findings grouped by rule, errors and warnings first, then by fix effort; then the debt."""
    section = result.sections.get("rules")
    if section is None:
        return
    groups = defaultdict(list)
    for x in result.findings:
        if x.suppressed is None:
            groups[(x.rule, x.severity, x.category)].append(x)
    _rule_table(section, groups, console, section.shown)
    _debt_lines(section, console)


def _rule_table(section, groups, console, limit) -> None:
    if not groups:
        console.print(Text(f"idiom rules: no findings ({section.active} rules active)"))
        return
    from audit.rules.scores import effort

    minutes = {k: sum(effort(x, section.efforts) for x in items) for k, items in groups.items()}
    ranked = sorted(groups, key=lambda k: (SEVERITY_ORDER.get(k[1], 3), -minutes[k], k[0]))
    total = sum(len(v) for v in groups.values())
    table = Table(title=f"idiom findings: {total:,} from {len(groups)} of {section.active} active rules "
                        "(errors and warnings first, then by fix effort)", title_justify="left")
    widest = max(len(k[0]) for k in ranked[:limit])  # rule ids are never cut or folded
    wide = console.width >= 110  # a narrow terminal leaves out category and /kloc
    cols = [("rule", "left"), ("severity", "left"), ("category", "left"), ("count", "right"),
            ("/kloc", "right"), ("effort", "right"), ("most in", "left")]
    keep = [i for i, (c, _) in enumerate(cols) if wide or c not in ("category", "/kloc")]
    rows = []
    for key in ranked[:limit]:
        rule, sev, cat = key
        items = groups[key]
        path, n = Counter(x.path for x in items).most_common(1)[0]
        rows.append((rule, Text(sev, style=SEVERITY_STYLE.get(sev, "")), cat, f"{len(items):,}",
                     f"{section.per_kloc(len(items)):.2f}", f"{minutes[key] / 60:,.1f} h",
                     f"{path.rsplit('/', 1)[-1]} ({n:,})"))
    room = _last_column_room(console.width, [[str(r[i]) for i in keep] for r in rows],
                             [cols[i][0] for i in keep], widest)
    for i in keep:
        table.add_column(cols[i][0], justify=cols[i][1], min_width=widest if i == 0 else None,
                         max_width=room if i == len(cols) - 1 else None)
    for cells in rows:
        *first, most_in = (cells[i] for i in keep)
        name, _, count = most_in.rpartition(" ")
        table.add_row(*first, Text(f"{fit_word(name, room)} {count}", overflow="fold"))
    if len(ranked) > limit:
        rest = sum(len(groups[k]) for k in ranked[limit:])
        table.caption = (f"{len(ranked) - limit} more rule(s) with {rest:,} finding(s): --findings N "
                         "or --json; what a rule means: audit rules explain RULE")
    else:
        table.caption = "what a rule means: audit rules explain RULE"
    console.print(table)


def _last_column_room(width: int, rows: list[list[str]], headers: list[str], widest: int) -> int:
    """What the rule table leaves its last column: rich keeps the rule column's min_width
    even past the terminal's edge and crops the table there, so the others must fit."""
    used = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers[:-1])]
    used[0] = max(used[0], widest)
    return max(12, width - sum(used) - 3 * len(headers) - 1)  # padding 2 and a border each


def _debt_lines(section, console) -> None:
    cats = ", ".join(f"{c} {section.per_kloc(n):.2f}" for c, n in
                     sorted(section.by_category.items(), key=lambda x: -x[1]))
    if cats:
        console.print(Text(f"findings per 1,000 source lines: {cats}"))
    console.print(Text(f"idiom debt: {section.minutes / 60:,.1f} h to fix the errors and warnings "
                       f"({section.ratio:.2%} of the time to write the code), "
                       f"{section.advisory_minutes / 60:,.1f} h more for info findings; "
                       f"findings grade {section.rating}: {section.density:.1f} errors and warnings "
                       "per 1,000 source lines (A <1, B <3, C <6, D <10, E <20, F 20+)"
                       + (f"; {section.suppressed} suppressed" if section.suppressed else "")
                       + (f"; {section.baselined} in baseline" if section.baselined else "")))
    # most debt in hours first: a ratio alone puts ten-line files on top
    worst = sorted((f for f in section.files if f.minutes), key=lambda f: (-f.minutes, f.path))[:5]
    if worst:
        console.print(Text("files with most idiom debt: " + ", ".join(
            f"{f.path} {f.minutes / 60:,.1f} h (grade {f.rating})" for f in worst),
            overflow="fold"))
