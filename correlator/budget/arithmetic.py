"""Error-budget arithmetic: pure functions over seconds, checked by hand in the tests.

An SLO of ``objective`` percent over ``window`` seconds allows
``(1 - objective / 100) * window`` seconds of badness: the error budget.
The burn rate over a period is the share of that period spent bad divided
by the share the SLO allows, so 1.0 spends the budget exactly over the
window and 14.4 spends a 30-day budget's 2 % in one hour.
"""

from __future__ import annotations

__all__ = [
    "burn_rate",
    "error_budget_seconds",
    "overlap_seconds",
    "remaining_fraction",
]


def error_budget_seconds(objective: float, window_seconds: float) -> float:
    """Seconds of badness an SLO allows over its window."""
    return (1.0 - objective / 100.0) * window_seconds


def overlap_seconds(start: float, end: float, window_start: float, window_end: float) -> float:
    """Length of the intersection of ``[start, end]`` and ``[window_start, window_end]``."""
    return max(0.0, min(end, window_end) - max(start, window_start))


def burn_rate(spent_seconds: float, period_seconds: float, objective: float) -> float:
    """How many times faster than sustainable the budget burned over a period."""
    allowed = 1.0 - objective / 100.0
    if period_seconds <= 0 or allowed <= 0:
        return 0.0
    return (spent_seconds / period_seconds) / allowed


def remaining_fraction(spent_seconds: float, budget_seconds: float) -> float:
    """Share of the budget left; negative once it is overspent (that is information too)."""
    if budget_seconds <= 0:
        return 0.0
    return 1.0 - spent_seconds / budget_seconds
