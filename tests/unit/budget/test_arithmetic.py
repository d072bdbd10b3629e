"""Error-budget arithmetic, checked against hand-computed values."""

from __future__ import annotations

import pytest

from correlator.budget import burn_rate, error_budget_seconds, overlap_seconds, remaining_fraction


@pytest.mark.parametrize(
    ("objective", "window", "budget"),
    [(99.9, 28 * 86400, 2419.2), (99.0, 3600, 36.0), (99.95, 30 * 86400, 1296.0),
     (50.0, 100, 50.0)],
    ids=["99.9 over 28d", "99 over 1h", "99.95 over 30d", "50 percent"],
)
def test_error_budget(objective: float, window: int, budget: float) -> None:
    assert error_budget_seconds(objective, window) == pytest.approx(budget)


@pytest.mark.parametrize(
    ("span", "window", "overlap"),
    [((10, 20), (0, 100), 10), ((0, 50), (25, 100), 25), ((0, 10), (20, 30), 0),
     ((0, 10), (10, 20), 0), ((0, 100), (40, 60), 20)],
    ids=["inside", "partial", "disjoint", "touching", "window inside span"],
)
def test_overlap(span: tuple[float, float], window: tuple[float, float], overlap: float) -> None:
    assert overlap_seconds(*span, *window) == overlap


@pytest.mark.parametrize(
    ("spent", "period", "objective", "rate"),
    [(60, 3600, 99.9, 16.6667), (36, 3600, 99.0, 1.0), (0, 300, 99.9, 0.0),
     (300, 300, 99.9, 1000.0), (10, 0, 99.9, 0.0)],
    ids=["one minute in an hour", "exactly sustainable", "nothing spent", "hard down",
         "empty period"],
)
def test_burn_rate(spent: float, period: float, objective: float, rate: float) -> None:
    assert burn_rate(spent, period, objective) == pytest.approx(rate, abs=1e-4)


@pytest.mark.parametrize(
    ("spent", "budget", "remaining"),
    [(604.8, 2419.2, 0.75), (0, 36, 1.0), (72, 36, -1.0), (5, 0, 0.0)],
    ids=["quarter spent", "untouched", "overspent twice", "no budget"],
)
def test_remaining(spent: float, budget: float, remaining: float) -> None:
    assert remaining_fraction(spent, budget) == pytest.approx(remaining)
