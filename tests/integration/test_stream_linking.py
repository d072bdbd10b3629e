"""Cross-domain linking on a real broker: a cascade over a domain split is one incident.

The topology is two chains joined by one edge (``a5 -> b0``); with ``max_domain_size`` 6
the router splits it into two domains on the two repartition partitions, so each half of
the cascade reaches a different engine. The worker (owning both partitions) links them in
process; its final incidents must equal ``correlator replay --partitions 2
--max-domain-size 6`` and form one incident, where the unlinked engines give two.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from correlator.codecs import encode_canonical
from correlator.config import engine_config_from_mapping
from correlator.domains import build_domain_map, partition_for
from correlator.replay import replay_lines
from tests.helpers import alert, resolved, topo
from tests.integration import stream_fixtures
from tests.integration.stream_fixtures import (
    TEST_ENGINE,
    StreamSetup,
    WorkerProcess,
    cloud_events,
    final_state,
    produce,
    project_all,
    read_topic,
    wait_for,
)

pytestmark = pytest.mark.integration
stream_setup = stream_fixtures.stream_setup
start_worker = stream_fixtures.start_worker

MAX_DOMAIN = 6
EDGES = {
    **{f"a{i}": [f"a{i + 1}"] for i in range(5)},
    "a5": ["b0"],
    **{f"b{i + 1}": [f"b{i}"] for i in range(5)},
}
#: A fault in b0 (domain b0) shows in b1, b2 and, across the split, in a5 and a4.
CASCADE = [
    ("f-b0", "b0", 0),
    ("f-b1", "b1", 20),
    ("f-a5", "a5", 25),
    ("f-a4", "a4", 45),
    ("f-b2", "b2", 50),
]


def _lines() -> list[bytes]:
    firing = [alert(fp, service, t, severity="critical") for fp, service, t in CASCADE]
    ends = [resolved(fp, service, t, 400 + t, severity="critical") for fp, service, t in CASCADE]
    return [orjson.dumps(encode_canonical(a)) for a in [*firing, *ends]]


def _replay(lines: list[bytes], *, link: bool) -> dict[str, dict[str, Any]]:
    config = engine_config_from_mapping(dict(TEST_ENGINE), source="test")
    result = replay_lines(
        lines, topo(EDGES), config, partitions=2, max_domain_size=MAX_DOMAIN, link=link
    )
    return project_all(final_state(result.events))


@pytest.mark.timeout(120)
def test_cascade_across_a_domain_split_is_one_incident_like_the_replay(
    stream_setup: StreamSetup, start_worker: Callable[..., WorkerProcess], tmp_path: Path
) -> None:
    topology = topo(EDGES)
    domains = build_domain_map(topology, MAX_DOMAIN)
    assert len(domains.domains) == 2
    assert {partition_for(d, 2) for d in domains.domains} == {0, 1}, "halves share a partition"
    lines = _lines()
    expected = _replay(lines, link=True)
    assert len(expected) == 1, expected
    assert len(_replay(lines, link=False)) == 2, "without the linker the split shows"
    (incident,) = expected.values()
    assert incident["root_cause"] == "b0"

    topo_path = tmp_path / "split.json"
    topo_path.write_bytes(orjson.dumps(topology.to_node_link()))
    overrides = {
        "topics": {"repartition_partitions": 2},
        "stream": {"max_domain_size": MAX_DOMAIN},
    }
    worker = start_worker("linker", topology=topo_path, **overrides)
    worker.wait_ready()
    wait_for(
        lambda: (worker.readyz() or {}).get("partitions") == [0, 1],
        30,
        "the worker to own both partitions",
    )
    produce(stream_setup.bootstrap, stream_setup.alerts, lines)

    def settled() -> dict[str, dict[str, Any]] | None:
        events = cloud_events(read_topic(stream_setup.bootstrap, stream_setup.incidents))
        got = project_all(final_state(e["data"] for e in events))
        return got if got == expected else None

    try:
        wait_for(settled, 60, "the linked incident", interval_s=1.0)
    except AssertionError:
        events = cloud_events(read_topic(stream_setup.bootstrap, stream_setup.incidents))
        got = project_all(final_state(e["data"] for e in events))
        raise AssertionError(f"stream {got}\n!= replay {expected}\n{worker.tail()}") from None
    events = [
        e["data"] for e in cloud_events(read_topic(stream_setup.bootstrap, stream_setup.incidents))
    ]
    last: dict[str, dict[str, Any]] = {}
    for event in events:  # per id, in publication order (one topic partition here)
        before = last.get(event["id"])
        if before is not None and event["version"] == before["version"]:
            assert event == before, "a re-delivery must be a duplicate"
        elif before is not None:
            assert event["version"] > before["version"], "versions must increase"
        last[event["id"]] = event
