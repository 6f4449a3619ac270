"""Load and validate the rule packs: one TOML file per rule at rules/<language>/<category>/<id>.toml.

Every file is read and checked before anything runs; all problems are
collected and reported together in one ConfigError, each naming its file.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from audit.errors import ConfigError
from audit.rules.config import finite_number, load_toml

LANGUAGES = ("rust", "python")
CATEGORIES = ("correctness", "suspicious", "complexity", "style", "performance", "agent-artefacts")
SEVERITIES = ("error", "warning", "info")
DOC_SECTIONS = ("what", "why", "example", "instead", "options", "references")
METRICS = ("cyclomatic", "cognitive", "nesting", "params", "sloc", "exits")
_ID = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_CODE = {"rust": re.compile(r"^RS\d{3}$"), "python": re.compile(r"^PY\d{3}$")}
_KEYS = {"code", "name", "category", "severity", "summary", "message", "effort", "query",
         "check", "metric", "threshold", "docs", "equivalent", "valid", "invalid", "macros",
         "macro_names", "words"}


@dataclass(frozen=True)
class Rule:
    """One rule as loaded from its pack file; immutable and picklable."""

    id: str
    code: str
    language: str
    category: str
    severity: str
    summary: str
    message: str
    path: str
    query: str = ""
    check: str = ""
    metric: str = ""
    threshold: float | None = None
    effort: int = 0  # minutes to fix one finding; 0 means the severity default
    macros: bool = True  # also look inside macro arguments (Rust)
    macro_names: tuple[str, ...] = ()  # Rust: report calls of these macros (one shared pattern)
    words: tuple[str, ...] = ()  # the query runs on its own, only where the text holds one of these
    docs: dict = field(default_factory=dict, compare=False, hash=False)
    equivalent: dict = field(default_factory=dict, compare=False, hash=False)
    valid: tuple[str, ...] = ()
    invalid: tuple[str, ...] = ()

    def __hash__(self) -> int:
        # Rules key the per-file query cache: hash a few fields, not all of them (equal
        # rules still hash equal, as every field takes part in ==).
        return hash((self.language, self.id, self.severity, self.threshold))


def rule_files(root: str) -> list[tuple[str, str, str]]:
    """(path, language, category) of every pack file under root/<language>/, sorted.

    Other folders of rules/ (provenance allow-lists) belong to other stages.
    """
    out = []
    for language in LANGUAGES:
        base = os.path.join(root, language)
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames.sort()
            for name in sorted(filenames):
                if name.endswith(".toml"):
                    rel = os.path.relpath(os.path.join(dirpath, name), base).split(os.sep)
                    category = rel[0] if len(rel) == 2 else ""
                    out.append((os.path.join(dirpath, name), language, category))
    return out


def load_rules(root: str, check_queries=None) -> list[Rule]:
    """Read and validate every rule under root; raise one ConfigError listing all problems.

    ``check_queries(rules)`` returns (rule, message) for each rule whose query
    does not compile; those rules are reported with the file problems.
    """
    rules, problems = [], []
    for path, language, category in rule_files(root):
        rule, errs = _load_one(path, language, category)
        problems.extend(f"{path}: {e}" for e in errs)
        if rule is not None:
            rules.append(rule)
    if check_queries is not None:
        bad = check_queries(rules)
        problems.extend(f"{r.path}: bad query: {message}" for r, message in bad)
        rules = [r for r in rules if r not in {r for r, _ in bad}]
    problems.extend(_duplicates(rules))
    if problems:
        raise ConfigError(problems, "fix the rule files named above; see docs/rules.md")
    return rules


def _load_one(path, language, category) -> tuple[Rule | None, list[str]]:
    if language not in LANGUAGES or category not in CATEGORIES:
        return None, [(f"must sit at rules/<language>/<category>/<id>.toml with language in "
                       f"{LANGUAGES} and category in {CATEGORIES}")]
    try:
        data = load_toml(path)
    except ValueError as exc:
        return None, [f"not valid TOML: {exc}"]
    errs = _check_fields(data, path, language, category)
    if errs:
        return None, errs
    return _build(data, path, language, category), []


def _check_fields(data: dict, path: str, language: str, category: str) -> list[str]:
    errs = [f"unknown key {k!r}" for k in sorted(set(data) - _KEYS)]
    stem = os.path.basename(path)[:-5]
    if data.get("name") != stem:
        errs.append(f"name {data.get('name')!r} must equal the file name {stem!r}")
    if not _ID.match(stem):
        errs.append(f"rule id {stem!r} must be kebab-case")
    if not isinstance(data.get("code"), str) or not _CODE[language].match(data["code"]):
        errs.append(f"code {data.get('code')!r} must look like {'RS' if language == 'rust' else 'PY'}123")
    if data.get("category", category) != category:
        errs.append(f"category {data.get('category')!r} differs from its folder {category!r}")
    if data.get("severity") not in SEVERITIES:
        errs.append(f"severity {data.get('severity')!r} must be one of {SEVERITIES}")
    for key in ("summary", "message"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            errs.append(f"{key} must be a non-empty string")
    errs.extend(_check_detector(data))
    errs.extend(_check_docs(data))
    return errs


def _check_detector(data: dict) -> list[str]:
    errs = []
    if not any(data.get(k) for k in ("query", "check", "metric", "macro_names")):
        errs.append("needs a query, macro_names, a check or a metric")
    names = data.get("macro_names", [])
    if not isinstance(names, list) or not all(isinstance(n, str) and n.isidentifier() for n in names):
        errs.append("macro_names must be a list of macro names without `!`")
    if data.get("query") and "@hit" not in data["query"]:
        errs.append("query must capture the reported node as @hit")
    errs.extend(_check_words(data))
    if data.get("metric") and data["metric"] not in METRICS:
        errs.append(f"metric {data['metric']!r} must be one of {METRICS}")
    if data.get("metric") and not finite_number(data.get("threshold")):
        errs.append("a metric rule needs a finite, non-negative numeric threshold")
    if data.get("check"):
        from audit.rules import checks

        if data["check"] not in checks.CHECKS:
            errs.append(f"check {data['check']!r} is not defined in audit/rules/checks.py")
    if "effort" in data and not isinstance(data["effort"], int):
        errs.append("effort must be a whole number of minutes")
    return errs


def _check_words(data: dict) -> list[str]:
    """``words`` gate a query (see docs/rules.md): each must be a string its predicates compare
    with, so that every match holds one of them."""
    if "words" not in data:
        return []
    words = data["words"]
    if not isinstance(words, list) or not words or not all(isinstance(w, str) and w for w in words):
        return ["words must be a non-empty list of non-empty strings"]
    if not data.get("query") or data.get("macro_names"):
        return ["words gate a query: give a query and no macro_names"]
    quoted = {re.sub(r"\\(.)", r"\1", q) for q in re.findall(r'"((?:[^"\\]|\\.)*)"', data["query"])}
    return [f"word {w!r} is not a quoted string of the query's predicates" for w in words if w not in quoted]


def _check_docs(data: dict) -> list[str]:
    errs = []
    docs = data.get("docs")
    if not isinstance(docs, dict):
        return ["missing [docs] table"]
    for section in DOC_SECTIONS:
        value = docs.get(section)
        if not value or (section == "references" and not isinstance(value, list)):
            errs.append(f"docs.{section} is missing" + (" (a list)" if section == "references" else ""))
    for key in ("valid", "invalid"):
        value = data.get(key)
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            errs.append(f"{key} must be a non-empty list of code examples")
    return errs


def _build(data: dict, path: str, language: str, category: str) -> Rule:
    return Rule(
        id=data["name"], code=data["code"], language=language, category=category,
        severity=data["severity"], summary=data["summary"].strip(),
        message=data["message"].strip(), path=path, query=data.get("query", ""),
        check=data.get("check", ""), metric=data.get("metric", ""),
        threshold=data.get("threshold"), effort=data.get("effort", 0),
        macros=data.get("macros", True), macro_names=tuple(data.get("macro_names", ())),
        words=tuple(data.get("words", ())), docs=data["docs"],
        equivalent=data.get("equivalent", {}), valid=tuple(data["valid"]),
        invalid=tuple(data["invalid"]),
    )


def _duplicates(rules: list[Rule]) -> list[str]:
    """Codes are unique overall; ids are unique within a language."""
    problems, seen_code, seen_id = [], {}, {}
    for r in rules:
        for key, seen, what in ((r.code, seen_code, "code"), ((r.language, r.id), seen_id, "id")):
            if key in seen:
                problems.append(f"{r.path}: {what} {key if what == 'code' else r.id!r} "
                                f"already used by {seen[key]}")
            seen.setdefault(key, r.path)
    return problems
