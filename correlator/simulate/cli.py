"""``correlator simulate``: write a storm, its truth and the given topology to a folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from correlator.simulate.scenarios import ALIASES, SCENARIOS
from correlator.simulate.storm import simulate
from correlator.simulate.topogen import generate_topology
from topology import Topology, TopologyError, load_topology


def _fail(message: str) -> int:
    print(f"correlator: error: {message}", file=sys.stderr)
    return 2


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {text}")
    return value


def register(subparsers: Any) -> None:
    """Add the ``simulate`` sub-command."""
    families = ", ".join((*SCENARIOS, *sorted(ALIASES)))
    p = subparsers.add_parser(
        "simulate",
        help="simulate an alert storm with known ground truth",
        description="Write DIR/alerts.jsonl (Alertmanager v4 payloads, arrival order), "
        "DIR/truth.json, DIR/topology.json (the topology to give the engine) and "
        "DIR/true_topology.json; with the deploys family also DIR/changes.jsonl (canonical "
        "change records). Deterministic per seed.",
    )
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--topology", help="true topology file (YAML or node-link JSON)")
    source.add_argument("--generate-topology", type=_positive_int, metavar="N",
                        help="generate an N-service topology and simulate on it")
    p.add_argument("--out", required=True, help="output directory (created if missing)")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--topology-seed", type=int, default=None,
                   help="seed of --generate-topology (default: --seed)")
    p.add_argument("--scenario", default="mixed",
                   help=f"comma-separated families: {families} (default mixed)")
    p.add_argument("--duration", type=_non_negative_float, metavar="MIN",
                   help="storm length in minutes (default 60)")
    p.add_argument("--cascades", type=int, metavar="N", help="number of fault cascades")
    p.add_argument("--noise-per-hour", type=_non_negative_float, metavar="X",
                   help="isolated noise events per hour")
    p.add_argument("--group-by", metavar="LABELS",
                   help="Alertmanager group_by labels, comma-separated (default alertname,cluster)")
    p.set_defaults(func=run)


def _knobs(args: argparse.Namespace) -> dict[str, Any]:
    knobs: dict[str, Any] = {}
    if args.duration is not None:
        knobs["duration_min"] = args.duration
    if args.cascades is not None:
        if args.cascades < 0:
            raise ValueError(f"--cascades must not be negative, got {args.cascades}")
        knobs["cascades"] = args.cascades
    if args.noise_per_hour is not None:
        knobs["noise_per_hour"] = args.noise_per_hour
    if args.group_by is not None:
        labels = tuple(x.strip() for x in args.group_by.split(",") if x.strip())
        if not labels:
            raise ValueError("--group-by needs at least one label name")
        knobs["group_by"] = labels
    return knobs


def run(args: argparse.Namespace) -> int:
    """Handler of ``correlator simulate``; returns the exit code."""
    try:
        topo: Topology
        if args.topology is not None:
            topo = load_topology(args.topology)
        else:
            seed = args.seed if args.topology_seed is None else args.topology_seed
            topo = generate_topology(args.generate_topology, seed)
        storm = simulate(topo, args.scenario, args.seed, **_knobs(args))
        out = Path(args.out)
        storm.write(out)
    except TopologyError as exc:
        return _fail(str(exc).replace("\n", "; "))
    except ValueError as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(f"cannot write {args.out}: {exc.strerror or exc}")
    truth = storm.truth
    print(
        f"wrote {out}: {len(storm.payloads)} payloads, {truth['records']} alert records, "
        f"{len(truth['alerts'])} unique alerts in {len(truth['groups'])} groups "
        f"(scenario {truth['scenario']}, seed {truth['seed']})"
        + (f"; {len(storm.changes)} changes in changes.jsonl" if "changes" in truth else ""),
        file=sys.stderr,
    )
    return 0
