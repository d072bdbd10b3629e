"""A bounded memo for hot-path conversions that senders repeat over and over."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


class BoundedMemo(dict[K, V]):
    """A dict that computes a missing value with ``compute`` and remembers it.

    A hit is a plain dict lookup (no Python call), which is the point on a path
    taken for every alert. When ``limit`` entries are held, everything is
    forgotten at once: cheaper than tracking recency, and a memo of repeated
    values refills quickly. A ``compute`` that raises stores nothing, so a bad
    key raises the same way every time.
    """

    __slots__ = ("_compute", "_limit")

    def __init__(self, compute: Callable[[K], V], limit: int) -> None:
        super().__init__()
        self._compute = compute
        self._limit = limit

    def __missing__(self, key: K) -> V:
        value = self._compute(key)
        if len(self) >= self._limit:
            self.clear()
        self[key] = value
        return value
