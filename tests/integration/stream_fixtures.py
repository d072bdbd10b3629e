"""Fixtures and helpers for the streaming tests: real workers in subprocesses, real topics.

A worker runs as ``python -m correlator.cli worker`` (what an operator runs) with a
settings file naming fresh topics, a fresh consumer group and a free HTTP port. Every
topic a test's workers touch is deleted afterwards, best effort.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError

from correlator.config import engine_config_from_mapping
from correlator.replay import replay_lines
from correlator.simulate import simulate
from correlator.stream.settings import WorkerSettings
from tests.integration.conftest import TopicFactory
from topology import Topology, load_topology

REPO = Path(__file__).resolve().parents[2]

#: Engine settings shared by the workers under test and the reference replay.
TEST_ENGINE: dict[str, Any] = {}
#: Stream settings that make tests quick without changing what is computed: idle time
#: runs 60x (only after input stopped), snapshots and lag checks are frequent.
TEST_STREAM: dict[str, Any] = {
    "batch_size": 500,
    "batch_within_s": 0.05,
    "idle_advance_after_s": 3.0,
    "idle_time_scale": 60.0,
    "idle_check_interval_s": 0.5,
    "snapshot_interval_s": 1.0,
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(
    predicate: Callable[[], Any], timeout_s: float, what: str, interval_s: float = 0.25
) -> Any:
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what} (last: {last!r})")


# ---------------------------------------------------------------------------- Kafka I/O


def produce(bootstrap: str, topic: str, values: Iterable[bytes], **extra: Any) -> int:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5, **extra)
    n = 0
    try:
        for value in values:
            producer.send(topic, value)
            n += 1
        producer.flush()
    finally:
        producer.close()
    return n


def produce_paced(bootstrap: str, topic: str, values: Iterable[bytes], delay_s: float) -> None:
    """Produce one record at a time, ``delay_s`` apart (a live trickle of input)."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        for value in values:
            producer.send(topic, value)
            producer.flush()
            time.sleep(delay_s)
    finally:
        producer.close()


@dataclass(frozen=True)
class Record:
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: dict[str, bytes]


def read_topic(bootstrap: str, topic: str, *, idle_ms: int = 1500, **extra: Any) -> list[Record]:
    """Everything currently in ``topic``, in partition/offset order."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, **extra
    )
    out: list[Record] = []
    try:
        parts = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        if not tps:
            return out
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        ends = consumer.end_offsets(tps)
        deadline = time.monotonic() + 30
        while any(consumer.position(tp) < ends[tp] for tp in tps):
            if time.monotonic() > deadline:
                raise AssertionError(f"could not read {topic} to its end")
            for tp, records in consumer.poll(timeout_ms=idle_ms).items():
                for r in records:
                    out.append(
                        Record(tp.partition, r.offset, r.key, r.value, dict(r.headers or []))
                    )
    finally:
        consumer.close()
    return sorted(out, key=lambda r: (r.partition, r.offset))


def cloud_events(records: Iterable[Record]) -> list[dict[str, Any]]:
    return [orjson.loads(r.value) for r in records if r.value is not None]


# ---------------------------------------------------------------------------- incident state


def final_state(events: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """Last version of every incident, merged ones left out (what a consumer would show)."""
    last: dict[str, Mapping[str, Any]] = {}
    for event in events:
        current = last.get(event["id"])
        if current is None or event["version"] >= current["version"]:
            last[event["id"]] = event
    return {i: e for i, e in sorted(last.items()) if e["status"] != "merged"}


def projection(event: Mapping[str, Any]) -> dict[str, Any]:
    """What must agree between the streaming path and the offline replay.

    Version numbers and emission times are left out on purpose: the worker advances once
    per batch, replay once per line, so they coalesce changes differently.
    """
    root = event.get("root_cause") or {}
    return {
        "status": event["status"],
        "members": sorted((a["fingerprint"], a["status"], a["service"]) for a in event["alerts"]),
        "root_cause": root.get("service"),
        "candidates": [c["service"] for c in event.get("candidates", [])],
        "services": list(event["services"]),
        "opened_at": event["opened_at"],
        "resolved_at": event["resolved_at"],
    }


def project_all(state: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    return {i: projection(e) for i, e in state.items()}


def replay_reference(
    lines: Iterable[bytes], topology: Topology, engine: Mapping[str, Any] | None = None
) -> dict[str, dict[str, Any]]:
    config = engine_config_from_mapping(dict(engine or TEST_ENGINE), source="test")
    result = replay_lines(lines, topology, config)
    return project_all(final_state(result.events))


# ---------------------------------------------------------------------------- workers


@dataclass
class StreamSetup:
    """One isolated deployment: topic names, app id and a settings file for its workers."""

    bootstrap: str
    app_id: str
    alerts: str
    incidents: str
    dlq: str
    topology: str
    repartition: str
    snapshots: str
    tmp: Path
    changes: str = ""
    deploy_gate: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def settings(self, *, web_port: int, **overrides: Any) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "app_id": self.app_id,
            "kafka": {
                "bootstrap_servers": self.bootstrap,
                "session_timeout_s": 6.0,
                "heartbeat_interval_s": 1.0,
            },
            "topics": {
                "alerts": self.alerts,
                "incidents": self.incidents,
                "dlq": self.dlq,
                "topology": self.topology,
                "repartition": self.repartition,
                "snapshots": self.snapshots,
                **({"changes": self.changes} if self.changes else {}),
                **({"deploy_gate": self.deploy_gate} if self.deploy_gate else {}),
            },
            "stream": dict(TEST_STREAM),
            "web": {"host": "127.0.0.1", "port": web_port},
            "engine": dict(TEST_ENGINE),
            "log_level": "INFO",
        }
        for key, value in {**self.extra, **overrides}.items():
            if isinstance(value, dict) and isinstance(doc.get(key), dict):
                doc[key] = {**doc[key], **value}
            else:
                doc[key] = value
        return doc

    def write_config(self, name: str, **overrides: Any) -> tuple[Path, int]:
        port = free_port()
        path = self.tmp / f"{name}.yaml"
        path.write_text(yaml.safe_dump(self.settings(web_port=port, **overrides)))
        return path, port


class WorkerProcess:
    """A ``correlator worker`` subprocess with its log, port and a few probes."""

    def __init__(
        self,
        config: Path,
        port: int,
        log: Path,
        *,
        topology: Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.port = port
        self.log = log
        argv = [sys.executable, "-m", "correlator.cli", "worker", "--config", str(config)]
        if topology is not None:
            argv += ["--topology", str(topology)]
        environment = {k: v for k, v in os.environ.items() if not k.startswith("CORRELATOR_")}
        environment.update(env or {})
        self._log_handle = log.open("wb")
        self.proc = subprocess.Popen(
            argv,
            cwd=REPO,
            env=environment,
            stdout=self._log_handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def get(self, path: str) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(self.url(path), timeout=5) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def post(
        self, path: str, body: bytes, content_type: str = "application/json"
    ) -> tuple[int, Any]:
        request = urllib.request.Request(
            self.url(path), data=body, method="POST", headers={"Content-Type": content_type}
        )
        try:
            with urllib.request.urlopen(request, timeout=15) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                return exc.code, json.loads(raw or b"null")
            except ValueError:
                return exc.code, raw.decode("utf-8", "replace")

    def readyz(self) -> dict[str, Any] | None:
        try:
            status, body = self.get("/readyz")
        except OSError:
            return None
        doc = json.loads(body)
        return doc if status == 200 and doc.get("ready") else None

    def wait_ready(self, timeout_s: float = 40.0) -> dict[str, Any]:
        def probe() -> dict[str, Any] | None:
            if self.proc.poll() is not None:
                raise AssertionError(f"worker exited with {self.proc.returncode}:\n{self.tail()}")
            return self.readyz()

        try:
            return wait_for(probe, timeout_s, "worker /readyz")  # type: ignore[no-any-return]
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- worker log ---\n{self.tail()}") from None

    def metric(self, name: str, labels: str = "") -> float:
        status, body = self.get("/metrics")
        assert status == 200
        wanted = f"{name}{labels} "
        for line in body.decode().splitlines():
            if line.startswith(wanted):
                return float(line.split()[-1])
        return 0.0

    def tail(self, lines: int = 60) -> str:
        self._log_handle.flush()
        text = self.log.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 30.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log_handle.close()
        return self.proc.returncode


@pytest.fixture
def stream_setup(
    request: pytest.FixtureRequest,
    kafka_bootstrap: str,
    kafka_admin: KafkaAdminClient,
    unique_topic: TopicFactory,
    tmp_path: Path,
) -> Iterator[StreamSetup]:
    """Fresh topics (1 partition each), a fresh app id, and cleanup of worker-made topics."""
    app_id = f"test-{uuid.uuid4().hex[:10]}"
    setup = StreamSetup(
        bootstrap=kafka_bootstrap,
        app_id=app_id,
        alerts=unique_topic(prefix="alerts"),
        incidents=unique_topic(prefix="incidents"),
        dlq=unique_topic(prefix="dlq"),
        topology=unique_topic(prefix="topology"),
        repartition=f"{app_id}-by-domain",
        snapshots=f"{app_id}-snapshots",
        tmp=tmp_path,
    )
    # Topics of newer worker features get fresh names too, when the settings know them.
    topic_fields = WorkerSettings.model_fields["topics"].annotation.model_fields  # type: ignore[union-attr]
    if "changes" in topic_fields:
        setup.changes = f"{app_id}-changes"
    if "deploy_gate" in topic_fields:
        setup.deploy_gate = f"{app_id}-deploy-gate"
    yield setup
    leftovers = [setup.repartition, setup.snapshots, f"{app_id}-__assignor-__leader"]
    leftovers += [t for t in (setup.changes, setup.deploy_gate) if t]
    with contextlib.suppress(KafkaError):
        existing = set(kafka_admin.list_topics())
        doomed = [t for t in leftovers if t in existing]
        if doomed:
            kafka_admin.delete_topics(doomed, timeout_ms=15000)


@pytest.fixture
def start_worker(stream_setup: StreamSetup) -> Iterator[Callable[..., WorkerProcess]]:
    """Factory: ``start_worker(name, topology=None, **settings overrides)``; all stopped after."""
    started: list[WorkerProcess] = []

    def start(
        name: str = "worker", *, topology: Path | None = None, **overrides: Any
    ) -> WorkerProcess:
        config, port = stream_setup.write_config(name, **overrides)
        worker = WorkerProcess(config, port, stream_setup.tmp / f"{name}.log", topology=topology)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop(signal.SIGKILL if worker.proc.poll() is None else signal.SIGTERM, timeout_s=5)


def storm_lines(path: Path) -> list[bytes]:
    return [line.rstrip(b"\r\n") for line in path.read_bytes().splitlines() if line.strip()]


def simulate_storm(tmp: Path, *, seed: int, duration_min: float = 30.0) -> tuple[list[bytes], Path]:
    """A storm from the project's simulator on the shop topology: (lines, topology file)."""
    true_topology = load_topology(REPO / "configs" / "topology.yaml")
    storm = simulate(true_topology, "mixed", seed=seed, duration_min=duration_min)
    lines = storm.lines()
    topo_path = tmp / "given-topology.json"
    topo_path.write_bytes(orjson.dumps(storm.given_topology.to_node_link()))
    return lines, topo_path


def kill_signal(name: str) -> int:
    return {"term": signal.SIGTERM, "kill": signal.SIGKILL}[name]
