"""Breadth-first searches over precomputed adjacency, bounded by design.

Pure functions over ``Mapping[str, tuple[str, ...]]`` (neighbours sorted), so
they are trivially testable against networkx and their output never depends
on set iteration order. Every search stops as soon as its answer is known:
per-alert queries on a 100k-service graph must touch only the nodes near the
question, never the whole graph.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

Adjacency = Mapping[str, tuple[str, ...]]


def distances_within(start: str, adjacency: Adjacency, k: int) -> dict[str, int]:
    """Map every node at most ``k`` hops from ``start`` to its hop distance."""
    distance = {start: 0}
    frontier = [start]
    for depth in range(1, k + 1):
        following: list[str] = []
        for node in frontier:
            for neighbour in adjacency[node]:
                if neighbour not in distance:
                    distance[neighbour] = depth
                    following.append(neighbour)
        if not following:
            break
        frontier = following
    return distance


def shortest_path(
    source: str,
    target: str,
    forward: Adjacency,
    backward: Adjacency,
    max_hops: int | None,
) -> tuple[str, ...] | None:
    """Return a shortest ``source -> target`` path, or None.

    Bidirectional: each round expands one whole level of the smaller frontier,
    so the work is about the square root of a one-sided search on wide
    graphs. ``backward`` must be ``forward`` reversed (the same mapping for an
    undirected search).
    """
    if source == target:
        return (source,)
    towards_source: dict[str, str | None] = {source: None}
    towards_target: dict[str, str | None] = {target: None}
    front, back = [source], [target]
    hops = 0  # depth of the forward search plus depth of the backward search
    while front and back:
        if max_hops is not None and hops >= max_hops:
            return None
        if len(front) <= len(back):
            front, meets = _expand(front, forward, towards_source, towards_target)
        else:
            back, meets = _expand(back, backward, towards_target, towards_source)
        hops += 1
        if meets:
            # Every shortest path crosses this level, so the best meet is the answer.
            paths = [_join(m, towards_source, towards_target) for m in meets]
            best = min(paths, key=len)
            return best if max_hops is None or len(best) - 1 <= max_hops else None
    return None


def _expand(
    frontier: Sequence[str],
    adjacency: Adjacency,
    parents: dict[str, str | None],
    other_side: Mapping[str, str | None],
) -> tuple[list[str], list[str]]:
    following: list[str] = []
    meets: list[str] = []
    for node in frontier:
        for neighbour in adjacency[node]:
            if neighbour not in parents:
                parents[neighbour] = node
                following.append(neighbour)
                if neighbour in other_side:
                    meets.append(neighbour)
    return following, meets


def _join(
    meet: str,
    towards_source: Mapping[str, str | None],
    towards_target: Mapping[str, str | None],
) -> tuple[str, ...]:
    head: list[str] = []
    node: str | None = meet
    while node is not None:
        head.append(node)
        node = towards_source[node]
    head.reverse()
    node = towards_target[meet]
    while node is not None:
        head.append(node)
        node = towards_target[node]
    return tuple(head)


def components(nodes: Sequence[str], undirected: Adjacency) -> tuple[frozenset[str], ...]:
    """Connected components of ``undirected``, ordered by their smallest node.

    ``nodes`` must be sorted: each component is then discovered from its
    smallest member, which gives the documented order for free.
    """
    seen: set[str] = set()
    found: list[frozenset[str]] = []
    for start in nodes:
        if start in seen:
            continue
        members = {start}
        stack = [start]
        while stack:
            for neighbour in undirected[stack.pop()]:
                if neighbour not in members:
                    members.add(neighbour)
                    stack.append(neighbour)
        seen |= members
        found.append(frozenset(members))
    return tuple(found)
