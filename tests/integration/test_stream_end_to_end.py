"""A storm through a real worker on a real broker ends in the same incidents as a replay."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from correlator.stream.envelope import CE_CONTENT_TYPE, CE_TYPES
from tests.integration import stream_fixtures
from tests.integration.stream_fixtures import (
    StreamSetup,
    WorkerProcess,
    cloud_events,
    final_state,
    produce,
    project_all,
    read_topic,
    replay_reference,
    simulate_storm,
    wait_for,
)
from topology import load_topology

pytestmark = pytest.mark.integration
# Fixtures shared by the streaming tests (defined in stream_fixtures).
stream_setup = stream_fixtures.stream_setup
start_worker = stream_fixtures.start_worker


def _streamed_state(setup: StreamSetup) -> dict[str, dict[str, object]]:
    return project_all(
        final_state(e["data"] for e in cloud_events(read_topic(setup.bootstrap, setup.incidents)))
    )


@pytest.mark.parametrize("seed", [3, 7], ids=["storm-seed3", "storm-seed7"])
@pytest.mark.timeout(90)
def test_storm_through_kafka_equals_offline_replay(
    stream_setup: StreamSetup, start_worker: Callable[..., WorkerProcess], tmp_path: Path, seed: int
) -> None:
    lines, topo_path = simulate_storm(tmp_path, seed=seed, duration_min=45)
    expected = replay_reference(lines, load_topology(topo_path))
    assert len(expected) >= 3, "the storm should produce several incidents"

    # Input first, worker second: the worker catches up on a backlog, in batches.
    produce(stream_setup.bootstrap, stream_setup.alerts, lines)
    worker = start_worker("solo", topology=topo_path)
    worker.wait_ready()

    got = wait_for(
        lambda: (s := _streamed_state(stream_setup)) == expected and s,
        timeout_s=45,
        what="the streamed final incident state to equal the replay",
        interval_s=1.0,
    )
    assert sorted(got) == sorted(expected)

    records = read_topic(stream_setup.bootstrap, stream_setup.incidents)
    for record in records:
        assert record.value is not None
        event = orjson.loads(record.value)
        data = event["data"]
        assert record.headers["content-type"].decode() == CE_CONTENT_TYPE
        assert record.key == data["id"].encode()
        assert event["specversion"] == "1.0"
        assert event["id"] == f"{data['id']}:{data['version']}"
        assert event["subject"] == data["id"]
        assert event["type"] == CE_TYPES[data["status"]]
        assert event["datacontenttype"] == "application/json"
    versions: dict[str, list[int]] = {}
    for record in records:
        data = orjson.loads(record.value or b"{}")["data"]
        versions.setdefault(data["id"], []).append(data["version"])
    for incident, seen in versions.items():
        assert seen == sorted(seen), f"versions of {incident} out of order: {seen}"

    assert worker.metric(
        "correlator_records_in_total", f'{{topic="{stream_setup.alerts}"}}'
    ) == len(lines)
    assert worker.metric("correlator_snapshots_total", '{result="written"}') >= 1
    status, body = worker.get("/incidents")
    assert status == 200
    listed = orjson.loads(body)
    assert listed["count"] == len(listed["incidents"])
    assert worker.stop() == 0
