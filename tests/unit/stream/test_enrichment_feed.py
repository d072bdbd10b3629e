"""The worker's per-partition enrichment feed against the offline replay.

The feed must release changes by event time exactly as ``replay_lines`` does, whatever
order (or how often) the changes topic delivers them and however alerts are batched;
otherwise streamed incidents would name other suspects than the replay.
"""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from correlator.changes import Change, ChangeKind
from correlator.codecs import Rejection, decode
from correlator.engine import Engine, NoticeKind
from correlator.enrich import Enricher
from correlator.evaluate.changes import storm_changes
from correlator.evaluate.incidents import final_incidents
from correlator.replay import replay_lines
from correlator.simulate import simulate
from correlator.stream.enrichment import EnrichmentFeed, gate_record
from tests.helpers import T0
from topology import Topology, load_topology

SAMPLE = Path(__file__).parents[3] / "configs" / "topology.yaml"


@pytest.fixture(scope="module")
def storm() -> Any:
    return simulate(load_topology(SAMPLE), "deploys", 3)


def _stream(storm: Any, batch: int, order: str) -> tuple[list[dict[str, Any]], list[Any], Any]:
    """Drive an engine the way the worker does: a batch of lines, one advance, one step."""
    topology: Topology = storm.given_topology
    changes = storm_changes(storm.changes)
    if order == "shuffled-twice":
        changes = changes + changes
        random.Random(7).shuffle(changes)
    elif order == "reversed":
        changes = list(reversed(changes))
    engine = Engine(topology)
    feed = EnrichmentFeed(Enricher(topology))
    for change in changes:
        feed.offer(change)
    records: list[dict[str, Any]] = []
    gates: list[Any] = []
    lines = storm.lines()
    for start in range(0, len(lines), batch):
        accepted = []
        for line in lines[start : start + batch]:
            decoded = decode(line)
            assert not isinstance(decoded, Rejection)
            for alert in decoded.alerts:
                notices = engine.ingest(alert)
                if not any(n.kind is NoticeKind.FUTURE for n in notices):
                    accepted.append(alert)
        feed.observe_alerts(accepted)
        events = engine.advance()
        enriched, gate_events = feed.step(engine.clock, events)
        records += [doc for _, doc in enriched]
        gates += gate_events
    events = engine.flush()
    enriched, gate_events = feed.step(engine.clock, events)
    records += [doc for _, doc in enriched]
    gates += gate_events
    return records, gates, feed


def _final(records: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        i["id"]: (i["status"], i["root_cause"], i["suspect_changes"], i["resolved_at"])
        for i in final_incidents(records)
    }


@pytest.mark.parametrize(
    ("batch", "order"),
    [(1, "sorted"), (1, "shuffled-twice"), (7, "reversed"), (50, "shuffled-twice")],
    ids=["per-line", "per-line-redelivered", "batches-of-7", "batches-of-50-redelivered"],
)
def test_feed_matches_replay(storm: Any, batch: int, order: str) -> None:
    reference = replay_lines(
        storm.lines(), storm.given_topology, changes=storm_changes(storm.changes)
    )
    records, gates, feed = _stream(storm, batch, order)
    expected = _final(reference.events)
    assert any(s for _, _, s, _ in expected.values()), "storm must produce suspects"
    assert _final(records) == expected
    assert reference.enricher is not None
    mine, theirs = feed.enricher.gate_state(), reference.enricher.gate_state()
    if batch == 1:  # one step per line is exactly what the replay does
        assert orjson.dumps(records) == orjson.dumps(reference.events)
        assert gates == reference.gate_events
        assert mine == theirs
    else:  # gate changes are stamped with the clock of the batch that caused them
        assert {s: d["state"] for s, d in mine["services"].items()} == {
            s: d["state"] for s, d in theirs["services"].items()
        }
        assert gates  # fewer of them: a batch coalesces the flips within it


def _deploy(cid: str, minutes: float) -> Change:
    return Change(
        id=cid, service="payments", kind=ChangeKind.DEPLOY, at=T0 + timedelta(minutes=minutes)
    )


@pytest.mark.parametrize(
    ("clock_min", "observed"),
    [(-10, []), (0, ["a"]), (5, ["a", "b"])],
    ids=["before-all", "at-first", "after-all"],
)
def test_changes_wait_for_event_time(clock_min: float, observed: list[str]) -> None:
    topology = Topology.from_services([])
    feed = EnrichmentFeed(Enricher(topology))
    assert feed.offer(_deploy("b", 5))
    assert feed.offer(_deploy("a", 0))
    assert not feed.offer(_deploy("a", 0))  # re-delivery
    feed.step(T0 + timedelta(minutes=clock_min), [])
    assert sorted(c.id for c in feed.enricher.changes.changes()) == observed
    assert feed.pending == 2 - len(observed)


def test_restore_then_reoffer_keeps_each_change_once() -> None:
    topology = Topology.from_services([])
    feed = EnrichmentFeed(Enricher(topology))
    feed.offer(_deploy("a", 0))
    feed.offer(_deploy("b", 30))
    feed.step(T0 + timedelta(minutes=1), [])
    again = EnrichmentFeed(Enricher(topology))
    again.restore(feed.snapshot())
    for cid, minutes in (("a", 0), ("b", 30)):
        again.offer(_deploy(cid, minutes))
    again.step(T0 + timedelta(minutes=31), [])
    assert sorted(c.id for c in again.enricher.changes.changes()) == ["a", "b"]
    assert again.pending == 0


def test_gate_record_is_keyed_by_service() -> None:
    event = {"service": "payments", "state": "closed", "previous": "open", "version": 1}
    record = gate_record(event)
    assert record.key == b"payments"
    assert orjson.loads(record.value) == event
