"""Correlation domains: connected, bounded, deterministic, the same in every process."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from correlator.stream.domains import UNKNOWN_DOMAIN, build_domain_map, partition_for
from tests.helpers import topo
from topology import Service, Topology, load_topology

REPO = Path(__file__).resolve().parents[3]


def _shuffled(topology: Topology, seed: int) -> Topology:
    services = [topology.service(s) for s in topology]
    random.Random(seed).shuffle(services)
    return Topology.from_services(services)


@pytest.mark.parametrize(
    ("edges", "max_size", "expected"),
    [
        ({"a": ["b"], "c": []}, 10, {"a": "a", "b": "a", "c": "c"}),
        (
            {"web": ["api"], "api": ["db"], "batch": ["queue"]},
            3,
            {"web": "api", "api": "api", "db": "api", "batch": "batch", "queue": "batch"},
        ),
        ({"x": []}, 1, {"x": "x"}),
    ],
    ids=["two-components", "components-fit", "single-service"],
)
def test_small_components_are_domains_named_by_their_smallest_service(
    edges: dict[str, list[str]], max_size: int, expected: dict[str, str]
) -> None:
    domains = build_domain_map(topo(edges), max_size)
    assert dict(domains.domain_of_service) == expected
    assert domains.domains == tuple(sorted(set(expected.values())))


def _random_topology(draw: st.DrawFn) -> Topology:
    n = draw(st.integers(min_value=1, max_value=40))
    names = [f"s{i:02d}" for i in range(n)]
    edges: dict[str, list[str]] = {name: [] for name in names}
    for i, name in enumerate(names):
        if i:
            for target in draw(st.lists(st.sampled_from(names[:i]), max_size=3, unique=True)):
                edges[name].append(target)
    return topo(edges)


random_topologies = st.composite(_random_topology)()


@settings(max_examples=60, deadline=None)
@given(topology=random_topologies, max_size=st.integers(min_value=1, max_value=12))
def test_domains_cover_every_service_fit_the_bound_and_never_span_components(
    topology: Topology, max_size: int
) -> None:
    domains = build_domain_map(topology, max_size)
    assert set(domains.domain_of_service) == set(topology)
    members = domains.members()
    assert all(len(group) <= max_size for group in members.values())
    component_of = {s: i for i, comp in enumerate(topology.components()) for s in comp}
    for name, group in members.items():
        assert name == min(group)
        assert len({component_of[s] for s in group}) == 1
    assert build_domain_map(_shuffled(topology, 7), max_size) == domains


def test_a_large_component_is_split_and_the_split_is_reproducible() -> None:
    shop = load_topology(REPO / "configs" / "topology.yaml")
    assert len(shop.components()) == 1
    small = build_domain_map(shop, 6)
    assert len(small.domains) >= 4
    assert max(len(g) for g in small.members().values()) <= 6
    assert build_domain_map(_shuffled(shop, 1), 6) == small
    whole = build_domain_map(shop, len(shop))
    assert len(whole.domains) == 1
    assert small.crossing_edges(shop) > whole.crossing_edges(shop) == 0


@pytest.mark.parametrize(
    "name", ["legacy-billing", "x", "Ünïcode-svc"], ids=["word", "short", "unicode"]
)
def test_unknown_services_hash_to_one_stable_domain(name: str) -> None:
    domains = build_domain_map(topo({"a": ["b"], "c": [], "d": []}), 10)
    chosen = domains.domain_for(name, known=False)
    assert chosen in domains.domains
    assert all(domains.domain_for(name, known=False) == chosen for _ in range(3))
    assert domains.domain_for("a", known=True) == "a"


def test_an_empty_topology_sends_everything_to_the_unknown_domain() -> None:
    empty = Topology.from_services([])
    assert build_domain_map(empty, 5).domain_for("whatever", known=False) == UNKNOWN_DOMAIN


@pytest.mark.parametrize("partitions", [1, 3, 12], ids=["one", "three", "twelve"])
def test_partition_choice_is_in_range(partitions: int) -> None:
    chosen = {partition_for(f"domain-{i}", partitions) for i in range(200)}
    assert chosen <= set(range(partitions))
    assert len(chosen) == partitions  # 200 names reach every partition


def test_partition_choice_does_not_depend_on_python_hash_randomisation() -> None:
    code = (
        "from correlator.stream.domains import partition_for;"
        "print([partition_for(f'd{i}', 7) for i in range(50)])"
    )
    outputs = set()
    for seed in ("1", "2", "random"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        outputs.add(
            subprocess.run(
                [sys.executable, "-c", code],
                env=env,
                cwd=REPO,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
    assert len(outputs) == 1


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="max_size"):
        build_domain_map(Topology.from_services([Service(id="a")]), 0)
    with pytest.raises(ValueError, match="partitions"):
        partition_for("d", 0)
