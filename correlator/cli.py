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

from correlator.changes import Change
from correlator.config import EngineConfig, load_engine_config
from correlator.enrich import Enricher, load_enrichment_config
from correlator.errors import CorrelatorError
from correlator.gate_cli import register as register_gate
from correlator.replay import decode_change_lines, decode_options, replay_lines
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
        return stack.enter_context(open(path, "wb"))
    except OSError as exc:
        raise CorrelatorError(f"cannot write {path}: {exc.strerror}") from None


def _progress(enabled: bool) -> Callable[[int], None] | None:
    if not enabled:
        return None

    def show(line_no: int) -> None:
        if line_no % 500 == 0:
            print(f"\rreplaying: {line_no} lines", end="", file=sys.stderr, flush=True)

    return show


def _enrichment_config_path(path: str | None) -> str | None:
    if path is not None:
        return path
    return str(DEFAULT_ENGINE_CONFIG) if DEFAULT_ENGINE_CONFIG.is_file() else None


def _read_changes(path: str, config: EngineConfig) -> tuple[list[Change], list[dict[str, Any]]]:
    try:
        lines = Path(path).read_bytes().splitlines()
    except OSError as exc:
        raise CorrelatorError(f"cannot read changes {path}: {exc.strerror}") from None
    return decode_change_lines(lines, decode_options(config))


def _read_slo_state(path: str) -> dict[str, float]:
    """``{"service": remaining budget fraction, ...}``: budget already spent before the input."""
    try:
        doc = orjson.loads(Path(path).read_bytes())
    except OSError as exc:
        raise CorrelatorError(f"cannot read SLO state {path}: {exc.strerror}") from None
    except orjson.JSONDecodeError as exc:
        raise CorrelatorError(f"{path}: SLO state is not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise CorrelatorError(f"{path}: SLO state must be an object of service -> remaining")
    seeds: dict[str, float] = {}
    for service, value in doc.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not value <= 1:
            raise CorrelatorError(
                f"{path}: {service}: remaining budget must be a number at most 1, got {value!r}"
            )
        seeds[service] = float(value)
    return seeds


def cmd_replay(args: argparse.Namespace) -> int:
    config = load_config_arg(args.config)
    changes_config, gate_config = load_enrichment_config(_enrichment_config_path(args.config))
    topo = load_topology(args.topology)
    changes, change_rejects = _read_changes(args.changes, config) if args.changes else ([], [])
    enricher = Enricher(topo, changes_config, gate_config)
    for service, remaining in sorted(
        _read_slo_state(args.slo_state).items() if args.slo_state else ()
    ):
        enricher.seed_budget(service, remaining)
    with ExitStack() as stack:
        lines = _open_in(args.input, stack)
        out = _open_out(args.output, stack)
        rejects = _open_out(args.rejects, stack) if args.rejects else None
        gate_out = _open_out(args.gate_events, stack) if args.gate_events else None

        def on_record(record: dict[str, Any]) -> None:
            out.write(orjson.dumps(record) + b"\n")

        def on_reject(record: dict[str, Any]) -> None:
            if rejects is not None:
                rejects.write(orjson.dumps(record) + b"\n")

        def on_gate_event(record: dict[str, Any]) -> None:
            if gate_out is not None:
                gate_out.write(orjson.dumps(record) + b"\n")

        for record in change_rejects:
            on_reject(record)
        tty = sys.stderr.isatty() and not args.quiet
        result = replay_lines(
            lines,
            topo,
            config,
            on_record=on_record,
            on_reject=on_reject,
            on_progress=_progress(tty),
            changes=changes,
            enricher=enricher,
            on_gate_event=on_gate_event,
            partitions=args.partitions,
            max_domain_size=args.max_domain_size,
            domain_seed=args.domain_seed,
            link=not args.no_link,
        )
        result.stats.rejects += len(change_rejects)
        out.flush()
    if args.gate_state:
        _write_json(args.gate_state, enricher.gate_state())
    if tty:
        print("\r", end="", file=sys.stderr)
    if not args.quiet:
        print(result.stats.summary(), file=sys.stderr)
    return 0


def _write_json(path: str, doc: dict[str, Any]) -> None:
    try:
        Path(path).write_bytes(
            orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
        )
    except OSError as exc:
        raise CorrelatorError(f"cannot write {path}: {exc.strerror}") from None


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
    p.add_argument(
        "--changes",
        metavar="FILE",
        help="change events (JSON Lines: canonical records, CDEvents, PagerDuty "
        "change events), merged in by event time to rank suspect changes",
    )
    p.add_argument(
        "--slo-state",
        metavar="FILE",
        help='JSON {"service": remaining budget fraction}: budget already spent before the input',
    )
    p.add_argument(
        "--gate-events", metavar="FILE", help="write deploy gate changes here (JSON Lines)"
    )
    p.add_argument(
        "--gate-state",
        metavar="FILE",
        help="write the final deploy gate state (JSON, read by `correlator gate`)",
    )
    p.add_argument(
        "--partitions",
        type=int,
        default=1,
        metavar="N",
        help="reproduce a worker with N repartition partitions: alerts routed by "
        "correlation domain to one engine each, then the cross-domain linker "
        "(default 1: one engine, no linker)",
    )
    p.add_argument(
        "--max-domain-size",
        type=int,
        default=200,
        metavar="M",
        help="largest correlation domain before a component is split (the worker's "
        "stream.max_domain_size; default 200)",
    )
    p.add_argument(
        "--domain-seed",
        type=int,
        default=42,
        metavar="S",
        help="seed of the domain split (the worker's stream.domain_seed; default 42)",
    )
    p.add_argument(
        "--no-link",
        action="store_true",
        help="with --partitions > 1, leave out the cross-domain linker (to measure it)",
    )
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
    from correlator.explain_cli import register as explain
    from correlator.simulate.cli import register as simulate
    from correlator.stream.cli import register as stream

    return [simulate, evaluate, explain, stream, register_gate]


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
