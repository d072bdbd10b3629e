"""Suspect ranking: relations, scores and reasons, computed by hand.

Scope of every case: root cause ``payments`` (candidates payments, checkout,
web; members also edge), which depends on ``payments-db`` (1 hop) and
``disk`` (2 hops); first alert 10:00, horizon 10:30. Defaults: lookback 60m,
grace 1m, half-life 20m. Score = relation x 0.5 ** (minutes / 20) x kind.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from correlator.changes import (
    Change,
    ChangeKind,
    ChangesConfig,
    IncidentScope,
    ResolvedChange,
    rank_suspects,
    scope_from_event,
)
from tests.helpers import topo

T0 = datetime(2026, 9, 1, 10, 0, tzinfo=UTC)
SCOPE = IncidentScope(
    root="payments",
    candidates=("payments", "checkout", "web"),
    members=("checkout", "edge", "payments", "web"),
    first_alert=T0,
    horizon=T0 + timedelta(minutes=30),
    dependencies={"payments-db": 1, "disk": 2},
    member_dependencies={"ads": "web", "payments-db": "payments"},
)
CONFIG = ChangesConfig()


def change(service: str, minutes: float, kind: str = "deploy", cid: str | None = None,
           version: str | None = None, author: str | None = None) -> ResolvedChange:
    """A change ``minutes`` after the first alert (negative: before)."""
    at = T0 + timedelta(minutes=minutes)
    return ResolvedChange(service, Change(id=cid or f"{service}@{minutes}", service=service,
                                          kind=ChangeKind(kind), at=at, version=version,
                                          author=author))


# service, minutes after first alert, kind, relation, score, minutes_before, reason
RANKED = [
    ("root deploy 10m before", "payments", -10, "deploy", "root_cause", 0.7071, 10.0,
     "root_cause_service_deployed_10m_before_first_alert"),
    ("dependency config 20m before", "payments-db", -20, "config", "dependency", 0.315, 20.0,
     "root_cause_dependency_config_changed_20m_before_first_alert"),
    ("2-hop dependency deploy 20m before", "disk", -20, "deploy", "dependency", 0.2625, 20.0,
     "root_cause_dependency_deployed_20m_before_first_alert"),
    ("candidate flag 40m before", "checkout", -40, "flag", "candidate", 0.105, 40.0,
     "candidate_service_flag_changed_40m_before_first_alert"),
    ("member rollback 20m before", "edge", -20, "rollback", "member", 0.16, 20.0,
     "member_service_rolled_back_20m_before_first_alert"),
    ("root deploy inside the grace period", "payments", 20 / 60, "deploy", "root_cause", 1.0,
     -0.3, "root_cause_service_deployed_0m_after_first_alert"),
    ("root rollback 20m after open", "payments", 20, "rollback", "after_open", 0.12, -20.0,
     "root_cause_service_rolled_back_20m_after_incident_opened"),
    ("member deploy 10m after open", "web", 10, "deploy", "after_open", 0.2121, -10.0,
     "member_service_deployed_10m_after_incident_opened"),
    ("dependency of a member outside the incident", "ads", -20, "deploy", "member_dependency",
     0.175, 20.0, "member_dependency_deployed_20m_before_first_alert"),
    ("exactly at the lookback edge", "payments", -60, "deploy", "root_cause", 0.125, 60.0,
     "root_cause_service_deployed_60m_before_first_alert"),
]


@pytest.mark.parametrize(
    ("service", "minutes", "kind", "relation", "score", "before", "reason"),
    [case[1:] for case in RANKED], ids=[case[0] for case in RANKED],
)
def test_single_change_ranking(service: str, minutes: float, kind: str, relation: str,
                               score: float, before: float, reason: str) -> None:
    (suspect,) = rank_suspects(SCOPE, [change(service, minutes, kind)], CONFIG)
    doc = suspect.to_dict()
    assert (doc["relation"], doc["score"], doc["minutes_before_first_alert"], doc["reason"]) == (
        relation, score, before, reason)
    assert doc["service"] == service and doc["kind"] == kind


IGNORED = [
    ("older than the lookback", "payments", -61),
    ("unrelated service", "search", -5),
    ("after the horizon", "payments", 31),
    ("after open on a dependency (not a member)", "payments-db", 5),
]


@pytest.mark.parametrize(("service", "minutes"), [c[1:] for c in IGNORED],
                         ids=[c[0] for c in IGNORED])
def test_changes_outside_the_scope_are_ignored(service: str, minutes: float) -> None:
    assert rank_suspects(SCOPE, [change(service, minutes)], CONFIG) == ()


def test_order_is_by_score_then_distance_then_id() -> None:
    changes = [
        change("checkout", -5, cid="c-cand"),        # 0.6 * 0.8409 = 0.5045
        change("payments", -50, cid="c-root-old"),   # 1.0 * 0.1768 = 0.1768
        change("payments", -5, cid="c-root"),        # 1.0 * 0.8409 = 0.8409
        change("payments-db", -5, cid="b-dep"),      # 0.7 * 0.8409 = 0.5886
        change("web", -5, "flag", cid="z-tie"),      # 0.6 * 0.8409 * 0.7 = 0.3532
        change("checkout", -5, "flag", cid="a-tie"),  # same score and distance: id decides
    ]
    ranked = rank_suspects(SCOPE, changes, CONFIG)
    assert [s.change.id for s in ranked] == ["c-root", "b-dep", "c-cand", "a-tie", "z-tie"]
    assert [s.score for s in ranked] == [0.8409, 0.5886, 0.5045, 0.3532, 0.3532]


def test_ranking_does_not_depend_on_input_order() -> None:
    changes = [change(s, m) for s, m in (("payments", -7), ("checkout", -3), ("web", 4),
                                         ("payments-db", -30), ("edge", -12))]
    forward = rank_suspects(SCOPE, changes, CONFIG)
    assert rank_suspects(SCOPE, list(reversed(changes)), CONFIG) == forward


def test_max_suspects_and_duplicates() -> None:
    config = ChangesConfig(max_suspects=2)
    twice = change("payments", -3, cid="same")
    ranked = rank_suspects(SCOPE, [twice, twice, change("checkout", -3), change("web", -3)],
                           config)
    assert [s.change.id for s in ranked] == ["same", "checkout@-3"]


def test_human_sentences() -> None:
    root = change("payments", -7, version="v2.14.0", author="alice")
    dep = change("disk", -1, "config")
    after = change("payments", 12, "rollback")
    texts = {s.change.id: s.summary for s in rank_suspects(SCOPE, [root, dep, after], CONFIG)}
    assert texts[root.change.id] == (
        "payments (the probable root cause) was deployed (version v2.14.0, by alice) "
        "7 minutes before the first alert.")
    assert texts[dep.change.id] == (
        "disk, which the probable root cause payments depends on (2 hops away), had a config "
        "change 1 minute before the first alert.")
    assert texts[after.change.id] == (
        "payments was rolled back 12 minutes after the incident opened: a possible fix.")
    (ads,) = rank_suspects(SCOPE, [change("ads", -2)], CONFIG)
    assert ads.summary == (
        "ads, which web depends on, was deployed 2 minutes before the first alert.")


def test_scope_from_an_incident_event() -> None:
    topology = topo({"web": ["checkout"], "checkout": ["payments", "cart"],
                     "payments": ["payments-db"], "payments-db": ["disk"]})
    event = {
        "opened_at": "2026-09-01T10:00:00.000Z", "updated_at": "2026-09-01T10:10:00.000Z",
        "resolved_at": None,
        "root_cause": {"service": "payments"},
        "candidates": [{"service": "payments"}, {"service": "checkout"}],
        "services": ["checkout", "payments"], "unknown_services": ["legacy-batch"],
    }
    scope = scope_from_event(event, topology, ChangesConfig(dependency_hops=2))
    assert scope.root == "payments"
    assert scope.candidates == ("payments", "checkout")
    assert scope.members == ("checkout", "payments", "legacy-batch")
    assert dict(scope.dependencies) == {"disk": 2, "payments-db": 1}
    assert dict(scope.member_dependencies) == {"cart": "checkout", "payments-db": "payments"}
    assert (scope.first_alert, scope.horizon) == (T0, T0 + timedelta(minutes=10))
    resolved = scope_from_event({**event, "resolved_at": "2026-09-01T10:20:00Z"}, topology, CONFIG)
    assert resolved.horizon == T0 + timedelta(minutes=20)
    assert dict(resolved.dependencies) == {"payments-db": 1}


@pytest.mark.parametrize(
    ("second", "dependencies", "member_dependencies"),
    [
        ({"web": ["checkout"], "checkout": ["payments"], "payments": ["vault"]},
         {"vault": 1}, {"vault": "payments"}),
        ({"web": ["checkout"], "checkout": ["payments", "cart"], "payments": ["payments-db"],
          "payments-db": ["disk"]}, {"payments-db": 1}, {"cart": "checkout",
                                                         "payments-db": "payments"}),
    ],
    ids=["other-graph", "equal-graph-new-object"],
)
def test_scope_lookups_follow_the_topology_they_are_asked_with(
    second: dict[str, list[str]], dependencies: dict[str, int],
    member_dependencies: dict[str, str],
) -> None:
    """Repeated scopes reuse graph lookups, but never those of another topology."""
    first = topo({"web": ["checkout"], "checkout": ["payments", "cart"],
                  "payments": ["payments-db"], "payments-db": ["disk"]})
    event = {
        "opened_at": "2026-09-01T10:00:00.000Z", "updated_at": "2026-09-01T10:10:00.000Z",
        "root_cause": {"service": "payments"}, "candidates": [{"service": "payments"}],
        "services": ["checkout", "payments"],
    }
    before = scope_from_event(event, first, CONFIG)
    assert scope_from_event(event, first, CONFIG) == before
    after = scope_from_event(event, topo(second), CONFIG)
    assert dict(after.dependencies) == dependencies
    assert dict(after.member_dependencies) == member_dependencies
    assert scope_from_event(event, first, CONFIG) == before
