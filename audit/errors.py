"""One user-facing exception base with a short slug, and the named exit codes."""

from __future__ import annotations

# Named exit codes: scripts and CI read these, so they never change meaning.
EXIT_OK = 0
EXIT_FINDINGS = 1  # the run worked and a --fail-on threshold was reached
EXIT_USAGE = 2  # bad command line or configuration
EXIT_INPUT = 3  # nothing usable to audit: missing path, empty tree, no supported files
EXIT_INDEX = 4  # a corpus index is missing, corrupt or built with other parameters
EXIT_INTERRUPTED = 130
EXIT_INTERNAL = 70  # a bug in audit itself


class AuditError(Exception):
    """An error the user can act on: a slug, what went wrong, and what to do."""

    slug = "error"
    exit_code = EXIT_USAGE

    def __init__(self, message: str, hint: str = "", *, slug: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        if slug:
            self.slug = slug

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class UsageError(AuditError):
    """The command line or a configuration file is wrong."""

    slug = "usage"
    exit_code = EXIT_USAGE


class ConfigError(AuditError):
    """A configuration file or rule pack is invalid; lists every problem found."""

    slug = "config"
    exit_code = EXIT_USAGE

    def __init__(self, problems: list[str], hint: str = ""):
        self.problems = list(problems)
        text = problems[0] if len(problems) == 1 else (
            f"{len(problems)} problems:\n" + "\n".join(f"  - {p}" for p in problems)
        )
        super().__init__(text, hint)


class InputError(AuditError):
    """Nothing usable to audit."""

    slug = "input"
    exit_code = EXIT_INPUT


class CorpusIndexError(AuditError):
    """A corpus index cannot be used as it is."""

    slug = "index"
    exit_code = EXIT_INDEX
