"""Where bundled data lives: rule packs, report templates and the default target.

In a wheel, ``rules/``, ``reports/`` and the reference compiler are mapped into
``audit/_data``; in a source checkout they sit beside the package.
"""

from __future__ import annotations

import os

_PACKAGE = os.path.dirname(os.path.abspath(__file__))
_CHECKOUT = os.path.dirname(_PACKAGE)

# name -> path inside the checkout
_LOCATIONS = {
    "rules": "rules",
    "reports": "reports",
    "refcc": os.path.join("fixtures", "refcc"),
    "sample": os.path.join("fixtures", "sample"),
}


def data_path(name: str) -> str | None:
    """The bundled directory called ``name``, or None when it is not shipped."""
    rel = _LOCATIONS[name]
    for candidate in (os.path.join(_PACKAGE, "_data", name), os.path.join(_CHECKOUT, rel)):
        if os.path.isdir(candidate):
            return candidate
    return None


def default_target() -> str | None:
    """What `audit scan` audits when given no path: the reference compiler."""
    return data_path("refcc") or data_path("sample")


def default_cache_dir() -> str:
    """AUDIT_CACHE_DIR, or the user's cache folder (platformdirs)."""
    env = os.environ.get("AUDIT_CACHE_DIR")
    if env:
        return env
    import platformdirs

    return platformdirs.user_cache_dir("audit")
