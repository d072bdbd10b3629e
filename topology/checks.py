"""Warnings about a valid topology: shapes that are legal but usually a mistake.

A dependency cycle is legal (two services may call each other) but it makes
"who is the root cause" ambiguous along the cycle, and a cycle that was not
meant is usually a reversed edge. An isolated service is legal too, but its
alerts can never be grouped with any other, which is rarely what the author
wanted. ``topology validate`` prints these; ``--strict`` turns them into
failures for CI.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx

from topology.graph import Topology


@dataclass(frozen=True, slots=True)
class Finding:
    """One warning: what it is about (``kind``), which services, and a sentence."""

    kind: str
    services: tuple[str, ...]
    message: str


def warnings_for(topology: Topology) -> list[Finding]:
    """Every warning, cycles first, each list in a stable (sorted) order."""
    return [*_cycles(topology), *_isolated(topology)]


def _cycles(topology: Topology) -> list[Finding]:
    """One warning per strongly connected group, showing one cycle through it.

    Listing every simple cycle can take exponential time; one example per
    group is enough to find the edge to fix.
    """
    found: list[Finding] = []
    graph = topology.graph
    for group in nx.strongly_connected_components(graph):
        if len(group) < 2:
            continue  # self-dependencies are errors, so a single node has no cycle
        members = tuple(sorted(group))
        cycle = _one_cycle(topology, members[0], frozenset(group))
        others = f" ({len(members)} services take part)" if len(members) > len(cycle) - 1 else ""
        found.append(
            Finding(
                "cycle",
                members,
                f"dependency cycle: {' -> '.join(cycle)}{others}; root causes along a cycle "
                "are ambiguous",
            )
        )
    return sorted(found, key=lambda w: w.services)


def _one_cycle(topology: Topology, start: str, group: frozenset[str]) -> tuple[str, ...]:
    """The shortest cycle through ``start`` inside its group, visiting ids in order."""
    best: tuple[str, ...] | None = None
    for nxt in sorted(topology.dependencies(start)):
        if nxt not in group:
            continue
        back = topology.dependency_path(nxt, start)
        if back is not None and (best is None or len(back) + 1 < len(best)):
            best = (start, *back)
    assert best is not None, "a strongly connected group always has a cycle"
    return best


def _isolated(topology: Topology) -> list[Finding]:
    if len(topology) < 2:
        return []  # a one-service topology is trivially isolated; not worth a warning
    return [
        Finding(
            "isolated",
            (sid,),
            f"service {sid!r} is isolated (no dependencies, no dependents): its alerts "
            "are never grouped with others",
        )
        for sid in topology
        if not topology.dependencies(sid) and not topology.dependents(sid)
    ]
