"""The topology the engine is given, which is not quite the true one.

In production the dependency graph is assembled from manifests, service
meshes or a CMDB, and it is always somewhat stale: some calls are missing,
some recorded calls no longer happen, and new services are not in it at all.
Faults spread along the *true* graph; the engine only sees this degraded copy.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, replace

from correlator.simulate.scenarios import Knobs
from topology import Topology


@dataclass(frozen=True, slots=True)
class Drift:
    """How the given topology differs from the true one (recorded in truth.json)."""

    removed_services: tuple[str, ...]
    missing_edges: tuple[tuple[str, str], ...]
    spurious_edges: tuple[tuple[str, str], ...]

    def to_dict(self) -> dict[str, object]:
        return {
            "removed_services": list(self.removed_services),
            "missing_edges": [list(e) for e in self.missing_edges],
            "spurious_edges": [list(e) for e in self.spurious_edges],
        }


def _reaches(deps: dict[str, set[str]], source: str, target: str) -> bool:
    """Whether ``source`` transitively depends on ``target``."""
    seen, stack = {source}, [source]
    while stack:
        node = stack.pop()
        if node == target:
            return True
        for nxt in deps.get(node, ()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return False


def _choose_removed(topology: Topology, involved: Iterable[str], rng: random.Random,
                    fraction: float) -> list[str]:
    """The same share of touched and untouched services, so the scenario always bites."""
    if fraction <= 0:
        return []
    touched = sorted(set(involved) & set(topology.services))
    rest = sorted(set(topology.services) - set(touched))
    removed = rng.sample(touched, min(len(touched), max(1, round(fraction * len(touched)))))
    removed += rng.sample(rest, min(len(rest), round(fraction * len(rest))))
    if len(removed) >= len(topology.services) - 1:
        removed = removed[: max(0, len(topology.services) - 2)]
    return sorted(removed)


def degrade(topology: Topology, involved: Iterable[str], rng: random.Random,
            knobs: Knobs) -> tuple[Topology, Drift]:
    """Derive the given topology: remove services, drop true edges, add spurious ones."""
    removed = set(_choose_removed(topology, involved, rng, knobs.unknown_fraction))
    deps = {
        sid: {d for d in svc.depends_on if d not in removed}
        for sid, svc in topology.services.items()
        if sid not in removed
    }
    edges = sorted((a, b) for a, targets in deps.items() for b in targets)
    missing: list[tuple[str, str]] = []
    if knobs.missing_edge_fraction > 0 and edges:
        missing = sorted(rng.sample(edges, round(knobs.missing_edge_fraction * len(edges))))
        for a, b in missing:
            deps[a].discard(b)
    spurious: list[tuple[str, str]] = []
    wanted = round(knobs.spurious_edge_fraction * len(edges))
    if knobs.spurious_edge_fraction > 0:
        wanted = max(1, wanted)
    callers = sorted(s for s in deps if topology.services[s].kind in ("service", "gateway"))
    targets = sorted(deps)
    attempts = 0
    while len(spurious) < wanted and callers and attempts < 50 * wanted:
        attempts += 1
        a, b = rng.choice(callers), rng.choice(targets)
        if a == b or b in deps[a] or (a, b) in missing or _reaches(deps, b, a):
            continue
        deps[a].add(b)
        spurious.append((a, b))
    given = Topology.from_services(
        [
            replace(svc, depends_on=tuple(sorted(deps[sid])))
            for sid, svc in topology.services.items()
            if sid in deps
        ],
        name=topology.name,
    )
    return given, Drift(tuple(sorted(removed)), tuple(missing), tuple(sorted(spurious)))
