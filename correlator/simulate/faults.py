"""The fault model: what breaks, when, and which alerts it sets off.

A cascade starts with a fault at one component (databases, caches and queues
fail as often as services, and shared components hurt more callers, so roots
are drawn weighted by kind and by how many components call them). The fault
spreads to the component's callers hop by hop: each edge carries the symptom
with some probability, after a detection delay that is log-normal like real
scrape-plus-evaluation latencies. Every affected component fires one to three
alerts fitting its kind. Noise is isolated alerts on random components.

Times are integer milliseconds from the storm's base time, so the model is
exact and the output is byte-for-byte reproducible.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from correlator.model import Severity
from correlator.simulate.catalog import (
    CAUSE_RULES,
    COMMON_NOISE_RULES,
    NOISE_RULES,
    SYMPTOM_RULES,
    Rule,
    rules_for,
)
from correlator.simulate.scenarios import Knobs
from topology import Topology

_SECOND = 1000
_MINUTE = 60 * _SECOND

# How often a component of each kind is the origin of a fault, before fan-in.
_ROOT_KIND_WEIGHT = {"database": 3.0, "cache": 2.5, "queue": 2.0, "service": 1.0, "gateway": 0.6}


@dataclass(frozen=True, slots=True)
class Episode:
    """One firing interval of an alert; a flapping alert has several."""

    starts_ms: int
    ends_ms: int


@dataclass(frozen=True, slots=True)
class PlannedAlert:
    """An alert before it gets labels: which rule, on which service, when."""

    service: str
    rule: Rule
    severity: Severity
    episodes: tuple[Episode, ...]
    delay_ms: int  # from an episode's start until Alertmanager receives it
    is_root: bool


@dataclass(frozen=True, slots=True)
class PlannedGroup:
    """Alerts that share one cause: a cascade, or one isolated noise event."""

    id: str
    kind: str  # "cascade" | "noise"
    root: str
    alerts: tuple[PlannedAlert, ...]

    @property
    def services(self) -> frozenset[str]:
        return frozenset(a.service for a in self.alerts)


def _uniform_ms(rng: random.Random, bounds: tuple[float, float]) -> int:
    return round(rng.uniform(*bounds) * _SECOND)


def _log_uniform(rng: random.Random, low: float, high: float) -> float:
    return math.exp(rng.uniform(math.log(low), math.log(high)))


def _hop_delay_ms(rng: random.Random, knobs: Knobs) -> int:
    """Detection delay for one hop: log-normal around the median, clamped to the bounds."""
    low, high = knobs.hop_delay_bounds_s
    seconds = rng.lognormvariate(math.log(knobs.hop_delay_median_s), 0.45)
    return round(min(high, max(low, seconds)) * _SECOND)


def root_weights(topology: Topology) -> dict[str, float]:
    """How likely each component is to be a fault's origin (kind times fan-in)."""
    return {
        sid: _ROOT_KIND_WEIGHT.get(svc.kind, 1.0) * (1 + len(topology.dependents(sid))) ** 0.7
        for sid, svc in topology.services.items()
    }


def _weighted_choice(rng: random.Random, weights: dict[str, float]) -> str:
    names = sorted(weights)
    return rng.choices(names, weights=[weights[n] for n in names], k=1)[0]


def _pick_rules(rng: random.Random, rules: tuple[Rule, ...], counts: tuple[int, ...],
                count_weights: tuple[float, ...], first_weight: float) -> list[Rule]:
    """Pick distinct rules; the first rule of a kind (its "down" alert) is favoured."""
    n = min(len(rules), rng.choices(counts, weights=count_weights, k=1)[0])
    pool = list(rules)
    weights = [first_weight] + [1.0] * (len(pool) - 1)
    chosen: list[Rule] = []
    for _ in range(n):
        rule = rng.choices(pool, weights=weights, k=1)[0]
        index = pool.index(rule)
        pool.pop(index)
        weights.pop(index)
        chosen.append(rule)
    return chosen


def _flap(rng: random.Random, start: int, end: int) -> tuple[Episode, ...]:
    """Split a firing span into on/off episodes; a flapping alert keeps at least three."""
    episodes: list[Episode] = []
    t = start
    while t < end or len(episodes) < 3:
        on = _uniform_ms(rng, (60.0, 180.0))
        episodes.append(Episode(t, t + on))
        t += on + _uniform_ms(rng, (45.0, 150.0))
    return tuple(episodes)


def _episodes(rng: random.Random, knobs: Knobs, start: int, end: int,
              delay: int) -> tuple[tuple[Episode, ...], int]:
    """Episodes and receive delay of one alert, flapping with the configured probability."""
    if rng.random() < knobs.flapping_fraction:
        return _flap(rng, start, end), _uniform_ms(rng, (10.0, 30.0))
    # Alerts in the model outlive their rule's ``for:`` clause plus one group
    # interval, so Alertmanager notifies each at least once while it fires; a
    # shorter one would silently drop out of the storm (and of the truth).
    floor = start + delay + round(knobs.group_interval_s * _SECOND) + 30 * _SECOND
    return (Episode(start, max(end, floor)),), delay


def _severity_for(rng: random.Random, rule: Rule, *, root: bool, first: bool,
                  depth: int) -> Severity:
    if root and first and rng.random() < 0.6:
        return Severity.CRITICAL
    if not root and depth > 1 and rule.severity is Severity.CRITICAL and rng.random() < 0.5:
        return Severity.ERROR
    return rule.severity


def _affected(topology: Topology, root: str, rng: random.Random, knobs: Knobs,
              *, start: int, fault_end: int) -> dict[str, tuple[int, int]]:
    """Services hit by the fault: id -> (depth, detection time), spreading caller-wards."""
    probability = rng.uniform(*knobs.edge_probability)
    max_depth = rng.randint(*knobs.max_depth)
    hit = {root: (0, start + _uniform_ms(rng, (5.0, 40.0)))}
    frontier = [root]
    for depth in range(1, max_depth + 1):
        reached: dict[str, int] = {}
        for service in frontier:
            for caller in sorted(topology.dependents(service)):
                if caller in hit or rng.random() >= probability:
                    continue
                t = hit[service][1] + _hop_delay_ms(rng, knobs)
                if t < fault_end - 30 * _SECOND:  # symptoms must show while the fault lasts
                    reached[caller] = min(t, reached.get(caller, t))
        for caller in sorted(reached):
            hit[caller] = (depth, reached[caller])
        frontier = sorted(reached)
        if not frontier:
            break
    return hit


def plan_cascade(topology: Topology, group_id: str, rng: random.Random, knobs: Knobs,
                 *, root: str, start: int) -> PlannedGroup:
    """One fault at ``root`` starting at ``start`` and every alert it causes."""
    fault_end = start + round(_log_uniform(rng, *knobs.fault_minutes) * _MINUTE)
    late = rng.random() < knobs.late_root_probability
    alerts: list[PlannedAlert] = []
    for service, (depth, detected) in sorted(
        _affected(topology, root, rng, knobs, start=start, fault_end=fault_end).items(),
        key=lambda item: (item[1][0], item[1][1], item[0]),
    ):
        kind = topology.services[service].kind
        is_root = depth == 0
        if is_root:
            rules = _pick_rules(rng, rules_for(CAUSE_RULES, kind), (1, 2, 3), (4, 4, 2), 3.0)
        else:
            rules = _pick_rules(rng, rules_for(SYMPTOM_RULES, kind), (1, 2, 3), (6, 3, 1), 2.0)
        for index, rule in enumerate(rules):
            alert_start = detected + _uniform_ms(rng, (0.0, 45.0))
            if is_root:
                alert_end = fault_end + _uniform_ms(rng, (15.0, 90.0))
            else:
                alert_end = fault_end + depth * _uniform_ms(rng, (10.0, 60.0))
            alert_end = max(alert_end, alert_start + _MINUTE)
            delay = _uniform_ms(rng, knobs.late_root_delay_s if is_root and late else (15.0, 75.0))
            episodes, delay = _episodes(rng, knobs, alert_start, alert_end, delay)
            severity = _severity_for(rng, rule, root=is_root, first=index == 0, depth=depth)
            alerts.append(PlannedAlert(service, rule, severity, episodes, delay, is_root))
    return PlannedGroup(group_id, "cascade", root, tuple(alerts))


def plan_noise(topology: Topology, group_id: str, start: int, rng: random.Random,
               knobs: Knobs) -> PlannedGroup:
    """An isolated alert (sometimes two) on a random component, unrelated to any fault."""
    service = rng.choice(sorted(topology.services))
    kind = topology.services[service].kind
    rules = (*rules_for(NOISE_RULES, kind), *COMMON_NOISE_RULES)
    chosen = rng.sample(rules, 2 if rng.random() < 0.2 else 1)
    alerts = []
    for rule in chosen:
        alert_start = start + _uniform_ms(rng, (0.0, 60.0))
        alert_end = alert_start + round(_log_uniform(rng, 2.0, 40.0) * _MINUTE)
        episodes, delay = _episodes(rng, knobs, alert_start, alert_end,
                                    _uniform_ms(rng, (15.0, 75.0)))
        alerts.append(PlannedAlert(service, rule, rule.severity, episodes, delay, True))
    return PlannedGroup(group_id, "noise", service, tuple(alerts))


def _cascade_roots(topology: Topology, rng: random.Random, knobs: Knobs,
                   horizon: int) -> list[tuple[str, int]]:
    """Roots and start times; with ``overlap`` they cluster in time and in the graph."""
    weights = root_weights(topology)
    latest_start = max(_MINUTE, int(horizon * 0.8))
    picks: list[tuple[str, int]] = []
    for _ in range(knobs.cascades):
        if knobs.overlap and picks:
            anchor, anchor_start = picks[rng.randrange(len(picks))]
            near = {
                s: weights[s]
                for s in topology.neighbourhood(anchor, 2, "both")
                if s != anchor and s not in {r for r, _ in picks}
            }
            root = _weighted_choice(rng, near) if near and rng.random() < 0.75 else (
                _weighted_choice(rng, weights))
            start = min(latest_start, max(0, anchor_start + _uniform_ms(rng, (-120.0, 360.0))))
        else:
            root = _weighted_choice(rng, weights)
            start = rng.randrange(0, latest_start)
        picks.append((root, start))
    return picks


def plan_storm(topology: Topology, rng: random.Random, knobs: Knobs) -> list[PlannedGroup]:
    """Every cascade and noise event of one storm, cascades first, in start order."""
    horizon = round(knobs.duration_min * _MINUTE)
    groups: list[PlannedGroup] = []
    roots = sorted(_cascade_roots(topology, rng, knobs, horizon), key=lambda p: (p[1], p[0]))
    width = len(str(max(1, len(roots))))
    for i, (root, start) in enumerate(roots, 1):
        groups.append(plan_cascade(topology, f"cascade-{i:0{width}d}", rng, knobs, root=root,
                                   start=start))
    noise_starts: list[int] = []
    rate_per_ms = knobs.noise_per_hour / (60 * _MINUTE)
    t = 0.0
    while rate_per_ms > 0:
        t += rng.expovariate(rate_per_ms)
        if t >= horizon:
            break
        noise_starts.append(int(t))
    width = len(str(max(1, len(noise_starts))))
    for i, start in enumerate(noise_starts, 1):
        groups.append(plan_noise(topology, f"noise-{i:0{width}d}", start, rng, knobs))
    return groups
