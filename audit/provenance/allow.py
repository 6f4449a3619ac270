"""The allow-list of interface-forced material (rules/provenance/*.toml), as token flags."""

from __future__ import annotations

import functools
import glob
import os
import re
import tomllib
from dataclasses import dataclass

import numpy as np

from audit.errors import ConfigError


@dataclass(frozen=True)
class AllowList:
    """Names, patterns, phrases and values that independent implementations share."""

    ident_names: frozenset[str]
    ident_pattern: re.Pattern | None
    text_names: frozenset[str]
    phrases: tuple[str, ...]
    num_values: frozenset[str]
    sources: tuple[str, ...]

    def token_flags(self, streams) -> dict[str, np.ndarray]:
        """Per channel, True where a token is interface-forced (struct: never)."""
        flags = {"struct": np.zeros(len(streams.tokens["struct"]), dtype=bool)}
        flags["ident"] = np.fromiter((self._ident(o) for o in streams.origins["ident"]),
                                     dtype=bool, count=len(streams.origins["ident"]))
        text = streams.tokens["text"]
        flags["text"] = np.fromiter(
            (self._text(t, o) for t, o in zip(text, streams.origins["text"])), dtype=bool, count=len(text))
        flags["num"] = np.fromiter((v in self.num_values for v in streams.tokens["num"]),
                                   dtype=bool, count=len(streams.tokens["num"]))
        return flags

    def _ident(self, name: str) -> bool:
        return name in self.ident_names or bool(self.ident_pattern and self.ident_pattern.match(name))

    def _text(self, word: str, literal: str) -> bool:
        # Names (mnemonics, option names) are forced only where the interface is
        # spelled out: in string literals. In a comment, "call the function" is
        # prose, and copied prose is strong evidence, so only whole phrases count.
        if word in self.text_names and not is_comment(literal):
            return True
        return _contains_phrase(literal, self.phrases)


def is_comment(literal: str) -> bool:
    """Whether a text-channel origin is a comment (string literals start with a quote or prefix)."""
    return literal.startswith(("//", "/*", "#"))


@functools.lru_cache(maxsize=1 << 14)
def _contains_phrase(literal: str, phrases: tuple[str, ...]) -> bool:
    low = literal.lower()
    return any(p in low for p in phrases)


def _value(text: str) -> str:
    from audit.provenance.channels import number_value

    return number_value(str(text))


@functools.lru_cache(maxsize=4)
def load(directory: str | None = None) -> AllowList:
    """Read every allow-list file; all problems are reported at once."""
    from audit.data import data_path

    directory = directory or os.path.join(data_path("rules") or "", "provenance")
    idents, patterns, texts, phrases, values, problems = set(), [], set(), [], set(), []
    files = sorted(glob.glob(os.path.join(directory, "*.toml")))
    for path in files:
        try:
            with open(path, "rb") as fh:
                doc = tomllib.load(fh)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            problems.append(f"{path}: {exc}")
            continue
        channel = doc.get("channel")
        if channel == "ident":
            idents.update(doc.get("names", []))
            patterns.extend(doc.get("patterns", []))
        elif channel == "text":
            texts.update(n.lower() for n in doc.get("names", []))
            phrases.extend(p.lower() for p in doc.get("phrases", []))
        elif channel == "num":
            values.update(_value(v) for v in doc.get("values", []))
        else:
            problems.append(f"{path}: channel must be ident, text or num, got {channel!r}")
    try:
        pattern = re.compile("|".join(f"(?:{p})" for p in patterns)) if patterns else None
    except re.error as exc:
        problems.append(f"{directory}: bad pattern: {exc}")
        pattern = None
    if problems:
        raise ConfigError(problems, "fix the allow-list files under rules/provenance")
    return AllowList(frozenset(idents), pattern, frozenset(texts), tuple(phrases),
                     frozenset(values), tuple(os.path.basename(f) for f in files))
