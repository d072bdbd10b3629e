"""Invariants of the engine over random topologies and alert streams."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import assume, example, given, settings
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


def _random_dag(draw: st.DrawFn, max_services: int) -> tuple[list[str], dict[str, list[str]]]:
    """2 to ``max_services`` services; each later one is a dependency with odds 1 in 4."""
    n = draw(st.integers(min_value=2, max_value=max_services))
    names = [f"s{i}" for i in range(n)]
    edges: dict[str, list[str]] = {name: [] for name in names}
    for i in range(n):
        for j in range(i + 1, n):
            if draw(st.booleans()) and draw(st.booleans()):
                edges[names[i]].append(names[j])
    return names, edges


@st.composite
def storms(draw: st.DrawFn, with_resolves: bool = True) -> Storm:
    names, edges = _random_dag(draw, max_services=9)
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


@dataclass(frozen=True)
class Notice:
    """One notification as a monitoring system sends it: when, and what it says."""

    sent: float
    alert: Alert


@st.composite
def lifecycle_notices(draw: st.DrawFn) -> tuple[Topology, list[Notice]]:
    """Alerts that fire, are re-sent, resolve and fire again, in the order they are sent.

    Re-sends repeat the original ``starts_at`` (as Alertmanager does), so they can be
    behind the watermark; re-fires land inside and beyond the reopen window. Fresh
    notifications are sent at their own event time.
    """
    names, edges = _random_dag(draw, max_services=7)
    services = [*names, "ghost"]
    seconds = st.floats(min_value=1, max_value=900, allow_nan=False)
    reopen = CONFIG.reopen_window.total_seconds()
    # Re-fires anywhere, and often just inside the reopen window, where the watermark that
    # releases a buffered re-fire may already be past the window.
    refire = st.one_of(
        st.floats(min_value=1, max_value=2 * reopen),
        st.floats(min_value=reopen - LATENESS, max_value=reopen),
    )
    notices: list[Notice] = []
    t = 0.0
    for i in range(draw(st.integers(min_value=1, max_value=14))):
        t += draw(st.floats(min_value=0, max_value=240, allow_nan=False))
        fp, service = f"fp{i:03d}", draw(st.sampled_from(services))
        severity = draw(st.sampled_from(["critical", "error", "warning", "info"]))
        start = round(t, 3)
        notices.append(Notice(start, alert(fp, service, start, severity=severity)))
        for _ in range(draw(st.integers(min_value=0, max_value=3))):
            end = round(start + draw(seconds), 3)
            for _ in range(draw(st.integers(min_value=0, max_value=2))):
                sent = round(draw(st.floats(min_value=start, max_value=end)), 3)
                notices.append(Notice(sent, alert(fp, service, start, severity=severity)))
            notices.append(Notice(end, resolved(fp, service, start, end, severity=severity)))
            if draw(st.booleans()):
                later = round(end + draw(seconds), 3)
                notices.append(Notice(later, resolved(fp, service, start, end, severity=severity)))
            if draw(st.booleans()):
                break
            start = round(end + draw(refire), 3)
            notices.append(Notice(start, alert(fp, service, start, severity=severity)))
    notices.sort(key=lambda notice: notice.sent)
    return topo(edges), notices


@st.composite
def lifecycles_shuffled_within_lateness(
    draw: st.DrawFn,
) -> tuple[Topology, list[Alert], list[Alert]]:
    """(topology, sending order, an arrival order that keeps every fresh notification on time).

    Each notification is delayed by less than the allowed lateness; a fingerprint's own
    notifications keep their order (reordering a lifecycle is a different input).
    """
    topology, notices = draw(lifecycle_notices())
    delays = st.floats(min_value=0, max_value=LATENESS * 0.99, allow_nan=False)
    keys = sorted((notice.sent + draw(delays), i) for i, notice in enumerate(notices))
    own: dict[str, list[Alert]] = {}
    for notice in notices:
        own.setdefault(notice.alert.fingerprint, []).append(notice.alert)
    queues = {fp: iter(alerts) for fp, alerts in own.items()}
    arrival = [next(queues[notices[i].alert.fingerprint]) for _, i in keys]
    return topology, [notice.alert for notice in notices], arrival


def outcome(events: list[IncidentEvent]) -> dict[str, dict[str, object]]:
    """Final incidents with everything that must not depend on arrival order.

    Left out: when and how often an incident was emitted (version, first emission time,
    open vs updated) and duplicate counts, which are published at most once per
    ``count_update_interval`` of emission time.
    """
    out: dict[str, dict[str, object]] = {}
    for incident_id, event in final_state(events).items():
        data = event.to_dict()
        for key in ("version", "first_emitted_at", "stats"):
            data.pop(key, None)
        if data["status"] == "updated":
            data["status"] = "open"
        for member in data["alerts"]:
            member.pop("count")
        out[incident_id] = data
    return out


def _behind_watermark(arrival: list[Alert]) -> dict[str, list[bool]]:
    """Per fingerprint, in its own order: was each notification late when it arrived?"""
    out: dict[str, list[bool]] = {}
    newest: float | None = None
    for a in arrival:
        t = a.event_time.timestamp() if a.event_time is not None else newest or 0.0
        out.setdefault(a.fingerprint, []).append(newest is not None and t < newest - LATENESS)
        newest = t if newest is None else max(newest, t)
    return out


#: A re-fire 890 s into a 900 s reopen window, released by whichever of two later records
#: arrives first: one moves the watermark just short of the window's end, one past it.
_REFIRE_AT_WINDOW_EDGE = [
    alert("a1", "s0", 0),
    resolved("a1", "s0", 0, 100),
    alert("a1", "s0", 990),
    alert("b1", "s1", 1025),
    alert("b2", "s1", 1040),
]


@settings(max_examples=300, deadline=None)
@given(lifecycles_shuffled_within_lateness())
@example(
    (
        topo({"s0": [], "s1": []}),
        _REFIRE_AT_WINDOW_EDGE,
        [*_REFIRE_AT_WINDOW_EDGE[:3], *reversed(_REFIRE_AT_WINDOW_EDGE[3:])],
    )
)
def test_lifecycles_order_insensitive_within_allowed_lateness(
    case: tuple[Topology, list[Alert], list[Alert]],
) -> None:
    """Flaps, re-sends and re-fires across the reopen window: same incidents, same ids."""
    topology, sent, arrived = case
    # Within the allowed lateness means every notification is on the same side of the
    # watermark in both orders (a re-send whose old time flips sides is beyond it).
    assume(_behind_watermark(sent) == _behind_watermark(arrived))
    in_order, reference = run(topology, sent)
    shuffled, events = run(topology, arrived)
    # Fresh notifications are on time in both orders; a re-send of an older lifecycle
    # may be behind the watermark, in both orders alike.
    assert shuffled.stats.late == in_order.stats.late
    assert outcome(events) == outcome(reference)


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


@settings(max_examples=300, deadline=None)
@given(lifecycles_shuffled_within_lateness())
def test_an_incident_is_resolved_exactly_when_all_its_alerts_are(
    case: tuple[Topology, list[Alert], list[Alert]],
) -> None:
    """Checked after every alert, through moves, merges, resolves and re-fires (the
    engine keeps a count of firing members instead of scanning them on each resolve)."""
    topology, _, arrival = case
    engine = Engine(topology, CONFIG)
    for item in arrival:
        engine.ingest(item)
        engine.advance()
        for incident in engine.incidents():
            all_resolved = all(m.status == "resolved" for m in incident.alerts)
            assert (incident.status.value == "resolved") == all_resolved, incident.id
