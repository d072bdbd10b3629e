"""Engine throughput on generated topologies of 1k, 10k and 100k services.

Measures alerts/s through ``Engine.ingest`` alone (alerts are pre-built, so
JSON decoding is excluded), in one process (= one core), with thousands of
open alerts: a storm where most records are Alertmanager re-sends of alerts
already open, and a share are new fingerprints spread over the graph in
cascades. Reports the per-alert cost ratio 100k vs 1k from the same run, and
the state size after churn (memory must follow open alerts, not history).

    python bench/bench_engine.py [--sizes 1000,10000,100000] [--alerts 300000]
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta

from correlator.config import EngineConfig
from correlator.engine import Engine
from correlator.model import Alert, Severity, Status
from correlator.simulate.topogen import generate_topology
from topology import Topology

T0 = datetime(2026, 9, 1, tzinfo=UTC)


def build_stream(topology: Topology, n_alerts: int, open_alerts: int, seed: int) -> list[Alert]:
    """A storm: ``open_alerts`` distinct alerts in cascades, the rest re-sends."""
    rng = random.Random(seed)
    services = sorted(topology.services)
    distinct: list[Alert] = []
    t = 0.0
    while len(distinct) < open_alerts:
        root = rng.choice(services)
        members = [root, *sorted(topology.dependents(root))[:8]]
        for i, svc in enumerate(members):
            t += rng.uniform(0.0, 0.5)
            distinct.append(
                Alert(
                    fingerprint=f"{len(distinct):016x}",
                    source="bench",
                    service=svc,
                    name="HighErrorRate",
                    severity=Severity.CRITICAL if i == 0 else Severity.WARNING,
                    status=Status.FIRING,
                    starts_at=T0 + timedelta(seconds=t),
                    labels={"service": svc, "alertname": "HighErrorRate"},
                )
            )
    stream = list(distinct)
    while len(stream) < n_alerts:
        stream.append(rng.choice(distinct))  # re-sends keep their startsAt
    head, tail = stream[:open_alerts], stream[open_alerts:]
    rng.shuffle(tail)
    return head + tail


def dense_stream(topology: Topology, n_alerts: int, rate: float, seed: int) -> list[Alert]:
    """A storm of *new* alerts only, ``rate`` per second of event time, in notifications
    of 10: a service, its neighbours, then random services (every alert a new member)."""
    rng = random.Random(seed)
    services = sorted(topology.services)
    out: list[Alert] = []
    while len(out) < n_alerts:
        first = rng.choice(services)
        related = sorted(topology.dependencies(first) | topology.dependents(first))
        chosen = [first, *rng.sample(related, min(len(related), 9))]
        chosen += rng.sample([s for s in services if s not in chosen], 10 - len(chosen))
        when = T0 + timedelta(seconds=len(out) / rate)
        for svc in chosen:
            out.append(
                Alert(
                    fingerprint=f"{len(out):016x}",
                    source="bench",
                    service=svc,
                    name=f"Load{len(out) % 50}",
                    severity=Severity.WARNING,
                    status=Status.FIRING,
                    starts_at=when,
                    labels={"service": svc, "alertname": f"Load{len(out) % 50}"},
                )
            )
    return out[:n_alerts]


def measure(topology: Topology, stream: list[Alert], advance_every: int) -> tuple[float, float]:
    engine = Engine(topology, EngineConfig())
    gc.collect()
    gc.disable()
    t_ingest = 0.0
    start_all = time.perf_counter()
    ingest = engine.ingest
    for i in range(0, len(stream), advance_every):
        chunk = stream[i : i + advance_every]
        t = time.perf_counter()
        for alert in chunk:
            ingest(alert)
        t_ingest += time.perf_counter() - t
        engine.advance()
    engine.flush()
    total = time.perf_counter() - start_all
    gc.enable()
    return len(stream) / t_ingest, len(stream) / total


def churn_memory(topology: Topology, rounds: int, per_round: int) -> list[tuple[int, int, int]]:
    """Fire and resolve fresh fingerprints for many windows; sample state size."""
    engine = Engine(topology, EngineConfig())
    services = sorted(topology.services)
    rng = random.Random(7)
    samples = []
    tracemalloc.start()
    n = 0
    for r in range(rounds):
        base = r * 900.0
        for _ in range(per_round):
            svc = rng.choice(services)
            start = T0 + timedelta(seconds=base + rng.uniform(0, 300))
            fp = f"c{n:015x}"
            n += 1
            common = dict(
                fingerprint=fp,
                source="bench",
                service=svc,
                name="X",
                severity=Severity.WARNING,
                starts_at=start,
            )
            engine.ingest(Alert(status=Status.FIRING, **common))  # type: ignore[arg-type]
            engine.ingest(
                Alert(status=Status.RESOLVED, ends_at=start + timedelta(seconds=120), **common)
            )  # type: ignore[arg-type]
        engine.advance()
        if r % max(1, rounds // 5) == 0 or r == rounds - 1:
            current, _ = tracemalloc.get_traced_memory()
            samples.append((n, len(engine.snapshot()), current))
    tracemalloc.stop()
    return samples


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--alerts", type=int, default=300_000)
    ap.add_argument("--open", type=int, default=5_000, help="distinct open alerts")
    ap.add_argument("--advance-every", type=int, default=500, help="alerts per advance (a batch)")
    ap.add_argument("--churn-rounds", type=int, default=40)
    ap.add_argument(
        "--dense", default="10000,40000,80000",
        help="sizes of the storm of new alerts on 300 services ('' to skip)",
    )
    ap.add_argument("--dense-rate", type=float, default=10_000.0, help="its alerts/s of event time")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(
        f"python {sys.version.split()[0]}; {args.alerts} alerts, {args.open} distinct open; "
        f"advance every {args.advance_every}"
    )
    rows = []
    for n in sizes:
        t = time.perf_counter()
        topology = generate_topology(n, 1)
        build = time.perf_counter() - t
        stream = build_stream(topology, args.alerts, args.open, seed=n)
        ingest_rate, total_rate = measure(topology, stream, args.advance_every)
        rows.append((n, ingest_rate, total_rate))
        print(
            f"{n:>7} services (built in {build:5.1f}s): ingest {ingest_rate:>10,.0f} alerts/s; "
            f"ingest+advance+emit {total_rate:>10,.0f} alerts/s"
        )
    if len(rows) > 1:
        base = rows[0][1]
        for n, rate, _ in rows[1:]:
            print(f"per-alert cost {n} vs {rows[0][0]} services: x{base / rate:.2f}")
    dense = [int(n) for n in args.dense.split(",") if n]
    if dense:
        print(f"storm of new alerts only, {args.dense_rate:,.0f}/s of event time, 300 services:")
        topology = generate_topology(300, 3)
        dense_rows = []
        for n in dense:
            ingest_rate, total_rate = measure(
                topology, dense_stream(topology, n, args.dense_rate, seed=3), args.advance_every
            )
            dense_rows.append(total_rate)
            print(f"  {n:>7} alerts: ingest+advance+emit {total_rate:>10,.0f} alerts/s")
        if len(dense_rows) > 1:
            print(
                f"  per-alert cost {dense[-1]} vs {dense[0]} alerts: "
                f"x{dense_rows[0] / dense_rows[-1]:.2f}"
            )
    print("churn (fingerprints seen, snapshot bytes, traced bytes):")
    for seen, snap, traced in churn_memory(generate_topology(1000, 2), args.churn_rounds, 2000):
        print(f"  {seen:>8} {snap:>10,} {traced:>12,}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
