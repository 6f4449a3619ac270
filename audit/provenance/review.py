"""Review decisions on provenance matches, kept in the audited project beside its audit.toml.

A decision is recorded per matched unit: the audited path, the unit's name, the
corpus file's label and a hash of the unit's normalised text (whitespace
collapsed, blank lines dropped). No line numbers, so a decision survives reruns
and edits elsewhere in the file; an edit inside the unit changes the hash, and the
decision is then shown as made on an earlier version and no longer applied.
Decisions: coincidental, interface-forced, licensed-and-attributed (these clear a
file for ``--fail-on-verdict`` once every matched unit of it has one) and
needs-action (which never does).
"""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
from dataclasses import asdict, dataclass

from audit.errors import ConfigError, UsageError

REVIEW_FILE = "audit-review.toml"
DECISIONS = ("coincidental", "interface-forced", "licensed-and-attributed", "needs-action")
CLEARING = frozenset(DECISIONS[:3])
_FIELDS = ("path", "unit", "corpus", "corpus_path", "content", "decision", "by", "reason", "date")


@dataclass(frozen=True)
class Decision:
    """One recorded decision on one matched unit."""

    path: str
    unit: str
    corpus_path: str
    content: str  # hash of the unit's normalised text when the decision was made
    decision: str
    by: str
    reason: str
    date: str = ""
    corpus: str = ""

    @property
    def key(self) -> tuple[str, str, str]:
        return self.path, self.unit, self.corpus_path

    @property
    def clears(self) -> bool:
        return self.decision in CLEARING


def content_hash(text: str | None, lines: tuple[int, int]) -> str:
    """The hash a decision is pinned to: the unit's lines, whitespace-normalised."""
    if text is None:
        return ""
    rows = text.split("\n")[max(0, lines[0] - 1):lines[1]]
    norm = "\n".join(" ".join(r.split()) for r in rows if r.strip())
    return "sha256:" + hashlib.sha256(norm.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def review_path(paths, explicit: str = "") -> str:
    """Where a project's review file lives: beside its audit.toml, else in the audited folder."""
    if explicit:
        return explicit
    from audit.rules.config import find_config

    found = find_config(tuple(paths))
    if found:
        return os.path.join(os.path.dirname(found), REVIEW_FILE)
    from audit.gitsource import local_root

    first = os.path.abspath(local_root(paths[0])) if paths else os.getcwd()
    return os.path.join(first if os.path.isdir(first) else os.path.dirname(first), REVIEW_FILE)


def load(path: str) -> list[Decision]:
    """The decisions in a review file ([] when there is none); every problem reported at once."""
    if not os.path.isfile(path):
        return []
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: cannot read: {exc}"], "fix the file, or record decisions "
                          "again with `audit review add`")
    out, problems = [], []
    for i, row in enumerate(data.get("decision", []), 1):
        missing = [k for k in ("path", "unit", "corpus_path", "decision") if not row.get(k)]
        if missing or row.get("decision") not in DECISIONS:
            problems.append(f"{path}: decision {i}: " + (f"missing {', '.join(missing)}" if missing
                            else f"unknown decision {row.get('decision')!r} (known: {', '.join(DECISIONS)})"))
            continue
        out.append(Decision(**{k: str(row.get(k, "")) for k in _FIELDS}))
    if problems:
        raise ConfigError(problems, "fix the file or remove the decision with `audit review prune`")
    return out


def save(path: str, decisions: list[Decision]) -> None:
    """Write decisions as TOML, sorted, one [[decision]] table each."""
    from audit.render.json import write_atomic

    parts = ["# Review decisions on provenance matches, written by `audit review`.\n"
             "# Each is pinned to a hash of the matched unit's normalised text (no line numbers).\n"]
    for d in sorted(decisions, key=lambda d: (d.key, d.content)):
        row = asdict(d)
        parts.append("\n[[decision]]\n" + "".join(
            f"{k} = {json.dumps(row[k], ensure_ascii=False)}\n" for k in _FIELDS if row[k] or k in
            ("by", "reason")))
    write_atomic(path, "".join(parts))


def check_decision(value: str) -> str:
    if value not in DECISIONS:
        raise UsageError(f"unknown decision {value!r}", f"use one of: {', '.join(DECISIONS)}")
    return value


@dataclass
class Applied:
    """Decisions set against the matches of one run."""

    file: str
    by_match: dict  # (path, unit, corpus_path) -> (Decision, "applied" | "stale")
    unused: list  # decisions with no match in this run

    def status(self, path: str, unit: str, corpus_path: str) -> tuple[Decision | None, str]:
        got = self.by_match.get((path, unit, corpus_path))
        return got if got else (None, "undecided")


def apply(decisions: list[Decision], matches: list[dict], file: str) -> Applied:
    """Each match record (path, unit, corpus_path, content) gets its decision, if any."""
    index: dict[tuple, list[Decision]] = {}
    for d in decisions:
        index.setdefault(d.key, []).append(d)
    by_match, used = {}, set()
    for m in matches:
        key = (m["path"], m["unit"], m["corpus_path"])
        cands = index.get(key, [])
        hit = next((d for d in cands if d.content == m["content"] and m["content"]), None)
        if hit is not None:
            by_match[key] = (hit, "applied")
            used.add(id(hit))
        elif cands:
            by_match[key] = (cands[-1], "stale")
            used.add(id(cands[-1]))
    return Applied(file, by_match, [d for d in decisions if id(d) not in used])
