"""``topology`` command: check, explore, edit, convert and publish topology files.

Commands live next to what they drive (:mod:`topology.cli_show`,
:mod:`topology.cli_edit`, :mod:`topology.cli_exchange`,
:mod:`topology.cli_analyse`); this module only builds the parser and turns
errors into the contract every command keeps: a non-zero exit status with
a one-line reason on stderr, never a traceback. Usage errors exit 2, every
other failure 1. Output meant for pipes (import, export, diff --json,
suggest --json) goes to stdout; messages go to stderr.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from topology import cli_analyse, cli_edit, cli_exchange, cli_show
from topology.cli_errors import CommandError
from topology.errors import TopologyError
from topology.suggest import HistoryError

MAX_PROBLEMS_SHOWN = 3
"""Problems quoted in the one-line reason; the rest are counted."""


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the process exit status."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # usage errors and --help: keep main() returning an int
        return exc.code if isinstance(exc.code, int) else 2
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except TopologyError as exc:
        return _fail(args.command, one_line(exc.problems))
    except (CommandError, HistoryError) as exc:
        return _fail(args.command, str(exc))
    except OSError as exc:
        if isinstance(exc, BrokenPipeError):
            return 0
        where = f"{exc.filename}: " if exc.filename else ""
        return _fail(args.command, f"{where}{exc.strerror or exc}")
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def one_line(problems: Sequence[str]) -> str:
    """Several problems as one line: the first few, then how many more."""
    shown = "; ".join(problems[:MAX_PROBLEMS_SHOWN])
    rest = len(problems) - MAX_PROBLEMS_SHOWN
    return f"{shown} (and {rest} more)" if rest > 0 else shown


def _fail(command: str, reason: str) -> int:
    print(f"topology {command}: error: {' '.join(reason.split())}", file=sys.stderr)
    return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="topology",
        description="Check, explore, edit, convert and publish a Correlator service topology.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in (
        cli_show.register,
        cli_edit.register,
        cli_analyse.register_diff,
        cli_exchange.register,
        cli_analyse.register_suggest,
    ):
        register(commands)
    return parser


if __name__ == "__main__":
    raise SystemExit(main())
