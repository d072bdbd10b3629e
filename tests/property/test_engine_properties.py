"""Invariants of the engine over random topologies and alert streams."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from correlator.config import EngineConfig
from correlator.engine import Engine
from correlator.incident import IncidentEvent
from correlator.model import Alert
from tests.helpers import alert, final_state, groups, resolved, run, topo
from topology import Topology

CONFIG = EngineConfig()
LATENESS = CONFIG.allowed_lateness.total_seconds()


@dataclass(frozen=True)
class Storm:
    topology: Topology
    alerts: list[Alert]


@st.composite
def storms(draw: st.DrawFn, with_resolves: bool = True) -> Storm:
    n = draw(st.integers(min_value=2, max_value=9))
    names = [f"s{i}" for i in range(n)]
    edges: dict[str, list[str]] = {name: [] for name in names}
    for i in range(n):
        for j in range(i + 1, n):
            if draw(st.booleans()) and draw(st.booleans()):
                edges[names[i]].append(names[j])
    topology = topo(edges)
    services = [*names, "ghost"]
    count = draw(st.integers(min_value=1, max_value=25))
    alerts: list[Alert] = []
    t = 0.0
    for i in range(count):
        t += draw(st.floats(min_value=0, max_value=240, allow_nan=False))
        service = draw(st.sampled_from(services))
        severity = draw(st.sampled_from(["critical", "error", "warning", "info"]))
        alerts.append(alert(f"fp{i:03d}", service, round(t, 3), severity=severity))
        if with_resolves and draw(st.integers(0, 3)) == 0:
            end = t + draw(st.floats(min_value=1, max_value=900, allow_nan=False))
            alerts.append(resolved(f"fp{i:03d}", service, round(t, 3), round(end, 3)))
    alerts.sort(key=lambda a: (a.event_time, a.fingerprint))
    return Storm(topology, alerts)


def dicts(events: list[IncidentEvent]) -> list[dict[str, object]]:
    return [e.to_dict() for e in events]


@settings(max_examples=150, deadline=None)
@given(storms())
def test_no_accepted_firing_alert_is_lost(storm: Storm) -> None:
    _, events = run(storm.topology, storm.alerts)
    final = final_state(events)
    seen: dict[str, int] = {}
    for event in final.values():
        for m in event.alerts:
            seen[m.fingerprint] = seen.get(m.fingerprint, 0) + 1
    fired = {a.fingerprint for a in storm.alerts if a.is_firing}
    assert fired <= set(seen)
    assert all(n == 1 for n in seen.values()), "an alert sits in two final incidents"


@settings(max_examples=100, deadline=None)
@given(storms())
def test_deterministic(storm: Storm) -> None:
    _, first = run(storm.topology, storm.alerts)
    _, second = run(storm.topology, storm.alerts)
    assert dicts(first) == dicts(second)


@settings(max_examples=100, deadline=None)
@given(storms())
def test_dedup_is_idempotent(storm: Storm) -> None:
    doubled = [a for a in storm.alerts for _ in range(2)]
    _, once = run(storm.topology, storm.alerts)
    _, twice = run(storm.topology, doubled)
    assert groups(once) == groups(twice)
    roots_once = {
        e.id: e.root_cause.service if e.root_cause else None for e in final_state(once).values()
    }
    roots_twice = {
        e.id: e.root_cause.service if e.root_cause else None for e in final_state(twice).values()
    }
    assert roots_once == roots_twice
    counts_once = {m.fingerprint: m.count for e in final_state(once).values() for m in e.alerts}
    counts_twice = {m.fingerprint: m.count for e in final_state(twice).values() for m in e.alerts}
    assert {fp: 2 * c for fp, c in counts_once.items()} == counts_twice


@st.composite
def shuffled_within_lateness(draw: st.DrawFn) -> tuple[Storm, list[Alert]]:
    """A storm of firing alerts and an arrival order that keeps every alert on time."""
    storm = draw(storms(with_resolves=False))
    keys = [
        (a.starts_at.timestamp() + draw(st.floats(0, LATENESS * 0.99, allow_nan=False)), i)
        for i, a in enumerate(storm.alerts)
    ]
    order = [storm.alerts[i] for _, i in sorted(keys)]
    # Arrival key - event time < lateness, so no alert is ever behind the watermark.
    return storm, order


@settings(max_examples=200, deadline=None)
@given(shuffled_within_lateness())
def test_order_insensitive_within_allowed_lateness(case: tuple[Storm, list[Alert]]) -> None:
    storm, shuffled = case
    engine, events = run(storm.topology, shuffled)
    assert engine.stats.late == 0
    _, reference = run(storm.topology, storm.alerts)
    assert groups(events) == groups(reference)


@settings(max_examples=100, deadline=None)
@given(storms(), st.integers(min_value=0, max_value=60))
def test_snapshot_restore_at_any_point_is_transparent(storm: Storm, cut_at: int) -> None:
    cut = min(cut_at, len(storm.alerts))
    straight = Engine(storm.topology)
    resumed = Engine(storm.topology)
    out_straight: list[IncidentEvent] = []
    out_resumed: list[IncidentEvent] = []
    for a in storm.alerts[:cut]:
        resumed.ingest(a)
        out_resumed += resumed.advance()
    blob = resumed.snapshot()
    resumed = Engine(storm.topology)
    resumed.restore(blob)
    for a in storm.alerts[cut:]:
        resumed.ingest(a)
        out_resumed += resumed.advance()
    out_resumed += resumed.flush()
    for a in storm.alerts:
        straight.ingest(a)
        out_straight += straight.advance()
    out_straight += straight.flush()
    assert dicts(out_straight) == dicts(out_resumed)
