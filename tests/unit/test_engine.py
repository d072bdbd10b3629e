"""Engine rules, one named case each (Alertmanager-style table tests)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import orjson
import pytest

from correlator.config import EngineConfig
from correlator.engine import Engine, NoticeKind
from correlator.errors import ConfigError
from correlator.incident import IncidentStatus, JoinReason
from correlator.model import Alert
from tests.helpers import alert, at, final_state, groups, resolved, run, topo

# frontend -> api -> db ; api -> cache ; worker -> db ; billing (isolated)
SHOP = topo(
    {"frontend": ["api"], "api": ["db", "cache"], "worker": ["db"], "billing": []},
    kinds={"db": "database", "cache": "cache", "frontend": "gateway"},
)


@dataclass(frozen=True)
class GroupCase:
    name: str
    alerts: list[Alert]
    expected: list[set[str]]


GROUP_CASES = [
    GroupCase(
        "same service within gap joins",
        [alert("a1", "api", 0), alert("a2", "api", 200)],
        [{"a1", "a2"}],
    ),
    GroupCase(
        "same service beyond gap splits",
        [alert("a1", "api", 0), alert("a2", "api", 301 + 60)],
        [{"a1"}, {"a2"}],
    ),
    GroupCase(
        "dependency one hop joins",
        [alert("d1", "db", 0), alert("a1", "api", 30)],
        [{"a1", "d1"}],
    ),
    GroupCase(
        "dependency two hops joins",
        [alert("d1", "db", 0), alert("f1", "frontend", 60)],
        [{"d1", "f1"}],
    ),
    GroupCase(
        "unrelated services stay apart",
        [alert("a1", "api", 0), alert("b1", "billing", 10)],
        [{"a1"}, {"b1"}],
    ),
    GroupCase(
        "siblings of a healthy dependency stay apart",
        [alert("a1", "api", 0), alert("w1", "worker", 10)],
        [{"a1"}, {"w1"}],
    ),
    GroupCase(
        "shared dependency alerting bridges siblings",
        [alert("a1", "api", 0), alert("w1", "worker", 10), alert("d1", "db", 20)],
        [{"a1", "w1", "d1"}],
    ),
    GroupCase(
        "unknown services group only with themselves",
        [alert("x1", "ghost", 0), alert("x2", "ghost", 30), alert("a1", "api", 40)],
        [{"a1"}, {"x1", "x2"}],
    ),
    GroupCase(
        "late root with earlier start joins its symptoms",
        [alert("a1", "api", 100), alert("f1", "frontend", 120), alert("d1", "db", 40)],
        [{"a1", "d1", "f1"}],
    ),
    GroupCase(
        "re-sends never make new members",
        [alert("a1", "api", 0), alert("a1", "api", 0), alert("a1", "api", 0)],
        [{"a1"}],
    ),
]


@pytest.mark.parametrize("case", GROUP_CASES, ids=[c.name for c in GROUP_CASES])
def test_grouping(case: GroupCase) -> None:
    _, events = run(SHOP, case.alerts)
    assert groups(events) == sorted((frozenset(g) for g in case.expected), key=sorted)


@dataclass(frozen=True)
class UnknownCase:
    name: str
    window_s: float
    alerts: list[Alert]
    expected: list[set[str]]
    joined: dict[str, JoinReason]


UNKNOWN_CASES = [
    UnknownCase(
        "unknown alert joins the incident closest in time",
        30,
        [alert("d1", "db", 0), alert("x1", "ghost", 20), alert("b1", "billing", 200)],
        [{"d1", "x1"}, {"b1"}],
        {"x1": JoinReason.TIME},
    ),
    UnknownCase(
        "the closest alert wins, earlier or later",
        30,
        [alert("d1", "db", 0), alert("x1", "ghost", 20), alert("b1", "billing", 25)],
        [{"d1"}, {"b1", "x1"}],
        {"x1": JoinReason.TIME, "b1": JoinReason.FIRST},
    ),
    UnknownCase(
        "beyond the window the unknown alert stays apart",
        30,
        [alert("d1", "db", 0), alert("x1", "ghost", 31)],
        [{"d1"}, {"x1"}],
        {"x1": JoinReason.FIRST},
    ),
    UnknownCase(
        "window 0 disables time links",
        0,
        [alert("d1", "db", 0), alert("x1", "ghost", 5)],
        [{"d1"}, {"x1"}],
        {"x1": JoinReason.FIRST},
    ),
    UnknownCase(
        "a same-service peer beats a time link",
        30,
        [alert("x1", "ghost", 0), alert("d1", "db", 100), alert("x2", "ghost", 105)],
        [{"d1"}, {"x1", "x2"}],
        {"x2": JoinReason.SAME_SERVICE},
    ),
    UnknownCase(
        "unknown alerts never chain through each other by time",
        30,
        [alert("x1", "ghost", 0), alert("y1", "phantom", 5), alert("z1", "spectre", 10)],
        [{"x1"}, {"y1"}, {"z1"}],
        {"y1": JoinReason.FIRST},
    ),
    UnknownCase(
        "a known alert is never explained by time, so it cannot weld two incidents",
        30,
        [alert("b1", "billing", 0), alert("x1", "ghost", 10), alert("d1", "db", 15)],
        [{"b1"}, {"d1", "x1"}],
        {"d1": JoinReason.FIRST, "b1": JoinReason.FIRST},
    ),
]


@pytest.mark.parametrize("case", UNKNOWN_CASES, ids=[c.name for c in UNKNOWN_CASES])
def test_unknown_service_time_links(case: UnknownCase) -> None:
    config = EngineConfig(unknown_window=timedelta(seconds=case.window_s))
    for order in (case.alerts, list(reversed(case.alerts))):
        _, events = run(SHOP, order, config)
        assert groups(events) == sorted((frozenset(g) for g in case.expected), key=sorted)
    reasons = {
        m.fingerprint: m.joined.reason for e in final_state(events).values() for m in e.alerts
    }
    for fp, reason in case.joined.items():
        assert reasons[fp] is reason, fp


def test_merge_keeps_older_id_and_absorbed_ends_merged() -> None:
    engine = Engine(SHOP)
    engine.ingest(alert("a1", "api", 0))
    engine.ingest(alert("w1", "worker", 5))
    first = engine.advance(at(100))  # both emitted as separate incidents
    assert len(first) == 2
    older, younger = first[0].id, first[1].id
    engine.ingest(alert("d1", "db", 150))
    events = engine.advance(at(200))
    by_id = {e.id: e for e in events}
    assert by_id[younger].status is IncidentStatus.MERGED
    assert by_id[younger].merged_into == older
    assert by_id[older].status is IncidentStatus.UPDATED
    assert {m.fingerprint for m in by_id[older].alerts} == {"a1", "w1", "d1"}
    joined = {m.fingerprint: (m.joined.reason, m.joined.via) for m in by_id[older].alerts}
    assert joined["w1"] == (JoinReason.TOPOLOGY, "d1")  # re-linked to the shared cause
    assert joined["a1"] == (JoinReason.TOPOLOGY, "d1")


def test_hold_delays_first_emission() -> None:
    engine = Engine(SHOP, EngineConfig().with_overrides())
    engine.ingest(alert("a1", "api", 0))
    assert engine.advance() == []
    engine.ingest(alert("b1", "billing", 29))
    assert engine.advance() == []
    engine.ingest(alert("b2", "billing", 30))
    events = engine.advance()
    assert [e.alerts[0].fingerprint for e in events] == ["a1"]
    assert events[0].status is IncidentStatus.OPEN
    assert events[0].version == 3  # the input position: three alerts ingested


def test_versions_increase_and_changes_coalesce_per_advance() -> None:
    engine = Engine(SHOP)
    engine.ingest(alert("a1", "api", 0))
    v1 = engine.advance(at(60))
    engine.ingest(alert("a1", "api", 0))  # re-send: a count change
    engine.ingest(alert("c1", "cache", 70))
    v2 = engine.advance(at(100))
    assert engine.advance() == []  # nothing changed since
    versions = [e.version for e in v1 + v2]
    assert versions == sorted(set(versions)) and len(versions) == 2  # strictly increasing
    assert v2[0].status is IncidentStatus.UPDATED
    counts = {m.fingerprint: m.count for m in v2[0].alerts}
    assert counts == {"a1": 2, "c1": 1}
    assert engine.stats.duplicates == 1


def test_incident_resolves_when_all_members_resolve() -> None:
    _, events = run(
        SHOP,
        [
            alert("d1", "db", 0),
            alert("a1", "api", 20),
            resolved("d1", "db", 0, 400),
            resolved("a1", "api", 20, 420),
        ],
    )
    (final,) = final_state(events).values()
    assert final.status is IncidentStatus.RESOLVED
    assert final.resolved_at == at(420).timestamp()
    assert all(m.status == "resolved" for m in final.alerts)


def test_resolve_of_unseen_alert_is_delivered() -> None:
    _, events = run(SHOP, [resolved("z1", "api", 0, 100)])
    (final,) = final_state(events).values()
    assert final.status is IncidentStatus.RESOLVED
    assert [m.fingerprint for m in final.alerts] == ["z1"]


def test_flapping_alert_is_marked_and_opens_nothing_new() -> None:
    seq: list[Alert] = []
    for i in range(4):
        start = i * 120
        seq += [alert("f1", "api", start), resolved("f1", "api", start, start + 60)]
    _, events = run(SHOP, seq, EngineConfig().with_overrides(flap_threshold=3))
    finals = final_state(events)
    assert len(finals) == 1
    (final,) = finals.values()
    assert final.alerts[0].flapping is True


def test_late_alert_is_flagged_and_joins_fitting_incident() -> None:
    engine = Engine(SHOP)
    engine.ingest(alert("a1", "api", 0))
    engine.ingest(alert("b1", "billing", 200))  # moves the watermark to 80
    notices = engine.ingest(alert("d1", "db", 10))
    assert [n.kind for n in notices] == [NoticeKind.LATE]
    events = engine.flush()
    inc = next(e for e in events if any(m.fingerprint == "a1" for m in e.alerts))
    late = {m.fingerprint: m.late for m in inc.alerts}
    assert late == {"a1": False, "d1": True}


def test_late_alert_without_incident_opens_its_own() -> None:
    engine = Engine(SHOP)
    engine.ingest(alert("b1", "billing", 1000))
    notices = engine.ingest(alert("a1", "api", 0))
    assert notices[0].kind is NoticeKind.LATE and notices[0].incident_id is not None
    events = final_state(engine.flush())
    joined = {e.alerts[0].fingerprint: e.alerts[0].joined.reason for e in events.values()}
    assert joined == {"b1": JoinReason.FIRST, "a1": JoinReason.LATE}


@dataclass(frozen=True)
class FutureCase:
    name: str
    alerts: list[Alert]
    #: (fingerprint, notice kind) of every HELD/FUTURE notice, in order
    notices: list[tuple[str, NoticeKind]]
    expected: list[set[str]]  # final grouping after flush


FUTURE_CASES = [
    FutureCase(
        "a bad clock among steady input is held, then rejected by the alerts that follow",
        [alert("a1", "api", 0), alert("x1", "api", 24 * 3600),
         alert("a2", "api", 10), alert("a3", "api", 20), alert("d1", "db", 30)],
        [("x1", NoticeKind.HELD), ("x1", NoticeKind.FUTURE)],
        [{"a1", "a2", "a3", "d1"}],
    ),
    FutureCase(
        "a quiet spell: the first alert after it is confirmed by the second",
        [alert("a1", "api", 0), alert("a2", "api", 2 * 3600), alert("d2", "db", 2 * 3600 + 20)],
        [("a2", NoticeKind.HELD)],
        [{"a1"}, {"a2", "d2"}],
    ),
    FutureCase(
        "a re-send of the held alert itself is no confirmation",
        [alert("a1", "api", 0), alert("a2", "api", 2 * 3600), alert("a2", "api", 2 * 3600),
         alert("b1", "billing", 5), alert("b2", "billing", 6), alert("b3", "billing", 7)],
        [("a2", NoticeKind.HELD), ("a2", NoticeKind.HELD),
         ("a2", NoticeKind.FUTURE), ("a2", NoticeKind.FUTURE)],
        [{"a1"}, {"b1", "b2", "b3"}],
    ),
    FutureCase(
        "an alert held at the end of the input is accepted, not lost",
        [alert("a1", "api", 0), alert("a2", "api", 5 * 3600)],
        [("a2", NoticeKind.HELD)],
        [{"a1"}, {"a2"}],
    ),
]


@pytest.mark.parametrize("case", FUTURE_CASES, ids=[c.name for c in FUTURE_CASES])
def test_future_dated_alerts_are_held_until_judged(case: FutureCase) -> None:
    engine = Engine(SHOP)
    seen: list[tuple[str, NoticeKind]] = []
    events = []
    for a in case.alerts:
        for notice in engine.ingest(a):
            if notice.kind in (NoticeKind.HELD, NoticeKind.FUTURE):
                seen.append((notice.alert.fingerprint, notice.kind))
                assert "ahead" in notice.reason
        events.extend(engine.advance())
    events.extend(engine.flush())
    assert seen == case.notices
    assert groups(events) == sorted((frozenset(g) for g in case.expected), key=sorted)
    assert engine.stats.future == sum(1 for _, k in case.notices if k is NoticeKind.FUTURE)


def test_a_held_alert_does_not_move_the_watermark() -> None:
    engine = Engine(SHOP)
    engine.ingest(alert("a1", "api", 0))
    engine.ingest(alert("x1", "api", 24 * 3600))
    assert engine.watermark is not None and engine.watermark < at(60)


def test_held_alert_is_accepted_once_event_time_catches_up() -> None:
    engine = Engine(SHOP)
    engine.ingest(alert("a1", "api", 0))
    assert [n.kind for n in engine.ingest(alert("x1", "db", 2 * 3600))] == [NoticeKind.HELD]
    engine.advance(at(2 * 3600 - 60))  # an idle timer moving event time on
    events = engine.flush()
    assert {"x1"} in [set(g) for g in groups(events)]
    assert engine.stats.future == 0


def test_held_alerts_survive_snapshot_and_restore() -> None:
    engine = Engine(SHOP)
    engine.ingest(alert("a1", "api", 0))
    engine.ingest(alert("x1", "api", 2 * 3600))
    clone = Engine(SHOP)
    clone.restore(engine.snapshot())
    notices = clone.ingest(alert("d1", "db", 2 * 3600 + 10))
    assert notices == []  # x1 is confirmed by d1
    assert {"x1", "d1"} in [set(g) for g in groups(clone.flush())]


def test_lifetime_cap_opens_linked_incident() -> None:
    cfg = EngineConfig().with_overrides(max_lifetime=EngineConfig().gap * 2)
    seq = [alert(f"a{i}", "api", i * 120) for i in range(8)]
    _, events = run(SHOP, seq, cfg)
    finals = sorted(final_state(events).values(), key=lambda e: e.opened_at)
    assert len(finals) == 2
    assert finals[1].previous_incident == finals[0].id


def test_size_cap_opens_linked_incident() -> None:
    cfg = EngineConfig().with_overrides(max_members=3)
    seq = [alert(f"a{i}", "api", i * 10) for i in range(3)]
    # f1 would be explained by the full incident's api alerts: it opens a linked one,
    # which a3 (its explainer, no longer admitted next to its peers) then joins.
    seq += [alert("f1", "frontend", 35), alert("a3", "api", 45)]
    _, events = run(SHOP, seq, cfg)
    finals = sorted(final_state(events).values(), key=lambda e: e.opened_at)
    assert [sorted(m.fingerprint for m in e.alerts) for e in finals] == [
        ["a0", "a1", "a2"],
        ["a3", "f1"],
    ]
    assert finals[1].previous_incident == finals[0].id


def test_max_members_below_two_is_rejected() -> None:
    with pytest.raises(ConfigError, match="max_members"):
        EngineConfig(max_members=1)


def test_inactivity_timeout_resolves() -> None:
    cfg = EngineConfig().with_overrides(inactivity_timeout=EngineConfig().gap * 2)
    engine = Engine(SHOP, cfg)
    engine.ingest(alert("a1", "api", 0))
    engine.advance(at(60))
    events = engine.advance(at(2000))
    assert [e.status for e in events] == [IncidentStatus.RESOLVED]
    assert events[0].resolved_reason == "inactivity_timeout"


def test_stale_resend_after_close_is_not_a_new_incident() -> None:
    engine = Engine(SHOP)
    engine.ingest(alert("a1", "api", 0))
    engine.ingest(resolved("a1", "api", 0, 100))
    engine.advance(at(100 + 3600))  # past the reopen window: evicted
    notices = engine.ingest(resolved("a1", "api", 0, 100))
    assert [n.kind for n in notices] == [NoticeKind.STALE]
    assert engine.advance() == []


def test_root_cause_prefers_dependency_over_earlier_symptom() -> None:
    _, events = run(
        SHOP,
        [
            alert("f1", "frontend", 0, severity="critical"),
            alert("a1", "api", 20),
            alert("d1", "db", 45, severity="warning"),
        ],
    )
    (final,) = final_state(events).values()
    assert final.root_cause is not None and final.root_cause.service == "db"
    ranked = [c.service for c in final.candidates]
    assert ranked[:2] == ["db", "api"]
    assert abs(sum(c.score for c in final.candidates) - 1.0) < 1e-6
    explained = {e.service: e.path for e in final.candidates[0].explains}
    assert explained == {"api": ("api", "db"), "frontend": ("frontend", "api", "db")}


def test_unknown_service_is_flagged() -> None:
    _, events = run(SHOP, [alert("x1", "ghost", 0)])
    (final,) = final_state(events).values()
    assert final.unknown_services == ("ghost",) and final.services == ()
    assert final.alerts[0].known_service is False


def test_alias_label_resolves_service() -> None:
    from topology import Service, Topology

    t = Topology.from_services(
        [Service("api", aliases=("api-svc",), depends_on=("db",)), Service("db", kind="database")]
    )
    a = alert("a1", "nope", 0, labels={"service": "nope", "app": "api-svc"})
    _, events = run(t, [a, alert("d1", "db", 10)])
    (final,) = final_state(events).values()
    assert final.services == ("api", "db")


def test_ids_are_deterministic() -> None:
    seq = [alert("d1", "db", 0), alert("a1", "api", 30)]
    _, e1 = run(SHOP, seq)
    _, e2 = run(SHOP, seq)
    assert [e.to_dict() for e in e1] == [e.to_dict() for e in e2]
    assert e1[0].id.startswith("inc-")


def test_snapshot_restore_is_transparent() -> None:
    seq = [alert("d1", "db", 0), alert("a1", "api", 30), alert("b1", "billing", 50)]
    rest = [alert("w1", "worker", 70), resolved("d1", "db", 0, 500)]
    engine = Engine(SHOP)
    for a in seq:
        engine.ingest(a)
    engine.advance()
    blob = engine.snapshot()
    clone = Engine(SHOP)
    clone.restore(blob)
    assert clone.snapshot() == blob
    out1, out2 = [], []
    for a in rest:
        engine.ingest(a)
        clone.ingest(a)
        out1 += engine.advance()
        out2 += clone.advance()
    out1 += engine.flush()
    out2 += clone.flush()
    assert [e.to_dict() for e in out1] == [e.to_dict() for e in out2]


def test_restore_rejects_garbage() -> None:
    from correlator.errors import SnapshotError

    with pytest.raises(SnapshotError):
        Engine(SHOP).restore(b"not a snapshot")


@dataclass(frozen=True)
class TimingCase:
    name: str
    alerts: list[Alert]
    expected: list[set[str]]
    overrides: dict[str, float]


def _cfg(overrides: dict[str, float]) -> EngineConfig:
    from datetime import timedelta

    return EngineConfig().with_overrides(**{k: timedelta(seconds=v) for k, v in overrides.items()})


TIMING_CASES = [
    TimingCase(
        "cause starting within link_window before the symptom explains it",
        [alert("d1", "db", 0), alert("a1", "api", 170)],
        [{"d1", "a1"}],
        {},
    ),
    TimingCase(
        "cause starting more than link_window before the symptom does not",
        [alert("d1", "db", 0), alert("a1", "api", 200)],
        [{"d1"}, {"a1"}],
        {},
    ),
    TimingCase(
        "cause starting within cause_lag after the symptom explains it",
        [alert("a1", "api", 0), alert("d1", "db", 280)],
        [{"d1", "a1"}],
        {},
    ),
    TimingCase(
        "cause starting beyond cause_lag after the symptom does not",
        [alert("a1", "api", 0), alert("d1", "db", 320)],
        [{"a1"}, {"d1"}],
        {},
    ),
    TimingCase(
        "proximity fallback links siblings close in time",
        [alert("a1", "api", 0), alert("w1", "worker", 20)],
        [{"a1", "w1"}],
        {"proximity_window": 60},
    ),
    TimingCase(
        "proximity fallback links an unknown service by time",
        [alert("a1", "api", 0), alert("x1", "ghost", 20)],
        [{"a1", "x1"}],
        {"proximity_window": 60},
    ),
    TimingCase(
        "proximity fallback still respects its window",
        [alert("a1", "api", 0), alert("x1", "ghost", 90)],
        [{"a1"}, {"x1"}],
        {"proximity_window": 60},
    ),
]


@pytest.mark.parametrize("case", TIMING_CASES, ids=[c.name for c in TIMING_CASES])
def test_link_timing(case: TimingCase) -> None:
    _, events = run(SHOP, case.alerts, _cfg(case.overrides))
    assert groups(events) == sorted((frozenset(g) for g in case.expected), key=sorted)


def test_best_explainer_keeps_top_symptom_with_one_cause() -> None:
    """A gateway alert relates to two concurrent faults below it; it joins the
    nearer one and does not weld them into one incident."""
    t = topo({"edge": ["web"], "web": ["cat", "pay"], "pay": ["paydb"], "cat": []})
    _, events = run(
        t,
        [
            alert("c1", "cat", 0),
            alert("p1", "paydb", 5),
            alert("e1", "edge", 30),
            alert("w1", "web", 40),
        ],
    )
    assert groups(events) == sorted([frozenset({"c1", "w1", "e1"}), frozenset({"p1"})], key=sorted)


def test_merged_members_leave_no_stale_index_entry_after_retirement() -> None:
    """Moving members between incidents must not index them twice: once the incident
    retires, a late alert near their times must find nothing stale to link to."""
    engine = Engine(SHOP)
    for a in [alert("a1", "api", 0), alert("w1", "worker", 10), alert("d1", "db", 20)]:
        engine.ingest(a)
    engine.ingest(alert("b0", "billing", 100))  # moves the watermark past the three
    engine.advance()
    assert engine.stats.incidents_merged == 1
    for fp, service, start in [("a1", "api", 0), ("w1", "worker", 10), ("d1", "db", 20)]:
        engine.ingest(resolved(fp, service, start, 150))
    engine.ingest(alert("b1", "billing", 1500))  # past resolve + reopen_window: retired
    engine.advance()
    assert "w1" not in {m.fingerprint for e in engine.incidents() for m in e.alerts}
    notices = engine.ingest(alert("w2", "worker", 12))  # late, next to the retired w1
    assert [n.kind for n in notices] == [NoticeKind.LATE]
    events = engine.flush()
    assert "w2" in {m.fingerprint for e in events for m in e.alerts}


def test_state_is_bounded_under_churn() -> None:
    """Closed incidents, their fingerprints and their ids are all forgotten in time."""
    import orjson

    engine = Engine(SHOP)
    sizes = []
    for r in range(12):
        base = r * 3600
        for i in range(50):
            fp = f"r{r}-{i}"
            engine.ingest(alert(fp, "billing", base + i))
            engine.ingest(resolved(fp, "billing", base + i, base + i + 60))
        engine.advance()
        state = orjson.loads(engine.snapshot())
        sizes.append(len(state["used_ids"]) + len(state["closed"]) + len(state["incidents"]))
    assert max(sizes[4:]) <= 2 * min(sizes[4:]), sizes
    assert sizes[-1] < 12 * 50


def test_resolved_alert_that_bridges_into_an_older_incident() -> None:
    """A new *resolved* alert joins a young incident (through its explainer) and
    adopts an older incident's root: everything ends in one incident."""
    engine = Engine(SHOP)
    engine.ingest(alert("f1", "frontend", 60))  # older incident, root f1
    engine.ingest(alert("c1", "cache", 100))  # younger incident, root c1
    engine.ingest(resolved("a2", "api", 110, 200))  # explained by c1, explains f1
    events = final_state(engine.flush())
    assert [sorted(m.fingerprint for m in e.alerts) for e in events.values()] == [
        ["a2", "c1", "f1"]
    ]


@dataclass(frozen=True)
class ReopenCase:
    name: str
    refire_at: float  # a1 resolved at 100: its incident is reopenable until 100 + 900
    tail: list[float]  # event times of the next records (on time), in arrival order
    reopened: bool


REOPEN_CASES = [
    ReopenCase("inside window, in order", 990, [1025, 1040], True),
    ReopenCase("inside window, watermark jumps past the window first", 990, [1040, 1025], True),
    ReopenCase("after window, in order", 1005, [1040, 1050], False),
    ReopenCase("after window, arrival shuffled", 1005, [1050, 1040], False),
]


@pytest.mark.parametrize("case", REOPEN_CASES, ids=[c.name for c in REOPEN_CASES])
def test_reopen_is_decided_at_the_refires_event_time(case: ReopenCase) -> None:
    """An on-time re-fire reopens by its own event time, whichever record releases it.

    The reorder buffer holds the re-fire until the watermark passes it; the record
    that moves the watermark (and how far) depends on arrival order inside the
    allowed lateness, so it must not decide whether the window was still open.
    """
    tail = [alert(f"b{t:g}", "billing", t) for t in case.tail]
    lifecycle = [
        alert("a1", "api", 0),
        resolved("a1", "api", 0, 100),
        alert("a1", "api", case.refire_at),
    ]
    _, events = run(SHOP, [*lifecycle, *tail])
    first_id = events[0].id
    holding = [e for e in final_state(events).values() if "a1" in {m.fingerprint for m in e.alerts}]
    assert len(holding) == (1 if case.reopened else 2)
    firing = [e for e in holding if e.status is not IncidentStatus.RESOLVED]
    assert len(firing) == 1
    assert (firing[0].id == first_id) is case.reopened
    assert groups(events).count(frozenset({f"b{t:g}" for t in case.tail})) == 1


HISTORY_ORDERS = {
    "resolve queued behind its firing": ["a1 fires", "a1 resolves", "b1 fires"],
    "resolve after the firing was released": ["a1 fires", "b1 fires", "a1 resolves"],
}


@pytest.mark.parametrize("order", HISTORY_ORDERS.values(), ids=HISTORY_ORDERS.keys())
def test_buffered_history_folds_each_notification_at_its_own_time(order: list[str]) -> None:
    """A resolve that waits behind its own firing in the reorder buffer folds when the
    watermark passes *its* time, not when the firing is released: what is emitted does
    not depend on which of two on-time records came first."""
    notices = {
        "a1 fires": alert("a1", "api", 0),
        "a1 resolves": resolved("a1", "api", 0, 25),
        "b1 fires": alert("b1", "billing", 31),
    }
    engine = Engine(SHOP)
    for name in order:
        engine.ingest(notices[name])
    first = [e for e in engine.advance() if "a1" in {m.fingerprint for m in e.alerts}]
    assert [(e.status, [m.status for m in e.alerts]) for e in first] == [
        (IncidentStatus.OPEN, ["firing"])
    ]
    final = [e for e in final_state(engine.flush()).values() if e.alerts[0].fingerprint == "a1"]
    assert [e.status for e in final] == [IncidentStatus.RESOLVED]


def test_pending_counts_are_published_before_an_incident_is_forgotten() -> None:
    """A re-send after the last emission bumps a count that waits for the update
    interval; retirement must not drop it: the final event carries it."""
    engine = Engine(SHOP, EngineConfig(count_update_interval=timedelta(hours=1)))
    events = []
    for a in [alert("a1", "api", 0), alert("b1", "billing", 100)]:
        engine.ingest(a)
    events += engine.advance()
    engine.ingest(resolved("a1", "api", 0, 150))
    engine.ingest(alert("b2", "billing", 300))
    events += engine.advance()
    engine.ingest(resolved("a1", "api", 0, 150))  # an HA pair's copy of the resolve
    engine.ingest(alert("b3", "billing", 400))
    events += engine.advance()
    engine.ingest(alert("b4", "billing", 1500))  # past the reopen window: a1's incident retires
    events += engine.advance()
    last = [e for e in events if "a1" in {m.fingerprint for m in e.alerts}][-1]
    assert last.status is IncidentStatus.RESOLVED
    assert last.alerts[0].count == 3


# ---------------------------------------------------------------- explanation trees never loop


def _assert_trees(engine: Engine) -> None:
    """Every live member reaches a root of its incident by parent links, without a loop."""
    state = orjson.loads(engine.snapshot())
    for raw in state["incidents"]:
        members = {m["fingerprint"]: m for m in raw["members"]}
        for fp in members:
            seen = set()
            node: str | None = fp
            while node is not None:
                assert node not in seen, f"loop through {node} in {raw['id']}"
                seen.add(node)
                node = members[node]["parent"]


CYCLE_CASES = {
    # name: (topology edges, alerts as (fp, service, start))
    "two-service-cycle": (
        {"a": ["b"], "b": ["a"]},
        [("a1", "a", 0), ("b1", "b", 5), ("a2", "a", 10), ("b2", "b", 12)],
    ),
    "three-service-cycle": (
        {"a": ["b"], "b": ["c"], "c": ["a"]},
        [("c1", "c", 0), ("a1", "a", 1), ("b1", "b", 2), ("c2", "c", 3), ("a2", "a", 4)],
    ),
    "same-service-peers": (
        {"a": ["b"]},
        [("b1", "b", 0), ("b2", "b", 1), ("a1", "a", 2), ("b3", "b", 3), ("b0", "b", -1)],
    ),
}


@pytest.mark.parametrize("case", sorted(CYCLE_CASES), ids=sorted(CYCLE_CASES))
def test_links_never_close_a_loop(case: str) -> None:
    edges, spec = CYCLE_CASES[case]
    _, events = run(topo(edges), [alert(fp, svc, t) for fp, svc, t in spec])
    assert groups(events) == [frozenset(fp for fp, _, _ in spec)]
    placed = Engine(topo(edges), EngineConfig(allowed_lateness=timedelta(0)))
    for fp, svc, t in spec:
        placed.ingest(alert(fp, svc, t))
        placed.advance()
    _assert_trees(placed)


def test_a_topology_swap_that_reverses_an_edge_cannot_close_a_loop() -> None:
    """Links made under ``a -> b`` point the other way in the new ``b -> a``: the engine
    must notice that its old links no longer go down the topology."""
    engine = Engine(topo({"a": ["b"]}), EngineConfig(allowed_lateness=timedelta(0)))
    engine.ingest(alert("a1", "a", 0))
    engine.ingest(alert("b1", "b", 1))  # b1 explains a1
    engine.advance()
    engine.set_topology(topo({"b": ["a"]}))
    engine.ingest(alert("a2", "a", 2))  # peer of a1; a dependency of b1 now
    engine.advance()
    _assert_trees(engine)
    restored = Engine(topo({"b": ["a"]}), EngineConfig(allowed_lateness=timedelta(0)))
    restored.restore(engine.snapshot())
    restored.ingest(alert("a3", "a", 3))
    restored.advance()
    _assert_trees(restored)
    events = restored.flush()
    assert {m.fingerprint for e in final_state(events).values() for m in e.alerts} == {
        "a1", "b1", "a2", "a3"
    }


def test_ranking_follows_a_topology_swap_and_new_services() -> None:
    """The ranking is reused only while its inputs (topology, per-service signals) hold."""
    engine = Engine(topo({"a": ["b"]}), EngineConfig(allowed_lateness=timedelta(0),
                                                     hold=timedelta(0),
                                                     update_interval=timedelta(0)))
    engine.ingest(alert("a1", "a", 0))
    engine.ingest(alert("b1", "b", 1))
    first = engine.advance()
    assert first[-1].root_cause is not None and first[-1].root_cause.service == "b"
    engine.ingest(alert("a2", "a", 2))  # same services, same signals: same ranking
    same = engine.advance()
    assert same[-1].candidates == first[-1].candidates
    engine.set_topology(topo({"b": ["a"]}))  # now a fault in a explains b
    engine.ingest(alert("a3", "a", 3))
    swapped = engine.advance()
    assert swapped[-1].root_cause is not None and swapped[-1].root_cause.service == "a"


def test_published_member_dicts_are_fresh_copies() -> None:
    _, events = run(topo({"a": ["b"]}), [alert("a1", "a", 0), alert("b1", "b", 1)])
    view = events[-1].alerts[0]
    doc = view.to_dict()
    doc["service"] = "mutated"
    assert view.to_dict()["service"] == view.service != "mutated"
    assert events[-1].to_dict()["alerts"][0]["service"] == view.service


def test_placing_an_alert_on_a_hot_service_does_not_rank_every_open_alert(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A storm regression guard (work, not time): with hundreds of alerts open on a
    service and its dependency, each new alert ranks a handful of candidates, not all of
    them (the exhaustive search ranked every open alert within the link windows)."""
    calls = 0
    rank = Engine._rank

    def counting(self: Engine, **kw: object) -> object:
        nonlocal calls
        calls += 1
        return rank(self, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(Engine, "_rank", counting)
    n = 600
    storm = [alert(f"b{i}", "b", i * 0.1) for i in range(n)]
    storm += [alert(f"a{i}", "a", i * 0.1 + 0.05) for i in range(n)]
    _, events = run(topo({"a": ["b"]}), storm, EngineConfig(allowed_lateness=timedelta(0)))
    assert len(groups(events)) == 1
    assert calls < 10 * len(storm), f"{calls} rankings for {len(storm)} alerts"


# ---------------------------------------------------------------- update coalescing


def _prompt(update_interval: float) -> Engine:
    """An engine that publishes at once (no hold, no lateness), with this update interval."""
    return Engine(SHOP, EngineConfig(hold=timedelta(0), allowed_lateness=timedelta(0),
                                     update_interval=timedelta(seconds=update_interval)))


def _fps(event: object) -> set[str]:
    return {m.fingerprint for m in event.alerts}  # type: ignore[attr-defined]


def test_growth_of_a_published_incident_waits_for_the_update_interval() -> None:
    engine = _prompt(10)
    engine.ingest(alert("d1", "db", 0))
    assert [_fps(e) for e in engine.advance()] == [{"d1"}]  # opening: at once
    engine.ingest(alert("a1", "api", 3))
    engine.ingest(alert("f1", "frontend", 6))
    assert engine.advance() == []  # 6 s after the last publication: held back
    engine.ingest(alert("b1", "billing", 10))  # event time reaches the interval
    published = engine.advance()
    grown = [e for e in published if "d1" in _fps(e)]
    assert [(e.status, _fps(e)) for e in grown] == [
        (IncidentStatus.UPDATED, {"d1", "a1", "f1"})
    ]


def test_zero_update_interval_publishes_every_change_at_the_next_advance() -> None:
    engine = _prompt(0)
    engine.ingest(alert("d1", "db", 0))
    engine.advance()
    engine.ingest(alert("a1", "api", 3))
    assert [_fps(e) for e in engine.advance()] == [{"d1", "a1"}]


def test_resolving_is_published_at_once_inside_the_update_interval() -> None:
    engine = _prompt(60)
    engine.ingest(alert("d1", "db", 0))
    engine.advance()
    engine.ingest(resolved("d1", "db", 0, 5))
    engine.ingest(alert("b1", "billing", 6))
    statuses = {e.status for e in engine.advance() if "d1" in _fps(e)}
    assert statuses == {IncidentStatus.RESOLVED}


def test_a_merge_is_published_at_once_inside_the_update_interval() -> None:
    engine = _prompt(60)
    engine.ingest(alert("a1", "api", 0))
    engine.ingest(alert("w1", "worker", 1))  # siblings of a healthy db: two incidents
    assert len(engine.advance()) == 2
    engine.ingest(alert("d1", "db", 4))  # the db explains both: one absorbs the other
    statuses = sorted(e.status.value for e in engine.advance())
    assert "merged" in statuses


def _with_held_growth(update_interval: float) -> Engine:
    """d1's incident published, then a1 joined it inside the update interval: held back."""
    engine = _prompt(update_interval)
    engine.ingest(alert("d1", "db", 0))
    engine.advance()
    engine.ingest(alert("a1", "api", 3))
    assert engine.advance() == []
    return engine


def test_flush_publishes_growth_still_held_by_the_update_interval() -> None:
    engine = _with_held_growth(3600)
    final = final_state(engine.flush())
    assert [_fps(e) for e in final.values()] == [{"d1", "a1"}]


def test_a_held_update_survives_snapshot_and_restore() -> None:
    engine = _with_held_growth(10)
    restored = _prompt(10)
    restored.restore(engine.snapshot())
    restored.ingest(alert("b1", "billing", 12))
    grown = [e for e in restored.advance() if "d1" in _fps(e)]
    assert [_fps(e) for e in grown] == [{"d1", "a1"}]


def test_a_snapshot_from_before_update_coalescing_still_loads() -> None:
    engine = _prompt(0)
    engine.ingest(alert("d1", "db", 0))
    engine.advance()
    engine.ingest(resolved("d1", "db", 0, 5))
    engine.advance()
    state = orjson.loads(engine.snapshot())
    for raw in state["incidents"]:
        del raw["published_resolved"]
    restored = _prompt(600)
    restored.restore(orjson.dumps(state))
    restored.ingest(alert("d1", "db", 20))  # re-fires inside the reopen window
    statuses = [e.status for e in restored.advance() if "d1" in _fps(e)]
    assert statuses == [IncidentStatus.UPDATED]  # reopening is a state change: at once
