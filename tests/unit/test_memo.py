"""The bounded memo behind the hot-path time conversions."""

from __future__ import annotations

import pytest

from correlator.memo import BoundedMemo


def test_computes_once_per_key_and_forgets_all_at_the_limit() -> None:
    calls: list[int] = []

    def square(n: int) -> int:
        calls.append(n)
        return n * n

    memo = BoundedMemo(square, limit=2)
    assert [memo[3], memo[3], memo[4]] == [9, 9, 16]
    assert calls == [3, 4]
    assert memo[5] == 25  # full: everything forgotten, then 5 remembered
    assert dict(memo) == {5: 25}
    assert memo[3] == 9
    assert calls == [3, 4, 5, 3]


def test_a_failing_compute_stores_nothing_and_raises_every_time() -> None:
    memo: BoundedMemo[str, int] = BoundedMemo(int, limit=10)
    for _ in range(2):
        with pytest.raises(ValueError, match="invalid literal"):
            _ = memo["not a number"]
    assert dict(memo) == {}
    assert memo["7"] == 7
