"""Shared helpers: measure a snippet without touching the disk."""

from __future__ import annotations

import os
import sys

import pytest

from audit.metrics.measure import measure
from audit.parse import parse
from audit.walk import SourceFile, git_blob_sha1

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(REPO, "fixtures")


def measure_snippet(code: str, language: str, path: str | None = None, engine: str = "radon"):
    data = code.encode()
    path = path or ("src/lib.rs" if language == "rust" else "pkg/mod.py")
    return measure(parse(SourceFile(path, language, data, git_blob_sha1(data))), engine)


def unit_named(result, qualname: str):
    for u in result.units:
        if u.qualname == qualname:
            return u
    raise AssertionError(f"no unit {qualname!r}; have {[u.qualname for u in result.units]}")


@pytest.fixture
def run_cli(capsys):
    """Run the CLI in-process; returns (exit code, stdout, stderr)."""
    from audit.cli import main

    def run(*argv: str):
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def same_prints(a, b) -> None:
    """Two lists of clone sketches (audit.clone_sketch) field for field, arrays by value."""
    import dataclasses

    import numpy as np

    assert len(a) == len(b)
    for mine, theirs in zip(a, b):
        for f in dataclasses.fields(mine):
            x, y = getattr(mine, f.name), getattr(theirs, f.name)
            if isinstance(x, np.ndarray):
                assert x.dtype == y.dtype and np.array_equal(x, y), (mine.qualname, f.name)
            else:
                assert x == y, (mine.qualname, f.name)


@pytest.fixture
def forbid_inflating(monkeypatch):
    """``forbid(repo, blob_id)``: from then on, reading that blob's object from the
    repository's store fails the test (its header may still be read)."""
    from audit.gitsource import GitSource

    def forbid(repo, blob: str) -> None:
        store_class = type(GitSource(str(repo)).store)
        read = store_class.__getitem__

        def guarded(self, sha):
            assert sha != blob.encode(), "the huge blob was inflated"
            return read(self, sha)

        monkeypatch.setattr(store_class, "__getitem__", guarded)

    return forbid


sys.path.insert(0, os.path.dirname(__file__))
