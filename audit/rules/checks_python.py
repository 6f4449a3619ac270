"""Python rule checks that a query alone cannot express (registered into audit.rules.checks)."""

from __future__ import annotations

from audit.rules.checks import _filter  # noqa: F401
