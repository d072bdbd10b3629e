"""``topology import``, ``export`` and ``publish``: topologies in and out.

Output contract: ``import`` writes project YAML to stdout or ``--output``;
``export`` writes text formats to stdout unless ``--output`` is given, and
images only to ``--output``; warnings and summaries go to stderr. Files are
replaced atomically. ``publish`` imports the Kafka code only when it runs,
so the topology package has no Kafka dependency at import time.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from topology.cli_errors import CommandError
from topology.cli_show import depth_argument
from topology.document import open_document
from topology.errors import TopologyError
from topology.export import IMAGE_FORMATS, TEXT_FORMATS, export_text, neighbourhood
from topology.files import read_text, write_atomic
from topology.graph import Topology
from topology.importers import SOURCES, ImportOptions, import_files
from topology.loader import load_topology, loads_topology
from topology.merge import merge_into
from topology.yaml_out import render_yaml


def register(commands: Any) -> None:
    """Add ``import``, ``export`` and ``publish`` to the ``topology`` parser."""
    imp = commands.add_parser(
        "import",
        help="build a topology from Backstage, docker-compose, OTel metrics or node-link",
        description="Read SOURCE files of another tool and write project YAML to stdout "
        "(or --output). With --merge, add what is new to an existing topology instead, "
        "keeping its hand-written attributes and comments.",
    )
    imp.add_argument("--from", dest="source", choices=SOURCES, required=True)
    imp.add_argument("paths", metavar="SOURCE", nargs="+", help="input file(s)")
    imp.add_argument("--output", metavar="FILE", help="write here instead of stdout")
    imp.add_argument("--merge", metavar="EXISTING", help="merge into this topology file")
    imp.add_argument(
        "--infer-env-links",
        action="store_true",
        help="compose: also read dependencies from environment values naming another "
        "service's host (DB_HOST=orders-db, http://cart:8080)",
    )
    imp.add_argument(
        "--min-count",
        type=_non_negative,
        default=None,
        metavar="N",
        help="otel: keep edges with at least N requests (the counter value; default 1)",
    )
    imp.add_argument(
        "--min-rate",
        type=_non_negative,
        default=None,
        metavar="R",
        help="otel: keep edges with at least R requests/s; needs two timestamped scrapes",
    )
    imp.set_defaults(handler=_import)

    exp = commands.add_parser(
        "export",
        help="write a topology as Mermaid, DOT, node-link JSON, SVG or PNG",
        description="Export FILE. Text formats go to stdout unless --output is given; "
        "images need --output.",
    )
    exp.add_argument("file", metavar="FILE")
    exp.add_argument("--to", dest="fmt", choices=(*TEXT_FORMATS, *IMAGE_FORMATS), required=True)
    exp.add_argument("--service", metavar="S", help="only S and its neighbourhood")
    exp.add_argument(
        "--depth", type=depth_argument, default=None, help="hops around --service (default 2)"
    )
    exp.add_argument("--output", metavar="FILE")
    exp.set_defaults(handler=_export)

    pub = commands.add_parser(
        "publish",
        help="validate and publish a topology to the compacted Kafka topic",
        description="Validate FILE, then send it as node-link JSON to the topology topic "
        "(created compacted if missing); running workers switch to it.",
    )
    pub.add_argument("file", metavar="FILE")
    pub.add_argument("--bootstrap", default="127.0.0.1:9092", help="default 127.0.0.1:9092")
    pub.add_argument("--topic", default="topology", help="default: topology")
    pub.add_argument("--timeout", type=float, default=30.0, help="seconds (default 30)")
    pub.set_defaults(handler=_publish)


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be zero or more, got {text}")
    return value


def _warn(command: str, message: str) -> None:
    print(f"topology {command}: warning: {message}", file=sys.stderr)


def _import(args: argparse.Namespace) -> int:
    _check_import_flags(args)
    options = ImportOptions(
        infer_env_links=args.infer_env_links,
        min_count=1.0 if args.min_count is None else args.min_count,
        min_rate=args.min_rate,
    )
    imported = import_files(args.source, args.paths, options)
    for warning in imported.warnings:
        _warn("import", warning)
    if args.merge:
        text = _merged(args.merge, imported.topology)
    else:
        topology = imported.topology
        header = [
            f"Imported with `topology import --from {args.source}` from {', '.join(args.paths)}.",
            f"{len(topology)} services, {topology.dependency_count} dependencies, "
            f"version {topology.version}.",
        ]
        text = render_yaml(topology, header)
    _emit(text, args.output)
    return 0


def _check_import_flags(args: argparse.Namespace) -> None:
    if args.infer_env_links and args.source != "compose":
        raise CommandError("--infer-env-links only applies to --from compose")
    for flag, value in (("--min-count", args.min_count), ("--min-rate", args.min_rate)):
        if value is not None and args.source != "otel":
            raise CommandError(f"{flag} only applies to --from otel")


def _merged(existing: str, imported: Topology) -> str:
    document = open_document(read_text(existing), existing)
    report = merge_into(document, imported)
    text = document.dump()
    try:
        loads_topology(text, source=existing)
    except TopologyError as exc:
        raise TopologyError(
            [f"the merged topology would be invalid: {p}" for p in exc.problems], source=existing
        ) from None
    for note in [*report.kept, *report.notes]:
        _warn("import", note)
    print(f"topology import: {report.summary()}", file=sys.stderr)
    return text


def _emit(text: str, output: str | None) -> None:
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        write_atomic(output, text)


def _export(args: argparse.Namespace) -> int:
    topology = load_topology(args.file)
    if args.depth is not None and args.service is None:
        raise CommandError("--depth needs --service")
    if args.service is not None:
        try:
            topology = neighbourhood(topology, args.service, args.depth or 2)
        except KeyError:
            raise CommandError(f"unknown service {args.service!r} in {args.file}") from None
    if args.fmt in IMAGE_FORMATS:
        if args.output is None:
            raise CommandError(f"--to {args.fmt} writes an image: --output FILE is required")
        from topology.render import render_image

        try:
            render_image(topology, args.output, args.fmt, title=topology.name)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        print(f"topology export: wrote {args.output}", file=sys.stderr)
        return 0
    _emit(export_text(topology, args.fmt), args.output)
    return 0


def _publish(args: argparse.Namespace) -> int:
    topology = load_topology(args.file)
    try:
        from correlator.stream.topology_publish import (
            PublishError,
            publish_topology,
        )
    except ImportError as exc:
        raise CommandError(
            f"publishing needs the correlator package and kafka-python: {exc}"
        ) from None
    try:
        done = publish_topology(
            topology, bootstrap=args.bootstrap, topic=args.topic, timeout_s=args.timeout
        )
    except PublishError as exc:
        raise CommandError(str(exc)) from None
    if done.warning:
        _warn("publish", done.warning)
    created = " (topic created, compacted)" if done.created_topic else ""
    print(
        f"published {topology.version} as key {done.key!r} to {done.topic}"
        f"[{done.partition}]@{done.offset}, {done.size} bytes{created}"
    )
    return 0
