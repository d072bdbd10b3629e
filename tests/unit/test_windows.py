"""Window maths as plain functions (named cases)."""

from __future__ import annotations

import pytest

from correlator import windows

ACCEPTS = [
    ("inside the gap after the last alert", 0, 100, 0, 350, True),
    ("just past the gap", 0, 100, 0, 401, False),
    ("a late root within the gap before the first alert", 0, 100, 0, -250, True),
    ("too early", 0, 100, 0, -301, False),
    ("past the lifetime cap", 0, 4000, 0, 4100, False),
]


@pytest.mark.parametrize(
    ("name", "first", "last", "created", "t", "expected"), ACCEPTS, ids=[c[0] for c in ACCEPTS]
)
def test_session_accepts(
    name: str, first: float, last: float, created: float, t: float, expected: bool
) -> None:
    got = windows.session_accepts(
        first_at=first,
        last_related_at=last,
        created_at=created,
        event_time=t,
        gap=300,
        max_lifetime=3600,
    )
    assert got is expected


def test_lateness_and_watermark() -> None:
    wm = windows.watermark(1000, 30)
    assert wm == 970
    assert windows.is_late(969.9, wm) and not windows.is_late(970, wm)
    assert not windows.is_late(0, None)


def test_hold_and_future() -> None:
    assert not windows.hold_expired(created_at=0, hold=30, clock=29.9)
    assert windows.hold_expired(created_at=0, hold=30, clock=30)
    assert windows.is_future(3700, 0, 3600) and not windows.is_future(3600, 0, 3600)
    assert not windows.is_future(1e12, None, 3600)
