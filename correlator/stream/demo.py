"""``correlator demo``: watch a real alert storm collapse into a few incidents, on real Kafka.

It uses the same pieces an operator would: a local broker (started only if none answers,
and stopped again afterwards), a ``correlator worker`` subprocess, the bundled storm
produced record by record, and the incidents topic read back as it fills. Topic names
are fresh for every run, so earlier runs never leak into the picture.

The bundled storm (``correlator/data/demo-alerts.jsonl``) was made by the simulator on
the sample shop topology; :func:`write_demo_data` regenerates it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import yaml
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition

from correlator.errors import CorrelatorError
from correlator.stream import local_kafka
from correlator.stream.envelope import EnvelopeError, parse_incident_record
from correlator.stream.tail import format_incident

__all__ = ["DEMO_ALERTS", "DEMO_TOPOLOGY", "run_demo", "write_demo_data"]

DATA = Path(__file__).resolve().parents[1] / "data"
DEMO_ALERTS = DATA / "demo-alerts.jsonl"
DEMO_TOPOLOGY = DATA / "demo-topology.json"
DEMO_SEED = 42
READY_TIMEOUT_S = 90.0
QUIET_AFTER_INPUT_S = 15.0
MAX_TAIL_S = 180.0


def write_demo_data(out_dir: Path = DATA, *, seed: int = DEMO_SEED) -> None:
    """Regenerate the bundled storm and the topology the engine is given for it."""
    from correlator.simulate import simulate  # only needed to regenerate
    from topology import load_topology

    shop = load_topology(Path(__file__).resolve().parents[2] / "configs" / "topology.yaml")
    storm = simulate(shop, "mixed", seed=seed, duration_min=60, cascades=6)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / DEMO_ALERTS.name).write_bytes(b"".join(line + b"\n" for line in storm.lines()))
    (out_dir / DEMO_TOPOLOGY.name).write_bytes(
        orjson.dumps(storm.given_topology.to_node_link(), option=orjson.OPT_INDENT_2) + b"\n"
    )


@dataclass
class _Demo:
    bootstrap: str
    rate: float
    web_port: int
    alerts: Path
    topology: Path
    tmp: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="correlator-demo-")))
    suffix: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    started_broker: local_kafka.LocalKafkaConfig | None = None
    worker: subprocess.Popen[bytes] | None = None
    events: int = 0
    incidents: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def topics(self) -> dict[str, str]:
        base = f"demo-{self.suffix}"
        return {
            "alerts": f"{base}-alerts",
            "incidents": f"{base}-incidents",
            "dlq": f"{base}-alerts.dlq",
            "topology": f"{base}-topology",
            "changes": f"{base}-changes",
            "deploy_gate": f"{base}-deploy-gate",
            "repartition": f"{base}-by-domain",
            "snapshots": f"{base}-snapshots",
        }

    @property
    def app_id(self) -> str:
        return f"correlator-demo-{self.suffix}"


def _say(text: str) -> None:
    print(text, flush=True)


def _ensure_broker(demo: _Demo) -> None:
    host, _, port_text = demo.bootstrap.rpartition(":")
    port = int(port_text) if port_text.isdigit() else -1
    if host in {"127.0.0.1", "localhost"} and local_kafka.probe(port, timeout_s=1.0) is None:
        _say(f"No Kafka at {demo.bootstrap}: starting a local broker (first run downloads it) ...")
        config = local_kafka.LocalKafkaConfig(port=port, controller_port=port + 1)
        local_kafka.up(config)
        demo.started_broker = config


def _start_worker(demo: _Demo) -> Path:
    settings = {
        "app_id": demo.app_id,
        "kafka": {"bootstrap_servers": demo.bootstrap},
        "topics": demo.topics,
        # Replaying an hour of history: once input stops, let idle time run 20x faster
        # so that the last incidents close within seconds rather than minutes.
        "stream": {"idle_advance_after_s": 3, "idle_time_scale": 20, "snapshot_interval_s": 5},
        "web": {"host": "127.0.0.1", "port": demo.web_port},
        "log_level": "WARNING",
    }
    config = demo.tmp / "worker.yaml"
    config.write_text(yaml.safe_dump(settings))
    log = demo.tmp / "worker.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CORRELATOR_")}
    demo.worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "correlator.cli",
            "worker",
            "--config",
            str(config),
            "--topology",
            str(demo.topology),
        ],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    return log


def _wait_ready(demo: _Demo, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    url = f"http://127.0.0.1:{demo.web_port}/readyz"
    assert demo.worker is not None
    while time.monotonic() < deadline:
        if demo.worker.poll() is not None:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
            raise CorrelatorError(f"the worker exited during start-up:\n{tail}")
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as response:
            if response.status == 200:
                return
        time.sleep(0.5)
    raise CorrelatorError(f"the worker was not ready within {READY_TIMEOUT_S:.0f} s (log: {log})")


def _produce(demo: _Demo, lines: list[bytes], done: threading.Event) -> None:
    producer = KafkaProducer(bootstrap_servers=demo.bootstrap, acks="all", linger_ms=5)
    try:
        interval = 1.0 / demo.rate
        for line in lines:
            if done.is_set():
                break
            producer.send(demo.topics["alerts"], line)
            producer.flush()
            time.sleep(interval)
    finally:
        producer.close()
        done.set()


def _show(demo: _Demo, value: bytes | None) -> None:
    try:
        event = parse_incident_record(value)
    except EnvelopeError:
        return
    demo.events += 1
    data = event["data"]
    demo.incidents[str(data["id"])] = data
    print(format_incident(event, color=True), flush=True)


def _tail(demo: _Demo, produced: threading.Event) -> None:
    consumer = KafkaConsumer(
        bootstrap_servers=demo.bootstrap, group_id=None, enable_auto_commit=False
    )
    try:
        tp = TopicPartition(demo.topics["incidents"], 0)
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        started = time.monotonic()
        quiet_since: float | None = None
        while time.monotonic() - started < MAX_TAIL_S:
            batches = consumer.poll(timeout_ms=500)
            for records in batches.values():
                for record in records:
                    _show(demo, record.value)
            if batches:
                quiet_since = None
            elif produced.is_set():
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since >= QUIET_AFTER_INPUT_S:
                    return
    finally:
        consumer.close()


def _summary(demo: _Demo, records: int) -> None:
    seen = len(demo.incidents)
    live = {i: d for i, d in demo.incidents.items() if d.get("status") != "merged"}
    unique = len({a["fingerprint"] for d in live.values() for a in d.get("alerts", [])})
    _say("")
    _say(
        f"{records} alert records -> {unique} distinct alerts -> {len(live)} incidents "
        f"({demo.events} incident events, {seen - len(live)} merged away)"
    )
    for data in sorted(live.values(), key=lambda d: str(d.get("opened_at"))):
        root = (data.get("root_cause") or {}).get("service", "?")
        services = [*data.get("services", []), *data.get("unknown_services", [])]
        _say(
            f"  {data['id']}  {data['status']:<8} root cause {root:<22} "
            f"{len(data.get('alerts', []))} alerts on {', '.join(services)}"
        )


def _cleanup(demo: _Demo) -> None:
    if demo.worker is not None and demo.worker.poll() is None:
        _say("stopping the worker ...")
        demo.worker.send_signal(signal.SIGTERM)
        try:
            demo.worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            demo.worker.kill()
            demo.worker.wait(timeout=10)
    with contextlib.suppress(Exception):
        admin = KafkaAdminClient(bootstrap_servers=demo.bootstrap)
        try:
            existing = set(admin.list_topics())
            doomed = [
                t
                for t in (*demo.topics.values(), f"{demo.app_id}-__assignor-__leader")
                if t in existing
            ]
            if doomed:
                admin.delete_topics(doomed, timeout_ms=15_000)
        finally:
            admin.close()
    if demo.started_broker is not None:
        _say("stopping the local Kafka broker started for the demo ...")
        with contextlib.suppress(local_kafka.LocalKafkaError):
            local_kafka.down(demo.started_broker)


def run_demo(
    *,
    bootstrap: str | None = None,
    rate: float = 10.0,
    web_port: int = 6066,
    alerts_file: str | None = None,
    topology_file: str | None = None,
) -> int:
    """Run the demo end to end; returns an exit code. Ctrl-C stops it cleanly."""
    demo = _Demo(
        bootstrap=bootstrap or os.environ.get(local_kafka.ENV_BOOTSTRAP, "127.0.0.1:9092"),
        rate=rate,
        web_port=web_port,
        alerts=Path(alerts_file) if alerts_file else DEMO_ALERTS,
        topology=Path(topology_file) if topology_file else DEMO_TOPOLOGY,
    )
    try:
        lines = [line for line in demo.alerts.read_bytes().splitlines() if line.strip()]
    except OSError as exc:
        raise CorrelatorError(f"cannot read {demo.alerts}: {exc.strerror}") from None
    produced = threading.Event()
    try:
        _ensure_broker(demo)
        log = _start_worker(demo)
        _say(f"starting a worker (log: {log}) ...")
        _wait_ready(demo, log)
        _say(
            f"worker ready; replaying {len(lines)} alert records at {rate:g}/s "
            f"(metrics: http://127.0.0.1:{web_port}/metrics)\n"
        )
        producer = threading.Thread(target=_produce, args=(demo, lines, produced), daemon=True)
        producer.start()
        _tail(demo, produced)
        _summary(demo, len(lines))
        return 0
    except KeyboardInterrupt:
        _say("\ninterrupted")
        return 130
    finally:
        produced.set()
        _cleanup(demo)
