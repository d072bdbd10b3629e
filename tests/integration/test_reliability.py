"""Reliability under faults, storms and bad input, against the real broker.

Every test injects one fault, stops by itself within its timeout, and compares the final
incidents (newest version per id, merged left out, as the reference subscriber holds
them) with ``correlator replay`` on the same input. Short forms run in CI; the ``slow``
variants and ``bench/reliability.py`` run more and bigger (sizes from environment
variables, see :mod:`tests.integration.reliability_support`). Figures are reported to
``CORRELATOR_RELIABILITY_REPORT`` when it is set.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import KafkaError

from correlator.codecs import Rejection, decode
from correlator.config import EngineConfig
from correlator.replay import decode_options
from correlator.stream.envelope import H_DETAIL, H_REASON
from tests.integration import stream_fixtures
from tests.integration.conftest import SaslEndpoint
from tests.integration.reliability_support import (
    ENV_CHURN,
    ENV_RUNS,
    ENV_SEED,
    ENV_STORM,
    RSS_CAP_MIB,
    PrivateBroker,
    canonical_alert,
    churn_lines,
    divergence,
    env_int,
    event_times,
    incident_events,
    last_written_state,
    metric_sum,
    record_figures,
    repeat_report,
    rss_mib,
    shuffle_on_time,
    subscriber_state,
    version_regressions,
)
from tests.integration.stream_fixtures import (
    REPO,
    StreamSetup,
    WorkerProcess,
    free_port,
    produce,
    produce_paced,
    read_topic,
    replay_reference,
    simulate_storm,
    wait_for,
)
from topology import load_topology

pytestmark = pytest.mark.integration
stream_setup = stream_fixtures.stream_setup
start_worker = stream_fixtures.start_worker

#: A restart or hand-over must not look like an input pause to the engine.
SLOW_IDLE = {"idle_advance_after_s": 15.0}
SHOP = REPO / "configs" / "topology.yaml"


def _converge(
    setup: StreamSetup,
    expected: dict[str, dict[str, Any]],
    timeout_s: float,
    what: str,
    view: Callable[[list[dict[str, Any]]], dict[str, dict[str, Any]]] = subscriber_state,
) -> list[dict[str, Any]]:
    """Wait until the ``view`` of the incidents topic equals ``expected``; return its events."""
    box: list[list[dict[str, Any]]] = [[]]

    def check() -> bool:
        box[0] = incident_events(setup.bootstrap, setup.incidents)
        return view(box[0]) == expected

    try:
        wait_for(check, timeout_s, what, interval_s=1.0)
    except AssertionError:
        got = view(box[0])
        diff = sorted(i for i in set(got) & set(expected) if got[i] != expected[i])[:1]
        sample = [(got[i], expected[i]) for i in diff]
        raise AssertionError(f"{what}: {divergence(got, expected)} {sample}") from None
    return box[0]


def _lag_drains(worker: WorkerProcess, timeout_s: float = 30.0) -> float:
    start = time.monotonic()
    wait_for(
        lambda: (
            "correlator_consumer_lag" in worker.get("/metrics")[1].decode()
            and metric_sum(worker, "correlator_consumer_lag") == 0
        ),
        timeout_s,
        "consumer lag to drain",
        interval_s=0.5,
    )
    return time.monotonic() - start


# ---------------------------------------------------------------------------- R1 kill -9


def _kill_run(
    setup: StreamSetup,
    start: Callable[..., WorkerProcess],
    tmp: Path,
    *,
    seed: int,
    workers: int,
    kill_at: float,
    tag: str,
) -> None:
    lines, topo_path = simulate_storm(tmp, seed=seed, duration_min=45)
    expected = replay_reference(lines, load_topology(topo_path))
    procs = [start(f"{tag}-w{i}", topology=topo_path, stream=SLOW_IDLE) for i in range(workers)]
    for proc in procs:
        proc.wait_ready()
    cut = max(1, int(len(lines) * kill_at))
    produce(setup.bootstrap, setup.alerts, lines[:cut])
    victim = wait_for(
        lambda: next(
            (
                p
                for p in procs
                if p.metric("correlator_engine_alerts_total") > 0
                and p.metric("correlator_snapshots_total", '{result="written"}') >= 1
            ),
            None,
        ),
        30,
        "a worker to ingest alerts and snapshot",
    )
    rest = threading.Thread(
        target=produce_paced, args=(setup.bootstrap, setup.alerts, lines[cut:], 0.05)
    )
    rest.start()
    time.sleep(random.Random(seed).uniform(0.1, 1.0))
    killed_at = time.monotonic()
    victim.stop(signal.SIGKILL)
    replacement = start(f"{tag}-restarted", topology=topo_path, stream=SLOW_IDLE)
    replacement.wait_ready(60)
    rest.join(timeout=90)
    # KNOWN BUG (docs/reliability.md): the replacement re-derives versions from the snapshot
    # with other batch boundaries, so versions can go backwards and an (id, version) can be
    # re-used with other content. The newest *written* event per id (what compaction keeps)
    # is right; a subscriber that trusts versions may keep a stale one. Measured, not hidden.
    try:
        events = _converge(
            setup, expected, 90, "incidents after kill -9 to equal replay", last_written_state
        )
    except AssertionError as exc:
        probes = {
            name: replacement.metric(name)
            for name in ("correlator_engine_alerts_total", "correlator_ready")
        }
        probes["records_in"] = metric_sum(replacement, "correlator_records_in_total")
        probes["lag"] = metric_sum(replacement, "correlator_consumer_lag")
        raise AssertionError(f"{exc}\nreplacement: {probes}\n{replacement.tail(15)}") from None
    recovery_s = time.monotonic() - killed_at
    repeats, differing = repeat_report(events)
    regressions = version_regressions(events)
    by_version = divergence(subscriber_state(events), expected)
    sent = {a["fingerprint"] for line in lines for a in orjson.loads(line)["alerts"]}
    published = {a["fingerprint"] for e in events for a in e["alerts"]}
    assert sent <= published, f"alerts lost: {sorted(sent - published)[:5]}"
    survivors = [p for p in [*procs, replacement] if p.proc.poll() is None]
    drain_s = max(_lag_drains(p) for p in survivors)
    record_figures(
        "R1-kill-9",
        workers=workers,
        kill_at=round(kill_at, 2),
        incidents=len(expected),
        lost=0,
        divergent=0,
        duplicated_events=repeats,
        reused_versions_other_content=len(differing),
        version_regressions=regressions,
        version_subscriber_divergent=by_version["divergent"],
        recovery_s=round(recovery_s, 1),
        lag_drain_s=round(drain_s, 1),
        peak_rss_mib=round(max(rss_mib(p.proc.pid) for p in survivors), 1),
    )


@pytest.mark.timeout(180)
def test_r1_kill_9_mid_stream_loses_nothing(
    stream_setup: StreamSetup, start_worker: Callable[..., WorkerProcess], tmp_path: Path
) -> None:
    _kill_run(stream_setup, start_worker, tmp_path, seed=11, workers=1, kill_at=0.5, tag="r1")


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2], ids=["one-worker", "two-workers"])
@pytest.mark.timeout(1800)
def test_r1_long_kill_9_at_random_points(
    stream_setup: StreamSetup,
    start_worker: Callable[..., WorkerProcess],
    tmp_path: Path,
    kafka_admin: KafkaAdminClient,
    workers: int,
) -> None:
    runs = env_int(ENV_RUNS, 3)
    rng = random.Random(env_int(ENV_SEED, 7))
    for run in range(runs):
        # every run on fresh topics and a fresh app id
        setup = StreamSetup(
            bootstrap=stream_setup.bootstrap,
            app_id=f"{stream_setup.app_id}-{run}",
            alerts=f"{stream_setup.alerts}-{run}",
            incidents=f"{stream_setup.incidents}-{run}",
            dlq=f"{stream_setup.dlq}-{run}",
            topology=f"{stream_setup.topology}-{run}",
            repartition=f"{stream_setup.app_id}-{run}-by-domain",
            snapshots=f"{stream_setup.app_id}-{run}-snapshots",
            tmp=tmp_path,
        )
        kafka_admin.create_topics(
            [
                NewTopic(t, num_partitions=1, replication_factor=1)
                for t in (setup.alerts, setup.incidents, setup.dlq, setup.topology)
            ]
        )
        started: list[WorkerProcess] = []
        (tmp_path / f"run{run}").mkdir()

        def start(name: str, *, topology: Path | None = None, **overrides: Any) -> WorkerProcess:
            config, port = setup.write_config(name, **overrides)  # noqa: B023
            proc = WorkerProcess(config, port, tmp_path / f"{name}.log", topology=topology)
            started.append(proc)  # noqa: B023
            return proc

        try:
            _kill_run(
                setup,
                start,
                tmp_path / f"run{run}",
                seed=100 + run,
                workers=workers,
                kill_at=rng.uniform(0.2, 0.8),
                tag=f"run{run}",
            )
        finally:
            for proc in started:
                proc.stop(signal.SIGKILL, timeout_s=5)


# ---------------------------------------------------------------------------- R2 broker restart


@pytest.mark.timeout(240)
def test_r2_broker_restart_is_survived_without_manual_action(
    stream_setup: StreamSetup, tmp_path: Path
) -> None:
    port = free_port()
    broker = PrivateBroker(tmp_path / "kafka", port, free_port())
    broker.up()
    worker: WorkerProcess | None = None
    try:
        setup = StreamSetup(
            bootstrap=broker.bootstrap,
            app_id=stream_setup.app_id,
            alerts="alerts",
            incidents="incidents",
            dlq="dlq",
            topology="topology",
            repartition=stream_setup.repartition,
            snapshots=stream_setup.snapshots,
            tmp=tmp_path,
        )
        admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
        admin.create_topics([NewTopic(t, 1, 1) for t in ("alerts", "incidents", "dlq", "topology")])
        admin.close()
        lines, topo_path = simulate_storm(tmp_path, seed=21, duration_min=45)
        expected = replay_reference(lines, load_topology(topo_path))
        config, web = setup.write_config("r2", stream=SLOW_IDLE)
        worker = WorkerProcess(config, web, tmp_path / "r2.log", topology=topo_path)
        worker.wait_ready(60)
        half = len(lines) // 2
        produce(broker.bootstrap, "alerts", lines[:half])
        wait_for(lambda: incident_events(broker.bootstrap, "incidents"), 30, "first incidents")
        stopped_at = time.monotonic()
        broker.down()
        wait_for(lambda: worker.readyz() is None, 60, "/readyz to report unready")
        unready_after_s = time.monotonic() - stopped_at
        restart_s = broker.up()
        wait_for(lambda: worker.readyz() is not None, 120, "/readyz to report ready again")
        recovery_s = time.monotonic() - stopped_at - restart_s
        assert worker.proc.poll() is None, "the worker must ride out a broker restart"
        produce(broker.bootstrap, "alerts", lines[half:])
        _converge(setup, expected, 90, "incidents after a broker restart to equal replay")
        record_figures(
            "R2-broker-restart",
            incidents=len(expected),
            lost=0,
            divergent=0,
            unready_after_s=round(unready_after_s, 1),
            broker_restart_s=round(restart_s, 1),
            ready_again_after_broker_s=round(recovery_s, 1),
            peak_rss_mib=round(rss_mib(worker.proc.pid), 1),
        )
    finally:
        if worker is not None:
            worker.stop(signal.SIGKILL, timeout_s=5)
        broker.down()


# ---------------------------------------------------------------------------- R3 duplicates


@pytest.mark.timeout(120)
def test_r3_every_record_delivered_two_to_five_times(
    stream_setup: StreamSetup, start_worker: Callable[..., WorkerProcess], tmp_path: Path
) -> None:
    lines, topo_path = simulate_storm(tmp_path, seed=31, duration_min=45)
    topo = load_topology(topo_path)
    expected = replay_reference(lines, topo)
    rng = random.Random(31)
    repeated = [line for line in lines for _ in range(rng.randint(2, 5))]
    extra_alerts = sum(len(orjson.loads(line)["alerts"]) for line in repeated) - sum(
        len(orjson.loads(line)["alerts"]) for line in lines
    )
    worker = start_worker("r3", topology=topo_path)
    worker.wait_ready()
    produce(stream_setup.bootstrap, stream_setup.alerts, repeated)
    events = _converge(stream_setup, expected, 60, "duplicated input to give replay's incidents")
    duplicates = worker.metric("correlator_engine_duplicates_total")
    assert duplicates >= extra_alerts // 2, "repeats are counted as duplicates"
    from correlator.stream.subscriber import IncidentView

    view = IncidentView()
    view.apply_all(events)
    counts = [a.get("count", 1) for e in view.current().values() for a in e["alerts"]]
    assert max(counts) >= 2, "duplicate counts show in incident members"
    record_figures(
        "R3-duplicates",
        records=len(repeated),
        unique_records=len(lines),
        incidents=len(expected),
        lost=0,
        divergent=0,
        duplicates_metric=duplicates,
        max_member_count=max(counts),
    )


# ---------------------------------------------------------------------------- R4 order, future


def _grouping(state: dict[str, dict[str, Any]]) -> Counter[tuple[Any, ...]]:
    """Every incident as (members, root cause, status), counted: ids left out."""
    return Counter(
        (tuple(sorted(m[0] for m in p["members"])), p["root_cause"], p["status"])
        for p in state.values()
    )


@pytest.mark.timeout(120)
def test_r4_shuffled_within_lateness_and_a_future_record_is_quarantined(
    stream_setup: StreamSetup, start_worker: Callable[..., WorkerProcess], tmp_path: Path
) -> None:
    lines, topo_path = simulate_storm(tmp_path, seed=41, duration_min=45)
    topology = load_topology(topo_path)
    expected = replay_reference(lines, topology)
    config = EngineConfig()
    lateness = config.allowed_lateness.total_seconds()
    shuffle = shuffle_on_time(
        lines, bucket_s=lateness / 2, lateness_s=lateness, seed=41, options=decode_options(config)
    )
    assert shuffle.moved >= 10, f"the shuffle must change the order ({shuffle.moved} moved)"
    # Offline first: the engine alone must not care about arrival order inside the lateness
    # (same groups, same ids), so a difference below is the stream path's.
    offline = replay_reference(shuffle.lines, topology)
    assert _grouping(offline) == _grouping(expected), "replay groups shuffled input differently"
    assert offline == expected, f"replay of shuffled input: {divergence(offline, expected)}"
    last = max(t for line in lines for t in event_times(line))
    service = sorted(topology.services)[0]
    future = canonical_alert("future-dated-0001", service, last + timedelta(hours=24))
    shuffled = list(shuffle.lines)
    shuffled.insert(len(shuffled) // 2, future)

    worker = start_worker("r4", topology=topo_path)
    worker.wait_ready()
    produce(stream_setup.bootstrap, stream_setup.alerts, shuffled)
    # Exactly the in-order incidents: same ids, members, root causes, statuses and times.
    events = _converge(stream_setup, expected, 60, "shuffled input to give the in-order incidents")
    letters = wait_for(
        lambda: read_topic(stream_setup.bootstrap, stream_setup.dlq), 20, "the future record"
    )
    assert [r.headers[H_REASON] for r in letters] == [b"future"]
    assert b"future-dated-0001" in (letters[0].value or b"")
    assert worker.metric("correlator_rejected_records_total", '{reason="future"}') == 1
    have, need = _grouping(subscriber_state(events)), _grouping(expected)
    record_figures(
        "R4-order-future",
        records=len(shuffled),
        moved=shuffle.moved,
        incidents=len(expected),
        lost=sum((need - have).values()),
        extra_incidents_same_group=sum((have - need).values()),
        divergent=divergence(subscriber_state(events), expected)["divergent"],
        future_quarantined=1,
    )


# ---------------------------------------------------------------------------- R5 poison


def _nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


POISON: list[tuple[str, bytes]] = [
    ("invalid-utf8", b'{"fingerprint": "\xff\xfe", "status": "firing"}'),
    ("invalid-json", b'{"version": "4", "alerts": [}'),
    ("wrong-types", orjson.dumps({"version": 4, "status": 1, "alerts": "none"})),
    ("nested-10000", _nested(10_000)),
    ("empty", b""),
    ("unknown-shape", orjson.dumps({"hello": ["world", 1, None]})),
    # close to the broker's default message.max.bytes (1 MiB incl. overhead)
    ("largest-kafka-accepts", orjson.dumps({"blob": "x" * 1_000_000})),
]


@pytest.mark.timeout(150)
def test_r5_poison_records_are_dead_lettered_and_the_rest_flows(
    stream_setup: StreamSetup,
    start_worker: Callable[..., WorkerProcess],
    kafka_admin: KafkaAdminClient,
    tmp_path: Path,
) -> None:
    lines, topo_path = simulate_storm(tmp_path, seed=51, duration_min=45)
    expected = replay_reference(lines, load_topology(topo_path))
    worker = start_worker("r5", topology=topo_path)
    worker.wait_ready()

    # 10 MiB: the producer (1 MiB max request) or the broker refuses it ...
    huge = b'{"blob": "' + b"y" * (10 * 1024 * 1024) + b'"}'
    producer = KafkaProducer(
        bootstrap_servers=stream_setup.bootstrap, max_request_size=16 * 1024 * 1024
    )
    try:
        with pytest.raises(KafkaError):
            producer.send(stream_setup.alerts, huge).get(timeout=30)
    finally:
        producer.close()
    # ... and the HTTP ingest answers 413 instead of passing it on.
    status, body = worker.post("/api/v1/alerts", huge)
    assert status == 413, body

    stream: list[bytes] = []
    bad_at: list[int] = []
    every = max(1, len(lines) // (len(POISON) + 1))
    poison = iter(POISON)
    for i, line in enumerate(lines):
        stream.append(line)
        if i % every == every - 1 and (nxt := next(poison, None)) is not None:
            bad_at.append(len(stream))
            stream.append(nxt[1])
    for _, rest in poison:
        bad_at.append(len(stream))
        stream.append(rest)
    sent_at = time.monotonic()
    produce(stream_setup.bootstrap, stream_setup.alerts, stream)
    letters = wait_for(
        lambda: (
            ((r := read_topic(stream_setup.bootstrap, stream_setup.dlq)) and len(r) >= len(POISON))
            and r
        ),
        30,
        f"{len(POISON)} dead letters",
    )
    dlq_s = time.monotonic() - sent_at
    assert len(letters) == len(POISON)
    options = decode_options(EngineConfig())
    for letter, offset in zip(letters, bad_at, strict=True):
        want = decode(stream[offset], options)
        assert isinstance(want, Rejection)
        assert letter.headers[H_REASON].decode() == want.reason.value
        assert letter.headers[H_DETAIL]
        assert letter.value == stream[offset]
    _converge(stream_setup, expected, 60, "valid records around poison to equal replay")
    committed = wait_for(
        lambda: next(
            (
                o.offset
                for tp, o in kafka_admin.list_group_offsets(stream_setup.app_id)[
                    stream_setup.app_id
                ].items()
                if tp.topic == stream_setup.alerts and o.offset >= len(stream)
            ),
            None,
        ),
        30,
        "the committed offset to pass every poison record",
    )
    assert committed == len(stream)
    assert worker.proc.poll() is None, "poison must never stop the worker"
    record_figures(
        "R5-poison",
        poison_records=len(POISON),
        dead_lettered=len(letters),
        dlq_within_s=round(dlq_s, 1),
        incidents=len(expected),
        lost=0,
        divergent=0,
        http_10mib_status=status,
    )


# ---------------------------------------------------------------------------- R6 storm, R8 churn


def _sampler(pid: int, peak: list[float], stop: threading.Event) -> None:
    while not stop.is_set():
        peak[0] = max(peak[0], rss_mib(pid))
        time.sleep(0.2)


def _storm_run(
    setup: StreamSetup,
    worker: WorkerProcess,
    lines: list[bytes],
    *,
    steady: int,
) -> dict[str, Any]:
    """Steady trickle first, then the rest as fast as the producer goes."""
    peak = [0.0]
    stop = threading.Event()
    sampler = threading.Thread(target=_sampler, args=(worker.proc.pid, peak, stop))
    sampler.start()
    try:
        t0 = time.monotonic()
        produce_paced(setup.bootstrap, setup.alerts, lines[:steady], 0.02)
        steady_rate = steady / (time.monotonic() - t0)
        t1 = time.monotonic()
        produce(setup.bootstrap, setup.alerts, lines[steady:])
        storm_rate = (len(lines) - steady) / (time.monotonic() - t1)
        decoded = sum(1 for _ in lines)
        wait_for(
            lambda: (
                worker.metric("correlator_records_in_total", f'{{topic="{setup.alerts}"}}')
                >= decoded
            ),
            240,
            "the storm to be consumed",
            interval_s=0.5,
        )
        drain_s = _lag_drains(worker, 120)
    finally:
        stop.set()
        sampler.join()
    return {
        "steady_rate": round(steady_rate),
        "storm_rate": round(storm_rate),
        "peak_rss_mib": round(peak[0], 1),
        "lag_drain_s": round(drain_s, 1),
    }


def _assignments(worker: WorkerProcess) -> int:
    log = worker.log.read_text(errors="replace")
    return log.count("Executing _on_partitions_assigned")


@pytest.mark.parametrize(
    "size",
    [
        pytest.param(2000, id="short"),
        pytest.param(env_int(ENV_STORM, 50_000), id="long", marks=pytest.mark.slow),
    ],
)
@pytest.mark.timeout(900)
def test_r6_storm_at_100x_steady_rate(
    stream_setup: StreamSetup,
    start_worker: Callable[..., WorkerProcess],
    size: int,
) -> None:
    topo = load_topology(SHOP)
    services = sorted(topo.services)
    # one new fingerprint per 30 s of event time: bursts stay separate incidents
    lines = churn_lines(services, size, seed=61, hours=size / 120)
    expected = replay_reference(lines, topo)
    worker = start_worker("r6", topology=SHOP)
    worker.wait_ready()
    assigned_before = _assignments(worker)
    assert assigned_before >= 1, "the log must show the start-up assignment"
    figures = _storm_run(stream_setup, worker, lines, steady=50)
    assert worker.proc.poll() is None
    assert figures["storm_rate"] >= 50 * figures["steady_rate"], figures
    assert figures["peak_rss_mib"] < RSS_CAP_MIB, figures
    _converge(stream_setup, expected, 120, "storm incidents to follow replay")
    assert _assignments(worker) - assigned_before <= 1, "no rebalance storm"
    assert worker.metric("correlator_ready") == 1
    record_figures(
        f"R6-storm-{size}",
        records=len(lines),
        incidents=len(expected),
        lost=0,
        divergent=0,
        **figures,
    )


def _snapshot_bytes(setup: StreamSetup) -> int:
    records = read_topic(setup.bootstrap, setup.snapshots, idle_ms=500)
    return len(records[-1].value or b"") if records else 0


@pytest.mark.parametrize(
    "count",
    [
        pytest.param(10_000, id="short"),
        pytest.param(env_int(ENV_CHURN, 200_000), id="long", marks=pytest.mark.slow),
    ],
)
@pytest.mark.timeout(900)
def test_r8_fingerprint_churn_plateaus(
    stream_setup: StreamSetup, start_worker: Callable[..., WorkerProcess], count: int
) -> None:
    topo = load_topology(SHOP)
    # 400 fingerprints per hour of event time: the run spans far more than every window
    lines = churn_lines(sorted(topo.services), count, seed=81, hours=count / 400)
    worker = start_worker("r8", topology=SHOP)
    worker.wait_ready()
    topic_label = f'{{topic="{stream_setup.alerts}"}}'
    samples: list[tuple[float, int, float]] = []
    quarter = len(lines) // 4
    for q in range(4):
        chunk = lines[q * quarter : (q + 1) * quarter if q < 3 else len(lines)]
        produce(stream_setup.bootstrap, stream_setup.alerts, chunk)
        done = q * quarter + len(chunk)

        def consumed(d: int = done) -> bool:
            return worker.metric("correlator_records_in_total", topic_label) >= d

        wait_for(
            consumed,
            240,
            f"quarter {q + 1} to be consumed",
            interval_s=0.5,
        )
        time.sleep(2.5)  # a snapshot interval or two
        samples.append(
            (
                rss_mib(worker.proc.pid),
                _snapshot_bytes(stream_setup),
                worker.metric("correlator_open_incidents"),
            )
        )
    rss = [s[0] for s in samples]
    snaps = [s[1] for s in samples]
    assert rss[-1] <= rss[1] * 1.25 + 40, samples
    assert max(rss) < RSS_CAP_MIB, samples
    record_figures(
        f"R8-churn-{count}",
        fingerprints=count,
        records=len(lines),
        rss_mib_per_quarter=[round(r, 1) for r in rss],
        snapshot_bytes_per_quarter=snaps,
        open_incidents_per_quarter=[s[2] for s in samples],
        peak_rss_mib=round(max(rss), 1),
    )
    # After the first half, state must stop growing with the fingerprints seen. KNOWN BUG
    # (docs/reliability.md, R8): the snapshot grows linearly; reported as xfail, not hidden.
    if snaps[-1] > 2 * max(*snaps[:2], 65536):
        pytest.xfail(f"engine snapshot grows with fingerprints seen: {snaps} bytes per quarter")


# ---------------------------------------------------------------------------- R7 bad topology


@pytest.mark.timeout(120)
def test_r7_invalid_topology_during_traffic_keeps_the_old_one_without_a_gap(
    stream_setup: StreamSetup, start_worker: Callable[..., WorkerProcess], tmp_path: Path
) -> None:
    lines, topo_path = simulate_storm(tmp_path, seed=71, duration_min=45)
    expected = replay_reference(lines, load_topology(topo_path))
    worker = start_worker("r7", topology=topo_path, stream=SLOW_IDLE)
    worker.wait_ready()
    half = len(lines) // 2
    rest = threading.Thread(
        target=produce_paced, args=(stream_setup.bootstrap, stream_setup.alerts, lines, 0.03)
    )
    rest.start()
    wait_for(
        lambda: worker.metric("correlator_engine_alerts_total") >= half // 2,
        30,
        "traffic to flow",
    )
    broken = orjson.dumps({"nodes": "oops", "edges": 3})
    produce(stream_setup.bootstrap, stream_setup.topology, [broken, b"{not json"])
    wait_for(
        lambda: worker.metric("correlator_topology_reloads_total", '{result="rejected"}') >= 2,
        20,
        "both broken topologies to be rejected",
    )
    rest.join(timeout=60)
    _converge(stream_setup, expected, 60, "incidents across a rejected topology")
    log = worker.log.read_text(errors="replace")
    assert "rejected topology" in log
    assert worker.metric("correlator_ready") == 1
    assert worker.proc.poll() is None
    record_figures("R7-bad-topology", incidents=len(expected), lost=0, divergent=0, rejected=2)


# ---------------------------------------------------------------------------- security


def _cli(args: list[str], env: dict[str, str], timeout_s: float) -> tuple[int, str, float]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("CORRELATOR_")}
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "correlator.cli", *args],
        cwd=REPO,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr, time.monotonic() - start


@pytest.mark.parametrize(
    "command",
    [["produce", "-"], ["tail", "--from-beginning", "--idle-exit", "2"]],
    ids=["produce", "tail"],
)
@pytest.mark.timeout(60)
def test_wrong_sasl_password_fails_fast_and_clearly(
    stream_setup: StreamSetup, kafka_sasl: SaslEndpoint, command: list[str]
) -> None:
    wrong = "canary-wrong-" + kafka_sasl.password
    config, _ = stream_setup.write_config(
        "bad",
        kafka={
            "bootstrap_servers": kafka_sasl.bootstrap,
            "security_protocol": "SASL_PLAINTEXT",
            "sasl_mechanism": "PLAIN",
            "sasl_username": kafka_sasl.username,
        },
    )
    code, output, took = _cli(
        [*command, "--config", str(config)],
        {"CORRELATOR_KAFKA__SASL_PASSWORD": wrong},
        timeout_s=45,
    )
    assert code != 0, output
    assert "correlator: error:" in output, output[-2000:]
    assert "Traceback" not in output, output[-2000:]
    assert wrong not in output
    assert took < 30, f"took {took:.1f} s (unbounded kafka-python: ~35 s)"
    errors = [line for line in output.splitlines() if line.startswith("correlator: error:")]
    record_figures(
        "SASL-wrong-password",
        command=command[0],
        exit_code=code,
        took_s=round(took, 1),
        traceback=False,
        password_printed=False,
        message=errors[0] if errors else output.strip().splitlines()[-1],
    )


@pytest.mark.timeout(90)
def test_sasl_password_never_leaks_into_http_answers(
    stream_setup: StreamSetup, kafka_sasl: SaslEndpoint, tmp_path: Path
) -> None:
    lines, topo_path = simulate_storm(tmp_path, seed=91, duration_min=20)
    config, port = stream_setup.write_config(
        "canary",
        kafka={
            "bootstrap_servers": kafka_sasl.bootstrap,
            "security_protocol": "SASL_PLAINTEXT",
            "sasl_mechanism": "PLAIN",
            "sasl_username": kafka_sasl.username,
            "startup_timeout_s": 15,
        },
    )
    worker = WorkerProcess(
        config,
        port,
        tmp_path / "canary.log",
        topology=topo_path,
        env={"CORRELATOR_KAFKA__SASL_PASSWORD": kafka_sasl.password},
    )
    try:
        worker.wait_ready()
        produce(stream_setup.bootstrap, stream_setup.alerts, lines)
        wait_for(
            lambda: metric_sum(worker, "correlator_incident_events_total") > 0,
            40,
            "incidents",
        )
        answers = b"".join(
            worker.get(path)[1] for path in ("/metrics", "/incidents", "/readyz", "/livez", "/nope")
        )
        status, bad = worker.post("/api/v1/alerts", b"{")
    finally:
        worker.stop()
    secret = kafka_sasl.password.encode()
    assert secret not in answers
    assert status == 400 and secret not in orjson.dumps(bad)
    assert kafka_sasl.password not in worker.log.read_text(errors="replace")
    record_figures(
        "SASL-canary",
        checked=["log", "/metrics", "/incidents", "/readyz", "/livez", "404", "400"],
        leaked=0,
    )
