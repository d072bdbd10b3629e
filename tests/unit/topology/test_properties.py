"""Named invariants checked on random graphs against networkx as the oracle."""

from __future__ import annotations

import itertools
import json
from typing import Any

import networkx as nx
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from topology import SERVICE_KINDS, Service, Topology, loads_topology


@st.composite
def services(draw: st.DrawFn) -> list[Service]:
    """Random directed graphs (cycles allowed, no self-loops), up to 16 services."""
    count = draw(st.integers(min_value=1, max_value=16))
    ids = [f"s{i}" for i in range(count)]
    edges = draw(
        st.sets(
            st.tuples(st.sampled_from(ids), st.sampled_from(ids)).filter(lambda e: e[0] != e[1]),
            max_size=count * 3,
        )
    )
    targets: dict[str, list[str]] = {i: [] for i in ids}
    for caller, callee in sorted(edges):
        targets[caller].append(callee)
    return [
        Service(
            id=i,
            kind=draw(st.sampled_from(SERVICE_KINDS)),
            aliases=(f"{i}-alias",) if draw(st.booleans()) else (),
            depends_on=tuple(draw(st.permutations(targets[i]))),
        )
        for i in ids
    ]


def oracle(topology: Topology, direction: str) -> Any:
    graph = nx.DiGraph()
    graph.add_nodes_from(topology)
    graph.add_edges_from((a, b) for a in topology for b in topology.dependencies(a))
    if direction == "dependents":
        return graph.reverse()
    if direction == "both":
        return graph.to_undirected()
    return graph


DIRECTIONS = st.sampled_from(("dependencies", "dependents", "both"))


@settings(max_examples=200, deadline=None)
@given(services(), st.integers(min_value=0, max_value=5), DIRECTIONS, st.data())
def test_neighbourhood_equals_networkx_bounded_bfs(
    found: list[Service], k: int, direction: Any, data: st.DataObject
) -> None:
    topology = Topology.from_services(found)
    start = data.draw(st.sampled_from(list(topology)))
    expected = nx.single_source_shortest_path_length(oracle(topology, direction), start, cutoff=k)
    assert dict(topology.neighbourhood(start, k, direction)) == expected


@settings(max_examples=200, deadline=None)
@given(services(), st.one_of(st.none(), st.integers(min_value=0, max_value=6)), st.data())
def test_paths_are_shortest_valid_and_exist_iff_networkx_has_one(
    found: list[Service], max_hops: int | None, data: st.DataObject
) -> None:
    topology = Topology.from_services(found)
    source = data.draw(st.sampled_from(list(topology)))
    target = data.draw(st.sampled_from(list(topology)))
    for directed, path in (
        (True, topology.dependency_path(source, target, max_hops)),
        (False, topology.path(source, target, max_hops)),
    ):
        graph = oracle(topology, "dependencies" if directed else "both")
        reachable = nx.has_path(graph, source, target)
        best = nx.shortest_path_length(graph, source, target) if reachable else None
        fits = best is not None and (max_hops is None or best <= max_hops)
        if not fits:
            assert path is None
            continue
        assert path is not None
        assert (path[0], path[-1], len(path) - 1) == (source, target, best)
        assert all(graph.has_edge(a, b) for a, b in itertools.pairwise(path))


@settings(max_examples=100, deadline=None)
@given(services(), st.randoms(use_true_random=False))
def test_version_ignores_order_and_format(found: list[Service], rng: Any) -> None:
    topology = Topology.from_services(found)
    shuffled = list(found)
    rng.shuffle(shuffled)
    assert Topology.from_services(shuffled).version == topology.version
    assert loads_topology(yaml.safe_dump(topology.to_yaml_dict())).version == topology.version
    assert loads_topology(json.dumps(topology.to_node_link())).version == topology.version


@settings(max_examples=100, deadline=None)
@given(services())
def test_components_partition_the_graph_like_networkx(found: list[Service]) -> None:
    topology = Topology.from_services(found)
    expected = sorted(
        (frozenset(c) for c in nx.weakly_connected_components(oracle(topology, "dependencies"))),
        key=min,
    )
    assert list(topology.components()) == expected
    firsts = [min(c) for c in topology.components()]
    assert firsts == sorted(firsts)
