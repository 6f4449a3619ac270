"""The rules pass: run every active rule over an already-parsed file and add its findings.

The language's combined query (every rule's patterns after the metrics walker's
own) is the query the metrics walk runs, so one cursor pass over the tree finds
units and counts for the metrics and, for the rules, query-rule hits, test
regions and expression macros; macro arguments are re-parsed once per file and
matched with the same query (see :mod:`audit.rules.macros`). Python checks and
metric thresholds then add their hits. Findings in test code are dropped unless
asked for; allow comments mark findings as suppressed with their reason.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import posixpath
import re
from dataclasses import replace
from operator import attrgetter
from typing import NamedTuple

from tree_sitter import QueryCursor

from audit.results import Finding
from audit.rules import checks, registry
from audit.rules.loader import Rule
from audit.rules.macros import MacroSource

MAX_MACRO_DEPTH = 3
_ALLOW = re.compile(rb"audit:\s*allow\(([^)]*)\)\s*(.*)")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_POSITION = attrgetter("line", "column", "rule")  # the order findings are reported in


class Hit(NamedTuple):
    """A rule hit before it becomes a Finding: byte span, 0-based points, message values."""

    rule: Rule
    start: int
    end: int
    start_point: tuple[int, int]
    end_point: tuple[int, int]
    values: dict


def _settings_and_rules(options: dict, language: str) -> tuple[dict, tuple[Rule, ...]]:
    """The job's rule settings and the rules they make active for a language."""
    settings = options.get("rules") or {}
    return settings, registry.load(settings.get("rules_dir")).active(settings).get(language, ())


_COMBINED: dict = {}


def _combined(language: str, rules: tuple[Rule, ...]):
    """registry.combined for a language's active rules, looked up by the tuple's identity
    (the same tuple comes back for every file of a scan: no per-file hashing of the rules)."""
    hit = _COMBINED.get((language, id(rules)))
    if hit is None or hit[0] is not rules:  # the tuple is kept, so its id is not reused
        if len(_COMBINED) > 32:
            _COMBINED.clear()
        hit = _COMBINED[(language, id(rules))] = (rules, registry.combined(language, registry.query_rules(rules)))
    return hit[1]


def walk_query(language: str, path: str, options: dict):
    """Pipeline hook: the query the metrics walk runs so the rules ride on it, or None.

    None when no rule runs on the file (no active rule for its language, or a
    test file while tests are excluded): the walk then runs alone.
    """
    from audit.lang.walker import walker_for

    settings, rules = _settings_and_rules(options, language)
    walker = walker_for(language)
    if not rules or walker is None or (walker.is_test_path(path) and not settings.get("include_tests")):
        return None
    return _combined(language, rules).query


def file_pass(parsed, result, options: dict):
    """Pipeline pass: add findings to the FileResult.

    The payload holds the findings' fingerprints (for a baseline; skipped when the
    settings say ``fingerprints = False``) and the Rust test modules the file
    declares out of line (`#[cfg(test)] mod tests;`), as file paths.
    """
    settings, rules = _settings_and_rules(options, parsed.language)
    test_mods = declared_test_modules(parsed.source.path, parsed.data) if parsed.language == "rust" else []
    if not rules or (result.is_test and not settings.get("include_tests")):
        return result, {"fingerprints": [], "test_modules": test_mods}
    findings = analyse(parsed, result, rules, settings.get("include_tests", False))
    prints = fingerprints(findings, parsed.data) if settings.get("fingerprints", True) else []
    return replace(result, findings=tuple(findings)), {"fingerprints": prints, "test_modules": test_mods}


_TEST_MOD = re.compile(rb"#\[cfg\(test\)\]\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*;")


def declared_test_modules(path: str, data: bytes) -> list[str]:
    """Files of the modules a Rust file declares as `#[cfg(test)] mod name;`."""
    if b"cfg(test)" not in data:
        return []
    folder, stem = posixpath.split(path)
    base = folder if stem in ("lib.rs", "main.rs", "mod.rs") else posixpath.join(folder, stem[:-3])
    out = []
    for m in _TEST_MOD.finditer(data):
        name = m.group(1).decode()
        out += [posixpath.join(base, name + ".rs"), posixpath.join(base, name, "mod.rs")]
    return out


def drop_test_modules(result, payloads: dict, settings: dict):
    """Remove findings in files other files declare as test modules, unless tests are wanted.

    Returns the result and the payloads without those files' fingerprints.
    """
    if settings.get("include_tests"):
        return result, payloads
    tests = {m for p in payloads.values() for m in p.get("rules", {}).get("test_modules", ())}
    hit = {f.path for f in result.files if f.path in tests and f.findings}
    if not hit:
        return result, payloads
    files = tuple(replace(f, findings=()) if f.path in hit else f for f in result.files)
    payloads = {path: ({**p, "rules": {**p["rules"], "fingerprints": []}} if path in hit else p)
                for path, p in payloads.items()}
    return replace(result, files=files), payloads


def analyse(parsed, result, rules: tuple[Rule, ...], include_tests: bool = False) -> list[Finding]:
    """Every finding of the given rules in one parsed file, sorted by position."""
    if result.is_test and not include_tests:
        return []
    ctx = checks.FileContext(parsed, result)
    hits, tests = _query_hits(ctx, rules)
    for rule in rules:
        if rule.check and not rule.query and not rule.macro_names:
            hits.extend(Hit(rule, *span, values) for span, values in checks.run_file_check(ctx, rule))
        elif rule.metric:
            hits.extend(Hit(rule, *span, values) for span, values in checks.metric_hits(ctx, rule))
    if not include_tests:
        tests += [(u.start_byte, u.end_byte) for u in parsed.units if u.is_test]
        if tests:
            hits = [h for h in hits if not any(s <= h.start < e for s, e in tests)]
    allows = _allow_comments(parsed)
    units = sorted(parsed.units, key=lambda u: u.start_byte)
    units = ([u.start_byte for u in units], units)
    findings = {}
    for h in hits:
        key = (h.rule.id, h.start)
        if key not in findings:
            findings[key] = _finding(h, parsed, allows, units)
    return sorted(findings.values(), key=_POSITION)


def _query_hits(ctx, rules) -> tuple[list[Hit], list[tuple[int, int]]]:
    """Hits of query and macro rules (in the tree and inside macro arguments), test regions."""
    comb = _combined(ctx.language, rules)
    hits, tests, macros = [], [], []

    def emit(rule, node, values):
        hits.append(Hit(rule, node.start_byte, node.end_byte, node.start_point, node.end_point,
                        values))

    for gate, found in _gated(comb, ctx.data, ctx.root):
        _match_tree(ctx, found, gate, emit, macros, tests)
    if comb.query is None:
        return hits, tests
    cursor = QueryCursor(comb.query)
    if ctx.parsed.rider_query is comb.query:  # the metrics walk ran this query: reuse its matches
        found = ctx.parsed.rider_matches
    else:
        found = cursor.matches(ctx.root)
    _match_tree(ctx, found, comb, emit, macros, tests)
    if macros:
        _macro_hits(ctx, cursor, comb, ctx.data, macros, [], hits)
    return hits, tests


def _gated(comb, data: bytes, root):
    """(gate, matches) for each range of data where a gated query's words occur."""
    for gate in comb.gates:
        ranges = gate.ranges(data)
        cursor = QueryCursor(gate.query) if ranges else None
        for start, end in ranges:
            cursor.set_byte_range(start, end)
            yield gate, cursor.matches(root)  # a list: the cursor is free for the next range


def _match_tree(ctx, found, comb, emit, macros, tests, source=None) -> None:
    """Go through one cursor pass's matches: report rule hits, collect macros to look
    into and test regions."""
    owners = comb.owners
    for index, caps in found:
        owner = owners[index]
        if owner == "walk":  # the metrics walker's own pattern (in macro arguments here)
            continue
        node = caps["hit"][0]
        if owner.__class__ is tuple:  # the rules sharing this pattern (the common case first)
            for rule in owner:
                if (source is None or (rule.macros and not source.in_error(node))) and (
                        values := _accept(ctx, rule, node, caps)) is not None:
                    emit(rule, values.pop("_node", node), values)
        elif owner == "macro":
            name = caps["name"][0].text
            for rule in comb.by_macro.get(name, ()):
                if (source is None or rule.macros) and (values := _accept(ctx, rule, node, caps)) is not None:
                    emit(rule, values.pop("_node", node), values)
            if name not in registry.NON_EXPR_MACROS:
                macros.append((name, caps["tt"][0]))
        elif source is None:  # "test": a test module
            tests.append((node.start_byte, node.end_byte))


def _macro_hits(ctx, cursor, comb, data, macros, chain, hits, depth=1) -> None:
    """Hits inside macro arguments, mapped back through every level of nesting."""
    source = MacroSource(data, sorted(macros, key=lambda m: m[1].start_byte))
    tree = source.parse()
    if tree is None:
        return
    chain = [source, *chain]
    inner: list = []

    def emit(rule, node, values):
        span = _map(chain, node.start_byte, node.end_byte)
        if span:
            top = chain[-1]
            hits.append(Hit(rule, *span, top.point(span[0]), top.point(span[1]), values))

    _match_tree(ctx, cursor.matches(tree.root_node), comb, emit, inner, [], source)
    for gate, found in _gated(comb, source.text, tree.root_node):
        _match_tree(ctx, found, gate, emit, inner, [], source)
    if inner and depth < MAX_MACRO_DEPTH:
        _macro_hits(ctx, cursor, comb, source.text, inner, chain, hits, depth + 1)


def _accept(ctx, rule, node, caps) -> dict | None:
    """Message values of a query hit its rule keeps, or None when the rule's check drops it."""
    if not rule.check:
        return caps  # capture name -> nodes; a message takes the first node (see _text)
    out = checks.FILTERS[rule.check](ctx, rule, node, caps)
    if not out:
        return None
    return {**caps, **out} if isinstance(out, dict) else caps


def _map(chain, start, end):
    for source in chain:
        span = source.map_bytes(start, end)
        if span is None:
            return None
        start, end = span
    return start, end


def _text(value) -> str:
    """A message value: a capture's first node's text (at most 60 characters), or the value."""
    if value.__class__ is list:  # a capture's nodes
        value = value[0]
    if hasattr(value, "text"):
        return value.text.decode("utf-8", "replace")[:60]
    return str(value)


def _finding(hit: Hit, parsed, allows: dict, units) -> Finding:
    rule = hit.rule
    line = hit.start_point[0] + 1
    message = rule.message
    if "{" in message:
        values = {"threshold": _num(rule.threshold), **hit.values}
        pieces = _template(message)  # literal text and placeholder names, alternating
        message = "".join(piece if i % 2 == 0 else _text(values.get(piece, "{" + piece + "}"))
                          for i, piece in enumerate(pieces))
    return Finding(
        rule.id, rule.severity, rule.category, parsed.source.path, line, hit.end_point[0] + 1,
        message, hit.start_point[1] + 1, hit.end_point[1] + 1, _unit_at(units, hit.start),
        _suppression(allows, rule, line),
    )


@functools.lru_cache(maxsize=512)
def _template(message: str) -> tuple[str, ...]:
    """A message split at its ``{name}`` placeholders: text, name, text, ..."""
    return tuple(_PLACEHOLDER.split(message))


def _num(value):
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _unit_at(units, byte: int) -> str:
    """The qualified name of the innermost unit holding a byte (units sorted by start)."""
    starts, ordered = units
    i = bisect.bisect_right(starts, byte) - 1
    while i >= 0:  # the latest-starting unit that still holds the byte is the innermost
        if byte < ordered[i].end_byte:
            return ordered[i].qualname
        i -= 1
    return ""


def _allow_comments(parsed) -> dict[int, list[tuple[set[str], str]]]:
    """1-based line -> [(rule ids or codes, reason)] that an allow comment covers.

    A trailing comment covers its own line; a comment on a line of its own covers
    the next line that is not a comment or an attribute.
    """
    data = parsed.data
    if b"audit:" not in data:
        return {}
    lines = parsed.lines()
    out: dict[int, list] = {}
    for sr, sc, _er, _ec in parsed.comments:
        m = _ALLOW.search(lines[sr], sc)
        if not m:
            continue
        names = {n.strip() for n in m.group(1).decode("utf-8", "replace").split(",") if n.strip()}
        reason = m.group(2).decode("utf-8", "replace").strip().rstrip("*/").strip()
        target = sr
        if not lines[sr][:sc].strip():
            target = sr + 1
            while target < len(lines) and lines[target].lstrip().startswith((b"//", b"#", b"/*", b"@")):
                target += 1
        out.setdefault(target + 1, []).append((names, reason))
    return out


def _suppression(allows: dict, rule: Rule, line: int) -> str | None:
    for names, reason in allows.get(line, ()):
        if rule.id in names or rule.code in names:
            return reason or "no reason given"
    return None


def fingerprints(findings: list[Finding], data: bytes) -> list[str]:
    """Each finding's identity that survives moved lines: rule, path, normalised line text."""
    lines = data.split(b"\n") if findings else []
    out = []
    for f in findings:
        text = b" ".join(lines[f.line - 1].split()) if f.line <= len(lines) else b""
        raw = b"\0".join((f.rule.encode(), f.path.encode(), text))
        out.append(hashlib.sha1(raw).hexdigest()[:20])
    return out
