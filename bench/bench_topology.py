"""Benchmark of the topology package on a generated 100k-service graph.

The engine asks the topology one neighbourhood question per alert, so the
figures that matter are: how long a large topology takes to load (it is
reloaded when the file changes), and the cost of a cold and a warm
``neighbourhood(k=2)`` and of ``dependency_path`` on a graph shaped like real
ones: mostly acyclic, with a few shared services (databases, auth, queues)
that very many services call.

Run from the repository root: ``python -m bench.bench_topology [--services 100000]``
(or ``python bench/bench_topology.py`` once the package is installed).
"""

from __future__ import annotations

import argparse
import functools
import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import yaml

from topology import Service, Topology, load_topology
from topology.graph import Direction

_KINDS = ((1000, "gateway"), (500, "queue"), (97, "cache"), (40, "database"))


def generate(count: int, seed: int) -> list[Service]:
    """Build a random mostly-acyclic call graph with heavy-tailed fan-in.

    Service ``i`` calls earlier services, picked by preferential attachment
    (a callee's chance grows with its callers), so a few services end up
    called by thousands; about 0.5 % of services also call a later one,
    which closes some cycles, as retries and callbacks do in real systems.
    """
    rng = random.Random(seed)
    ids = [f"svc-{i:06d}" for i in range(count)]
    popular: list[int] = []  # index i appears once plus once per caller
    calls: list[set[int]] = []
    for i in range(count):
        wanted = min(i, rng.choice((0, 1, 1, 2, 2, 3, 3, 4, 6, 9)))
        chosen: set[int] = set()
        while len(chosen) < wanted:
            pick = popular[rng.randrange(len(popular))] if rng.random() < 0.8 else rng.randrange(i)
            chosen.add(pick)
        calls.append(chosen)
        popular.extend(chosen)
        popular.append(i)
    for i in rng.sample(range(count - 1), count // 200):
        calls[i].add(rng.randrange(i + 1, count))
    return [
        Service(
            id=ids[i],
            kind=next((kind for every, kind in _KINDS if i % every == 0), "service"),
            team=f"team-{i % 150}",
            aliases=(f"{ids[i]}-svc",) if i % 2 == 0 else (),
            depends_on=tuple(ids[j] for j in sorted(calls[i])),
        )
        for i in range(count)
    ]


@contextmanager
def timed(label: str, results: dict[str, float]) -> Iterator[None]:
    start = time.perf_counter()
    yield
    results[label] = time.perf_counter() - start


def per_call(fn: Callable[[], object], repeat: int) -> float:
    """Mean seconds per call of ``fn`` over ``repeat`` calls."""
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat


def bench_queries(topology: Topology, queries: int, seed: int) -> None:
    rng = random.Random(seed)
    ids = list(topology)
    sample = [rng.choice(ids) for _ in range(queries)]
    directions: tuple[Direction, ...] = ("dependencies", "dependents", "both")
    for direction in directions:
        run = functools.partial(_neighbourhoods, topology, sample, direction)
        cold = per_call(run, 1)  # first sight of each service: computed
        warm = per_call(run, 3)  # the same services again: from the LRU cache
        mean_size = _neighbourhoods(topology, sample, direction) / queries
        print(
            f"  neighbourhood(k=2, {direction:12}) cold {cold / queries * 1e6:8.1f} us  "
            f"warm {warm / queries * 1e6:5.2f} us  mean size {mean_size:7.1f}"
        )
    random_pairs = [(rng.choice(ids), rng.choice(ids)) for _ in range(queries)]
    chained = [_chain(topology, rng.choice(ids), rng.randint(1, 8), rng) for _ in range(queries)]
    for label, pairs in (("random pairs", random_pairs), ("connected pairs", chained)):
        for name in ("dependency_path", "path"):
            method = getattr(topology, name)
            found: list[tuple[str, ...] | None] = []
            seconds = per_call(functools.partial(_paths, method, pairs, found), 1)
            hops = [len(p) - 1 for p in found if p is not None]
            median = statistics.median(hops) if hops else "n/a"
            print(
                f"  {name:15} {label:15} {seconds / queries * 1e6:8.1f} us per query; "
                f"{len(hops)}/{queries} found; median hops {median}"
            )
    hub = max(ids, key=lambda sid: len(topology.dependents(sid)))
    seconds = per_call(lambda: topology.neighbourhood(hub, 2, "dependents"), 1)
    print(
        f"  busiest service {hub}: {len(topology.dependents(hub))} direct callers; cold "
        f"neighbourhood(k=2, dependents) {seconds * 1e3:.1f} ms for "
        f"{len(topology.neighbourhood(hub, 2, 'dependents'))} services"
    )


def _neighbourhoods(topology: Topology, sample: Sequence[str], direction: Direction) -> int:
    return sum(len(topology.neighbourhood(sid, 2, direction)) for sid in sample)


def _paths(
    method: Callable[[str, str], tuple[str, ...] | None],
    pairs: Sequence[tuple[str, str]],
    found: list[tuple[str, ...] | None],
) -> None:
    found.extend(method(a, b) for a, b in pairs)


def _chain(topology: Topology, start: str, steps: int, rng: random.Random) -> tuple[str, str]:
    """A pair ``(start, end)`` where start reaches end along dependencies."""
    end = start
    for _ in range(steps):
        following = sorted(topology.dependencies(end))
        if not following:
            break
        end = rng.choice(following)
    return start, end


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-yaml", action="store_true", help="skip the slow YAML load")
    args = parser.parse_args(argv)
    times: dict[str, float] = {}
    with timed("generate", times):
        services = generate(args.services, args.seed)
    with timed("from_services", times):
        topology = Topology.from_services(services, source="<generated>")
    print(
        f"{len(topology)} services, {topology.dependency_count} dependencies, "
        f"{len(topology.components())} components, version {topology.version}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        json_path = Path(tmp) / "topology.json"
        json_path.write_text(json.dumps(topology.to_node_link()), encoding="utf-8")
        with timed("load node-link JSON", times):
            loaded = load_topology(json_path)
        assert loaded.version == topology.version
        if not args.skip_yaml:
            yaml_path = Path(tmp) / "topology.yaml"
            yaml_path.write_text(yaml.safe_dump(topology.to_yaml_dict()), encoding="utf-8")
            with timed("load project YAML", times):
                loaded = load_topology(yaml_path)
            assert loaded.version == topology.version
        size_mib = json_path.stat().st_size / 2**20
    with timed("build networkx view", times):
        topology.graph  # noqa: B018 - the property builds the view
    for label, seconds in times.items():
        print(f"  {label:22} {seconds:7.2f} s")
    print(f"  (node-link JSON file: {size_mib:.1f} MiB)")
    bench_queries(topology, args.queries, args.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
