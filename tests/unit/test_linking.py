"""The cross-domain linker: which incidents of different partitions it joins, and how."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import orjson
import pytest

from correlator.config import EngineConfig
from correlator.errors import SnapshotError
from correlator.incident import IncidentEvent, IncidentStatus, JoinedBy, JoinReason, MemberView
from correlator.linking import IncidentLinker, event_from_doc, event_to_doc
from tests.helpers import topo

T0 = 1_790_000_000.0
CONFIG = EngineConfig()  # max_hops 2, link_window 3 min, cause_lag 5 min
# web -> api -> db ; api -> cache ; batch -> queue ; edge -> web (three hops to db)
TOPO = topo({"edge": ["web"], "web": ["api"], "api": ["db", "cache"], "batch": ["queue"]})


@dataclass(frozen=True)
class M:
    """A member: fingerprint, service, start offset (s), explained by another fp or root."""

    fp: str
    service: str
    t: float
    via: str | None = None


def ev(
    incident: str,
    members: Sequence[M],
    *,
    version: int = 1,
    status: IncidentStatus = IncidentStatus.OPEN,
    resolved: float | None = None,
    merged_into: str | None = None,
) -> IncidentEvent:
    views = tuple(
        MemberView(
            fingerprint=m.fp,
            service=m.service,
            known_service=m.service in TOPO,
            name=f"{m.service}-alert",
            severity="error",
            status="firing" if resolved is None else "resolved",
            starts_at=T0 + m.t,
            ends_at=None if resolved is None else T0 + resolved,
            count=1,
            flapping=False,
            late=False,
            summary="",
            joined=JoinedBy(JoinReason.FIRST)
            if m.via is None
            else JoinedBy(JoinReason.SAME_SERVICE, via=m.via, hops=0),
        )
        for m in sorted(members, key=lambda m: (m.t, m.fp))
    )
    opened = min((T0 + m.t for m in members), default=T0)
    return IncidentEvent(
        id=incident,
        version=version,
        status=status if resolved is None else IncidentStatus.RESOLVED,
        merged_into=merged_into,
        previous_incident=None,
        opened_at=opened,
        updated_at=max((T0 + m.t for m in members), default=T0),
        resolved_at=None if resolved is None else T0 + resolved,
        first_emitted_at=opened + 30,
        severity="error" if members else "info",
        title=incident,
        candidates=(),
        alerts=views,
        services=tuple(sorted({m.service for m in members if m.service in TOPO})),
        unknown_services=(),
        topology_version=TOPO.version,
        records=len(members),
    )


def clock(seconds: float) -> datetime:
    return datetime.fromtimestamp(T0 + seconds, UTC)


Step = tuple[int, list[IncidentEvent], float]


def run(steps: Iterable[Step], linker: IncidentLinker | None = None) -> list[IncidentEvent]:
    linker = linker or IncidentLinker(TOPO, CONFIG)
    out: list[IncidentEvent] = []
    for partition, events, now in steps:
        out.extend(linker.feed(partition, events, clock(now)))
    return out


def final(events: Iterable[IncidentEvent]) -> dict[str, IncidentEvent]:
    last: dict[str, IncidentEvent] = {}
    for e in events:
        if e.id not in last or e.version > last[e.id].version:
            last[e.id] = e
    return {i: e for i, e in sorted(last.items()) if e.status is not IncidentStatus.MERGED}


def groups(events: Iterable[IncidentEvent]) -> dict[str, list[str]]:
    return {i: sorted(a.fingerprint for a in e.alerts) for i, e in final(events).items()}


# ----------------------------------------------------------------------------- link rule

LINK_CASES = [
    # (id, partition of B, B's members, linked?)
    ("adjacent_across_partitions", 1, [M("b1", "api", -20)], True),
    ("two_hops_across_partitions", 1, [M("b1", "db", -20)], True),
    ("three_hops_is_beyond_max_hops", 1, [M("b1", "db", -20)], None),  # root on edge, see below
    ("same_partition_is_the_engines_call", 0, [M("b1", "api", -20)], False),
    ("unrelated_services", 1, [M("b1", "queue", -20)], False),
    ("dependent_does_not_explain", 1, [M("b0", "queue", -20), M("b1", "edge", -10, "b0")], False),
    ("cause_too_early", 1, [M("b1", "api", -190)], False),
    ("late_cause_within_cause_lag", 1, [M("b1", "api", 290)], True),
    ("cause_too_late", 1, [M("b1", "api", 310)], False),
]


@pytest.mark.parametrize(
    ("partition", "members", "linked"), [c[1:] for c in LINK_CASES], ids=[c[0] for c in LINK_CASES]
)
def test_link_rule(partition: int, members: list[M], linked: bool | None) -> None:
    root_service = "web"
    if linked is None:  # edge -> web -> api -> db: three hops
        root_service, linked = "edge", False
    a = ev("inc-a", [M("a1", root_service, 0)])
    b = ev("inc-b", members)
    out = run([(0, [a], 10), (partition, [b], 10)])
    if linked:
        survivor, absorbed = ("inc-a", "inc-b") if a.opened_at < b.opened_at else ("inc-b", "inc-a")
        assert groups(out) == {survivor: sorted(["a1", *(m.fp for m in members)])}
        merged = [e for e in out if e.status is IncidentStatus.MERGED]
        assert [(e.id, e.merged_into) for e in merged] == [(absorbed, survivor)]
    else:
        assert out == [a, b], "unlinked incidents pass through as the very same events"


def test_survivor_is_the_older_incident_and_ranking_covers_the_union() -> None:
    symptom = ev("inc-z", [M("w1", "web", 0), M("w2", "web", 5, "w1")])
    cause = ev("inc-y", [M("d1", "api", 20)])
    out = run([(0, [symptom], 30), (1, [cause], 60)])
    (survivor,) = final(out).values()
    assert survivor.id == "inc-z"  # opened first, although its id sorts later
    assert survivor.root_cause is not None and survivor.root_cause.service == "api"
    linked_root = next(a for a in survivor.alerts if a.fingerprint == "w1")
    assert linked_root.joined.reason is JoinReason.TOPOLOGY
    assert linked_root.joined.via == "d1"
    assert linked_root.joined.path == ("web", "api")
    assert survivor.services == ("api", "web")
    assert survivor.records == 3


def test_merge_chain_across_three_partitions() -> None:
    edge = ev("inc-1", [M("e1", "edge", 0)])
    web = ev("inc-2", [M("w1", "web", 10)])
    api = ev("inc-3", [M("a1", "api", 20)])
    out = run([(0, [edge], 30), (1, [web], 40), (2, [api], 50)])
    assert groups(out) == {"inc-1": ["a1", "e1", "w1"]}
    merged = {e.id: e.merged_into for e in out if e.status is IncidentStatus.MERGED}
    assert merged == {"inc-2": "inc-1", "inc-3": "inc-1"}


def test_engine_merge_of_a_linked_component_points_at_the_cluster_survivor() -> None:
    a = ev("inc-a", [M("a1", "web", 0)])
    b = ev("inc-b", [M("b1", "api", 10)])
    b2 = ev("inc-b2", [M("b1", "api", 10), M("b0", "db", 5)], version=5)
    b_gone = ev("inc-b", [], version=5, merged_into="inc-b2", status=IncidentStatus.MERGED)
    out = run([(0, [a], 20), (1, [b], 30), (1, [b_gone, b2], 40)])
    assert groups(out) == {"inc-a": ["a1", "b0", "b1"]}
    last_b = [e for e in out if e.id == "inc-b"][-1]
    assert last_b.merged_into == "inc-a"


def test_cluster_splits_when_the_explaining_member_moves_away() -> None:
    a = ev("inc-a", [M("a1", "web", 0)], version=3)
    b = ev("inc-b", [M("b1", "api", 10)], version=4)
    b_moved = ev("inc-b", [M("b9", "queue", 10)], version=9)  # b1 left for another incident
    out = run([(0, [a], 20), (1, [b], 30), (1, [b_moved], 40)])
    assert groups(out) == {"inc-a": ["a1"], "inc-b": ["b9"]}
    versions = [e.version for e in out if e.id == "inc-a"]
    assert versions == sorted(set(versions)), "strictly increasing for the freed incident"


def test_versions_strictly_increase_per_output_id() -> None:
    steps: list[Step] = [
        (0, [ev("inc-a", [M("a1", "web", 0)], version=7)], 10),
        (1, [ev("inc-b", [M("b1", "api", 5)], version=2)], 20),
        (1, [ev("inc-b", [M("b1", "api", 5), M("b2", "api", 8, "b1")], version=3)], 30),
        (0, [ev("inc-a", [M("a1", "web", 0), M("a2", "web", 9, "a1")], version=8)], 40),
        (1, [ev("inc-b", [M("b9", "queue", 10)], version=4)], 50),
        (0, [ev("inc-a", [M("a1", "web", 0)], version=9, resolved=60)], 70),
    ]
    out = run(steps)
    seen: dict[str, int] = {}
    for event in out:
        assert event.version > seen.get(event.id, -1), f"{event.id} went back to {event.version}"
        seen[event.id] = event.version


# ----------------------------------------------------------------------------- state

SCRIPT: list[Step] = [
    (0, [ev("inc-a", [M("a1", "web", 0)], version=1)], 10),
    (1, [ev("inc-b", [M("b1", "api", 5)], version=1)], 15),
    (2, [ev("inc-c", [M("c1", "db", 8)], version=2)], 20),
    (0, [ev("inc-a", [M("a1", "web", 0), M("a2", "web", 9, "a1")], version=4)], 30),
    (1, [ev("inc-d", [M("d1", "queue", 40)], version=3)], 45),
    (2, [ev("inc-c", [M("c1", "db", 8)], version=5, resolved=50)], 60),
    (1, [ev("inc-b", [M("b1", "api", 5)], version=6, resolved=55)], 60),
    (0, [ev("inc-a", [M("a1", "web", 0), M("a2", "web", 9, "a1")], version=7, resolved=58)], 61),
]


@pytest.mark.parametrize("cut", range(1, len(SCRIPT)), ids=lambda n: f"restore_after_step_{n}")
def test_restore_mid_stream_gives_the_same_output(cut: int) -> None:
    whole = run(SCRIPT)
    first = IncidentLinker(TOPO, CONFIG)
    head = run(SCRIPT[:cut], first)
    doc = orjson.loads(orjson.dumps(first.snapshot()))
    second = IncidentLinker(TOPO, CONFIG)
    second.restore(doc)
    assert head + run(SCRIPT[cut:], second) == whole


def test_redelivered_events_change_nothing() -> None:
    whole = run(SCRIPT)
    again = IncidentLinker(TOPO, CONFIG)
    out = run(SCRIPT[:5], again)
    assert run(SCRIPT[:5], again) == [], "events not above the held version are skipped"
    out += run(SCRIPT[5:], again)
    assert out == whole


@pytest.mark.parametrize(
    "order",
    [list(range(len(SCRIPT))), [1, 4, 6, 2, 5, 0, 3, 7], [2, 5, 0, 3, 1, 4, 6, 7]],
    ids=["input_order", "partition_1_first", "partition_2_first"],
)
def test_final_state_does_not_depend_on_partition_interleaving(order: list[int]) -> None:
    # Reordering keeps each partition's own order (the only order Kafka guarantees).
    steps = [SCRIPT[i] for i in order]
    for p in range(3):
        mine = [s[1][0].version for s in steps if s[0] == p]
        assert [v for v in mine] == sorted(mine)
    reference = final(run(SCRIPT))
    got = final(run(steps))
    assert {i: (e.alerts, e.status, e.candidates) for i, e in got.items()} == {
        i: (e.alerts, e.status, e.candidates) for i, e in reference.items()
    }


def test_deterministic_output() -> None:
    assert run(SCRIPT) == run(SCRIPT)
    assert groups(run(SCRIPT)) == {"inc-a": ["a1", "a2", "b1", "c1"], "inc-d": ["d1"]}


def test_closed_clusters_are_forgotten() -> None:
    linker = IncidentLinker(TOPO, CONFIG)
    run(SCRIPT, linker)
    assert linker.components == 4 and linker.linked == 3
    horizon = CONFIG.reopen_window + CONFIG.allowed_lateness + CONFIG.closed_retention
    later = 61 + horizon.total_seconds() + 1
    run([(1, [ev("inc-e", [M("e1", "batch", later)])], later)], linker)
    assert linker.components == 2, "the closed cluster is gone; open inc-d and new inc-e stay"
    assert linker.linked == 0


def test_lossless_event_form() -> None:
    (survivor,) = final(run(SCRIPT[:4])).values()
    assert event_from_doc(orjson.loads(orjson.dumps(event_to_doc(survivor)))) == survivor


def test_a_union_keeps_what_its_components_shed() -> None:
    """A component that shed settled alerts (engine.member_retention) lists fewer
    alerts: the linked incident still counts them and names their services."""
    a = ev("inc-a", [M("a1", "web", 0)])
    b = replace(ev("inc-b", [M("b1", "api", -20)]), shed_alerts=7, services=("api", "cache"))
    (survivor,) = final(run([(0, [a], 10), (1, [b], 10)])).values()
    assert survivor.shed_alerts == 7
    assert survivor.services == ("api", "cache", "web")
    assert "(9 alerts" in survivor.title
    assert event_from_doc(orjson.loads(orjson.dumps(event_to_doc(survivor)))) == survivor


@pytest.mark.parametrize(
    "doc",
    [{}, {"format": 99}, {"format": 1, "clocks": {}, "components": [{"partition": 0}]}],
    ids=["empty", "unknown_format", "component_without_event"],
)
def test_bad_snapshot_is_a_snapshot_error(doc: dict[str, object]) -> None:
    with pytest.raises(SnapshotError):
        IncidentLinker(TOPO, CONFIG).restore(doc)
