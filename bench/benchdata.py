"""Where benchmark inputs live: --data DIR, else $AUDIT_BENCH_DATA, else ~/audit-bench-data.

The data folder holds public trees unpacked as OWNER+NAME/ (rui314+chibicc/,
wangdalian+claudes-c-compiler/, ...), see bench/RESULTS.md; benchmarks write their
caches and indexes under it too, never into the repository.
"""

from __future__ import annotations

import os

ENV = "AUDIT_BENCH_DATA"
CCC = "wangdalian+claudes-c-compiler"  # Claude's C Compiler, the subject tree


def data_dir(given: str | None = None) -> str:
    """The data folder: an explicit one, else $AUDIT_BENCH_DATA, else ~/audit-bench-data."""
    return os.path.abspath(os.path.expanduser(given or os.environ.get(ENV) or "~/audit-bench-data"))


def data_path(*parts: str, given: str | None = None) -> str:
    """A path inside the data folder, e.g. data_path(CCC) for the subject tree."""
    return os.path.join(data_dir(given), *parts)
