"""Hot topology reload: a new graph changes the grouping; a broken one is refused, the old kept."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from correlator.codecs import Decoded, decode
from tests.integration import stream_fixtures
from tests.integration.stream_fixtures import (
    StreamSetup,
    WorkerProcess,
    cloud_events,
    final_state,
    produce,
    read_topic,
    wait_for,
)
from topology import loads_topology

pytestmark = pytest.mark.integration
stream_setup = stream_fixtures.stream_setup
start_worker = stream_fixtures.start_worker

SEPARATE = b"""
version: 1
services:
  - id: checkout
  - id: orders-db
    kind: database
  - id: search
"""
CONNECTED = orjson.dumps(
    {
        "nodes": [
            {"id": "checkout", "kind": "service"},
            {"id": "orders-db", "kind": "database"},
            {"id": "search", "kind": "service"},
        ],
        "edges": [{"from": "checkout", "to": "orders-db"}],
    }
)
T0 = datetime(2026, 9, 1, 10, 0, tzinfo=UTC)
# Phases are 20 minutes apart: beyond the session gap, within the engine's future-skew limit.


def _alerts(phase: str, start: datetime) -> list[bytes]:
    """A database alert and, 20 s later, an error-rate alert of its caller."""

    def alert(service: str, name: str, offset_s: int) -> dict[str, Any]:
        return {
            "service": service,
            "name": name,
            "severity": "critical",
            "starts_at": (start + timedelta(seconds=offset_s)).isoformat(),
            "labels": {"phase": phase},
        }

    return [
        orjson.dumps(alert("orders-db", "PostgresDown", 0)),
        orjson.dumps(alert("checkout", "HighErrorRate", 20)),
    ]


def _groups(setup: StreamSetup, phase: str) -> list[list[str]]:
    """Service sets of the current incidents whose alerts belong to ``phase``."""
    events = [e["data"] for e in cloud_events(read_topic(setup.bootstrap, setup.incidents))]
    groups = []
    for incident in final_state(events).values():
        services = sorted(
            a["service"] for a in incident["alerts"] if a["fingerprint"] in _fingerprints(phase)
        )
        if services:
            groups.append(services)
    return sorted(groups)


_FP_CACHE: dict[str, set[str]] = {}


def _fingerprints(phase: str) -> set[str]:
    if phase not in _FP_CACHE:
        fps: set[str] = set()
        for line in _alerts(phase, T0):
            result = decode(line)
            assert isinstance(result, Decoded)
            fps.update(a.fingerprint for a in result.alerts)
        _FP_CACHE[phase] = fps
    return _FP_CACHE[phase]


@pytest.mark.timeout(90)
def test_topology_reload_regroups_and_a_broken_topology_is_rejected(
    stream_setup: StreamSetup, start_worker: Callable[..., WorkerProcess]
) -> None:
    separate_version = loads_topology(SEPARATE).version
    connected_version = loads_topology(CONNECTED).version
    # No --topology: the worker must pick the latest one up from the topology topic.
    produce(stream_setup.bootstrap, stream_setup.topology, [SEPARATE])
    worker = start_worker("reload")
    assert worker.wait_ready()["topology_version"] == separate_version

    produce(stream_setup.bootstrap, stream_setup.alerts, _alerts("one", T0))
    assert wait_for(
        lambda: _groups(stream_setup, "one") == [["checkout"], ["orders-db"]],
        30,
        "two separate incidents while the services are unrelated",
    )

    applied = worker.metric("correlator_topology_reloads_total", '{result="applied"}')
    produce(stream_setup.bootstrap, stream_setup.topology, [CONNECTED])
    wait_for(
        lambda: (worker.readyz() or {}).get("topology_version") == connected_version,
        20,
        "the connected topology to be applied",
    )
    assert worker.metric("correlator_topology_reloads_total", '{result="applied"}') == applied + 1
    produce(stream_setup.bootstrap, stream_setup.alerts, _alerts("two", T0 + timedelta(minutes=20)))
    assert wait_for(
        lambda: _groups(stream_setup, "two") == [["checkout", "orders-db"]],
        30,
        "one incident once checkout depends on orders-db",
    )

    produce(
        stream_setup.bootstrap, stream_setup.topology, [b"services: [{id: x, depends_on: [nope]}]"]
    )
    wait_for(
        lambda: worker.metric("correlator_topology_reloads_total", '{result="rejected"}') == 1,
        20,
        "the broken topology to be rejected",
    )
    assert (worker.readyz() or {}).get("topology_version") == connected_version
    produce(
        stream_setup.bootstrap, stream_setup.alerts, _alerts("three", T0 + timedelta(minutes=40))
    )
    assert wait_for(
        lambda: _groups(stream_setup, "three") == [["checkout", "orders-db"]],
        30,
        "grouping to follow the kept (connected) topology",
    )
    assert worker.proc.poll() is None
