"""Deploy gate transitions: incidents, budgets, computed and alerted burn, expiry."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from correlator.budget import GATE_STATE_KIND, GateBook, GateConfig, gate_config_from_mapping
from correlator.errors import ConfigError
from tests.helpers import alert
from tests.unit.budget.builders import T0, at, incident, iso
from topology import SLO, Service, Topology

TOPO = Topology.from_services([
    Service(id="web", depends_on=("checkout",)),
    Service(id="checkout", aliases=("checkout-svc",), depends_on=("payments",),
            slo=SLO(99.9, 28 * 86400, ("critical", "error"))),
    Service(id="payments"),
])
SLOTH = {"sloth_service": "checkout-svc", "sloth_slo": "availability"}


def states(events: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(e["service"], e["previous"], e["state"]) for e in events]


def test_critical_incident_closes_root_and_blast_radius_then_reopens() -> None:
    book = GateBook(TOPO)
    opened = book.observe_incident(incident("I", root="payments",
                                            services=["checkout", "payments", "web"], opened=0))
    assert states(opened) == [("checkout", "open", "closed"), ("payments", "open", "closed"),
                              ("web", "open", "closed")]
    first = opened[1]
    assert first["version"] == 1 and first["at"] == iso(0)
    assert first["reasons"] == [{
        "code": "incident_open", "incident": "I", "role": "root_cause", "severity": "critical",
        "message": "critical incident I is open and payments is its root cause"}]
    assert opened[0]["reasons"][0]["role"] == "blast_radius"
    assert book.observe_incident(incident("I", root="payments",
                                          services=["checkout", "payments", "web"],
                                          opened=0, updated=60, version=2)) == []
    book.advance(at(120))
    closed = book.observe_incident(incident("I", root="payments",
                                            services=["checkout", "payments", "web"], opened=0,
                                            resolved=100, version=3))
    # checkout has an SLO: 100 s of a critical incident is a fast burn, so it stays closed.
    assert states(closed) == [("payments", "closed", "open"), ("web", "closed", "open")]
    assert closed[0]["version"] == 2 and closed[0]["at"] == iso(120)
    checkout = book.decision("checkout")
    assert checkout is not None
    assert [r["code"] for r in checkout["reasons"]] == ["fast_burn"]


@pytest.mark.parametrize(
    ("severity", "close", "expected"),
    [("warning", ("critical",), []), ("error", ("critical",), []),
     ("error", ("critical", "error"), [("payments", "open", "closed")])],
    ids=["warning never closes", "error does not by default", "error when configured"],
)
def test_close_severities(severity: str, close: tuple[str, ...],
                          expected: list[tuple[str, str, str]]) -> None:
    book = GateBook(TOPO, GateConfig(close_severities=close))
    events = book.observe_incident(incident("I", root="payments", services=["payments"],
                                            opened=0, severity=severity))
    assert states(events) == expected


def test_budget_low_means_caution() -> None:
    book = GateBook(TOPO)
    book.ledger.seed("checkout", 0.2)
    events = book.advance(T0)
    assert states(events) == [("checkout", "open", "caution")]
    assert events[0]["reasons"][0]["code"] == "budget_low"
    assert events[0]["reasons"][0]["budget_remaining"] == 0.2
    decision = book.decision("checkout-svc")
    assert decision is not None
    assert decision["state"] == "caution" and decision["slo"]["budget_remaining"] == 0.2


def test_computed_fast_burn_closes_and_reopens_five_minutes_after_the_burn() -> None:
    # An error incident (weight 0.5) on checkout from 10:00 to 10:03: 90 s spent.
    # The 1-hour burn rate reaches 14.4 with 14.4 * 0.001 * 3600 = 51.84 budget seconds
    # (103.68 s of the incident). The 5-minute rate drops below 14.4 once the last 5 minutes
    # hold less than 4.32 budget seconds (8.64 s of the incident): after 10:07:51.36.
    book = GateBook(TOPO)
    book.observe_incident(incident("E", root="checkout", services=["checkout"], opened=0,
                                   severity="error"))
    assert book.advance(at(103)) == []
    events = book.advance(at(104))
    assert states(events) == [("checkout", "open", "closed")]
    assert [r["code"] for r in events[0]["reasons"]] == ["fast_burn"]
    book.observe_incident(incident("E", root="checkout", services=["checkout"], opened=0,
                                   resolved=180, severity="error", version=2))
    assert book.advance(at(470)) == []
    reopened = book.advance(at(472))
    assert states(reopened) == [("checkout", "closed", "open")]
    status = book.budget("checkout")
    assert status is not None and status.spent_seconds == pytest.approx(90)


def test_burn_alerts_fast_slow_resolve_and_expiry() -> None:
    book = GateBook(TOPO)
    page = alert("p", "checkout", 0, severity="critical",
                 labels={**SLOTH, "sloth_severity": "page"})
    ticket = alert("t", "checkout", 0, labels={**SLOTH, "sloth_severity": "ticket"})
    assert states(book.observe_alert(ticket)) == [("checkout", "open", "caution")]
    closed = book.observe_alert(page)
    assert states(closed) == [("checkout", "caution", "closed")]
    assert [r["code"] for r in closed[0]["reasons"]] == ["fast_burn_alert", "slow_burn_alert"]
    resolved = alert("p", "checkout", 0, status="resolved", end=120,
                     labels={**SLOTH, "sloth_severity": "page"})
    book.advance(at(120))
    assert states(book.observe_alert(resolved)) == [("checkout", "closed", "caution")]
    assert book.advance(at(3600)) == []  # the ticket alert was seen at 10:00; TTL is 1 h
    assert states(book.advance(at(3601))) == [("checkout", "caution", "open")]


def test_ordinary_alerts_change_nothing() -> None:
    book = GateBook(TOPO)
    assert book.observe_alert(alert("x", "checkout", 0, severity="critical")) == []


def test_decisions_and_state_document() -> None:
    book = GateBook(TOPO)
    book.observe_incident(incident("I", root="payments", services=["payments"], opened=0))
    payments = book.decision("PAYMENTS")
    assert payments is not None
    assert (payments["state"], payments["version"], payments["since"], payments["slo"]) == (
        "closed", 1, iso(0), None)
    web = book.decision("web")
    assert web is not None and (web["state"], web["since"], web["reasons"]) == ("open", None, [])
    assert book.decision("nonexistent") is None
    doc = book.state_document()
    assert doc["kind"] == GATE_STATE_KIND and doc["as_of"] == iso(0)
    assert sorted(doc["services"]) == ["checkout", "payments", "web"]
    assert doc["aliases"] == {"checkout-svc": "checkout"}
    assert doc["services"]["checkout"]["slo"]["budget_remaining"] == 1.0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"close_severities": ["fatal"]}, "'fatal' is not one of"),
        ({"caution_budget_below": 1.5}, "caution_budget_below must be a fraction"),
        ({"fast_burn_rate": 0}, "fast_burn_rate must be a positive number"),
        ({"severity_weights": {"error": 2}}, "severity_weights.error must be between 0 and 1"),
        ({"burn_alert_ttl": "0s"}, "burn_alert_ttl must be positive"),
        ({"unknown": 1}, "unknown gate setting(s) unknown"),
    ],
    ids=["bad severity", "fraction above one", "zero burn rate", "weight above one",
         "zero ttl", "unknown key"],
)
def test_gate_config_is_strict(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        gate_config_from_mapping(data, source="cfg.yaml")


def test_gate_config_merges_weights_over_the_defaults() -> None:
    config = gate_config_from_mapping({"severity_weights": {"warning": 0.3}})
    assert dict(config.severity_weights) == {"critical": 1.0, "error": 0.5, "warning": 0.3,
                                             "info": 0.0}


_STEP = st.one_of(
    st.tuples(st.just("incident"), st.sampled_from(["I", "J", "K"]),
              st.sampled_from(["web", "checkout", "payments"]),
              st.sampled_from(["critical", "error", "warning"]), st.booleans()),
    st.tuples(st.just("burn"), st.sampled_from(["b1", "b2"]), st.sampled_from(["page", "ticket"]),
              st.booleans()),
    st.tuples(st.just("advance"), st.integers(1, 4000)),
)


@settings(max_examples=60, deadline=None)
@given(steps=st.lists(_STEP, min_size=1, max_size=25))
def test_the_quick_state_check_agrees_with_the_reasons(steps: list[tuple[Any, ...]]) -> None:
    """Recomputes skip writing reasons when the state holds; both must give one state."""
    book = GateBook(TOPO)
    book.ledger.seed("checkout", 0.15)
    clock = 0.0
    for version, step in enumerate(steps, start=1):
        clock += 30
        if step[0] == "incident":
            _, iid, root, severity, resolved = step
            event = incident(iid, root=root, services=[root, "web"], opened=clock - 300,
                             resolved=clock if resolved else None, severity=severity,
                             version=version)
            book.observe_incident(event)
        elif step[0] == "burn":
            _, fp, speed, firing = step
            labels = {**SLOTH, "sloth_severity": speed}
            book.observe_alert(alert(fp, "checkout", clock, labels=labels,
                                     status="firing" if firing else "resolved"))
        else:
            clock += step[1]
            book.advance(at(clock))
        for service in ("web", "checkout", "payments", "elsewhere"):
            assert book._state(service) is book._reasons(service)[0]
