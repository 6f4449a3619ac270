"""Rule settings from the audited project: `[tool.audit]` in pyproject.toml or an audit.toml.

Keys: ``select`` and ``ignore`` (rule ids, codes or categories), ``include-tests``,
``[severity]`` (rule -> error|warning|info) and ``[thresholds]`` (rule -> a finite,
non-negative number). Unknown keys and unknown rules are a ConfigError listing
every problem; so is a file that cannot be parsed (a pyproject.toml only when it
mentions ``tool.audit``: an unrelated broken one above the tree is not ours to judge).
"""

from __future__ import annotations

import math
import os
import re
import tomllib

from audit.errors import ConfigError, UsageError

KEYS = {"select", "ignore", "severity", "thresholds", "include-tests", "limits"}  # limits: audit.limits
FILES = ("audit.toml", "pyproject.toml")


def find_config(paths: tuple[str, ...]) -> str | None:
    """The nearest audit.toml, or pyproject.toml with [tool.audit], at or above the first path."""
    if not paths:
        return None
    from audit.gitsource import local_root

    here = os.path.abspath(local_root(paths[0]))  # REPO@REV: from the repository folder up
    if not os.path.isdir(here):
        here = os.path.dirname(here)
    while True:
        for name in FILES:
            candidate = os.path.join(here, name)
            if os.path.isfile(candidate) and (name == "audit.toml" or _has_tool_audit(candidate)):
                return candidate
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent


_MENTIONS_AUDIT = re.compile(rb"tool\s*\.\s*[\"']?audit\b|^\s*\[\s*tool\s*\]", re.M)
MAX_CONFIG = 1 << 20  # bytes: a settings file is a few lines


def _has_tool_audit(path: str) -> bool:
    """Whether a pyproject.toml holds [tool.audit]; one that cannot be parsed but seems to
    hold it is an error (silently dropping the user's settings would change the results)."""
    try:
        return "audit" in _read(path).get("tool", {})
    except ConfigError:
        if _mentions_audit(path):
            raise
        return False


def _mentions_audit(path: str) -> bool:
    from audit.walk import read_regular

    try:
        return bool(_MENTIONS_AUDIT.search(read_regular(path, MAX_CONFIG)))
    except OSError:
        return False


def load_toml(path: str) -> dict:
    """A TOML file parsed; raises ValueError (with the reason) for anything unusable.

    Only regular files are opened (a FIFO would block), and nesting too deep for the
    parser's recursion is refused like any other syntax error.
    """
    from audit.walk import read_regular

    try:
        data = read_regular(path, MAX_CONFIG)
    except OSError as exc:
        raise ValueError(str(exc) if exc.strerror is None else exc.strerror) from exc
    try:
        return tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(str(exc)) from exc
    except RecursionError as exc:
        raise ValueError("values nested too deeply") from exc


def _read(path: str) -> dict:
    try:
        return load_toml(path)
    except ValueError as exc:
        raise ConfigError([f"{path}: cannot read: {exc}"], "fix or remove the file") from exc


def read_settings(path: str) -> dict:
    """The rule settings in a config file, checked for unknown keys and wrong types."""
    data = _read(path)
    if os.path.basename(path) == "pyproject.toml" or "tool" in data:
        data = data.get("tool", {}).get("audit", {})
    problems = [f"{path}: unknown key {k!r} (known: {', '.join(sorted(KEYS))})"
                for k in sorted(set(data) - KEYS)]
    for key in ("select", "ignore"):
        if key in data and not (isinstance(data[key], list)
                                and all(isinstance(x, str) for x in data[key])):
            problems.append(f"{path}: {key} must be a list of rule ids, codes or categories")
    if data.get("select") == []:
        problems.append(f"{path}: select is empty; leave it out to run every rule")
    for key in ("severity", "thresholds"):
        if key in data and not isinstance(data[key], dict):
            problems.append(f"{path}: [{key}] must be a table")
    for name, value in (data.get("thresholds") if isinstance(data.get("thresholds"), dict) else {}).items():
        if not finite_number(value):
            problems.append(f"{path}: thresholds: {name} = {value!r} must be a finite, non-negative number")
    if "include-tests" in data and not isinstance(data["include-tests"], bool):
        problems.append(f"{path}: include-tests must be true or false")
    if problems:
        raise ConfigError(problems, "see docs/rules.md, section Configuration")
    out = {k.replace("-", "_"): v for k, v in data.items() if k != "limits"}
    return out


def finite_number(value) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value) and value >= 0)


def split_option(option: str, values: list[str]) -> list[str]:
    """Comma-separated rule names from repeated options; an empty one is refused, since
    an empty --select would otherwise mean "every rule" (exit 2)."""
    out = []
    for item in values:
        names = [v.strip() for v in item.split(",") if v.strip()]
        if not names:
            raise UsageError(f"{option} {item!r} names no rule",
                             f"give rule ids, codes or categories: {option} unwrap-used,RS101")
        out.extend(names)
    return out


def merge(file_settings: dict, select: list[str], ignore: list[str]) -> dict:
    """Command-line --select replaces the file's select; --ignore adds to its ignore."""
    out = dict(file_settings)
    if select:
        out["select"] = list(select)
    if ignore:
        out["ignore"] = list(out.get("ignore", [])) + list(ignore)
    return out
