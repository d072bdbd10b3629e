"""Test support: fixture file paths and a small hand-checked graph."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from topology import Service, Topology

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "topology"
BROKEN = FIXTURES / "broken"


def build(edges: Mapping[str, Sequence[str]], **kinds: str) -> Topology:
    """Topology whose services are the keys of ``edges`` (and every target)."""
    ids = set(edges) | {t for targets in edges.values() for t in targets}
    return Topology.from_services(
        Service(id=i, kind=kinds.get(i, "service"), depends_on=tuple(edges.get(i, ())))
        for i in sorted(ids)
    )


# a -> b, c;  b -> d;  c -> d, e;  d -> f;  f -> b (cycle b -> d -> f -> b)
# g -> h (second component);  i alone (third component)
SMALL_EDGES: dict[str, list[str]] = {
    "a": ["b", "c"],
    "b": ["d"],
    "c": ["d", "e"],
    "d": ["f"],
    "e": [],
    "f": ["b"],
    "g": ["h"],
    "h": [],
    "i": [],
}
