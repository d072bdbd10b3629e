"""``topology diff`` and ``topology suggest``: compare topologies, learn from incidents.

``diff`` names the correlation domains a change touches, computed the way
the stream router computes them (:func:`correlator.stream.domains.build_domain_map`,
imported lazily; plain weakly connected components if the correlator
package is not installed). ``suggest`` mines an incident history for missing
and stale dependencies (:mod:`topology.suggest`).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from typing import IO, Any

from topology.cli_errors import CommandError
from topology.diff import component_domains, diff_topologies, format_diff
from topology.graph import Topology
from topology.loader import load_topology
from topology.suggest import (
    DEFAULT_LEAD_S,
    DEFAULT_LIMIT,
    DEFAULT_MIN_ONSETS,
    DEFAULT_MIN_SUPPORT,
    DEFAULT_WINDOW_S,
    History,
    StaleEdge,
    Suggestion,
    history_from_incidents,
    latest_incidents,
    suggest,
)

DEFAULT_MAX_DOMAIN_SIZE = 200
"""The worker's default ``max_domain_size``."""


def register_diff(commands: Any) -> None:
    """Add ``diff`` to the ``topology`` parser."""
    diff = commands.add_parser(
        "diff",
        help="compare two topologies: services, edges, attributes, affected domains",
        description="Show what changed from OLD to NEW and which correlation domains "
        "(the stream router's shards) the change touches.",
    )
    diff.add_argument("old", metavar="OLD")
    diff.add_argument("new", metavar="NEW")
    diff.add_argument("--json", action="store_true", help="one JSON document on stdout")
    diff.add_argument(
        "--max-domain-size",
        type=_positive_int,
        default=DEFAULT_MAX_DOMAIN_SIZE,
        help=f"the workers' max_domain_size (default {DEFAULT_MAX_DOMAIN_SIZE})",
    )
    diff.add_argument("--exit-code", action="store_true", help="exit 3 when the topologies differ")
    diff.set_defaults(handler=_diff)


def register_suggest(commands: Any) -> None:
    """Add ``suggest`` to the ``topology`` parser."""
    cmd = commands.add_parser(
        "suggest",
        help="find likely missing (and stale) dependencies in past incidents",
        description="Mine incident events (JSON Lines, latest version per id, merged ones "
        "skipped) for services that alert together far more often than chance but have no "
        "dependency path in the topology. One suggestion per line, best first.",
    )
    cmd.add_argument("--incidents", required=True, metavar="FILE", help="JSON Lines, or -")
    cmd.add_argument("--topology", metavar="FILE", help="without it every pair is unconnected")
    cmd.add_argument("--json", action="store_true", help="JSON Lines output")
    cmd.add_argument(
        "--min-support",
        type=_positive_int,
        default=DEFAULT_MIN_SUPPORT,
        metavar="N",
        help=f"fewest co-alerts for a suggestion (default {DEFAULT_MIN_SUPPORT})",
    )
    cmd.add_argument(
        "--limit", type=_positive_int, default=DEFAULT_LIMIT, help=f"default {DEFAULT_LIMIT}"
    )
    cmd.add_argument(
        "--window",
        type=_positive_float,
        default=DEFAULT_WINDOW_S,
        metavar="SECONDS",
        help=f"largest dependency-to-dependent alert lag (default {DEFAULT_WINDOW_S:g})",
    )
    cmd.add_argument(
        "--lead",
        type=_non_negative_float,
        default=DEFAULT_LEAD_S,
        metavar="SECONDS",
        help=f"how much later a dependency may alert and still count (default {DEFAULT_LEAD_S:g})",
    )
    cmd.add_argument(
        "--min-onsets",
        type=_positive_int,
        default=DEFAULT_MIN_ONSETS,
        metavar="N",
        help=f"stale-edge check: alert episodes each end needs (default {DEFAULT_MIN_ONSETS})",
    )
    cmd.set_defaults(handler=_suggest)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    value = _non_negative_float(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return value


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number, zero or more; got {text}")
    return value


def router_domains(max_size: int) -> Callable[[Topology], Mapping[str, str]]:
    """The stream router's domain function, or plain components without the correlator."""
    try:
        from correlator.stream.domains import build_domain_map
    except ImportError:
        return component_domains

    def domains(topology: Topology) -> Mapping[str, str]:
        return build_domain_map(topology, max_size).domain_of_service

    return domains


def _diff(args: argparse.Namespace) -> int:
    old, new = load_topology(args.old), load_topology(args.new)
    result = diff_topologies(old, new, router_domains(args.max_domain_size))
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        for line in format_diff(result, old, new):
            print(line)
    return 3 if args.exit_code and not result.empty else 0


def _suggest(args: argparse.Namespace) -> int:
    topology = load_topology(args.topology) if args.topology else None
    with ExitStack() as stack:
        incidents = latest_incidents(_lines(args.incidents, stack), args.incidents)
    history = history_from_incidents(incidents, topology, args.window)
    if not history.onsets:
        raise CommandError(f"{args.incidents}: no incidents with alerts to learn from")
    report = suggest(
        history,
        topology,
        window_s=args.window,
        lead_s=args.lead,
        min_support=args.min_support,
        limit=args.limit,
        min_onsets=args.min_onsets,
    )
    items: list[Suggestion | StaleEdge] = [*report.suggestions, *report.stale]
    for item in items:
        print(json.dumps(item.to_dict()) if args.json else item.describe())
    _summary(history, report.suggestions, report.stale, topology)
    return 0


def _summary(
    history: History,
    suggestions: Sequence[Suggestion],
    stale: Sequence[StaleEdge],
    topology: Topology | None,
) -> None:
    hours = history.span_s / 3600
    print(
        f"topology suggest: {history.incidents} incidents ({history.skipped_merged} merged "
        f"skipped), {len(history.onsets)} alerting services over {hours:.1f} h: "
        f"{len(suggestions)} suggestions, {len(stale)} possibly stale dependencies",
        file=sys.stderr,
    )
    if history.unknown_services:
        print(
            f"topology suggest: {len(history.unknown_services)} alerting services are not in "
            "the topology and were left out",
            file=sys.stderr,
        )
    if (
        topology is not None
        and history.topology_versions
        and (topology.version not in history.topology_versions)
    ):
        print(
            f"topology suggest: note: the incidents were correlated with "
            f"{', '.join(history.topology_versions)}, not {topology.version}",
            file=sys.stderr,
        )


def _lines(path: str, stack: ExitStack) -> Iterator[bytes]:
    if path == "-":
        return iter(sys.stdin.buffer)
    try:
        handle: IO[bytes] = stack.enter_context(open(path, "rb"))  # noqa: SIM115
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror or exc}") from None
    return iter(handle)
