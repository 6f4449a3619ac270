"""The scan configuration: one frozen object, validated as a whole."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field

from audit.errors import ConfigError
from audit.limits import Limits

# Folders that hold build output, tool state or other people's code.
DEFAULT_SKIP_DIRS = (
    ".git", ".hg", ".svn", "target", "node_modules", "__pycache__", ".venv", "venv",
    ".tox", ".nox", ".mypy_cache", ".pytest_cache", ".ruff_cache", "vendor",
    "third_party", "site-packages", ".eggs",
)
DEFAULT_MAX_FILE_SIZE = 4 * 1024 * 1024  # bytes; generated tables beyond this are skipped


@dataclass(frozen=True)
class ScanConfig:
    """Everything that changes what a scan reads or reports; echoed into results."""

    paths: tuple[str, ...] = ()
    languages: tuple[str, ...] = ("rust", "python")
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    skip_dirs: tuple[str, ...] = DEFAULT_SKIP_DIRS
    use_gitignore: bool = True
    follow_external_symlinks: bool = False  # links out of the roots are skipped unless set
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    jobs: int = 0  # 0: one worker per available core
    hotspots: int = 10
    limits: Limits = field(default_factory=Limits)  # per file: time, bracket depth, memory
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self):
        problems = self.problems()
        if problems:
            raise ConfigError(problems, "see `audit scan --help`")

    def problems(self) -> list[str]:
        """Every problem with this configuration, so the user fixes them in one go."""
        from audit.lang import LANGUAGES

        out = []
        for lang in self.languages:
            if lang not in LANGUAGES:
                out.append(f"unknown language {lang!r}; known: {', '.join(sorted(LANGUAGES))}")
        if self.max_file_size <= 0:
            out.append(f"max file size must be positive, got {self.max_file_size}")
        if self.jobs < 0:
            out.append(f"jobs must be 0 (all cores) or more, got {self.jobs}")
        if self.hotspots < 0:
            out.append(f"hotspots must be 0 or more, got {self.hotspots}")
        out.extend(self.limits.problems())
        return out

    @property
    def workers(self) -> int:
        return self.jobs or max(1, len(os.sched_getaffinity(0)))

    def echo(self) -> dict:
        """The configuration as plain data, for the report."""
        data = asdict(self)
        data.pop("extra")
        data.update(self.extra)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}
