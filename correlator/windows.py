"""Event-time window maths as plain functions of numbers.

Times are epoch seconds (floats) in event time. Keeping these rules free of
state makes them trivially testable and lets the engine, the baselines and
the documentation agree on one definition.
"""

from __future__ import annotations


def watermark(clock: float, allowed_lateness: float) -> float:
    """Everything before the watermark is late: ``newest event time - lateness``."""
    return clock - allowed_lateness


def is_late(event_time: float, watermark_value: float | None) -> bool:
    return watermark_value is not None and event_time < watermark_value


def session_accepts(
    *,
    first_at: float,
    last_related_at: float,
    created_at: float,
    event_time: float,
    gap: float,
    max_lifetime: float,
) -> bool:
    """Whether a session window still accepts a related alert at ``event_time``.

    The window extends ``gap`` beyond its newest related alert, and also
    ``gap`` before its oldest one, so that a root cause whose alert started
    earlier but arrived later (a late root) still joins its symptoms. No
    alert joins once ``max_lifetime`` has passed since the window was created,
    which bounds how long one incident can keep absorbing a noisy neighbourhood.
    """
    if event_time > created_at + max_lifetime:
        return False
    return first_at - gap <= event_time <= last_related_at + gap


def hold_expired(*, created_at: float, hold: float, clock: float) -> bool:
    """The first emission waits ``hold`` after the first alert (group_wait)."""
    return clock >= created_at + hold


def is_future(event_time: float, clock: float | None, max_future_skew: float) -> bool:
    """An alert stamped implausibly far ahead of everything seen so far."""
    return clock is not None and event_time > clock + max_future_skew
