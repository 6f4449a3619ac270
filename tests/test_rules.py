"""Every rule pack: loads, is fully documented, and its valid/invalid examples behave."""

from __future__ import annotations

import re

import pytest

from audit.commands.rules import explain_markdown
from audit.metrics.measure import measure
from audit.parse import parse
from audit.rules import engine, registry
from audit.rules.loader import DOC_SECTIONS
from audit.walk import SourceFile, git_blob_sha1

REGISTRY = registry.load()
PATH_HEADER = re.compile(r"^(?://|#) path: (\S+)\n")
EXT = {"rust": "src/example.rs", "python": "pkg/example.py"}


def findings_for(rule, code: str):
    data = code.encode()
    header = PATH_HEADER.match(code)  # an example may name its file: "// path: src/x/mod.rs"
    path = header.group(1) if header else EXT[rule.language]
    parsed = parse(SourceFile(path, rule.language, data, git_blob_sha1(data)))
    return engine.analyse(parsed, measure(parsed), (rule,))


def _examples():
    for rule in REGISTRY.rules:
        for i, code in enumerate(rule.valid):
            yield pytest.param(rule, code, False, id=f"{rule.language}-{rule.id}-valid{i}")
        for i, code in enumerate(rule.invalid):
            yield pytest.param(rule, code, True, id=f"{rule.language}-{rule.id}-invalid{i}")


@pytest.mark.parametrize("rule,code,expect_hit", list(_examples()))
def test_rule_examples(rule, code, expect_hit):
    found = [f for f in findings_for(rule, code) if f.rule == rule.id]
    assert bool(found) == expect_hit, [(f.line, f.message) for f in found]
    for f in found:  # every placeholder of the message template is filled
        assert not [p for p in re.findall(r"\{\w+\}", rule.message) if p in f.message], f.message


def test_rule_counts_meet_the_floor():
    assert len(REGISTRY.for_language("rust")) >= 40
    assert len(REGISTRY.for_language("python")) >= 30


@pytest.mark.parametrize("rule", REGISTRY.rules, ids=lambda r: f"{r.language}-{r.id}")
def test_rule_is_documented(rule):
    missing = [s for s in DOC_SECTIONS if not rule.docs.get(s)]
    assert not missing, f"{rule.path}: missing docs sections {missing}"
    assert rule.valid and rule.invalid
    text = explain_markdown(rule)
    assert "## Why is this bad?" in text and rule.code in text


def test_equivalents_are_named_in_references():
    for rule in REGISTRY.rules:
        for tool, name in rule.equivalent.items():
            assert any(name in ref for ref in rule.docs["references"]), (rule.id, tool)
