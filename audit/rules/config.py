"""Rule settings from the audited project: `[tool.audit]` in pyproject.toml or an audit.toml.

Keys: ``select`` and ``ignore`` (rule ids, codes or categories), ``include-tests``,
``[severity]`` (rule -> error|warning|info) and ``[thresholds]`` (rule -> number).
Unknown keys and unknown rules are a ConfigError listing every problem.
"""

from __future__ import annotations

import os
import tomllib

from audit.errors import ConfigError

KEYS = {"select", "ignore", "severity", "thresholds", "include-tests"}
FILES = ("audit.toml", "pyproject.toml")


def find_config(paths: tuple[str, ...]) -> str | None:
    """The nearest audit.toml, or pyproject.toml with [tool.audit], at or above the first path."""
    if not paths:
        return None
    here = os.path.abspath(paths[0])
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


def _has_tool_audit(path: str) -> bool:
    try:
        return "audit" in _read(path).get("tool", {})
    except ConfigError:
        return False


def _read(path: str) -> dict:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
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
    for key in ("severity", "thresholds"):
        if key in data and not isinstance(data[key], dict):
            problems.append(f"{path}: [{key}] must be a table")
    if "include-tests" in data and not isinstance(data["include-tests"], bool):
        problems.append(f"{path}: include-tests must be true or false")
    if problems:
        raise ConfigError(problems, "see docs/rules.md, section Configuration")
    out = {k.replace("-", "_"): v for k, v in data.items()}
    return out


def merge(file_settings: dict, select: list[str], ignore: list[str]) -> dict:
    """Command-line --select replaces the file's select; --ignore adds to its ignore."""
    out = dict(file_settings)
    if select:
        out["select"] = list(select)
    if ignore:
        out["ignore"] = list(out.get("ignore", [])) + list(ignore)
    return out
