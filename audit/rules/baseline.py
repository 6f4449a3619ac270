"""Baseline files: fingerprints of accepted findings, so a team sees only new ones.

A fingerprint is rule + path + the finding's line text with white space
normalised (see :func:`audit.rules.engine.fingerprints`), so findings survive
lines moving up or down. Counts are kept per fingerprint: a second identical
finding on another line is new.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace

from audit.errors import ConfigError

VERSION = 1


def build(result, fingerprints: dict[str, list[str]]) -> dict:
    """The baseline document for every unsuppressed finding of a result."""
    counts: Counter = Counter()
    for f in result.files:
        for finding, fp in zip(f.findings, fingerprints.get(f.path, ())):
            if finding.suppressed is None:
                counts[fp] += 1
    return {"version": VERSION, "tool": "audit", "findings": dict(sorted(counts.items()))}


def load(path: str) -> Counter:
    """Fingerprint counts from a baseline file; a clear error when it is not one."""
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except (OSError, ValueError) as exc:
        raise ConfigError([f"{path}: cannot read baseline: {exc}"],
                          "write one with --baseline-write FILE") from exc
    if not isinstance(doc, dict) or doc.get("version") != VERSION \
            or not isinstance(doc.get("findings"), dict):
        raise ConfigError([f"{path}: not an audit baseline (version {VERSION})"],
                          "write one with --baseline-write FILE")
    return Counter({str(k): int(v) for k, v in doc["findings"].items()})


def apply(result, fingerprints: dict[str, list[str]], known: Counter):
    """The result without findings the baseline already holds, and how many were dropped."""
    left = Counter(known)
    files, dropped = [], 0
    for f in result.files:
        keep = []
        for finding, fp in zip(f.findings, fingerprints.get(f.path, ())):
            if finding.suppressed is None and left[fp] > 0:
                left[fp] -= 1
                dropped += 1
            else:
                keep.append(finding)
        files.append(replace(f, findings=tuple(keep)) if len(keep) != len(f.findings) else f)
    return replace(result, files=tuple(files)), dropped
