"""``correlator explain INCIDENT_ID``: draw one incident's neighbourhood.

Reads incident events from a JSON Lines file (``correlator replay`` output)
or from stdin (``-``), which also accepts the CloudEvents that ``correlator
tail --json --from-beginning`` prints, so the incidents topic can be
explained with::

    correlator tail --json --from-beginning --idle-exit 2 | correlator explain ID --incidents -

(Reading the topic directly, ``--from-kafka``, is not built: Kafka clients
live in :mod:`correlator.stream`, and the pipe above does the same.)
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

from correlator.errors import CorrelatorError
from correlator.explain import ExplainError, explain, find_incident, image_parts, render_text
from topology import Topology, TopologyError, load_topology
from topology.render import render_image

DEFAULT_INCIDENTS = "incidents.jsonl"
DEFAULT_TOPOLOGY = Path("configs/topology.yaml")


def register(subparsers: Any) -> None:
    """Add ``explain`` to the main ``correlator`` parser."""
    p = subparsers.add_parser(
        "explain",
        help="show an incident's root cause, symptom paths and neighbourhood",
        description="Draw an incident's topology neighbourhood in the terminal: alerting "
        "services and the root cause marked, the dependency paths from the symptoms to the "
        "root cause as a tree. Colours only when stdout is a terminal.",
    )
    p.add_argument("incident_id", metavar="INCIDENT_ID", help="incident id (a unique prefix works)")
    p.add_argument(
        "--incidents",
        default=DEFAULT_INCIDENTS,
        help=f"incident events JSON Lines, or - for stdin (default: {DEFAULT_INCIDENTS})",
    )
    p.add_argument(
        "--topology",
        help=f"topology file (default: {DEFAULT_TOPOLOGY} if present; without one only the "
        "incident's own paths are shown)",
    )
    p.add_argument(
        "--image", metavar="OUT", help="also draw the neighbourhood to OUT.svg or OUT.png"
    )
    p.add_argument("--color", choices=["auto", "always", "never"], default="auto")
    p.set_defaults(func=cmd_explain)


def cmd_explain(args: argparse.Namespace) -> int:
    """Run the command; user errors raise CorrelatorError (one line on stderr, exit 2)."""
    image_format = _image_format(args.image) if args.image else None
    topology = _topology(args.topology)
    with ExitStack() as stack:
        lines = _lines(args.incidents, stack)
        try:
            incident = find_incident(lines, args.incident_id, args.incidents)
        except UnicodeDecodeError as exc:
            raise ExplainError(f"{args.incidents}: not UTF-8 text: {exc.reason}") from None
    explanation = explain(incident, topology)
    colour = args.color == "always" or (args.color == "auto" and sys.stdout.isatty())
    for line in render_text(explanation, colour=colour):
        print(line)
    if args.image and image_format is not None:
        graph, styles, highlight = image_parts(explanation)
        try:
            render_image(
                graph,
                args.image,
                image_format,
                styles=styles,
                highlight=highlight,
                title=f"incident {incident.get('id')}",
            )
        except OSError as exc:
            raise CorrelatorError(f"cannot write {args.image}: {exc.strerror or exc}") from None
        print(f"image written to {args.image}", file=sys.stderr)
    return 0


def _image_format(path: str) -> str:
    suffix = os.path.splitext(path)[1].lower().lstrip(".")
    if suffix not in ("svg", "png"):
        raise CorrelatorError(f"--image {path}: the file name must end in .svg or .png")
    return suffix


def _topology(path: str | None) -> Topology | None:
    if path is None and not DEFAULT_TOPOLOGY.is_file():
        return None
    chosen = path or str(DEFAULT_TOPOLOGY)
    try:
        return load_topology(chosen)
    except TopologyError as exc:
        more = f" (and {len(exc.problems) - 1} more problems)" if len(exc.problems) > 1 else ""
        raise CorrelatorError(f"{exc.problems[0]}{more}") from None


def _lines(path: str, stack: ExitStack) -> Iterator[bytes]:
    if path == "-":
        return iter(sys.stdin.buffer)
    try:
        handle: IO[bytes] = stack.enter_context(open(path, "rb"))  # noqa: SIM115
    except OSError as exc:
        raise CorrelatorError(f"cannot read {path}: {exc.strerror or exc}") from None
    return iter(handle)
