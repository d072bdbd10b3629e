"""Malformed records go to the dead-letter topic, untouched and explained; the rest flows on."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from correlator.codecs import Rejection, decode
from correlator.config import EngineConfig
from correlator.replay import decode_options
from correlator.stream.envelope import (
    H_DETAIL,
    H_REASON,
    H_SOURCE_OFFSET,
    H_SOURCE_PARTITION,
    H_SOURCE_TIMESTAMP,
    H_SOURCE_TOPIC,
)
from tests.integration import stream_fixtures
from tests.integration.stream_fixtures import (
    REPO,
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
stream_setup = stream_fixtures.stream_setup
start_worker = stream_fixtures.start_worker

MALFORMED = sorted((REPO / "tests" / "fixtures" / "codecs" / "malformed").glob("*.json"))


@pytest.mark.timeout(90)
def test_malformed_records_are_dead_lettered_while_valid_alerts_are_processed(
    stream_setup: StreamSetup, start_worker: Callable[..., WorkerProcess], tmp_path: Path
) -> None:
    assert len(MALFORMED) >= 10, "the codec corpus of malformed payloads is missing"
    valid, topo_path = simulate_storm(tmp_path, seed=5, duration_min=30)
    bad = [path.read_bytes() for path in MALFORMED]
    # Interleave: a bad record after every few good ones, so bad input sits inside batches.
    stream: list[tuple[str, bytes]] = []
    bad_iter = iter(bad)
    for i, line in enumerate(valid):
        stream.append(("good", line))
        if i % 3 == 0:
            nxt = next(bad_iter, None)
            if nxt is not None:
                stream.append(("bad", nxt))
    stream += [("bad", rest) for rest in bad_iter]
    produce(stream_setup.bootstrap, stream_setup.alerts, [value for _, value in stream])
    bad_offsets = [offset for offset, (kind, _) in enumerate(stream) if kind == "bad"]

    worker = start_worker("dlq", topology=topo_path)
    worker.wait_ready()
    letters = wait_for(
        lambda: (
            (r := read_topic(stream_setup.bootstrap, stream_setup.dlq)) and len(r) >= len(bad) and r
        ),
        timeout_s=40,
        what=f"{len(bad)} dead letters",
    )
    assert len(letters) == len(bad)

    options = decode_options(EngineConfig())
    for letter, offset in zip(letters, bad_offsets, strict=True):
        original = stream[offset][1]
        assert letter.value == original, "a dead letter must carry the original bytes"
        expected = decode(original, options)
        assert isinstance(expected, Rejection)
        assert letter.headers[H_REASON].decode() == expected.reason.value
        assert letter.headers[H_DETAIL], "the detail header explains the rejection"
        assert letter.headers[H_SOURCE_TOPIC].decode() == stream_setup.alerts
        assert letter.headers[H_SOURCE_PARTITION] == b"0"
        assert int(letter.headers[H_SOURCE_OFFSET]) == offset
        assert int(letter.headers[H_SOURCE_TIMESTAMP]) > 0

    expected_state = replay_reference(valid, load_topology(topo_path))
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
            == expected_state
        ),
        timeout_s=40,
        what="valid alerts around the bad ones to be correlated as in replay",
        interval_s=1.0,
    )
    reasons: dict[str, int] = {}
    for letter in letters:
        reason = letter.headers[H_REASON].decode()
        reasons[reason] = reasons.get(reason, 0) + 1
    for reason, count in reasons.items():
        assert worker.metric("correlator_rejected_records_total", f'{{reason="{reason}"}}') == count
    assert worker.proc.poll() is None, "bad input must never stop the worker"
