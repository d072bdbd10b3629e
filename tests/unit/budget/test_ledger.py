"""Budget spend from correlated incidents, hand-computed.

SLO on checkout: 99.9 % over one day (budget 86.4 s), counting critical and
error incidents; weights critical 1.0, error 0.5, warning 0.1.
"""

from __future__ import annotations

import pytest

from correlator.budget import BudgetLedger, GateConfig
from tests.unit.budget.builders import at, incident
from topology import SLO

SLO_DAY = SLO(99.9, 86400, ("critical", "error"))


def ledger_with_storm() -> BudgetLedger:
    ledger = BudgetLedger(GateConfig())
    # A: critical, 30 s, root payments, checkout in its blast radius.
    ledger.observe(incident("A", root="payments", services=["checkout", "payments"],
                            opened=0, resolved=30))
    # B: error, still open since 10:10:00.
    ledger.observe(incident("B", root="checkout", services=["checkout"], opened=600,
                            severity="error"))
    # C: warning, 4 min: not counted by this SLO.
    ledger.observe(incident("C", root="checkout", services=["checkout"], opened=300,
                            resolved=540, severity="warning"))
    return ledger


def test_spend_rates_and_remaining() -> None:
    status = ledger_with_storm().status("checkout", SLO_DAY, at(620))
    # 30 s of A + 20 s of B at weight 0.5 = 40 s of a 86.4 s budget.
    assert status.budget_seconds == pytest.approx(86.4)
    assert status.spent_seconds == pytest.approx(40.0)
    assert status.remaining == pytest.approx(1 - 40 / 86.4)
    # All of it in the last hour: 40 / 3600 / 0.001; last 5 min only B: 10 / 300 / 0.001.
    assert status.burn_rate_1h == pytest.approx(11.1111, abs=1e-4)
    assert status.burn_rate_5m == pytest.approx(33.3333, abs=1e-4)


def test_severity_filter_and_custom_weights() -> None:
    ledger = BudgetLedger(GateConfig(severity_weights={"error": 1.0}))
    ledger.observe(incident("B", root="checkout", services=["checkout"], opened=0,
                            resolved=60, severity="error"))
    ledger.observe(incident("C", root="checkout", services=["checkout"], opened=0,
                            resolved=60, severity="warning"))
    every = SLO(99.9, 86400, ("critical", "error", "warning"))
    assert ledger.status("checkout", SLO_DAY, at(60)).spent_seconds == pytest.approx(60)
    assert ledger.status("checkout", every, at(60)).spent_seconds == pytest.approx(66)


def test_merged_incidents_stop_counting_and_old_versions_are_ignored() -> None:
    ledger = ledger_with_storm()
    ledger.observe(incident("A", root="payments", services=["checkout", "payments"],
                            opened=0, resolved=30, version=2, status="merged"))
    assert ledger.status("checkout", SLO_DAY, at(620)).spent_seconds == pytest.approx(10)
    touched = ledger.observe(incident("B", root="checkout", services=["checkout"], opened=0,
                                      resolved=9999, version=0))
    assert touched == frozenset()
    assert ledger.status("checkout", SLO_DAY, at(620)).spent_seconds == pytest.approx(10)


def test_window_excludes_old_incidents_and_seed_counts_in_full() -> None:
    ledger = ledger_with_storm()
    later = at(650 + 86400)  # the window starts at 10:10:50: A left it, open B covers it all
    status = ledger.status("checkout", SLO_DAY, later)
    assert status.spent_seconds == pytest.approx(0.5 * 86400)
    ledger.seed("checkout", 0.5)
    assert ledger.status("checkout", SLO_DAY, at(620)).spent_seconds == pytest.approx(40 + 43.2)


def test_prune_forgets_long_resolved_incidents() -> None:
    ledger = ledger_with_storm()
    assert ledger.prune(at(3600), keep_seconds=3000) == 2  # A and C ended before 10:10
    assert sorted(ledger.incidents) == ["B"]
