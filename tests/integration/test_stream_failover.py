"""Two workers in one group: the one owning the engine stops mid-stream, nothing is lost.

The survivor restores the engine from the snapshot topic and resumes from the snapshot's
offset, so the final incidents equal an uninterrupted replay of the same input, whether the
first worker shut down cleanly (final snapshot on the way out) or was killed (last periodic
snapshot, then re-reading what came after it).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration import stream_fixtures
from tests.integration.stream_fixtures import (
    StreamSetup,
    WorkerProcess,
    cloud_events,
    final_state,
    produce,
    produce_paced,
    project_all,
    read_topic,
    replay_reference,
    simulate_storm,
    wait_for,
)
from topology import load_topology

pytestmark = pytest.mark.integration
stream_setup = stream_fixtures.stream_setup
start_worker = stream_fixtures.start_worker

#: The hand-over (session timeout after a kill) must not look like an input pause to the
#: surviving engine, or idle time would move its clock and change what is late.
FAILOVER_STREAM = {"idle_advance_after_s": 15.0}


def _owner(workers: list[WorkerProcess]) -> WorkerProcess | None:
    for worker in workers:
        doc = worker.readyz()
        if doc is not None and doc.get("partitions"):
            return worker
    return None


@pytest.mark.parametrize("how", ["term", "kill"], ids=["graceful-stop", "crash"])
@pytest.mark.timeout(120)
def test_engine_moves_to_the_other_worker_without_changing_the_outcome(
    stream_setup: StreamSetup,
    start_worker: Callable[..., WorkerProcess],
    tmp_path: Path,
    how: str,
) -> None:
    lines, topo_path = simulate_storm(tmp_path, seed=1, duration_min=45)
    expected = replay_reference(lines, load_topology(topo_path))
    first = start_worker("a", topology=topo_path, stream=FAILOVER_STREAM)
    first.wait_ready()
    second = start_worker("b", topology=topo_path, stream=FAILOVER_STREAM)
    second.wait_ready()
    owner = wait_for(lambda: _owner([first, second]), 20, "a worker owning the engine partition")
    survivor = second if owner is first else first

    half = len(lines) // 2
    produce(stream_setup.bootstrap, stream_setup.alerts, lines[:half])
    # The owner has folded part of the stream into its engine (and snapshotted it) ...
    wait_for(
        lambda: (
            owner.metric("correlator_snapshots_total", '{result="written"}') >= 1
            and owner.metric("correlator_engine_alerts_total") > 0
        ),
        20,
        "the first worker to ingest alerts and write a snapshot",
    )
    # ... then input keeps coming while it goes away.
    rest = threading.Thread(
        target=produce_paced,
        args=(stream_setup.bootstrap, stream_setup.alerts, lines[half:], 0.05),
    )
    rest.start()
    code = owner.stop({"term": signal.SIGTERM, "kill": signal.SIGKILL}[how])
    rest.join(timeout=60)
    if how == "term":
        assert code == 0, owner.tail()

    wait_for(
        lambda: (
            project_all(
                final_state(
                    e["data"]
                    for e in cloud_events(
                        read_topic(stream_setup.bootstrap, stream_setup.incidents)
                    )
                )
            )
            == expected
        ),
        timeout_s=60,
        what="the survivor to finish the storm with the replay's incidents",
        interval_s=1.0,
    )
    assert survivor.metric("correlator_snapshot_restores_total", '{outcome="restored"}') >= 1
    assert survivor.proc.poll() is None
