"""Parse arguments and dispatch to a subcommand; nothing else."""

from __future__ import annotations

import argparse
import atexit
import gc
import importlib
import os
import sys
import threading

from audit import __version__
from audit.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_USAGE, AuditError

# Each module in audit/commands defines add_parser(subparsers) and run(args) -> int.
COMMANDS = ("scan", "rules", "corpus", "compare", "history", "review")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The full parser; with ``only``, the other commands are bare entries (not imported)."""
    parser = argparse.ArgumentParser(
        prog="audit",
        description="Code-quality and provenance auditor for compilers written by coding agents.",
        epilog="Run `audit COMMAND --help` for a command's options. With no command, "
               "`audit` scans the bundled reference compiler.",
    )
    parser.add_argument("--version", action="version", version=f"audit {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    parser.set_defaults(debug=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        if only is not None and name != only:
            sub.add_parser(name)  # keeps the name known without importing the command
            continue
        try:
            module = importlib.import_module(f"audit.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"audit.commands.{name}":
                continue
            raise
        module.add_parser(sub)
    return parser


def _command(argv: list[str]) -> str | None:
    """The command an argument list names: its first word, if that is a command."""
    words = [a for a in argv if not a.startswith("-")]
    return words[0] if words and words[0] in COMMANDS else None


def _default_to_scan(argv: list[str]) -> list[str]:
    """`audit [PATH...]` means `audit scan [PATH...]`."""
    if any(a in ("-h", "--help", "--version") for a in argv[:1]) or _command(argv):
        return argv
    return ["scan", *argv]


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    argv = _default_to_scan(argv)
    gc.disable()  # building the parser imports the command's modules: nothing to collect yet
    try:
        parser = build_parser(_command(argv))
    finally:
        gc.enable()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return args.run(args)
    except AuditError as exc:
        if args.debug:
            raise
        print(f"audit: error [{exc.slug}]: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"  hint: {exc.hint}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("audit: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug: say so briefly unless --debug
        if args.debug:
            raise
        print(f"audit: internal error: {type(exc).__name__}: {exc}\n"
              "  hint: run again with --debug and report the traceback", file=sys.stderr)
        return EXIT_INTERNAL


def entry() -> None:
    """The program's entry point (``audit`` and ``python -m audit``): main(), then the end
    of the process without the interpreter's teardown, which frees every module and
    record one by one and collects the heap a last time (about 0.1 s after a scan, as
    long as a small scan's measuring); the exit handlers still run and the standard
    streams are flushed. With other threads alive, the ordinary exit waits for them."""
    code = main()
    if threading.active_count() > 1:
        sys.exit(code)
    try:
        sys.stdout.flush()
    except OSError:  # e.g. a closed pipe: the status the interpreter would give
        code = 120
    try:
        sys.stderr.flush()
    except OSError:
        pass
    atexit._run_exitfuncs()  # noqa: SLF001 - what Python runs at exit, as multiprocessing's children do
    os._exit(code)
