"""Graph queries on a small hand-made graph with hand-checked answers.

The graph (see conftest): a -> b, c;  b -> d;  c -> d, e;  d -> f;  f -> b;
g -> h;  i alone.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

import networkx as nx
import pytest

from tests.unit.topology.support import FIXTURES, build
from topology import Service, Topology, TopologyError, load_topology


@pytest.mark.parametrize(
    ("service", "dependencies", "dependents"),
    [
        pytest.param("a", {"b", "c"}, set(), id="root"),
        pytest.param("d", {"f"}, {"b", "c"}, id="shared"),
        pytest.param("b", {"d"}, {"a", "f"}, id="in-cycle"),
        pytest.param("e", set(), {"c"}, id="leaf"),
        pytest.param("i", set(), set(), id="isolated"),
    ],
)
def test_direct_neighbours(
    small: Topology, service: str, dependencies: set[str], dependents: set[str]
) -> None:
    assert small.dependencies(service) == dependencies
    assert small.dependents(service) == dependents
    assert isinstance(small.dependencies(service), frozenset)


@pytest.mark.parametrize(
    ("service", "k", "direction", "expected"),
    [
        pytest.param("a", 0, "both", {"a": 0}, id="k0"),
        pytest.param("a", 1, "dependencies", {"a": 0, "b": 1, "c": 1}, id="deps-k1"),
        pytest.param(
            "a", 2, "dependencies", {"a": 0, "b": 1, "c": 1, "d": 2, "e": 2}, id="deps-k2"
        ),
        pytest.param(
            "a", 3, "dependencies", {"a": 0, "b": 1, "c": 1, "d": 2, "e": 2, "f": 3}, id="deps-k3"
        ),
        pytest.param("a", 9, "dependents", {"a": 0}, id="root-has-no-dependents"),
        pytest.param(
            "d", 2, "dependents", {"d": 0, "b": 1, "c": 1, "a": 2, "f": 2}, id="dependents-k2"
        ),
        pytest.param(
            "b",
            5,
            "dependents",
            {"b": 0, "a": 1, "f": 1, "d": 2, "c": 3},
            id="dependents-through-cycle",
        ),
        pytest.param("e", 2, "both", {"e": 0, "c": 1, "a": 2, "d": 2}, id="both-k2"),
        pytest.param("d", 1, "both", {"d": 0, "b": 1, "c": 1, "f": 1}, id="both-k1"),
        pytest.param("g", 4, "both", {"g": 0, "h": 1}, id="stays-in-component"),
        pytest.param("i", 3, "both", {"i": 0}, id="isolated"),
    ],
)
def test_neighbourhood(
    small: Topology, service: str, k: int, direction: Any, expected: dict[str, int]
) -> None:
    found = small.neighbourhood(service, k, direction)
    assert dict(found) == expected


def test_neighbourhood_is_cached_and_read_only(small: Topology) -> None:
    first = small.neighbourhood("a", 2, "dependencies")
    before = small.neighbourhood_cache_info()
    second = small.neighbourhood("a", 2, "dependencies")
    after = small.neighbourhood_cache_info()
    assert second is first
    assert after.hits == before.hits + 1 and after.misses == before.misses
    assert isinstance(first, MappingProxyType)
    with pytest.raises(TypeError):
        first["z"] = 1  # type: ignore[index]


def test_neighbourhood_cache_is_bounded() -> None:
    topology = Topology.from_services(
        [Service(id="a", depends_on=("b",)), Service(id="b")], neighbourhood_cache_size=2
    )
    for k in range(5):
        topology.neighbourhood("a", k, "both")
    info = topology.neighbourhood_cache_info()
    assert (info.maxsize, info.currsize, info.misses) == (2, 2, 5)


@pytest.mark.parametrize(
    ("call", "error"),
    [
        pytest.param(lambda t: t.neighbourhood("zz", 1, "both"), KeyError, id="unknown-id"),
        pytest.param(lambda t: t.neighbourhood("a", -1, "both"), ValueError, id="negative-k"),
        pytest.param(lambda t: t.neighbourhood("a", True, "both"), ValueError, id="bool-k"),
        pytest.param(lambda t: t.neighbourhood("a", 1, "up"), ValueError, id="bad-direction"),
        pytest.param(lambda t: t.dependencies("zz"), KeyError, id="dependencies"),
        pytest.param(lambda t: t.dependents("zz"), KeyError, id="dependents"),
        pytest.param(lambda t: t.service("zz"), KeyError, id="service"),
        pytest.param(lambda t: t.dependency_path("a", "zz"), KeyError, id="path-target"),
        pytest.param(lambda t: t.path("zz", "a"), KeyError, id="path-source"),
        pytest.param(lambda t: t.path("a", "b", max_hops=-2), ValueError, id="negative-hops"),
    ],
)
def test_bad_queries_raise(small: Topology, call: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        call(small)


@pytest.mark.parametrize(
    ("source", "target", "max_hops", "expected"),
    [
        pytest.param("a", "a", None, ("a",), id="same"),
        pytest.param("a", "b", None, ("a", "b"), id="direct"),
        pytest.param("a", "e", None, ("a", "c", "e"), id="two-hops"),
        pytest.param("f", "d", None, ("f", "b", "d"), id="around-cycle"),
        pytest.param("c", "b", None, ("c", "d", "f", "b"), id="into-cycle"),
        pytest.param("b", "a", None, None, id="against-direction"),
        pytest.param("e", "c", None, None, id="leaf-calls-nothing"),
        pytest.param("a", "g", None, None, id="other-component"),
        pytest.param("c", "b", 2, None, id="beyond-max-hops"),
        pytest.param("c", "b", 3, ("c", "d", "f", "b"), id="within-max-hops"),
        pytest.param("a", "a", 0, ("a",), id="zero-hops-same"),
        pytest.param("a", "b", 0, None, id="zero-hops-other"),
    ],
)
def test_dependency_path(
    small: Topology,
    source: str,
    target: str,
    max_hops: int | None,
    expected: tuple[str, ...] | None,
) -> None:
    assert small.dependency_path(source, target, max_hops) == expected


def test_dependency_path_with_ties_is_a_shortest_one_and_stable(small: Topology) -> None:
    found = small.dependency_path("a", "f")
    assert found in {("a", "b", "d", "f"), ("a", "c", "d", "f")}
    assert all(small.dependency_path("a", "f") == found for _ in range(3))


@pytest.mark.parametrize(
    ("source", "target", "max_hops", "expected"),
    [
        pytest.param("e", "f", None, ("e", "c", "d", "f"), id="mixed-directions"),
        pytest.param("b", "a", None, ("b", "a"), id="against-direction"),
        pytest.param("h", "g", None, ("h", "g"), id="reverse-edge"),
        pytest.param("e", "f", 2, None, id="beyond-max-hops"),
        pytest.param("a", "i", None, None, id="isolated"),
        pytest.param("a", "h", None, None, id="other-component"),
    ],
)
def test_undirected_path(
    small: Topology,
    source: str,
    target: str,
    max_hops: int | None,
    expected: tuple[str, ...] | None,
) -> None:
    assert small.path(source, target, max_hops) == expected


def test_components_are_ordered_by_smallest_id(small: Topology) -> None:
    assert small.components() == (
        frozenset("abcdef"),
        frozenset("gh"),
        frozenset("i"),
    )


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("web", "web", id="id"),
        pytest.param("web-svc", "web", id="alias"),
        pytest.param("WEB", "web", id="id-other-case"),
        pytest.param("web-deployment", "web", id="alias-other-case"),
        pytest.param("Web-Deployment", "web", id="alias-exact"),
        pytest.param("nope", None, id="unknown"),
        pytest.param("", None, id="empty"),
    ],
)
def test_resolve(name: str, expected: str | None) -> None:
    assert load_topology(FIXTURES / "shop.yaml").resolve(name) == expected


def test_resolve_prefers_exact_and_refuses_ambiguous_case() -> None:
    topology = Topology.from_services(
        [Service(id="Cart"), Service(id="cart"), Service(id="api", aliases=("API-v1",))]
    )
    assert topology.resolve("Cart") == "Cart"
    assert topology.resolve("cart") == "cart"
    assert topology.resolve("CART") is None  # two services spell it this way
    assert topology.resolve("api-V1") == "api"


def test_contents(small: Topology) -> None:
    assert len(small) == 9
    assert list(small) == list("abcdefghi")
    assert "a" in small and "zz" not in small and 3 not in small
    assert list(small.services) == list("abcdefghi")
    assert small.service("c").depends_on == ("d", "e")
    assert small.dependency_count == 8
    with pytest.raises(TypeError):
        small.services["x"] = Service(id="x")  # type: ignore[index]


def test_is_immutable(small: Topology) -> None:
    with pytest.raises(AttributeError):
        small.version = "other"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        small._ids = ()
    with pytest.raises(AttributeError):
        del small._ids


def test_networkx_view(small: Topology) -> None:
    graph = small.graph
    assert isinstance(graph, nx.DiGraph) and nx.is_frozen(graph)
    assert sorted(graph.nodes) == list("abcdefghi")
    assert sorted(graph.edges) == sorted(
        (a, b)
        for a, targets in {"a": "bc", "b": "d", "c": "de", "d": "f", "f": "b", "g": "h"}.items()
        for b in targets
    )
    with pytest.raises(nx.NetworkXError):
        graph.add_edge("a", "i")
    assert small.graph is graph


def test_networkx_view_carries_attributes() -> None:
    graph = load_topology(FIXTURES / "shop.yaml").graph
    assert graph.nodes["web"] == {
        "kind": "service",
        "team": "storefront",
        "tier": "frontend",
        "criticality": "high",
        "aliases": ("Web-Deployment", "web-svc"),
        "slo": None,
    }
    assert graph.nodes["catalog-db"]["kind"] == "database"


def test_node_link_export_is_networkx_compatible() -> None:
    topology = load_topology(FIXTURES / "shop.yaml")
    data = topology.to_node_link()
    assert data["directed"] is True and "links" in data
    graph = nx.node_link_graph(data, edges="links")
    assert graph.is_directed()
    assert sorted(graph.edges) == sorted(topology.graph.edges)
    assert graph.nodes["web"]["aliases"] == ["Web-Deployment", "web-svc"]
    assert data["nodes"][0] == {"id": "cart", "kind": "service", "aliases": ["cart-svc"]}


def test_yaml_export_is_the_project_format() -> None:
    exported = load_topology(FIXTURES / "shop.yaml").to_yaml_dict()
    assert exported["version"] == 1 and exported["name"] == "mini-shop"
    assert exported["services"][-1] == {
        "id": "web",
        "team": "storefront",
        "tier": "frontend",
        "criticality": "high",
        "aliases": ["Web-Deployment", "web-svc"],
        "depends_on": ["cart", "catalog"],
    }


@pytest.mark.parametrize(
    ("change", "same"),
    [
        pytest.param(lambda s: s, True, id="nothing"),
        pytest.param(lambda s: list(reversed(s)), True, id="service-order"),
        pytest.param(
            lambda s: [Service(id=x.id, depends_on=tuple(reversed(x.depends_on))) for x in s],
            True,
            id="dependency-order",
        ),
        pytest.param(lambda s: [*s, Service(id="z")], False, id="extra-service"),
        pytest.param(
            lambda s: [
                Service(id=x.id, kind="cache" if x.id == "e" else x.kind, depends_on=x.depends_on)
                for x in s
            ],
            False,
            id="kind",
        ),
        pytest.param(
            lambda s: [Service(id=x.id, depends_on=x.depends_on[:1]) for x in s],
            False,
            id="fewer-edges",
        ),
    ],
)
def test_version(small: Topology, change: Any, same: bool) -> None:
    services = list(small.services.values())
    other = Topology.from_services(change(services), source="elsewhere", name="renamed")
    assert (other.version == small.version) is same


def test_version_covers_aliases_and_labels() -> None:
    base = Topology.from_services([Service(id="a", aliases=("x", "y"))])
    same = Topology.from_services([Service(id="a", aliases=("y", "x"))])
    differs = [
        Topology.from_services([Service(id="a", aliases=("x",))]),
        Topology.from_services([Service(id="a", aliases=("x", "y"), team="t")]),
        Topology.from_services([Service(id="a", aliases=("x", "y"), tier="t")]),
        Topology.from_services([Service(id="a", aliases=("x", "y"), criticality="low")]),
    ]
    assert same.version == base.version
    assert len({base.version, *(t.version for t in differs)}) == 5


@pytest.mark.parametrize(
    ("services", "problem"),
    [
        pytest.param(
            [Service(id="a"), Service(id="a")], "services[1]): duplicate id 'a'", id="duplicate"
        ),
        pytest.param(
            [Service(id="a", depends_on=("b",))], "depends_on 'b' names no service", id="dangling"
        ),
        pytest.param([Service(id="a", depends_on=("a",))], "cannot depend on itself", id="self"),
        pytest.param(
            [Service(id="a"), Service(id="b", aliases=("a",))],
            "alias 'a' collides with the id of service 'a'",
            id="alias-id",
        ),
        pytest.param(
            [Service(id="a", aliases=("x",)), Service(id="b", aliases=("x",))],
            "alias 'x' is already an alias of service 'a'",
            id="alias-alias",
        ),
        pytest.param(["a"], "services[0]: expected a Service, got 'a'", id="not-a-service"),
    ],
)
def test_from_services_validates(services: list[Any], problem: str) -> None:
    with pytest.raises(TopologyError) as caught:
        Topology.from_services(services, source="unit-test")
    assert caught.value.source == "unit-test"
    assert any(p.startswith("unit-test: ") and problem in p for p in caught.value.problems), (
        caught.value.problems
    )


def test_from_services_accepts_any_iterable() -> None:
    topology = Topology.from_services(Service(id=i) for i in ("b", "a"))
    assert list(topology) == ["a", "b"] and topology.source == "<memory>"
    assert build({}).components() == ()
    assert "Topology" in repr(topology) and topology.version in repr(topology)
