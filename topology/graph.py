"""The immutable service graph and the queries the engine asks of it.

Everything a query needs is precomputed once at construction (sorted
adjacency tuples in both directions, reverse edges, components, the alias
table), so per-alert questions cost only the nodes near the answer. The
networkx view is built lazily, on first use, because the engine itself never
needs it and building it for 100k services takes longer than the rest.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import Any, Literal, get_args

import networkx as nx

from topology import _search, canonical
from topology.errors import TopologyError
from topology.model import Service, describe
from topology.validate import cross_check

Direction = Literal["dependencies", "dependents", "both"]
DIRECTIONS: tuple[str, ...] = get_args(Direction)
DEFAULT_NEIGHBOURHOOD_CACHE_SIZE = 100_000
"""Entries kept by each topology's neighbourhood LRU cache."""

_Neighbourhood = Callable[[str, int, str], Mapping[str, int]]


class Topology:
    """A validated, immutable service dependency graph.

    Build one with :meth:`from_services` or :func:`topology.load_topology`.
    An edge ``A -> B`` (``B`` in ``A.depends_on``) means ``A`` calls ``B``.
    """

    __slots__ = (
        "_component_of",
        "_components",
        "_deps",
        "_deps_set",
        "_edge_count",
        "_folded",
        "_graph",
        "_ids",
        "_name",
        "_names",
        "_neighbourhood",
        "_rdeps",
        "_rdeps_set",
        "_services",
        "_source",
        "_undirected",
        "_version",
    )

    _services: Mapping[str, Service]
    _ids: tuple[str, ...]
    _deps: dict[str, tuple[str, ...]]
    _rdeps: dict[str, tuple[str, ...]]
    _undirected: dict[str, tuple[str, ...]]
    _deps_set: dict[str, frozenset[str]]
    _edge_count: int
    _rdeps_set: dict[str, frozenset[str]]
    _names: dict[str, str]
    _folded: dict[str, str | None]
    _components: tuple[frozenset[str], ...]
    _component_of: dict[str, frozenset[str]]
    _version: str
    _source: str
    _name: str | None
    _graph: nx.DiGraph | None
    _neighbourhood: _Neighbourhood

    def __init__(
        self,
        services: Iterable[Service],
        *,
        source: str = "<memory>",
        name: str | None = None,
        neighbourhood_cache_size: int = DEFAULT_NEIGHBOURHOOD_CACHE_SIZE,
    ) -> None:
        entries = list(services)
        problems = [
            f"{source}: services[{i}]: expected a Service, got {describe(s)}"
            for i, s in enumerate(entries)
            if not isinstance(s, Service)
        ]
        if problems:
            raise TopologyError(problems, source=source)
        labels = [f"service {s.id!r} (services[{i}])" for i, s in enumerate(entries)]
        _raise_if_invalid(entries, labels, source, [])
        self._setup(entries, source, name, neighbourhood_cache_size)

    @classmethod
    def from_services(
        cls,
        services: Iterable[Service],
        *,
        source: str = "<memory>",
        name: str | None = None,
        neighbourhood_cache_size: int = DEFAULT_NEIGHBOURHOOD_CACHE_SIZE,
    ) -> Topology:
        """Validate ``services`` and build the topology.

        Raises:
            TopologyError: listing every duplicate id, dangling or repeated
                ``depends_on``, self-dependency and alias collision.
        """
        return cls(
            services, source=source, name=name, neighbourhood_cache_size=neighbourhood_cache_size
        )

    def _setup(
        self, entries: Sequence[Service], source: str, name: str | None, cache_size: int
    ) -> None:
        store = object.__setattr__
        services = {s.id: s for s in sorted(entries, key=lambda s: s.id)}
        deps = {i: tuple(sorted(set(s.depends_on))) for i, s in services.items()}
        rdeps = _reverse(deps)
        undirected = {i: _union(deps[i], rdeps[i]) for i in services}
        store(self, "_services", MappingProxyType(services))
        store(self, "_ids", tuple(services))
        store(self, "_deps", deps)
        store(self, "_edge_count", sum(map(len, deps.values())))
        store(self, "_rdeps", rdeps)
        store(self, "_undirected", undirected)
        # Frozensets are made on first use: most services are never asked about.
        store(self, "_deps_set", {})
        store(self, "_rdeps_set", {})
        names, folded = _name_tables(services.values())
        store(self, "_names", names)
        store(self, "_folded", folded)
        found = _search.components(self._ids, undirected)
        store(self, "_components", found)
        # Lets path queries answer "unreachable" without searching at all.
        store(self, "_component_of", {node: part for part in found for node in part})
        store(self, "_version", canonical.version_of(services, deps))
        store(self, "_source", source)
        store(self, "_name", name)
        store(self, "_graph", None)
        adjacency = {"dependencies": deps, "dependents": rdeps, "both": undirected}
        store(self, "_neighbourhood", _cached_neighbourhood(adjacency, cache_size))

    def __setattr__(self, key: str, value: object) -> None:
        raise AttributeError(f"Topology is immutable; cannot set {key!r}")

    def __delattr__(self, key: str) -> None:
        raise AttributeError(f"Topology is immutable; cannot delete {key!r}")

    # -- identity and contents -------------------------------------------------

    @property
    def version(self) -> str:
        """Content hash ``sha256:<16 hex>``; equal graphs have equal versions."""
        return self._version

    @property
    def source(self) -> str:
        """Where the topology came from: a file path, ``<string>`` or ``<memory>``."""
        return self._source

    @property
    def name(self) -> str | None:
        """The optional human name (``name:`` in YAML); not part of the version."""
        return self._name

    @property
    def services(self) -> Mapping[str, Service]:
        """Read-only mapping of id to :class:`Service`, in id order."""
        return self._services

    @property
    def dependency_count(self) -> int:
        """Number of distinct dependency edges."""
        return self._edge_count

    def __contains__(self, service_id: object) -> bool:
        return isinstance(service_id, str) and service_id in self._services

    def __len__(self) -> int:
        return len(self._ids)

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids)

    def __repr__(self) -> str:
        label = self._name or self._source
        return (
            f"<Topology {label}: {len(self)} services, {self.dependency_count} dependencies, "
            f"{self._version}>"
        )

    def service(self, service_id: str) -> Service:
        """Return the service with this id; raise KeyError if there is none."""
        self._require(service_id)
        return self._services[service_id]

    def resolve(self, name: str) -> str | None:
        """Map a service id or alias to the canonical id, or None.

        An exact match wins; otherwise the name is compared case-insensitively.
        A case-insensitive spelling shared by two services resolves to None
        rather than to an arbitrary one of them.
        """
        exact = self._names.get(name)
        if exact is not None:
            return exact
        return self._folded.get(name.casefold())

    # -- queries ---------------------------------------------------------------

    def dependencies(self, service_id: str) -> frozenset[str]:
        """Services ``service_id`` calls directly."""
        return _frozen(service_id, self._deps, self._deps_set)

    def dependents(self, service_id: str) -> frozenset[str]:
        """Services that call ``service_id`` directly."""
        return _frozen(service_id, self._rdeps, self._rdeps_set)

    def neighbourhood(self, service_id: str, k: int, direction: Direction) -> Mapping[str, int]:
        """Map every service within ``k`` hops of ``service_id`` to its distance.

        ``direction`` follows ``depends_on`` edges (``"dependencies"``), reversed
        edges (``"dependents"``) or both (``"both"``). ``service_id`` itself is
        included at distance 0. Results are cached (LRU) and read-only.
        """
        self._require(service_id)
        _check_hops(k, "k")
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}; got {direction!r}")
        return self._neighbourhood(service_id, k, direction)

    def neighbourhood_cache_info(self) -> Any:
        """Hit/miss statistics of the neighbourhood cache (``functools`` CacheInfo)."""
        return self._neighbourhood.cache_info()  # type: ignore[attr-defined]

    def dependency_path(
        self, source: str, target: str, max_hops: int | None = None
    ) -> tuple[str, ...] | None:
        """Shortest ``source -> ... -> target`` chain along ``depends_on`` edges.

        Returns both ends included, ``(source,)`` when they are equal, or None
        when ``source`` does not (transitively, within ``max_hops``) depend on
        ``target``.
        """
        if not self._may_connect(source, target, max_hops):
            return None
        return _search.shortest_path(source, target, self._deps, self._rdeps, max_hops)

    def path(self, source: str, target: str, max_hops: int | None = None) -> tuple[str, ...] | None:
        """Shortest path between two services ignoring edge direction, or None."""
        if not self._may_connect(source, target, max_hops):
            return None
        return _search.shortest_path(source, target, self._undirected, self._undirected, max_hops)

    def is_acyclic(self) -> bool:
        """Whether no service depends on itself through a chain of dependencies.

        Computed on each call (Kahn's algorithm, linear in services and edges);
        callers that ask often keep the answer.
        """
        remaining = {s: len(self._deps[s]) for s in self._ids}
        ready = [s for s, n in remaining.items() if n == 0]
        done = 0
        while ready:
            service = ready.pop()
            done += 1
            for dependent in self._rdeps[service]:
                remaining[dependent] -= 1
                if remaining[dependent] == 0:
                    ready.append(dependent)
        return done == len(self._ids)

    def components(self) -> tuple[frozenset[str], ...]:
        """Weakly connected components, ordered by their smallest id."""
        return self._components

    # -- exports ---------------------------------------------------------------

    @property
    def graph(self) -> nx.DiGraph:
        """A frozen networkx DiGraph; nodes carry the service attributes."""
        if self._graph is None:
            object.__setattr__(self, "_graph", self._build_graph())
        assert self._graph is not None
        return self._graph

    def to_node_link(self) -> dict[str, Any]:
        """Export as networkx node-link JSON data (``links`` key, directed)."""
        return canonical.to_node_link(self._services, self._name)

    def to_yaml_dict(self) -> dict[str, Any]:
        """Export as the project YAML structure (see :mod:`topology`)."""
        return canonical.to_yaml_dict(self._services, self._name)

    # -- helpers ---------------------------------------------------------------

    def _require(self, service_id: str) -> None:
        if service_id not in self._services:
            raise KeyError(f"unknown service {service_id!r}")

    def _may_connect(self, source: str, target: str, max_hops: int | None) -> bool:
        self._require(source)
        self._require(target)
        if max_hops is not None:
            _check_hops(max_hops, "max_hops")
        return source == target or target in self._component_of[source]

    def _build_graph(self) -> nx.DiGraph:
        graph = nx.DiGraph(name=self._name) if self._name else nx.DiGraph()
        for service in self._services.values():
            graph.add_node(
                service.id,
                kind=service.kind,
                team=service.team,
                tier=service.tier,
                criticality=service.criticality,
                aliases=tuple(sorted(service.aliases)),
                slo=service.slo,
            )
        graph.add_edges_from((a, b) for a, targets in self._deps.items() for b in targets)
        frozen: nx.DiGraph = nx.freeze(graph)
        return frozen


def assemble(
    services: Sequence[Service],
    labels: Sequence[str],
    *,
    source: str,
    name: str | None,
    problems: Sequence[str],
) -> Topology:
    """Build a topology for a loader, adding cross-entry problems to its own.

    ``labels[i]`` names ``services[i]`` the way the file does (list index or
    mapping key), so messages point at the right place.
    """
    _raise_if_invalid(services, labels, source, problems)
    topology = Topology.__new__(Topology)
    topology._setup(services, source, name, DEFAULT_NEIGHBOURHOOD_CACHE_SIZE)
    return topology


def _raise_if_invalid(
    services: Sequence[Service], labels: Sequence[str], source: str, problems: Sequence[str]
) -> None:
    found = [*problems, *cross_check(services, labels, source)]
    if found:
        raise TopologyError(found, source=source)


def _check_hops(value: object, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{what} must be a non-negative int; got {describe(value)}")


def _reverse(deps: Mapping[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    callers: dict[str, list[str]] = {node: [] for node in deps}
    for caller in deps:  # deps is in id order, so each list comes out sorted
        for callee in deps[caller]:
            callers[callee].append(caller)
    return {node: tuple(found) for node, found in callers.items()}


def _union(first: tuple[str, ...], second: tuple[str, ...]) -> tuple[str, ...]:
    if not first or not second:
        return first or second  # both already sorted
    return tuple(sorted(set(first).union(second)))


def _frozen(
    service_id: str,
    adjacency: Mapping[str, tuple[str, ...]],
    made: dict[str, frozenset[str]],
) -> frozenset[str]:
    found = made.get(service_id)
    if found is None:
        if service_id not in adjacency:
            raise KeyError(f"unknown service {service_id!r}")
        # A race between two threads only builds the same value twice.
        found = made[service_id] = frozenset(adjacency[service_id])
    return found


def _name_tables(services: Iterable[Service]) -> tuple[dict[str, str], dict[str, str | None]]:
    names: dict[str, str] = {}
    for service in services:
        names[service.id] = service.id
        for alias in service.aliases:
            names[alias] = service.id
    folded: dict[str, str | None] = {}
    for name, owner in names.items():
        key = name.casefold()
        if key in folded and folded[key] != owner:
            folded[key] = None  # ambiguous: two services share this spelling
        else:
            folded.setdefault(key, owner)
    return names, folded


def _cached_neighbourhood(
    adjacency: Mapping[str, Mapping[str, tuple[str, ...]]], size: int
) -> _Neighbourhood:
    @functools.lru_cache(maxsize=size)
    def neighbourhood(service_id: str, k: int, direction: str) -> Mapping[str, int]:
        return MappingProxyType(_search.distances_within(service_id, adjacency[direction], k))

    return neighbourhood
