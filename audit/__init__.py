"""audit: code-quality and provenance auditor for compilers written by coding agents."""

__version__ = "0.1.0"
