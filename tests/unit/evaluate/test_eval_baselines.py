"""The three baselines on a tiny hand-made storm."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from correlator.codecs import encode_alertmanager
from correlator.evaluate import BASELINES, run_baseline
from correlator.evaluate.baselines import make_grouper
from correlator.model import Alert, Severity, Status
from tests.unit.simulate.builders import build_topology

T0 = datetime(2026, 9, 1, 10, 0, tzinfo=UTC)
# gw -> api -> db, api -> cache; batch -> queue is a separate component.
TOPO = build_topology(
    {"gw": ["api"], "api": ["db", "cache"], "batch": ["queue"]},
    kinds={"gw": "gateway", "db": "database", "cache": "cache", "queue": "queue"},
    aliases={"api": ("api-svc",)},
)


def alert(fp: str, service: str, start_s: int, *, end_s: int | None = None) -> Alert:
    return Alert(
        fingerprint=fp, source="alertmanager", service=service, name=f"Rule{fp}",
        severity=Severity.CRITICAL if fp == "d1" else Severity.WARNING,
        status=Status.RESOLVED if end_s is not None else Status.FIRING,
        starts_at=T0 + timedelta(seconds=start_s),
        ends_at=T0 + timedelta(seconds=end_s) if end_s is not None else None,
    )


P1, G1 = alert("p1", "api-svc", 30), alert("g1", "gw", 60)
D1, Q1 = alert("d1", "db", 0), alert("q1", "queue", 90)
P2, U1 = alert("p2", "api", 1200), alert("u1", "mystery", 1210)
LINES = [
    orjson.dumps(encode_alertmanager(batch))
    for batch in (
        [P1, G1],  # symptoms arrive first
        [D1],
        [Q1],
        [P1, G1],  # re-send
        [alert("d1", "db", 0, end_s=600)],
        [P2, U1],
    )
]

EXPECTED: dict[str, tuple[list[set[str]], dict[str, str]]] = {
    "time_window": ([{"p1", "g1", "d1", "q1"}, {"p2", "u1"}], {"p1": "db", "p2": "api"}),
    "am_service": ([{"p1"}, {"g1"}, {"d1"}, {"q1"}, {"p2"}, {"u1"}],
                   {"p1": "api", "g1": "gw", "u1": "mystery"}),
    "components": ([{"p1", "g1", "d1"}, {"q1"}, {"p2"}, {"u1"}], {"p1": "db", "q1": "queue"}),
}


def by_fingerprint(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {a["fingerprint"]: e for e in events for a in e["alerts"]}


@pytest.mark.parametrize("name", BASELINES, ids=list(BASELINES))
def test_grouping_and_root(name: str) -> None:
    events = run_baseline(name, LINES, TOPO)
    groups, roots = EXPECTED[name]
    assert sorted(map(sorted, ({a["fingerprint"] for a in e["alerts"]} for e in events))) == \
        sorted(map(sorted, groups))
    owner = by_fingerprint(events)
    for fp, root in roots.items():
        assert owner[fp]["root_cause"]["service"] == root


@pytest.mark.parametrize("name", BASELINES, ids=list(BASELINES))
def test_events_follow_the_incident_schema(name: str) -> None:
    events = run_baseline(name, LINES, TOPO)
    assert len({e["id"] for e in events}) == len(events)
    for event in events:
        assert event["id"].startswith("inc-") and len(event["id"]) == 20
        assert event["status"] in ("open", "resolved")
        assert event["topology_version"] == TOPO.version
        assert event["candidates"][0]["service"] == event["root_cause"]["service"]
        for member in event["alerts"]:
            assert member["known_service"] == (member["service"] != "mystery")


def test_resends_count_and_resolves_update_members() -> None:
    owner = by_fingerprint(run_baseline("components", LINES, TOPO))
    members = {a["fingerprint"]: a for a in owner["p1"]["alerts"]}
    assert members["p1"]["count"] == 2
    assert members["p1"]["service"] == "api"  # alias resolved
    assert members["d1"]["status"] == "resolved"
    assert owner["p1"]["status"] == "open"  # p1 and g1 still fire
    assert owner["p1"]["candidates"][:3] == [
        {"service": s, "score": pytest.approx(1 / (i + 1), abs=1e-4),
         "evidence": {"method": "components", "rank": i + 1}, "fingerprint": fp}
        for i, (s, fp) in enumerate([("db", "d1"), ("api", "p1"), ("gw", "g1")])
    ]


def test_first_emission_uses_the_event_time_watermark() -> None:
    owner = by_fingerprint(run_baseline("time_window", LINES, TOPO))
    assert owner["p1"]["first_emitted_at"] == "2026-09-01T10:00:30.000Z"
    assert owner["p1"]["opened_at"] == "2026-09-01T10:00:00.000Z"


def test_resolve_of_an_unseen_alert_opens_nothing() -> None:
    lines = [orjson.dumps(encode_alertmanager([alert("zz", "db", 0, end_s=60)]))]
    assert run_baseline("time_window", lines, TOPO) == []


def test_undecodable_lines_are_skipped() -> None:
    events = run_baseline("am_service", [b"not json", b"", *LINES], TOPO)
    assert len(events) == 6


def test_unknown_baseline_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown baseline"):
        make_grouper("magic", TOPO)
