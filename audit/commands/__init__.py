"""Subcommands: one module each, with add_parser(subparsers) and run(args)."""

import argparse


def common_options(parser: argparse.ArgumentParser) -> None:
    """Options every subcommand accepts."""
    parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show tracebacks for errors")
    parser.add_argument("--no-color", action="store_true", help="plain output without colour")
