"""Correlation domains: which alerts must meet in the same engine.

Two alerts can only end up in one incident when their services are connected in the
topology, so the weakly connected components of the graph are natural shards: an alert
never needs to see state outside its component. A component larger than
``max_size`` is split into communities (Louvain, seeded, so every worker computes the
same split), because one giant component would otherwise pin the whole load on one
partition; an incident that spans a split boundary is then seen by two engines, and
:mod:`correlator.linking` joins the two halves again over the incident stream.

Pure (topology and networkx only, no Kafka): the stream router (:mod:`correlator.stream.router`)
and the multi-partition replay (:mod:`correlator.replay`) route alerts with the same code,
which is what lets the replay reproduce a partitioned deployment exactly.

Alerts of services the topology does not know can only correlate with alerts of the
same name, so they are hashed to a domain by that name.

Domain names are the smallest service id in the domain, so they are readable and stay
stable when unrelated parts of the topology change. Partition choice uses a stable hash
(never Python's randomised ``hash``), so all workers route a domain the same way.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import networkx as nx

from correlator.model import Alert
from correlator.resolution import ServiceResolver
from topology import Topology

__all__ = [
    "UNKNOWN_DOMAIN",
    "AlertRouter",
    "DomainMap",
    "build_domain_map",
    "partition_for",
    "stable_hash",
]

#: Domain of unknown services when the topology is empty.
UNKNOWN_DOMAIN = "~unknown"
_MAX_SPLIT_DEPTH = 8


def stable_hash(text: str) -> int:
    """A 64-bit hash that is the same in every process and on every machine."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big")


def partition_for(domain: str, partitions: int) -> int:
    """The repartition-topic partition that owns ``domain``."""
    if partitions < 1:
        raise ValueError(f"partitions must be at least 1, got {partitions}")
    return stable_hash(domain) % partitions


@dataclass(frozen=True, slots=True)
class DomainMap:
    """Service id -> domain name, for one topology version."""

    topology_version: str
    max_size: int
    domain_of_service: Mapping[str, str]
    #: Sorted domain names.
    domains: tuple[str, ...]

    def domain_for(self, service: str, known: bool) -> str:
        """The domain of a canonical service id (``known``) or of an unknown service name."""
        if known:
            found = self.domain_of_service.get(service)
            if found is not None:
                return found
        if not self.domains:
            return UNKNOWN_DOMAIN
        return self.domains[stable_hash(service) % len(self.domains)]

    def members(self) -> dict[str, tuple[str, ...]]:
        """Domain name -> its sorted service ids."""
        out: dict[str, list[str]] = {}
        for service, domain in self.domain_of_service.items():
            out.setdefault(domain, []).append(service)
        return {domain: tuple(sorted(out[domain])) for domain in sorted(out)}

    def crossing_edges(self, topology: Topology) -> int:
        """How many dependency edges connect two different domains (a split's cost)."""
        count = 0
        for service in topology:
            mine = self.domain_of_service[service]
            count += sum(
                1 for dep in topology.dependencies(service) if self.domain_of_service[dep] != mine
            )
        return count


def build_domain_map(topology: Topology, max_size: int, seed: int = 42) -> DomainMap:
    """Partition the topology into connected domains of at most ``max_size`` services."""
    if max_size < 1:
        raise ValueError(f"max_size must be at least 1, got {max_size}")
    assignment: dict[str, str] = {}
    for component in topology.components():
        if len(component) <= max_size:
            groups: list[frozenset[str]] = [component]
        else:
            graph = _undirected(topology, component)
            groups = _coalesce(graph, _split(graph, max_size, seed, 0), max_size)
        for group in groups:
            name = min(group)
            for service in group:
                assignment[service] = name
    ordered = {service: assignment[service] for service in sorted(assignment)}
    return DomainMap(
        topology_version=topology.version,
        max_size=max_size,
        domain_of_service=MappingProxyType(ordered),
        domains=tuple(sorted(set(ordered.values()))),
    )


class AlertRouter:
    """Which partition's engine an alert goes to, exactly as the stream's first stage decides.

    Service resolution (labels, aliases), then the domain, then the partition by stable
    hash: the offline replay with several partitions routes with this, so it reproduces
    what a partitioned deployment computes.
    """

    def __init__(
        self,
        topology: Topology,
        label_keys: tuple[str, ...],
        *,
        partitions: int,
        max_domain_size: int,
        domain_seed: int = 42,
    ) -> None:
        if partitions < 1:
            raise ValueError(f"partitions must be at least 1, got {partitions}")
        self.partitions = partitions
        self.domains = build_domain_map(topology, max_domain_size, domain_seed)
        self._resolver = ServiceResolver(topology, label_keys)
        self._partition_of: dict[str, int] = {}

    def partition_of_domain(self, domain: str) -> int:
        found = self._partition_of.get(domain)
        if found is None:
            found = self._partition_of[domain] = partition_for(domain, self.partitions)
        return found

    def partition(self, alert: Alert) -> int:
        """The partition that owns the alert's correlation domain."""
        service, known = self._resolver.resolve(alert)
        return self.partition_of_domain(self.domains.domain_for(service, known))


def _undirected(topology: Topology, nodes: Iterable[str]) -> nx.Graph:
    """An undirected graph built in sorted order, so community detection is reproducible."""
    members = sorted(nodes)
    keep = set(members)
    graph = nx.Graph()
    graph.add_nodes_from(members)
    edges = sorted(
        (min(a, b), max(a, b)) for a in members for b in topology.dependencies(a) if b in keep
    )
    graph.add_edges_from(edges)
    return graph


def _split(graph: nx.Graph, max_size: int, seed: int, depth: int) -> list[frozenset[str]]:
    """Split a connected graph into connected parts of at most ``max_size`` nodes."""
    if graph.number_of_nodes() <= max_size:
        return [frozenset(graph.nodes)]
    parts: list[frozenset[str]] = []
    communities = (
        nx.community.louvain_communities(graph, seed=seed)
        if depth < _MAX_SPLIT_DEPTH
        else [set(graph.nodes)]
    )
    if len(communities) <= 1:
        return _chunk(graph, max_size)
    for community in sorted(communities, key=min):
        sub = graph.subgraph(sorted(community))
        for piece in sorted(nx.connected_components(sub), key=min):
            piece_graph = _rebuild(sub, piece)
            parts.extend(_split(piece_graph, max_size, seed, depth + 1))
    return parts


def _rebuild(graph: nx.Graph, nodes: Iterable[str]) -> nx.Graph:
    members = sorted(nodes)
    out = nx.Graph()
    out.add_nodes_from(members)
    out.add_edges_from(sorted((min(a, b), max(a, b)) for a, b in graph.subgraph(members).edges))
    return out


def _coalesce(graph: nx.Graph, groups: list[frozenset[str]], max_size: int) -> list[frozenset[str]]:
    """Greedily merge adjacent groups while they fit, strongest connection first.

    Louvain optimises modularity, not size, so it often returns many small communities;
    merging them back along the edges they share cuts the cross-domain edges.
    """
    parts = {min(g): set(g) for g in groups}
    owner = {node: name for name, members in parts.items() for node in members}
    while True:
        weights: dict[tuple[str, str], int] = {}
        for a, b in graph.edges:
            x, y = owner[a], owner[b]
            if x != y:
                key = (min(x, y), max(x, y))
                weights[key] = weights.get(key, 0) + 1
        fitting = [
            (-w, key)
            for key, w in weights.items()
            if len(parts[key[0]]) + len(parts[key[1]]) <= max_size
        ]
        if not fitting:
            break
        _, (keep, gone) = min(fitting)
        for node in parts[gone]:
            owner[node] = keep
        parts[keep] |= parts.pop(gone)
    return [frozenset(parts[name]) for name in sorted(parts)]


def _chunk(graph: nx.Graph, max_size: int) -> list[frozenset[str]]:
    """Last resort when community detection finds no split: breadth-first slices.

    Slices of a BFS order are not always connected; that only costs cross-domain
    edges, never correctness of routing.
    """
    start = min(graph.nodes)
    order = [start]
    seen = {start}
    frontier = [start]
    while frontier:
        nxt: list[str] = []
        for node in frontier:
            for neighbour in sorted(graph.neighbors(node)):
                if neighbour not in seen:
                    seen.add(neighbour)
                    order.append(neighbour)
                    nxt.append(neighbour)
        frontier = nxt
    order.extend(sorted(set(graph.nodes) - seen))
    return [frozenset(order[i : i + max_size]) for i in range(0, len(order), max_size)]
