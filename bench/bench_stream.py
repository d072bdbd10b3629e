"""Streaming benchmark on a real broker: what bounds the worker, and how fast it answers.

Side by side, in one run, on the same records and the same broker:

1. raw aiokafka: a group-less consumer reading the backlog as fast as it can (the ceiling);
2. a trivial faust agent: one event at a time, counting (the framework's per-event cost);
3. the Correlator worker draining the same backlog: decode, route, repartition, ingest,
   advance, publish (records/s and alerts/s for one worker process);
4. latency at steady load, at the target alert rate (10,000 alerts/s by default, sent as
   group notifications of 10 alerts) and in a 100x storm: a live producer plus probe alerts for
   isolated services no one else uses; latency = probe produced -> its first incident event seen
   on the incidents topic. Measured with ``hold: 0s`` and ``allowed_lateness: 0s`` so that
   the number is the pipeline's own latency; in production add the configured hold and
   allowed lateness (event time), which the engine waits for on purpose;
5. the worker's resident memory after each phase, and over a sustained storm that churns
   (fresh alerts firing and resolving for minutes, event time running 60x wall time so that
   the engine's retention windows pass): it should level off, not climb.

``--latency-only`` / ``--memory-only`` run one part; ``--update-intervals 0s,5s`` runs the
latency phases once per engine ``update_interval``, side by side; ``--member-retentions 0s,1h``
runs the sustained storm once per engine ``member_retention``, one after the other.

Run from the repository root with a broker up (``correlator kafka up``)::

    python bench/bench_stream.py [--bootstrap 127.0.0.1:9092] [--records 50000]

Everything it creates (topics, workers) is removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import urllib.request
import uuid
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import yaml
from aiokafka import AIOKafkaConsumer, TopicPartition
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka import TopicPartition as KTopicPartition

from correlator.codecs import Decoded, decode
from correlator.replay import replay_lines
from correlator.simulate import generate_topology, simulate
from correlator.stream.admin import SNAPSHOT_MAX_MESSAGE_BYTES
from topology import Service, Topology

REPO = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------------------- workload


def _shift(value: Any, delta: timedelta) -> Any:
    """Shift every Alertmanager time in a payload (the zero time stays zero)."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if (
                key in ("startsAt", "endsAt")
                and isinstance(item, str)
                and not item.startswith("0001")
            ):
                when = datetime.fromisoformat(item.replace("Z", "+00:00")) + delta
                out[key] = when.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
            else:
                out[key] = _shift(item, delta)
        return out
    if isinstance(value, list):
        return [_shift(item, delta) for item in value]
    return value


def _times(value: Any) -> Iterable[datetime]:
    if isinstance(value, dict):
        for key, item in value.items():
            if (
                key in ("startsAt", "endsAt")
                and isinstance(item, str)
                and not item.startswith("0001")
            ):
                yield datetime.fromisoformat(item.replace("Z", "+00:00"))
            else:
                yield from _times(item)
    elif isinstance(value, list):
        for item in value:
            yield from _times(item)


BACKLOG_SEED = 3


def backlog_workload(records: int, seed: int) -> tuple[list[bytes], Topology, int]:
    """Realistic Alertmanager payloads: one simulated storm, repeated later in time."""
    topology = generate_topology(300, seed)
    storm = simulate(topology, "mixed", seed=seed, duration_min=360, cascades=60, noise_per_hour=30)
    base = [orjson.loads(line) for line in storm.lines()]
    # Copies follow each other closely in event time: a jump larger than the engine's
    # max_future_skew would quarantine the next copy instead of correlating it.
    times = sorted(_times(base))
    period = times[-1] - times[0] + timedelta(minutes=10)
    lines: list[bytes] = []
    copy = 0
    while len(lines) < records:
        lines.extend(orjson.dumps(_shift(p, period * copy)) for p in base)
        copy += 1
    lines = lines[:records]
    alerts = 0
    for line in lines:
        result = decode(line)
        assert isinstance(result, Decoded), result
        alerts += len(result.alerts)
    return lines, storm.given_topology, alerts


def restamped(lines: list[bytes]) -> list[bytes]:
    """The payloads shifted in time so that the first alert starts now."""
    payloads = [orjson.loads(line) for line in lines]
    delta = datetime.now(UTC) - min(t for p in payloads for t in _times(p))
    return [orjson.dumps(_shift(p, delta)) for p in payloads]


def live_payload(
    topology: Topology, rng: random.Random, serial: int, size: int | None = None
) -> bytes:
    """An Alertmanager webhook stamped now: 1-3 alerts of related services, or ``size``
    alerts of a service and its neighbours (then random services) like a group notification."""
    services = sorted(topology)
    first = rng.choice(services)
    related = sorted(topology.dependencies(first) | topology.dependents(first))
    if size is None:
        chosen = [first, *rng.sample(related, min(len(related), rng.randint(0, 2)))]
    else:
        chosen = [first, *rng.sample(related, min(len(related), size - 1))]
        others = [s for s in services if s not in chosen]
        chosen += rng.sample(others, min(len(others), size - len(chosen)))
    return am_body(live_alerts(chosen, serial, datetime.now(UTC)), serial)


def _am_time(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def live_alerts(services: list[str], serial: int, at: datetime) -> list[dict[str, Any]]:
    """Fresh firing alerts (new fingerprints per ``serial``) on ``services``, started ``at``."""
    return [
        {
            "status": "firing",
            "labels": {"alertname": f"Load{serial % 50}", "service": s, "instance": f"i{serial}"},
            "annotations": {"summary": f"{s} is unhappy"},
            "startsAt": _am_time(at),
            "endsAt": "0001-01-01T00:00:00Z",
            "fingerprint": f"{(serial * 7919 + i) & 0xFFFFFFFFFFFFFFFF:016x}",
        }
        for i, s in enumerate(services)
    ]


def am_body(alerts: list[dict[str, Any]], serial: int) -> bytes:
    """An Alertmanager v4 webhook body around ``alerts``."""
    firing = any(a["status"] == "firing" for a in alerts)
    return orjson.dumps(
        {
            "version": "4",
            "status": "firing" if firing else "resolved",
            "receiver": "bench",
            "alerts": alerts,
            "groupLabels": {},
            "commonLabels": {},
            "commonAnnotations": {},
            "externalURL": "http://am",
            "groupKey": f"g{serial}",
            "truncatedAlerts": 0,
        }
    )


PROBE_EVERY_S = 0.25


def probe_service(index: int) -> str:
    return f"bench-probe-{index}"


def probe_payload(index: int) -> tuple[bytes, str]:
    service = probe_service(index)
    now = datetime.now(UTC).isoformat()
    body = {"service": service, "name": "Probe", "severity": "critical", "starts_at": now}
    return orjson.dumps(body), service


# ---------------------------------------------------------------------------- helpers


@dataclass
class Bench:
    bootstrap: str
    tmp: Path
    topics: list[str] = field(default_factory=list)
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def topic(
        self, name: str, partitions: int = 1, configs: dict[str, str] | None = None
    ) -> str:
        full = f"bench-{name}-{uuid.uuid4().hex[:8]}"
        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap)
        spec: dict[str, Any] = {"num_partitions": partitions, "replication_factor": 1}
        if configs:
            spec["configs"] = configs
        try:
            admin.create_topics({full: spec}, wait_for_metadata=True)
        finally:
            admin.close()
        self.topics.append(full)
        return full

    def cleanup(self) -> None:
        for proc in self.workers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=30)
                if proc.poll() is None:
                    proc.kill()
        with contextlib.suppress(Exception):
            admin = KafkaAdminClient(bootstrap_servers=self.bootstrap)
            existing = set(admin.list_topics())
            doomed = [t for t in existing if any(t.startswith(p) for p in self.topics)]
            doomed += [t for t in existing if t.startswith("bench-app-")]
            if doomed:
                admin.delete_topics(sorted(set(doomed)), timeout_ms=30_000)
            admin.close()


def produce(bootstrap: str, topic: str, values: Iterable[bytes]) -> float:
    producer = KafkaProducer(
        bootstrap_servers=bootstrap,
        acks=1,
        linger_ms=20,
        batch_size=256 * 1024,
        max_request_size=8 * 1024 * 1024,
    )
    started = time.perf_counter()
    n = 0
    for value in values:
        producer.send(topic, value)
        n += 1
    producer.flush()
    producer.close()
    return n / (time.perf_counter() - started)


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (to tell its own cost from a busy machine)."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def metric(port: int, name: str) -> float:
    """A series' value; without labels in ``name``, the sum over all its label sets."""
    total = 0.0
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        for line in response.read().decode().splitlines():
            if line.startswith(name + " ") or ("{" not in name and line.startswith(name + "{")):
                total += float(line.split()[-1])
    return total


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---------------------------------------------------------------------------- 1. raw aiokafka


async def _raw_consume(bootstrap: str, topic: str, expected: int) -> float:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        fetch_max_bytes=64 * 1024 * 1024,
        max_partition_fetch_bytes=16 * 1024 * 1024,
    )
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        count = 0
        started = time.perf_counter()
        while count < expected:
            batch = await consumer.getmany(timeout_ms=1000, max_records=20_000)
            count += sum(len(records) for records in batch.values())
        return expected / (time.perf_counter() - started)
    finally:
        await consumer.stop()


# ---------------------------------------------------------------------------- 2. trivial faust


FAUST_APP = textwrap.dedent(
    """
    import sys, time, faust
    bootstrap, topic, expected, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    app = faust.App("bench-app-" + topic, broker="kafka://" + bootstrap, store="memory://",
                    web_enabled=False, autodiscover=False, consumer_auto_offset_reset="earliest",
                    datadir=out + ".data")
    source = app.topic(topic, value_serializer="raw", key_serializer="raw")
    state = {"n": 0, "t0": None}

    @app.agent(source)
    async def count(stream):
        async for _value in stream:
            if state["t0"] is None:
                state["t0"] = time.perf_counter()
            state["n"] += 1
            if state["n"] == expected:
                rate = expected / (time.perf_counter() - state["t0"])
                open(out, "w").write(str(rate))

    faust.Worker(app, loglevel="WARNING", quiet=True).execute_from_commandline()
    """
)


def trivial_faust(bench: Bench, topic: str, expected: int) -> float:
    script = bench.tmp / "faust_count.py"
    script.write_text(FAUST_APP)
    out = bench.tmp / "faust_rate.txt"
    proc = subprocess.Popen(
        [sys.executable, str(script), bench.bootstrap, topic, str(expected), str(out)],
        stdout=subprocess.DEVNULL,
        stderr=(bench.tmp / "faust.log").open("wb"),
    )
    bench.workers.append(proc)
    deadline = time.monotonic() + 300
    while not out.exists() or not out.read_text():
        if time.monotonic() > deadline or proc.poll() not in (None, 0):
            raise RuntimeError(f"trivial faust agent failed; see {bench.tmp / 'faust.log'}")
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=30)
    return float(out.read_text())


# ---------------------------------------------------------------------------- 3./4. the worker


def make_topics(bench: Bench, name: str, partitions: int = 1) -> dict[str, str]:
    return {
        "alerts": bench.topic(f"{name}-alerts", partitions),
        "incidents": bench.topic(f"{name}-incidents"),
        "dlq": bench.topic(f"{name}-dlq"),
        "topology": bench.topic(f"{name}-topology"),
        "repartition": bench.topic(f"{name}-routed", partitions),
        # As the worker creates it: a big engine state does not fit the 1 MB default
        # (before 2026-12-07 the bench used the default, and large snapshots failed).
        "snapshots": bench.topic(
            f"{name}-snapshots",
            configs={
                "cleanup.policy": "compact",
                "max.message.bytes": str(SNAPSHOT_MAX_MESSAGE_BYTES),
            },
        ),
    }


def start_worker(
    bench: Bench,
    topology: Topology,
    *,
    engine: dict[str, Any],
    name: str,
    topics: dict[str, str] | None = None,
    stream: dict[str, Any] | None = None,
    partitions: int = 1,
) -> tuple[subprocess.Popen[bytes], int, dict[str, str]]:
    app = f"bench-app-{uuid.uuid4().hex[:8]}"
    topics = topics or make_topics(bench, name, partitions)
    port = free_port()
    topo_path = bench.tmp / f"{name}-topology.json"
    topo_path.write_bytes(orjson.dumps(topology.to_node_link()))
    config = bench.tmp / f"{name}.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "app_id": app,
                "kafka": {"bootstrap_servers": bench.bootstrap},
                "topics": {
                    **topics,
                    "alerts_partitions": partitions,
                    "repartition_partitions": partitions,
                },
                "stream": {"snapshot_interval_s": 10, **(stream or {})},
                "web": {"port": port},
                "engine": engine,
                "log_level": "WARNING",
            }
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("CORRELATOR_")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "correlator.cli",
            "worker",
            "--config",
            str(config),
            "--topology",
            str(topo_path),
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(bench.tmp / f"{name}.log").open("wb"),
    )
    bench.workers.append(proc)
    deadline = time.monotonic() + 90
    while True:
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r,
        ):
            if r.status == 200:
                return proc, port, topics
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"worker {name} did not start; see {bench.tmp / (name + '.log')}")
        time.sleep(0.3)


def drain_backlog(
    bench: Bench, lines: list[bytes], topology: Topology, alerts: int, batch_within_s: float
) -> dict[str, float]:
    """Produce the whole backlog first, then time one worker from its first record to the
    last alert folded into the engine (so the producer's speed does not cap the result)."""
    name = f"backlog-{batch_within_s:g}"
    topics = make_topics(bench, name)
    produce(bench.bootstrap, topics["alerts"], lines)
    proc, port, _ = start_worker(
        bench,
        topology,
        engine={},
        name=name,
        topics=topics,
        stream={"batch_within_s": batch_within_s},
    )
    cpu_before = cpu_seconds(proc.pid)
    first: float | None = None
    deadline = time.perf_counter() + 900
    while True:
        done = metric(port, "correlator_engine_alerts_total")
        now = time.perf_counter()
        if first is None and metric(port, "correlator_records_in_total") > 0:
            first = now
        if done >= alerts:
            break
        if now > deadline:
            raise RuntimeError(f"backlog not drained: {done}/{alerts} alerts")
        time.sleep(0.05)
    assert first is not None
    elapsed = now - first
    cpu = cpu_seconds(proc.pid) - cpu_before
    result = {
        "batch_within_s": batch_within_s,
        "cpu_seconds": cpu,
        "records_per_cpu_s": len(lines) / cpu,
        "alerts_per_cpu_s": alerts / cpu,
        "records_per_s": len(lines) / elapsed,
        "alerts_per_s": alerts / elapsed,
        "seconds": elapsed,
        "rss_mb": rss_mb(proc.pid),
        "incident_events": metric(port, "correlator_incident_events_total"),
    }
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    return result


@dataclass
class Probe:
    sent: float
    seen: float | None = None


def _watch_incidents(
    bootstrap: str, topic: str, probes: dict[str, Probe], stop: threading.Event
) -> None:
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, fetch_max_wait_ms=10
    )
    tp = KTopicPartition(topic, 0)
    consumer.assign([tp])
    consumer.seek_to_beginning(tp)
    try:
        while not stop.is_set():
            for records in consumer.poll(timeout_ms=50).values():
                now = time.perf_counter()
                for record in records:
                    if b"bench-probe-" not in record.value:
                        continue
                    data = orjson.loads(record.value)["data"]
                    for service in (*data.get("services", ()), *data.get("unknown_services", ())):
                        probe = probes.get(service)
                        if probe is not None and probe.seen is None:
                            probe.seen = now
    finally:
        consumer.close()


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50_ms": float("nan"), "p99_ms": float("nan"), "n": 0}
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {"p50_ms": statistics.median(ordered) * 1000, "p99_ms": p99 * 1000, "n": len(ordered)}


TARGET_ALERTS_PER_RECORD = 10


def latency(
    bench: Bench,
    topology: Topology,
    *,
    base_rate: float,
    storm_factor: float,
    phase_s: float,
    target_alerts: float,
    update_interval: str | None = None,
    phase_names: tuple[str, ...] = ("steady", "target", "storm"),
) -> dict[str, dict[str, float]]:
    """Probe latency in three phases: steady, the issue's target alert rate (sent as group
    notifications of TARGET_ALERTS_PER_RECORD alerts, so that one kafka-python producer
    can offer it), and a storm of ``storm_factor`` x the steady record rate.
    ``update_interval`` overrides the engine's (None keeps the default)."""
    engine = {"hold": "0s", "allowed_lateness": "0s"}
    if update_interval is not None:
        engine["update_interval"] = update_interval
    name = "latency" if update_interval is None else f"latency-{update_interval}"
    # Each probe alert names its own isolated service of the topology, so that it opens
    # a new incident: its latency is that incident's first event, the measure.
    # (A service outside the topology would join a neighbour in time, unknown_window,
    # and measure an update instead.)
    probes_needed = int(3 * phase_s / PROBE_EVERY_S) + 10
    with_probes = Topology.from_services(
        [*topology.services.values(), *(Service(id=probe_service(i)) for i in range(probes_needed))]
    )
    proc, port, topics = start_worker(bench, with_probes, engine=engine, name=name)
    probes: dict[str, Probe] = {}
    stop = threading.Event()
    watcher = threading.Thread(
        target=_watch_incidents, args=(bench.bootstrap, topics["incidents"], probes, stop)
    )
    watcher.start()
    producer = KafkaProducer(bootstrap_servers=bench.bootstrap, acks=1, linger_ms=1)
    rng = random.Random(1)
    serial = 0
    results: dict[str, dict[str, float]] = {}
    try:
        # The target rate twice: as new alerts only ("target") and as realistic Alertmanager
        # traffic ("target-mix": the simulated storm of the backlog rows, mostly re-sends,
        # re-stamped to start now; to reach the rate its event time runs far ahead of the
        # wall clock, so it gets a worker of its own).
        mix_lines: list[bytes] = []
        mix_per_record = 1.0
        if "target-mix" in phase_names:
            mix_lines, _, mix_alerts = backlog_workload(
                int(phase_s * target_alerts / 3) + 1000, seed=BACKLOG_SEED
            )
            mix_per_record = mix_alerts / len(mix_lines)
        every: dict[str, tuple[float, int | None]] = {
            "steady": (base_rate, None),
            "target-mix": (target_alerts / mix_per_record, None),
            "target": (target_alerts / TARGET_ALERTS_PER_RECORD, TARGET_ALERTS_PER_RECORD),
            "storm": (base_rate * storm_factor, None),
        }
        for phase in phase_names:
            rate, size = every[phase]
            mix = restamped(mix_lines) if phase == "target-mix" else None
            cpu_before = cpu_seconds(proc.pid)
            done_before = metric(port, "correlator_engine_alerts_total")
            names: list[str] = []
            alerts_sent = 0
            started = time.perf_counter()
            next_probe = started
            sent = 0
            while (now := time.perf_counter()) - started < phase_s:
                due = int((now - started) * rate)
                while sent < due:
                    if mix is not None:
                        payload = mix[sent % len(mix)]
                    else:
                        payload = live_payload(topology, rng, serial, size)
                    producer.send(topics["alerts"], payload)
                    alerts_sent += payload.count(b'"fingerprint"')
                    serial += 1
                    sent += 1
                if now >= next_probe:
                    body, service = probe_payload(len(probes))
                    probes[service] = Probe(sent=time.perf_counter())
                    producer.send(topics["alerts"], body)
                    producer.flush()
                    names.append(service)
                    next_probe = now + PROBE_EVERY_S
                time.sleep(0.001)
            producer.flush()
            elapsed = time.perf_counter() - started
            achieved = sent / elapsed
            deadline = time.perf_counter() + 120
            while any(probes[n].seen is None for n in names) and time.perf_counter() < deadline:
                time.sleep(0.1)
            lat = [probes[n].seen - probes[n].sent for n in names if probes[n].seen is not None]  # type: ignore[operator]
            cpu = cpu_seconds(proc.pid) - cpu_before
            done = metric(port, "correlator_engine_alerts_total") - done_before
            results[phase] = {
                **_percentiles(lat),
                "alerts_processed": done,
                "alerts_per_worker_cpu_s": done / cpu if cpu > 0 else float("nan"),
                "records_per_s_offered": achieved,
                "alerts_per_s_offered": alerts_sent / elapsed,
                "probes_lost": sum(1 for n in names if probes[n].seen is None),
                "rss_mb": rss_mb(proc.pid),
            }
    finally:
        stop.set()
        watcher.join(timeout=10)
        producer.close()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    return results


def sustained_memory(
    bench: Bench, topology: Topology, *, minutes: float, rate: float, speed: float,
    lifetime_s: float, engine: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Worker RSS under a sustained storm that churns, as real storms do: every record fires
    1-3 fresh alerts and resolves the ones fired ``lifetime_s`` of event time earlier.
    Event time runs ``speed`` x wall time, so that the engine's closed_retention (1 h) and
    reopen window pass within the phase: memory should level off once they have, since
    open alerts stay bounded (rate x lifetime) and closed ones are forgotten."""
    proc, port, topics = start_worker(bench, topology, engine=engine or {}, name="sustained")
    producer = KafkaProducer(bootstrap_servers=bench.bootstrap, acks=1, linger_ms=5)
    rng = random.Random(2)
    services = sorted(topology)
    origin = datetime.now(UTC)
    firing: deque[tuple[datetime, dict[str, Any]]] = deque()
    samples: list[tuple[float, float]] = []
    sent = alerts = 0
    started = time.perf_counter()
    next_sample = started
    try:
        while (now := time.perf_counter()) - started < minutes * 60:
            elapsed = now - started
            event_time = origin + timedelta(seconds=elapsed * speed)
            while sent < int(elapsed * rate):
                first = rng.choice(services)
                related = sorted(topology.dependencies(first) | topology.dependents(first))
                chosen = [first, *rng.sample(related, min(len(related), rng.randint(0, 2)))]
                batch = live_alerts(chosen, sent, event_time)
                firing.extend((event_time, a) for a in batch)
                while firing and (event_time - firing[0][0]).total_seconds() >= lifetime_s:
                    _, old = firing.popleft()
                    batch.append({**old, "status": "resolved", "endsAt": _am_time(event_time)})
                producer.send(topics["alerts"], am_body(batch, sent))
                alerts += len(batch)
                sent += 1
            if now >= next_sample:
                samples.append((elapsed, rss_mb(proc.pid)))
                next_sample = now + 10
            time.sleep(0.002)
        producer.flush()
        samples.append((time.perf_counter() - started, rss_mb(proc.pid)))
        consumed = metric(port, "correlator_engine_alerts_total")
        shed = metric(port, "correlator_engine_alerts_shed_total")
    finally:
        producer.close()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    wall = samples[-1][0]
    half = [mb for t, mb in samples if t >= wall / 2]
    # Median of each quarter: a snapshot briefly adds its serialised state on top.
    quarters = [
        statistics.median(
            [mb for t, mb in samples if wall * (q - 0.25) <= t <= wall * q] or [samples[-1][1]]
        )
        for q in (0.25, 0.5, 0.75, 1.0)
    ]
    return {
        "records": sent,
        "alerts_offered": alerts,
        "alerts_processed": consumed,
        "alerts_shed": shed,
        "event_hours": wall * speed / 3600,
        "samples": samples,
        "rss_second_half_min": min(half),
        "rss_second_half_max": max(half),
        "rss_at_quarters": quarters,
    }


def report_latency(
    bench: Bench, topology: Topology, args: argparse.Namespace, intervals: list[str | None]
) -> dict[str, dict[str, float]]:
    """Run the latency phases once per update interval and print one row per phase."""
    rows: dict[str, dict[str, float]] = {}
    for interval in intervals:
        lat: dict[str, dict[str, float]] = {}
        # The realistic mix runs its event time far ahead of the wall clock: own worker.
        for phase_names in (("steady", "target", "storm"), ("target-mix",)):
            lat.update(
                latency(
                    bench,
                    topology,
                    base_rate=args.rate,
                    storm_factor=args.storm_factor,
                    phase_s=args.phase_seconds,
                    target_alerts=args.target_alerts,
                    update_interval=interval,
                    phase_names=phase_names,
                )
            )
        label = "" if interval is None else f" (update_interval {interval})"
        for phase, row in lat.items():
            print(
                f"4. latency {phase:<10}{label} offered {row['records_per_s_offered']:>8,.0f} "
                f"records/s = {row['alerts_per_s_offered']:>8,.0f} alerts/s: "
                f"p50 {row['p50_ms']:.0f} ms, p99 {row['p99_ms']:.0f} ms "
                f"over {row['n']:.0f} probes "
                f"({row['probes_lost']:.0f} not seen), RSS {row['rss_mb']:.0f} MB; "
                f"{row['alerts_processed']:,.0f} alerts processed by then, "
                f"{row['alerts_per_worker_cpu_s']:,.0f} per worker CPU second",
                flush=True,
            )
            rows[phase + label] = row
    return rows


def report_memory(
    bench: Bench, topology: Topology, args: argparse.Namespace
) -> dict[str, Any] | None:
    """The sustained-storm memory row, once per ``--member-retentions`` value."""
    if args.sustain_minutes <= 0:
        return None
    retentions = [v.strip() for v in args.member_retentions.split(",") if v.strip()] or [None]
    rows: dict[str, Any] = {}
    for retention in retentions:
        engine = {} if retention is None else {"member_retention": retention}
        label = "" if retention is None else f" (member_retention {retention})"
        row = sustained_memory(
            bench, topology, minutes=args.sustain_minutes, rate=args.sustain_rate, speed=60.0,
            lifetime_s=300.0, engine=engine,
        )
        trace = ", ".join(f"{t:.0f}s {mb:.0f}MB" for t, mb in row["samples"])
        print(
            f"5. sustained churning storm{label}: {row['records']:,} records, "
            f"{row['alerts_offered']:,} alerts offered ({row['alerts_processed']:,.0f} "
            f"processed, {row['alerts_shed']:,.0f} shed), {row['event_hours']:.1f} h of event "
            f"time; RSS over the second half {row['rss_second_half_min']:.0f}-"
            f"{row['rss_second_half_max']:.0f} MB, median per quarter: "
            f"{', '.join(f'{mb:.0f}' for mb in row['rss_at_quarters'])} MB; trace: {trace}",
            flush=True,
        )
        rows[retention or "default"] = row
    return rows


# ---------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--bootstrap", default=os.environ.get("CORRELATOR_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
    )
    parser.add_argument(
        "--records", type=int, default=50_000, help="backlog records (default 50000)"
    )
    parser.add_argument(
        "--rate", type=float, default=50.0, help="steady load, records/s (default 50)"
    )
    parser.add_argument(
        "--storm-factor", type=float, default=100.0, help="storm = rate x this (default 100)"
    )
    parser.add_argument(
        "--throughput-window",
        type=float,
        default=0.5,
        help="second backlog run with this batch window (default 0.5 s)",
    )
    parser.add_argument(
        "--phase-seconds", type=float, default=20.0, help="length of each latency phase"
    )
    parser.add_argument(
        "--target-alerts",
        type=float,
        default=10_000.0,
        help="alert rate of the target latency phase (default 10000/s, the issue's target)",
    )
    parser.add_argument(
        "--update-intervals",
        default="",
        help="comma-separated engine update_interval values; the latency phases run once "
        "per value, side by side (default: once, with the engine's default)",
    )
    parser.add_argument(
        "--latency-only", action="store_true", help="run only the latency rows"
    )
    parser.add_argument("--memory-only", action="store_true", help="run only the memory row")
    parser.add_argument(
        "--sustain-minutes",
        type=float,
        default=6.0,
        help="length of the sustained churning storm for the memory row (0 skips it)",
    )
    parser.add_argument(
        "--sustain-rate", type=float, default=500.0, help="its records/s (default 500)"
    )
    parser.add_argument(
        "--member-retentions",
        default="",
        help="comma-separated engine member_retention values (0 keeps every member); the "
        "memory row runs once per value, one after the other in the same run",
    )
    args = parser.parse_args(argv)
    intervals: list[str | None] = [v.strip() for v in args.update_intervals.split(",") if v.strip()]

    bench = Bench(args.bootstrap, Path(tempfile.mkdtemp(prefix="bench-stream-")))
    try:
        print(f"workload: generating {args.records} Alertmanager payloads ...", flush=True)
        lines, topology, alerts = backlog_workload(args.records, seed=BACKLOG_SEED)
        size = sum(map(len, lines)) / len(lines)
        print(
            f"  {len(lines)} records, {alerts} alerts, {size:.0f} bytes/record, "
            f"topology {len(topology)} services"
        )
        if args.latency_only:
            report_latency(bench, topology, args, intervals or [None])
            return 0
        if args.memory_only:
            report_memory(bench, topology, args)
            return 0
        cpu0, wall0 = time.process_time(), time.perf_counter()
        replay_lines(lines, topology)
        replay_cpu, replay_wall = time.process_time() - cpu0, time.perf_counter() - wall0
        print(
            f"0. offline replay (engine only)  {len(lines) / replay_wall:>10,.0f} records/s = "
            f"{alerts / replay_wall:,.0f} alerts/s; per CPU second: "
            f"{len(lines) / replay_cpu:,.0f} records, {alerts / replay_cpu:,.0f} alerts",
            flush=True,
        )
        raw_topic = bench.topic("raw")
        rate = produce(bench.bootstrap, raw_topic, lines)
        print(f"  produced with kafka-python at {rate:,.0f} records/s")

        raw = asyncio.run(_raw_consume(bench.bootstrap, raw_topic, len(lines)))
        print(f"1. raw aiokafka consume           {raw:>10,.0f} records/s", flush=True)
        trivial = trivial_faust(bench, raw_topic, len(lines))
        print(f"2. trivial faust agent (1 by 1)   {trivial:>10,.0f} records/s", flush=True)
        drains = []
        for window in (0.05, args.throughput_window):
            drained = drain_backlog(bench, lines, topology, alerts, window)
            drains.append(drained)
            print(
                f"3. correlator worker, batch window {window:g} s: "
                f"{drained['records_per_s']:,.0f} records/s = "
                f"{drained['alerts_per_s']:,.0f} alerts/s ({drained['seconds']:.1f} s, "
                f"RSS {drained['rss_mb']:.0f} MB); per CPU second of the worker: "
                f"{drained['records_per_cpu_s']:,.0f} records, "
                f"{drained['alerts_per_cpu_s']:,.0f} alerts",
                flush=True,
            )
        lat = report_latency(bench, topology, args, intervals or [None])
        memory = report_memory(bench, topology, args)
        print(
            orjson.dumps(
                {
                    "replay_records_per_s": len(lines) / replay_wall,
                    "replay_records_per_cpu_s": len(lines) / replay_cpu,
                    "raw_aiokafka": raw,
                    "trivial_faust": trivial,
                    "worker_backlog": drains,
                    "latency": lat,
                    "sustained_memory": memory,
                    "records": len(lines),
                    "alerts": alerts,
                    "bytes_per_record": size,
                },
                option=orjson.OPT_INDENT_2,
            ).decode()
        )
    finally:
        bench.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
