"""The ``correlator`` command line: a thin shell over the same core.

Every sub-command returns an exit code; user errors print one line on
stderr and never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

import orjson

from correlator.config import EngineConfig, load_engine_config
from correlator.errors import CorrelatorError
from correlator.incident import IncidentEvent
from correlator.replay import replay_lines
from topology import TopologyError, load_topology

DEFAULT_ENGINE_CONFIG = Path("configs/engine.yaml")


def _fail(message: str) -> int:
    print(f"correlator: error: {message}", file=sys.stderr)
    return 2


def load_config_arg(path: str | None) -> EngineConfig:
    """An explicit --config must exist; otherwise use configs/engine.yaml if present."""
    if path is not None:
        return load_engine_config(path)
    if DEFAULT_ENGINE_CONFIG.is_file():
        return load_engine_config(DEFAULT_ENGINE_CONFIG)
    return EngineConfig()


def _open_in(path: str, stack: ExitStack) -> Iterator[bytes]:
    if path == "-":
        return iter(sys.stdin.buffer)
    try:
        handle: IO[bytes] = stack.enter_context(open(path, "rb"))  # noqa: SIM115
    except OSError as exc:
        raise CorrelatorError(f"cannot read input {path}: {exc.strerror}") from None
    return iter(handle)


def _open_out(path: str, stack: ExitStack) -> IO[bytes]:
    if path == "-":
        return sys.stdout.buffer
    try:
        return stack.enter_context(open(path, "wb"))  # noqa: SIM115
    except OSError as exc:
        raise CorrelatorError(f"cannot write {path}: {exc.strerror}") from None


def _progress(enabled: bool) -> Callable[[int], None] | None:
    if not enabled:
        return None

    def show(line_no: int) -> None:
        if line_no % 500 == 0:
            print(f"\rreplaying: {line_no} lines", end="", file=sys.stderr, flush=True)

    return show


def cmd_replay(args: argparse.Namespace) -> int:
    config = load_config_arg(args.config)
    topo = load_topology(args.topology)
    with ExitStack() as stack:
        lines = _open_in(args.input, stack)
        out = _open_out(args.output, stack)
        rejects = _open_out(args.rejects, stack) if args.rejects else None

        def on_event(event: IncidentEvent) -> None:
            out.write(orjson.dumps(event.to_dict()) + b"\n")

        def on_reject(record: dict[str, Any]) -> None:
            if rejects is not None:
                rejects.write(orjson.dumps(record) + b"\n")

        tty = sys.stderr.isatty() and not args.quiet
        result = replay_lines(
            lines, topo, config, on_event=on_event, on_reject=on_reject, on_progress=_progress(tty)
        )
        out.flush()
    if tty:
        print("\r", end="", file=sys.stderr)
    if not args.quiet:
        print(result.stats.summary(), file=sys.stderr)
    return 0


def _add_replay(sub: Any) -> None:
    p = sub.add_parser(
        "replay",
        help="replay a JSON Lines file of alerts against a topology",
        description="Replay alerts (any supported format, one record per line) and write "
        "incident events as JSON Lines. Invalid lines go to --rejects and never abort the run.",
    )
    p.add_argument("--topology", required=True, help="topology file (YAML or node-link JSON)")
    p.add_argument("--input", required=True, help="alerts JSON Lines file, or - for stdin")
    p.add_argument("--output", default="-", help="incident events JSON Lines, or - for stdout")
    p.add_argument("--config", help="engine config YAML (default: configs/engine.yaml if present)")
    p.add_argument("--rejects", help="write rejected lines here (JSON Lines with reasons)")
    p.add_argument("-q", "--quiet", action="store_true", help="no summary on stderr")
    p.set_defaults(func=cmd_replay)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="correlator",
        description="Streaming alert correlation: alert storms in, a few incidents with "
        "ranked root causes out.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    _add_replay(sub)
    for register in _plugin_registrars():
        register(sub)
    return parser


def _plugin_registrars() -> list[Callable[[Any], None]]:
    """Sub-commands that live next to the code they drive."""
    from correlator.evaluate.cli import register as evaluate
    from correlator.simulate.cli import register as simulate
    from correlator.stream.cli import register as stream

    return [simulate, evaluate, stream]


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except (CorrelatorError, TopologyError) as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
