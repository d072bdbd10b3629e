"""Issue 7 on a real broker: changes in, enriched incidents out, the deploy gate served.

A simulated deploys storm (the offline loop of ``tests/unit/test_enrich.py``, streamed):
its change records go in through ``POST /api/v1/changes`` and the changes topic, then its
alerts. While the first cascade fires, its incident names the culprit deploy and the root
service's gate is closed (HTTP and ``correlator gate --url``); once everything resolved the
final incidents equal the replay's (suspect changes included), the gate is open again, and
the deploy-gate topic recorded both transitions. A malformed change is dead-lettered.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from correlator.config import engine_config_from_mapping
from correlator.evaluate.changes import storm_changes
from correlator.replay import replay_lines
from correlator.simulate import simulate
from correlator.stream.envelope import H_REASON, H_SOURCE_OFFSET, H_SOURCE_TOPIC
from tests.integration import stream_fixtures
from tests.integration.conftest import TopicFactory
from tests.integration.stream_fixtures import (
    REPO,
    TEST_ENGINE,
    StreamSetup,
    WorkerProcess,
    cloud_events,
    final_state,
    produce,
    projection,
    read_topic,
    wait_for,
)
from topology import load_topology

pytestmark = pytest.mark.integration
stream_setup = stream_fixtures.stream_setup
start_worker = stream_fixtures.start_worker

#: Input pauses between the two phases; event time must not run on meanwhile, so idle
#: advance starts late (then runs fast to close the storm's tail).
STREAM = {"idle_advance_after_s": 20.0, "idle_time_scale": 600.0}
MALFORMED_CHANGE = b'{"service": "cart"}'
FIRST_PHASE_LINES = 10  # cascade-1 still fires after these (see tests/unit/test_enrich.py)


def _enriched_projection(event: dict[str, Any]) -> dict[str, Any]:
    return {
        **projection(event),
        "suspects": [(s["change_id"], s["relation"]) for s in event["suspect_changes"]],
    }


def _gate_cli(service: str, port: int) -> tuple[int, dict[str, Any]]:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "correlator.cli",
            "gate",
            service,
            "--url",
            f"http://127.0.0.1:{port}",
        ],
        cwd=REPO,
        capture_output=True,
        timeout=30,
        check=False,
    )
    return done.returncode, json.loads(done.stdout)


@pytest.mark.timeout(180)
def test_deploy_then_cascade_names_the_deploy_and_drives_the_gate(
    stream_setup: StreamSetup,
    start_worker: Callable[..., WorkerProcess],
    unique_topic: TopicFactory,
    tmp_path: Path,
) -> None:
    storm = simulate(load_topology(REPO / "configs" / "topology.yaml"), "deploys", 1)
    topo_path = tmp_path / "topology.json"
    topo_path.write_bytes(orjson.dumps(storm.given_topology.to_node_link()))
    cascade = storm.truth["groups"]["cascade-1"]
    root, culprit = cascade["root"], cascade["culprit_change"]
    change_lines: list[bytes] = storm.change_lines()
    lines: list[bytes] = storm.lines()
    changes_topic = unique_topic(prefix="changes")
    gate_topic = unique_topic(prefix="gate")

    worker = start_worker(
        "changes",
        topology=topo_path,
        topics={"changes": changes_topic, "deploy_gate": gate_topic},
        stream=STREAM,
    )
    worker.wait_ready()

    # Changes: the culprit over HTTP, a malformed one refused there, the rest on the topic.
    by_id = {orjson.loads(line)["id"]: line for line in change_lines}
    status, body = worker.post("/api/v1/changes", by_id[culprit])
    assert (status, body["change_id"]) == (202, culprit)
    status, body = worker.post("/api/v1/changes", MALFORMED_CHANGE)
    assert (status, body["error"]) == (400, "missing_field")
    others = [line for cid, line in sorted(by_id.items()) if cid != culprit]
    produce(stream_setup.bootstrap, changes_topic, [*others, MALFORMED_CHANGE])
    wait_for(
        lambda: (worker.readyz() or {}).get("changes_known") == len(change_lines),
        30,
        "all changes known to the worker",
    )

    # Phase 1: the first cascade fires; its incident names the deploy, the gate closes.
    produce(stream_setup.bootstrap, stream_setup.alerts, lines[:FIRST_PHASE_LINES])

    def culprit_named() -> dict[str, Any] | None:
        events = cloud_events(read_topic(stream_setup.bootstrap, stream_setup.incidents))
        for event in reversed(events):
            data = event["data"]
            suspects = data["suspect_changes"]
            if (data["root_cause"] or {}).get("service") == root and suspects:
                return data if suspects[0]["change_id"] == culprit else None
        return None

    incident = wait_for(culprit_named, 15, f"an incident rooted at {root} naming {culprit}")
    assert incident["status"] != "resolved"
    assert incident["suspect_changes"][0]["relation"] == "root_cause"
    assert set(incident) >= {"slo_context", "priority", "priority_reason"}
    status, raw = worker.get(f"/api/v1/gate/{root}")
    decision = json.loads(raw)
    assert (status, decision["state"]) == (200, "closed")
    assert any(r.get("incident") == incident["id"] for r in decision["reasons"])
    code, printed = _gate_cli(root, worker.port)
    assert (code, printed["state"]) == (1, "closed")
    assert worker.get("/api/v1/gate/no-such-service")[0] == 404

    # Phase 2: the rest of the storm; idle advance closes its tail.
    produce(stream_setup.bootstrap, stream_setup.alerts, lines[FIRST_PHASE_LINES:])
    config = engine_config_from_mapping(dict(TEST_ENGINE), source="test")
    reference = replay_lines(
        lines, storm.given_topology, config, changes=storm_changes(storm.changes)
    )
    expected = {i: _enriched_projection(dict(e)) for i, e in final_state(reference.events).items()}
    assert any(p["suspects"] for p in expected.values())

    def streamed() -> dict[str, Any] | None:
        events = cloud_events(read_topic(stream_setup.bootstrap, stream_setup.incidents))
        got = {
            i: _enriched_projection(dict(e))
            for i, e in final_state(e["data"] for e in events).items()
        }
        return got if got == expected else None

    try:
        wait_for(streamed, 90, "streamed final incidents equal to the replay's", interval_s=1.0)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n--- worker log ---\n{worker.tail()}") from None

    status, raw = worker.get(f"/api/v1/gate/{root}")
    assert (status, json.loads(raw)["state"]) == (200, "open")
    code, printed = _gate_cli(root, worker.port)
    assert (code, printed["state"]) == (0, "open")
    transitions = [
        orjson.loads(r.value)["state"]
        for r in read_topic(stream_setup.bootstrap, gate_topic)
        if r.key == root.encode() and r.value is not None
    ]
    assert transitions[:2] == ["closed", "open"] and transitions[-1] == "open", transitions

    # A restart restores the enrichment state (gate history, changes) from the snapshot.
    before = json.loads(worker.get(f"/api/v1/gate/{root}")[1])
    assert before["version"] >= 2
    worker.stop()
    again = start_worker(
        "changes-again",
        topology=topo_path,
        topics={"changes": changes_topic, "deploy_gate": gate_topic},
        stream=STREAM,
    )
    again.wait_ready()
    status, raw = wait_for(
        lambda: (answer := again.get(f"/api/v1/gate/{root}"))[0] == 200 and answer,
        30,
        "the gate after a restart",
    )
    after = json.loads(raw)
    assert (after["state"], after["version"], after["since"]) == (
        "open",
        before["version"],
        before["since"],
    )

    # The malformed change, dead-lettered once, untouched, explained.
    letters = [
        r
        for r in read_topic(stream_setup.bootstrap, stream_setup.dlq)
        if r.headers.get(H_SOURCE_TOPIC) == changes_topic.encode()
    ]
    assert [r.value for r in letters] == [MALFORMED_CHANGE]
    assert letters[0].headers[H_REASON] == b"missing_field"
    # Offset 0 is the change posted over HTTP, then the others, then the malformed one.
    assert int(letters[0].headers[H_SOURCE_OFFSET]) == 1 + len(others)
