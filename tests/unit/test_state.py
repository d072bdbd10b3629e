"""The engine's small state structures, on hand-checked cases."""

from __future__ import annotations

import pytest

from correlator.state import TimeIndex

POINTS = [(0.0, "a"), (10.0, "b"), (12.0, "c"), (30.0, "d"), (31.0, "e")]


@pytest.mark.parametrize(
    ("t", "within", "limit", "expected"),
    [
        (11.0, 5.0, 10, ["b", "c"]),  # ties go to the earlier side first
        (11.5, 5.0, 10, ["c", "b"]),
        (11.0, 0.5, 10, []),
        (30.5, 100.0, 3, ["d", "e", "c"]),
        (-50.0, 60.0, 10, ["a", "b"]),
        (100.0, 70.0, 10, ["e", "d"]),
        (12.0, 0.0, 10, ["c"]),
        (20.0, 100.0, 0, []),
    ],
    ids=["tie", "closer-right", "none-within", "capped", "before-all", "after-all",
         "exact", "zero-limit"],
)
def test_nearest_is_closest_first_within_the_window(
    t: float, within: float, limit: int, expected: list[str]
) -> None:
    index = TimeIndex()
    for when, fp in reversed(POINTS):
        index.add(when, fp)
    assert index.nearest(t, within, limit) == expected


def test_nearest_on_an_empty_index() -> None:
    assert TimeIndex().nearest(0.0, 10.0, 5) == []
