"""Second stage without Kafka: batching, redelivery and snapshot/restore never change the result."""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from correlator.config import EngineConfig
from correlator.errors import SnapshotError
from correlator.incident import IncidentEvent
from correlator.replay import replay_lines
from correlator.simulate import simulate
from correlator.stream.router import RawRecord, Router
from correlator.stream.runner import PartitionRunner, SnapshotHeader, pack_snapshot, unpack_snapshot
from tests.helpers import topo
from topology import Topology, load_topology

REPO = Path(__file__).resolve().parents[3]
CONFIG = EngineConfig()


def _final(events: Iterable[Mapping[str, Any]]) -> dict[str, tuple[Any, ...]]:
    last: dict[str, Mapping[str, Any]] = {}
    for e in events:
        if e["id"] not in last or e["version"] >= last[e["id"]]["version"]:
            last[e["id"]] = e
    return {
        i: (
            e["status"],
            sorted((a["fingerprint"], a["status"]) for a in e["alerts"]),
            (e["root_cause"] or {}).get("service"),
            e["opened_at"],
            e["resolved_at"],
        )
        for i, e in sorted(last.items())
        if e["status"] != "merged"
    }


def _storm(seed: int) -> tuple[list[bytes], Topology]:
    storm = simulate(
        load_topology(REPO / "configs" / "topology.yaml"), "mixed", seed=seed, duration_min=40
    )
    return storm.lines(), storm.given_topology


def _routed(lines: list[bytes], topology: Topology) -> list[tuple[int, bytes]]:
    """The repartition records the first stage writes for these lines, with offsets."""
    router = Router(topology, CONFIG, partitions=1, max_domain_size=200)
    records = [
        RawRecord("alerts", 0, i, 1_790_000_000_000 + i, None, v) for i, v in enumerate(lines)
    ]
    out: list[tuple[int, bytes]] = []
    for start in range(0, len(records), 7):  # first-stage batches of 7 input records
        out.extend(
            (len(out) + k, value)
            for k, (_, value) in enumerate(router.route(records[start : start + 7]).routed)
        )
    return out


def _drive(
    routed: list[tuple[int, bytes]],
    topology: Topology,
    rng: random.Random,
    *,
    restarts: bool,
    redeliver: bool,
) -> list[dict[str, Any]]:
    events: list[IncidentEvent] = []
    runner = PartitionRunner("routed", 0, topology, CONFIG, now=0.0)
    snapshot = runner.take_snapshot(now_ms=0)
    position = 0
    now = 0.0
    while position < len(routed):
        size = rng.randint(1, 9)
        batch = routed[position : position + size]
        if redeliver and position and rng.random() < 0.3:
            batch = routed[max(0, position - rng.randint(1, 4)) : position] + batch  # at-least-once
        now += 0.01
        events.extend(runner.process(batch, now=now).events)
        position += size
        if rng.random() < 0.25:
            snapshot = runner.take_snapshot(now_ms=int(now * 1000))
        if restarts and rng.random() < 0.2:
            # Crash: state since the last snapshot is lost; input is re-read from its offset.
            runner = PartitionRunner("routed", 0, topology, CONFIG, now=now)
            header = runner.restore(snapshot, now=now)
            position = header.next_offset
    events.extend(runner.idle_tick(now=now + 30, idle_after_s=5, time_scale=60))
    return [e.to_dict() for e in events]


@pytest.mark.parametrize("seed", [1, 2, 3], ids=["seed1", "seed2", "seed3"])
@pytest.mark.parametrize(
    ("restarts", "redeliver"),
    [(False, False), (False, True), (True, False), (True, True)],
    ids=["batches", "redelivery", "restarts", "restarts+redelivery"],
)
def test_runner_reaches_the_replay_result_however_input_is_batched_redelivered_or_restored(
    seed: int, restarts: bool, redeliver: bool
) -> None:
    lines, topology = _storm(seed)
    expected = _final(replay_lines(lines, topology, CONFIG).events)
    got = _final(
        _drive(
            _routed(lines, topology),
            topology,
            random.Random(seed),
            restarts=restarts,
            redeliver=redeliver,
        )
    )
    assert got == expected


def test_alerts_routed_twice_after_a_first_stage_restart_are_ingested_once() -> None:
    lines, topology = _storm(4)
    routed = _routed(lines, topology)
    # The first stage crashed after writing the first 5 records and re-routed them.
    doubled = routed[:5] + [(len(routed) + i, value) for i, (_, value) in enumerate(routed)]
    runner = PartitionRunner("routed", 0, topology, CONFIG, now=0.0)
    skipped = runner.process(doubled, now=1.0).skipped_alerts
    reference = PartitionRunner("routed", 0, topology, CONFIG, now=0.0)
    reference.process(routed, now=1.0)
    assert skipped > 0
    assert runner.engine.stats.to_dict() == reference.engine.stats.to_dict()


def test_idle_time_advances_event_time_by_elapsed_wall_time_only_after_the_pause() -> None:
    lines, topology = _storm(2)
    runner = PartitionRunner("routed", 0, topology, CONFIG, now=100.0)
    runner.process(_routed(lines, topology), now=100.0)
    watermark = runner.engine.watermark
    assert watermark is not None
    assert runner.idle_tick(now=103.0, idle_after_s=5) == []
    assert runner.engine.watermark == watermark, "no advance before the pause is long enough"
    runner.idle_tick(now=160.0, idle_after_s=5)
    assert runner.engine.watermark == watermark + timedelta(seconds=60)
    runner.idle_tick(now=170.0, idle_after_s=5, time_scale=10)
    assert runner.engine.watermark == watermark + timedelta(seconds=700)


def test_an_empty_runner_never_advances() -> None:
    runner = PartitionRunner("routed", 0, topo({"a": []}), CONFIG, now=0.0)
    assert runner.idle_tick(now=1e6, idle_after_s=1) == []
    assert runner.engine.watermark is None


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (b"no header line", "no header line"),
        (b'{"format": 9}\n{}', "unsupported snapshot record format 9"),
        (b'{"format": 1, "topic": "t"}\n{}', "bad snapshot header"),
        (
            pack_snapshot(
                SnapshotHeader(
                    topic="other", partition=0, next_offset=3, topology_version="v", taken_at_ms=0
                ),
                b"{}",
            ),
            "not routed[0]",
        ),
    ],
    ids=["no-header", "future-format", "missing-fields", "other-partition"],
)
def test_snapshots_that_do_not_fit_are_refused(value: bytes, fragment: str) -> None:
    runner = PartitionRunner("routed", 0, topo({"a": []}), CONFIG, now=0.0)
    with pytest.raises(SnapshotError, match=fragment.replace("[", r"\[").replace("]", r"\]")):
        runner.restore(value, now=0.0)


def test_snapshot_header_round_trips() -> None:
    header = SnapshotHeader(
        topic="t",
        partition=2,
        next_offset=41,
        topology_version="sha:1",
        taken_at_ms=5,
        origins={"alerts/0": (40, 3)},
    )
    assert unpack_snapshot(pack_snapshot(header, b"STATE")) == (header, b"STATE")


def test_an_engine_exception_is_contained_to_its_alert(monkeypatch: pytest.MonkeyPatch) -> None:
    lines, topology = _storm(3)
    routed = _routed(lines, topology)
    runner = PartitionRunner("routed", 0, topology, CONFIG, now=0.0)
    real_ingest = runner.engine.ingest
    calls = {"n": 0}

    def flaky(alert: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            raise ValueError("engine bug")
        return real_ingest(alert)

    monkeypatch.setattr(runner.engine, "ingest", flaky)
    outcome = runner.process(routed, now=1.0)
    assert [error for _, error in outcome.engine_errors] == ["ValueError: engine bug"]
    assert outcome.alerts == calls["n"]
    assert runner.next_offset == len(routed)


# ------------------------------------------------------------------ checkpoint budget

CHECKPOINT_CASES = {
    # name: (snapshot cost s, seconds after it, changed since, expected due)
    "unchanged state only acknowledges input: always due": (5.0, 0.0, False, True),
    "cheap snapshot: due after the interval": (0.1, 10.0, True, True),
    "cheap snapshot: not before the interval": (0.1, 9.9, True, False),
    "costly snapshot stretches the wait to cost / share": (2.0, 39.9, True, False),
    "costly snapshot: due once cost / share has passed": (2.0, 40.0, True, True),
}


@pytest.mark.parametrize("case", list(CHECKPOINT_CASES), ids=list(CHECKPOINT_CASES))
def test_checkpoint_due_keeps_snapshots_within_their_share_of_time(case: str) -> None:
    cost, after, changed, expected = CHECKPOINT_CASES[case]
    runner = PartitionRunner("routed", 0, topo({"a": []}), CONFIG, now=0.0)
    runner.changed_since_snapshot = True
    assert runner.checkpoint_due(now=0.0, interval_s=10.0, max_share=0.05)  # never snapshotted
    ticks = iter([100.0, 100.0 + cost])
    runner.take_snapshot(now_ms=0, clock=lambda: next(ticks))
    runner.changed_since_snapshot = changed
    due = runner.checkpoint_due(now=100.0 + cost + after, interval_s=10.0, max_share=0.05)
    assert due is expected
