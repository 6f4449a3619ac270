"""The loaded rule set, its per-language combined queries, and rule selection from settings.

Queries are compiled once per process per (rules folder, language, active
rules): every rule's patterns go into one tree-sitter Query, and a table maps
each pattern index back to its rule, so a file is matched in one cursor pass.
Forked workers inherit the caches filled in the parent.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import os
import pickle
from dataclasses import dataclass, field, replace
from typing import ClassVar

from tree_sitter import Query

from audit.data import data_path, default_cache_dir
from audit.errors import ConfigError
from audit.lang import LANGUAGES, language_for
from audit.rules.loader import CATEGORIES, SEVERITIES, Rule, load_rules, rule_files

# Patterns the engine itself needs, run in the same pass as the rules.
# "test": a region of test code; "macro": a macro call, dispatched to macro rules by name and,
# unless its arguments are not expressions, re-parsed (see audit.rules.macros).
# Macros whose arguments are not expressions (patterns, items, token DSLs): never re-parsed.
# Every other macro's token tree is tried as call arguments; text that does not parse as
# expressions yields ERROR nodes, which no rule matches.
NON_EXPR_MACROS = frozenset(m.encode() for m in (
                   "matches", "macro_rules", "thread_local", "lazy_static", "bitflags",
                   "cfg_if", "quote", "include", "include_str", "include_bytes", "concat_idents",
                   "env", "option_env", "stringify", "concat", "compile_error", "asm",
                   "global_asm", "line", "column", "file", "module_path"))
INTERNAL = {
    "rust": {
        "test": '((attribute_item) @attr . (mod_item) @hit '
                '(#match? @attr "^#\\\\[cfg\\\\((test|all\\\\(test.*)\\\\)\\\\]$"))',
        # every macro call once: macro rules are dispatched on its name in Python
        "macro": '((macro_invocation macro: [(identifier) @name (scoped_identifier name: (identifier) @name)] '
                 '(token_tree) @tt) @hit)',
    },
    "python": {},
}


def compile_query(language: str, text: str) -> Query:
    """Compile one query for a language; raises tree-sitter's error on a bad query."""
    return Query(LANGUAGES[language].ts_language, text)


_SHARED: set[str] = set()  # ids used by more than one language's pack, in the last rule set loaded
_SHARED_FROM: list = [None]  # the rule set _SHARED was found in


def load(rules_dir: str | None = None) -> Registry:
    """The rule set in rules_dir (default: the bundled packs); see :func:`_load`.

    Remembers which ids several languages' packs share, for :func:`rule_key`
    (found again only when another set is loaded: the rules pass loads the set
    once per file).
    """
    registry = _load(rules_dir)
    if _SHARED_FROM[0] is not registry:
        _SHARED.clear()
        _SHARED.update(shared_ids(registry.rules))
        _SHARED_FROM[0] = registry
    return registry


def shared_ids(rules) -> set[str]:
    """Rule ids that more than one language's pack uses (e.g. deep-nesting)."""
    languages: dict[str, set[str]] = {}
    for r in rules:
        languages.setdefault(r.id, set()).add(r.language)
    return {rid for rid, langs in languages.items() if len(langs) > 1}


def rule_key(rule_id: str, path: str) -> str:
    """The key of a finding's rule in per-rule pages and SARIF rule descriptors:
    ``language/id`` (``rust/deep-nesting``) when packs of several languages share the
    id, so a Rust finding shows the Rust rule's page and description; else the id."""
    if rule_id not in _SHARED:
        return rule_id
    lang = language_for(path)
    return f"{lang.name}/{rule_id}" if lang is not None else rule_id


@functools.lru_cache(maxsize=4)
def _load(rules_dir: str | None = None) -> Registry:
    """The rule set in rules_dir (default: the bundled packs), validated, cached per process.

    A validated set is also kept in the user cache, named by a hash of everything
    that went into it (audit and grammar builds, the loader and checks modules,
    every rule file's path, size and modification time): reading and checking a
    hundred TOML files costs more than reading the pickle. Any change to a rule
    file, a grammar or audit reads and validates afresh.
    """
    root = rules_dir or data_path("rules")
    if root is None:
        raise ConfigError(["no rules folder found"], "reinstall audit or pass --rules-dir")
    _check_root(root, rules_dir is not None)
    path = _loaded_path(root)
    rules = _read_cached(path) if path is not None else None
    if rules is not None:
        return Registry(rules, root)
    registry = Registry(tuple(load_rules(root, remembered_bad_queries)), root)
    if path is not None:
        from audit.render.json import write_atomic

        payload = pickle.dumps(registry.rules, pickle.HIGHEST_PROTOCOL)
        try:
            write_atomic(path, hashlib.sha256(payload).digest() + payload)
        except OSError:
            pass  # an unwritable cache only costs the load next time
    return registry


def _check_root(root: str, given: bool) -> None:
    """A rules folder that does not exist or holds no rule: an error, never an empty rule set
    (a typo in --rules-dir would otherwise pass every --fail-on)."""
    option = "--rules-dir " if given else ""
    if not os.path.isdir(root):
        raise ConfigError([f"{option}{root}: no such folder"], "check the path of the rules folder")
    if not rule_files(root):
        raise ConfigError([f"{option}{root}: no rule files (rust/<category>/<id>.toml or "
                           "python/<category>/<id>.toml)"], "see docs/rules.md for the layout of a rules folder")


def _read_cached(path: str) -> tuple[Rule, ...] | None:
    """The cached rule set, or None when it is missing or fails its SHA-256 (then rebuilt)."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    digest, payload = data[:32], data[32:]
    if len(data) <= 32 or hashlib.sha256(payload).digest() != digest:
        return None  # damaged (or written by an older audit without the checksum)
    try:
        rules = pickle.loads(payload)
    except Exception:  # noqa: BLE001 - a checksummed file that still fails: load afresh
        return None
    if isinstance(rules, tuple) and all(isinstance(r, Rule) for r in rules):
        return rules
    return None


def _loaded_path(root: str) -> str | None:
    """The cache file for the validated rule set of a rules folder, or None."""
    digest = _build_digest()
    if digest is None:
        return None
    here = os.path.dirname(os.path.abspath(__file__))  # the loader and checks validate the files
    code = [os.path.join(here, name) for name in ("loader.py", "checks.py", "checks_rust.py", "checks_python.py")]
    try:
        for path in code + [path for path, _language, _category in rule_files(root)]:
            st = os.stat(path)
            digest.update(f"{os.path.abspath(path)}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
    except OSError:
        return None
    return os.path.join(default_cache_dir(), "rules-loaded", digest.hexdigest()[:32] + ".pickle")


def _build_digest():
    """A hash of the audit version and the installed tree-sitter and grammar builds, or None."""
    import importlib

    from audit import __version__

    digest = hashlib.sha256(__version__.encode() + b"\0")
    # the installed tree-sitter and grammar builds: a reinstall changes their files
    for name in ("tree_sitter._binding", "tree_sitter_rust._binding", "tree_sitter_python._binding"):
        try:
            path = importlib.import_module(name).__file__
            st = os.stat(path)
        except (ImportError, OSError, TypeError):
            return None
        digest.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
    return digest


def remembered_bad_queries(rules: list[Rule]) -> list[tuple[Rule, str]]:
    """bad_queries, skipped when these exact queries compiled before with these grammars.

    Compiling every language's query costs tens of milliseconds on each run; a
    marker file named by a hash of everything that goes into the compiled queries
    (audit and grammar versions, the query texts) records a set that compiled
    cleanly. Any change to a rule's query, a grammar or audit compiles afresh. The
    scan then compiles only the languages it meets.
    """
    marker = _validated_marker(rules)
    if marker is not None and os.path.exists(marker):
        return []
    bad = bad_queries(rules)
    if not bad and marker is not None:
        from audit.render.json import write_atomic

        try:
            write_atomic(marker, "these rule queries compiled cleanly\n")
        except OSError:
            pass  # an unwritable cache only costs the compile next time
    return bad


def _validated_marker(rules: list[Rule]) -> str | None:
    digest = _build_digest()
    if digest is None:
        return None
    for language in INTERNAL:
        mine = query_rules(r for r in rules if r.language == language)
        digest.update(language.encode() + b"\0" + (_source(language, mine)[1] or "").encode() + b"\0")
        for gate in _gates(language, mine):
            digest.update(gate.text.encode() + b"\0")
    return os.path.join(default_cache_dir(), "rules-validated", digest.hexdigest()[:32])


def query_rules(rules) -> tuple[Rule, ...]:
    """The rules matched in the combined query pass: those with a query or macro names."""
    return tuple(r for r in rules if r.query or r.macro_names)


def bad_queries(rules: list[Rule]) -> list[tuple[Rule, str]]:
    """(rule, message) for every query that does not compile.

    Each language's rules are compiled together, as the scan will run them (the
    compiled query is cached for it), and each gated query on its own; only when
    the shared query fails is each query compiled alone to name the rules at fault.
    """
    bad = []
    for language in INTERNAL:
        mine = query_rules(r for r in rules if r.language == language)
        try:
            for gate in combined(language, mine).gates:
                try:
                    _ = gate.query  # compiled when first needed: now
                except ValueError as exc:
                    bad.extend((rule, str(exc)) for rule in gate.rules)
        except ValueError:  # tree-sitter's QueryError, or a pattern across two queries
            for rule in mine:
                try:
                    compile_query(language, rule.query) if rule.query else None
                except ValueError as exc:
                    bad.append((rule, str(exc)))
    return bad


@dataclass(frozen=True)
class Combined:
    """One compiled query for a language and, per pattern index, its rule or internal tag."""

    query: Query | None
    owners: tuple  # per pattern index: the rules sharing it (a tuple), or an internal tag (str)
    by_macro: dict = field(default_factory=dict)  # macro name (bytes) -> rules
    gates: tuple = ()  # Gate: the queries of rules with words, run apart where their words occur


@dataclass(frozen=True, eq=False)
class Registry:
    """All rules of one rules folder, looked up by id or code (compared by identity: cheap to hash)."""

    rules: tuple[Rule, ...]
    root: str

    def for_language(self, language: str) -> list[Rule]:
        return [r for r in self.rules if r.language == language]

    def resolve(self, key: str) -> list[Rule]:
        """Rules a config key names: an id or code (every language), or a category."""
        if key in CATEGORIES:
            return [r for r in self.rules if r.category == key]
        return [r for r in self.rules if key in (r.id, r.code)]

    def find(self, key: str, language: str | None = None) -> Rule | None:
        for r in self.rules:
            if key in (r.id, r.code) and language in (None, r.language):
                return r
        return None

    def active(self, settings: dict) -> dict[str, tuple[Rule, ...]]:
        """Per language, the rules the settings select, with severities and thresholds applied."""
        return _active(self, _freeze(settings))


def _freeze(settings: dict) -> tuple:
    return tuple(sorted((k, _freeze(v) if isinstance(v, dict) else tuple(v) if isinstance(v, list)
                         else v) for k, v in settings.items()))


@functools.lru_cache(maxsize=8)
def _active(registry: Registry, frozen: tuple) -> dict[str, tuple[Rule, ...]]:
    settings = dict(frozen)
    problems = validate_settings(registry, settings)
    if problems:
        raise ConfigError(problems, "run `audit rules list` for the known rule ids and codes")
    selected = {r for key in settings.get("select") or ("all",)
                for r in (registry.rules if key == "all" else registry.resolve(key))}
    ignored = {r for key in settings.get("ignore", ()) for r in registry.resolve(key)}
    severity = dict(settings.get("severity", ()))
    thresholds = dict(settings.get("thresholds", ()))
    out: dict[str, list[Rule]] = {lang: [] for lang in INTERNAL}
    for r in registry.rules:
        if r in selected and r not in ignored:
            sev = severity.get(r.id, severity.get(r.code, r.severity))
            thr = thresholds.get(r.id, thresholds.get(r.code, r.threshold))
            # unchanged rules stay the same objects, so cached queries match by identity
            same = (sev, thr) == (r.severity, r.threshold)
            out[r.language].append(r if same else replace(r, severity=sev, threshold=thr))
    return {lang: tuple(rules) for lang, rules in out.items()}


def validate_settings(registry: Registry, settings: dict) -> list[str]:
    """Every problem with select/ignore/severity/thresholds, so they are fixed in one go."""
    problems = []
    for key in ("select", "ignore"):
        for name in settings.get(key) or ():
            if name != "all" and not registry.resolve(name):
                problems.append(f"{key}: unknown rule id, code or category {name!r}")
    for name, sev in dict(settings.get("severity") or ()).items():
        if not registry.resolve(name):
            problems.append(f"severity: unknown rule id or code {name!r}")
        elif sev not in SEVERITIES:
            problems.append(f"severity: {name} = {sev!r} must be one of {SEVERITIES}")
    for name, value in dict(settings.get("thresholds") or ()).items():
        rules = registry.resolve(name)
        if not rules:
            problems.append(f"thresholds: unknown rule id or code {name!r}")
        elif any(r.threshold is None for r in rules):
            problems.append(f"thresholds: rule {name!r} has no threshold to set")
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            problems.append(f"thresholds: {name} = {value!r} must be a non-negative number")
    return problems


@functools.lru_cache(maxsize=16)
def combined(language: str, rules: tuple[Rule, ...]) -> Combined:
    """One query holding every active rule's patterns plus the engine's own, for a language.

    The metrics walker's pattern comes first (pattern 0, owner "walk"), so the walk
    that finds units runs this query and hands the rules their matches: the tree
    is walked once for both (see audit.lang.walker). Rules with ``words`` are left
    out of it: each gets a Gate, run apart where its words occur.
    """
    parts, source = _source(language, rules)
    if source is None:
        return Combined(None, (), gates=_gates(language, rules))
    by_macro: dict[bytes, list] = {}
    for rule in rules:
        for name in rule.macro_names:
            by_macro.setdefault(name.encode(), []).append(rule)
    query = compile_query(language, source)
    return Combined(query, _owners(query, parts, source.encode()), {k: tuple(v) for k, v in by_macro.items()},
                    _gates(language, rules))


def _gates(language: str, rules) -> tuple[Gate, ...]:
    """The gated queries of the rules with ``words``; rules with the same query and words share one."""
    sharing: dict[tuple, list[Rule]] = {}
    for rule in rules:
        if rule.query and rule.words:
            sharing.setdefault((rule.query.strip(), rule.words), []).append(rule)
    return tuple(Gate(language, text, words, tuple(owners)) for (text, words), owners in sharing.items())


class Gate:
    """A query run on its own, only around the occurrences of its words in a text (see
    the ``words`` key in docs/rules.md).

    Every match of such a query holds one of the words, so its root node intersects
    the occurrence's byte range and tree-sitter's ranged matching finds it (a match
    is still followed outside the range). A text without the words is not matched
    at all. Compiled when first needed: most files hold none of the words.
    """

    by_macro: ClassVar[dict] = {}  # no macro dispatch (the engine reads owners and by_macro alike)
    # A ranged match costs a walk down to the range (tens of microseconds in a large
    # file) plus about as much as 1.5 KB of the tree's text per range: where the
    # occurrences lie closer than that on average, one range from the first to the
    # last is cheaper (both measured on CCC; see bench/RESULTS.md).
    DENSE = 1536

    def __init__(self, language: str, text: str, words: tuple[str, ...], rules: tuple[Rule, ...]):
        self.language, self.text, self.rules = language, text, rules
        self.words = tuple(w.encode() for w in words)
        self._query: Query | None = None

    @property
    def query(self) -> Query:
        if self._query is None:
            self._query = compile_query(self.language, self.text)
        return self._query

    @property
    def owners(self) -> tuple:
        """Per pattern index, the rules sharing the query (all of its patterns are theirs)."""
        return (self.rules,) * self.query.pattern_count

    def ranges(self, data: bytes) -> list[tuple[int, int]]:
        """Byte ranges of data to match: each occurrence of a word (overlapping ones
        merged) or, where they are dense, one range from the first to the last."""
        found = occurrences(data, self.words)
        if not found:
            return []
        end = max(e for _, e in found)
        if len(found) * self.DENSE > end - found[0][0]:
            return [(found[0][0], end)]
        merged = [found[0]]
        for start, stop in found[1:]:
            if start < merged[-1][1]:
                merged[-1] = (merged[-1][0], max(stop, merged[-1][1]))
            else:
                merged.append((start, stop))
        return merged


def occurrences(data: bytes, words) -> list[tuple[int, int]]:
    """(start, end) of every occurrence of the words in data, sorted; one word's occurrences
    are found without overlap (bytes.find is far faster than a regular-expression scan)."""
    found = []
    for word in words:
        i = data.find(word)
        while i >= 0:
            found.append((i, i + len(word)))
            i = data.find(word, i + len(word))
    found.sort()
    return found


def _source(language: str, rules) -> tuple[list, str | None]:
    """The parts (owner, text) of a language's combined query and its text (None: no rule)."""
    from audit.lang.walker import walker_for

    walker = walker_for(language)
    parts = [("walk", walker.pattern(LANGUAGES[language].ts_language))] if walker else []
    parts += [(tag, text) for tag, text in INTERNAL.get(language, {}).items()]
    sharing: dict[str, list[Rule]] = {}  # rules with the same query text share its patterns
    for rule in rules:
        if rule.query and not rule.words:
            sharing.setdefault(rule.query.strip(), []).append(rule)
    parts += [(tuple(owners), text) for text, owners in sharing.items()]
    if len(parts) == (1 if walker else 0):
        return parts, None
    return parts, "\n".join(text for _, text in parts)


def _owners(query: Query, parts: list, source: bytes) -> tuple:
    """Per pattern index, the owner (rules or tag) of the part whose text holds it.

    Every pattern must lie inside one part and every part must hold a pattern:
    then each part is a valid query of its own, and a compiled combination
    validates all of them at once.
    """
    starts, offset = [], 0
    for _, text in parts:
        starts.append(offset)
        offset += len(text.encode()) + 1
    owners = []
    for i in range(query.pattern_count):
        start = query.start_byte_for_pattern(i)
        k = bisect.bisect_right(starts, start) - 1
        end = start + len(source[start:query.end_byte_for_pattern(i)].rstrip())
        if end > starts[k] + len(parts[k][1].encode()):
            raise ValueError(f"a pattern of {parts[k][0]} runs into the next query")
        owners.append(k)
    if len(set(owners)) < len(parts):
        raise ValueError("a query holds no complete pattern of its own")
    return tuple(parts[k][0] for k in owners)


load.cache_clear = _load.cache_clear  # the rule-set cache is _load's; tests clear it through load
