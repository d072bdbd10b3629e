"""Generated topologies look like production call graphs."""

from __future__ import annotations

import functools
import statistics
from collections import Counter

import pytest

from correlator.simulate import generate_topology
from topology import SERVICE_KINDS, Topology

SIZES = [60, 300, 1000]


def _depth_from_entries(topo: Topology) -> dict[str, int]:
    """Longest call chain from any entry (a service nobody calls) to each service."""

    @functools.cache
    def depth(service: str) -> int:
        callers = topo.dependents(service)
        return 0 if not callers else 1 + max(depth(c) for c in callers)

    return {s: depth(s) for s in topo}


@pytest.mark.parametrize("n", SIZES, ids=[f"{n} services" for n in SIZES])
def test_size_and_kinds(n: int) -> None:
    topo = generate_topology(n, 3)
    kinds = Counter(topo.services[s].kind for s in topo)
    assert len(topo) == n
    assert set(kinds) == set(SERVICE_KINDS)
    assert kinds["service"] > n / 2


@pytest.mark.parametrize("n", SIZES, ids=[f"{n} services" for n in SIZES])
def test_few_entry_services_and_many_leaves(n: int) -> None:
    topo = generate_topology(n, 3)
    entries = [s for s in topo if not topo.dependents(s)]
    leaves = [s for s in topo if not topo.dependencies(s)]
    assert 1 <= len(entries) <= max(2, 0.04 * n)
    assert all(topo.services[s].kind in ("gateway", "service") for s in entries)
    assert len(leaves) >= 0.3 * n


@pytest.mark.parametrize("n", SIZES, ids=[f"{n} services" for n in SIZES])
def test_call_depth_is_mostly_two_to_four(n: int) -> None:
    topo = generate_topology(n, 3)
    depth = _depth_from_entries(topo)
    leaves = [s for s in topo if not topo.dependencies(s)]
    share = sum(1 for s in leaves if 2 <= depth[s] <= 4) / len(leaves)
    assert share >= 0.8
    assert max(depth.values()) <= 6


def test_fan_in_is_heavy_tailed() -> None:
    topo = generate_topology(1000, 3)
    fan_in = sorted((len(topo.dependents(s)) for s in topo), reverse=True)
    top = fan_in[: len(fan_in) // 20]
    assert fan_in[0] >= 10 * max(1, statistics.median(fan_in))
    assert sum(top) >= 0.25 * sum(fan_in)
    shared_stores = [s for s in topo if topo.services[s].kind in ("database", "cache")
                     and len(topo.dependents(s)) >= 5]
    assert shared_stores


def test_same_seed_same_graph_other_seed_other_graph() -> None:
    assert generate_topology(200, 9).version == generate_topology(200, 9).version
    assert generate_topology(200, 9).version != generate_topology(200, 10).version


def test_some_services_have_aliases() -> None:
    topo = generate_topology(300, 3)
    with_alias = [s for s in topo if topo.services[s].aliases]
    assert with_alias
    assert all(topo.resolve(topo.services[s].aliases[0]) == s for s in with_alias)


def test_too_small_is_rejected() -> None:
    with pytest.raises(ValueError, match="at least 8"):
        generate_topology(5, 1)
