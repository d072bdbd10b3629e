"""Sub-commands of ``correlator`` that talk to Kafka: kafka, worker, produce, tail, demo.

Registered by :func:`register` from the main CLI, which builds its parser for every
command. So this module imports nothing heavy at import time (the Kafka clients and
pydantic-settings add a quarter of a second to every ``correlator`` call); each handler
imports what it drives, hence the local imports.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

__all__ = ["register"]


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def _add_config(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--config",
        help="worker settings YAML (default: configs/worker.yaml if present); "
        "CORRELATOR_* environment variables override it",
    )


def cmd_kafka(args: argparse.Namespace) -> int:
    from correlator.stream import local_kafka

    return local_kafka.main([args.action, *args.rest])


def cmd_worker(args: argparse.Namespace) -> int:
    from correlator.stream.admin import ensure_topics
    from correlator.stream.settings import load_settings
    from topology import load_topology

    overrides: dict[str, Any] = {}
    if args.log_level:
        overrides["log_level"] = args.log_level
    settings = load_settings(args.config, **overrides)
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for noisy in ("kafka", "aiokafka"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    path = args.topology or (str(settings.topology_file) if settings.topology_file else None)
    topo = load_topology(path) if path else None
    log = logging.getLogger("correlator.stream")
    log.info("kafka: %s", settings.kafka.describe())
    if settings.topics.create:
        ensure_topics(settings)
    from correlator.stream.worker import CorrelatorWorker

    worker = CorrelatorWorker(settings, topology=topo)
    return worker.run()


def cmd_produce(args: argparse.Namespace) -> int:
    from correlator.stream.produce import produce_file
    from correlator.stream.settings import load_settings

    settings = load_settings(args.config)
    topic = args.topic or settings.topics.alerts
    sent = produce_file(
        settings.kafka,
        args.file,
        topic,
        rate=args.rate,
        whole=args.whole,
        progress=sys.stderr.isatty() and not args.quiet,
    )
    if not args.quiet:
        print(f"produced {sent} record(s) to {topic}", file=sys.stderr)
    return 0


def cmd_tail(args: argparse.Namespace) -> int:
    from correlator.stream.settings import load_settings
    from correlator.stream.tail import tail_incidents

    settings = load_settings(args.config)
    return tail_incidents(
        settings.kafka,
        args.topic or settings.topics.incidents,
        as_json=args.json,
        from_beginning=args.from_beginning,
        max_events=args.max_events,
        idle_exit_s=args.idle_exit,
    )


def cmd_subscribe(args: argparse.Namespace) -> int:
    from correlator.stream.settings import load_settings
    from correlator.stream.subscriber import subscribe_main

    settings = load_settings(args.config)
    return subscribe_main(
        settings.kafka, args.topic or settings.topics.incidents, keep_merged=args.keep_merged
    )


def cmd_demo(args: argparse.Namespace) -> int:
    from correlator.stream.demo import run_demo

    return run_demo(
        bootstrap=args.bootstrap,
        rate=args.rate,
        web_port=args.web_port,
        alerts_file=args.alerts,
        topology_file=args.topology,
    )


def register(subparsers: Any) -> None:
    """Add the Kafka-facing sub-commands to the main ``correlator`` parser."""
    p = subparsers.add_parser(
        "kafka",
        help="run a local single-node Kafka broker (tests, demo)",
        description="Start, stop or check a real Kafka 4.x broker on 127.0.0.1 "
        "(jars from Maven Central, cached). Extra options are passed through; "
        "see `correlator kafka up --help`.",
    )
    p.add_argument("action", choices=["up", "down", "status"])
    p.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_kafka)

    p = subparsers.add_parser(
        "worker",
        help="run a streaming worker (Kafka in, incidents out)",
        description="Consume raw alerts from Kafka, correlate them and publish incident "
        "CloudEvents. Serves /livez, /readyz, /metrics, /incidents and alert ingest "
        "endpoints. Stops cleanly on SIGTERM/SIGINT.",
    )
    _add_config(p)
    p.add_argument(
        "--topology",
        help="topology file (YAML or node-link JSON); default: topology_file from the "
        "settings, else the latest topology on the topology topic",
    )
    p.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    p.set_defaults(func=cmd_worker)

    p = subparsers.add_parser(
        "produce",
        help="write alert records (one per line) to Kafka",
        description="Send each non-empty line of FILE (or stdin with -) as one raw record.",
    )
    p.add_argument("file", metavar="FILE", help="JSON Lines file, or - for stdin")
    p.add_argument("--topic", help="target topic (default: the alerts topic of the settings)")
    p.add_argument("--rate", type=_positive_float, help="records per second (default: unlimited)")
    p.add_argument(
        "--whole",
        action="store_true",
        help="send the whole file as ONE record (e.g. a topology to the topology topic)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress or summary")
    _add_config(p)
    p.set_defaults(func=cmd_produce)

    p = subparsers.add_parser(
        "tail",
        help="follow the incidents topic",
        description="Print incident events as they are published (Ctrl-C to stop).",
    )
    p.add_argument("--json", action="store_true", help="print each CloudEvent as one JSON line")
    p.add_argument("--from-beginning", action="store_true", help="start at the oldest event")
    p.add_argument("--topic", help="incidents topic (default: from the settings)")
    p.add_argument("--max-events", type=int, help="exit after this many events")
    p.add_argument(
        "--idle-exit",
        type=_positive_float,
        metavar="SECONDS",
        help="exit after this long without a new event",
    )
    _add_config(p)
    p.set_defaults(func=cmd_tail)

    p = subparsers.add_parser(
        "subscribe",
        help="print the current incidents (idempotent rebuild from the incidents topic)",
        description="Read the incidents topic from the beginning, keep the newest version "
        "of each incident (repeats and older versions ignored) and print them as JSON lines.",
    )
    p.add_argument("--topic", help="incidents topic (default: from the settings)")
    p.add_argument("--keep-merged", action="store_true", help="also print merged incidents")
    _add_config(p)
    p.set_defaults(func=cmd_subscribe)

    p = subparsers.add_parser(
        "demo",
        help="watch an alert storm collapse into incidents, live",
        description="Start a local Kafka broker if none answers, create fresh demo topics, "
        "start a worker, replay a bundled alert storm and show incidents as they appear. "
        "Everything started here is stopped at the end or on Ctrl-C.",
    )
    p.add_argument(
        "--bootstrap",
        default=None,
        help="Kafka address (default: CORRELATOR_KAFKA_BOOTSTRAP or 127.0.0.1:9092)",
    )
    p.add_argument(
        "--rate", type=_positive_float, default=200.0, help="alert records per second (default 200)"
    )
    p.add_argument("--web-port", type=int, default=6066, help="worker HTTP port (default 6066)")
    p.add_argument("--alerts", help="alerts JSON Lines (default: the bundled demo storm)")
    p.add_argument("--topology", help="topology (default: configs/topology.yaml or bundled)")
    p.set_defaults(func=cmd_demo)
