"""Scale-out: two repartition partitions, two workers, one engine each.

A topology of two unconnected halves gives two correlation domains that land on different
partitions. Each worker then runs one engine; every alert must still end up in exactly one
incident, and no incident may mix the halves (they cannot be related).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from correlator.simulate import generate_topology, simulate
from correlator.stream.domains import build_domain_map, partition_for
from tests.integration import stream_fixtures
from tests.integration.stream_fixtures import (
    StreamSetup,
    WorkerProcess,
    cloud_events,
    final_state,
    produce,
    read_topic,
    replay_reference,
    wait_for,
)
from topology import Service, Topology

pytestmark = pytest.mark.integration
stream_setup = stream_fixtures.stream_setup
start_worker = stream_fixtures.start_worker

HALVES = ("north", "south")
MAX_DOMAIN = 40


def _twin(seed: int) -> Topology:
    base = generate_topology(25, seed)
    return Topology.from_services(
        Service(
            id=f"{half}-{name}",
            kind=base.service(name).kind,
            depends_on=tuple(f"{half}-{dep}" for dep in base.service(name).depends_on),
        )
        for half in HALVES
        for name in base
    )


@pytest.mark.timeout(120)
def test_two_workers_each_run_one_engine_and_no_alert_is_lost_or_mixed(
    stream_setup: StreamSetup, start_worker: Callable[..., WorkerProcess], tmp_path: Path
) -> None:
    true_topology = _twin(5)
    storm = simulate(true_topology, "mixed", seed=5, duration_min=40)
    given = storm.given_topology
    domains = build_domain_map(given, MAX_DOMAIN)
    assert {partition_for(d, 2) for d in domains.domains} == {0, 1}, "halves share a partition"
    topo_path = tmp_path / "twin.json"
    topo_path.write_bytes(orjson.dumps(given.to_node_link()))
    lines = storm.lines()
    expected = replay_reference(lines, given)

    overrides = {
        "topics": {"repartition_partitions": 2},
        "stream": {"max_domain_size": MAX_DOMAIN, "idle_advance_after_s": 8.0},
    }
    workers = [start_worker(name, topology=topo_path, **overrides) for name in ("w1", "w2")]
    for worker in workers:
        worker.wait_ready()
    wait_for(
        lambda: (
            sorted(p for w in workers for p in (w.readyz() or {}).get("partitions", [])) == [0, 1]
        ),
        30,
        "each worker to own one engine partition",
    )
    produce(stream_setup.bootstrap, stream_setup.alerts, lines)

    expected_alerts = sorted(fp for e in expected.values() for fp, _, _ in e["members"])

    def settled() -> dict[str, Any] | None:
        events = cloud_events(read_topic(stream_setup.bootstrap, stream_setup.incidents))
        state = dict(final_state(e["data"] for e in events))
        got = sorted(a["fingerprint"] for e in state.values() for a in e["alerts"])
        return state if got == expected_alerts else None

    state = wait_for(settled, 60, "every alert in exactly one incident", interval_s=1.0)
    for incident in state.values():
        halves = {a["service"].split("-", 1)[0] for a in incident["alerts"]}
        assert len(halves) == 1, f"{incident['id']} mixes unrelated services: {halves}"
    for worker in workers:
        assert worker.metric("correlator_engine_alerts_total") > 0, "both engines did work"
