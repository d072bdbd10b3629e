"""Find dependencies the topology is missing, from the history of incidents.

A missing edge ``A -> B`` has a recognisable signature. When ``B`` fails, ``A``
alerts shortly after, but none of ``A``'s *known* dependencies alert with it:
the alert is unexplained. The engine cannot group it with ``B``'s alerts (it
only links services connected in the topology), so the two end up in
separate incidents, and counting co-occurrence *within* incidents would never
see the pair. This module therefore works on alert onsets across all
incidents:

1. Each service's alert onsets (the earliest start per incident; onsets less
   than ``window`` apart are one episode).
2. An onset of ``A`` is *explained* if some service ``A`` depends on
   (transitively, in the topology) has an onset in ``[t - window, t + lead]``.
3. For every pair with no dependency path in either direction, the evidence
   for ``A -> B`` is the number of unexplained onsets of ``A`` that have an
   onset of ``B`` in that same interval: ``B`` alerted before ``A``, or at
   most ``lead`` after (detection delays differ).
4. The chance level is what the same number of ``A`` onsets would catch of
   ``B`` if ``B`` alerted at random over the history:
   ``expected = u_A * (1 - exp(-n_B * (window + lead) / T))``. Lift is
   evidence / expected; the score is the Poisson log-likelihood ratio
   ``k ln(k/E) - (k - E)``, which rewards both lift and support.
5. Greedy explaining-away: the best pair is accepted, its edge is added to a
   working copy of the graph, and everything it now explains stops counting
   (siblings of a shared dependency, services further up the same chain).
   Then the next best pair is taken, up to ``limit``.

Declared edges whose two ends both alerted often (``min_onsets`` each) but
never within ``window`` of each other are reported as possibly stale.

The input is the engine's incident events (JSON Lines, schema in the
README): the latest version of each incident id is used, merged incidents
are skipped (their alerts live on in the incident that absorbed them).
"""

from __future__ import annotations

import bisect
import json
import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from topology.graph import Direction, Topology

DEFAULT_WINDOW_S = 180.0
"""Largest lag between a dependency's alert and its dependent's (the engine's link window)."""
DEFAULT_LEAD_S = 30.0
"""How much later than its dependent a dependency's alert may start and still count."""
DEFAULT_MIN_SUPPORT = 3
DEFAULT_LIMIT = 20
DEFAULT_MIN_ONSETS = 5


class HistoryError(ValueError):
    """The incident history cannot be read; the message says where and why."""


@dataclass(frozen=True, slots=True)
class Suggestion:
    """``service`` probably depends on ``depends_on``; the numbers say how sure."""

    service: str
    depends_on: str
    co_alerts: int  # unexplained onsets of ``service`` with ``depends_on`` alerting around
    unexplained: int  # unexplained onsets of ``service`` when the suggestion was made
    onsets: tuple[int, int]  # onsets of service, of depends_on
    expected: float
    lift: float
    confidence: float  # co_alerts / unexplained
    score: float
    median_lag_s: float  # onset of service minus onset of depends_on (positive: callee first)

    @property
    def first(self) -> str:
        """Which side typically alerts first."""
        return self.depends_on if self.median_lag_s >= 0 else self.service

    def to_dict(self) -> dict[str, Any]:
        """One JSON line of ``topology suggest --json``."""
        return {
            "kind": "missing_dependency",
            "service": self.service,
            "depends_on": self.depends_on,
            "co_alerts": self.co_alerts,
            "unexplained_onsets": self.unexplained,
            "onsets": {self.service: self.onsets[0], self.depends_on: self.onsets[1]},
            "expected": round(self.expected, 3),
            "lift": round(self.lift, 2),
            "confidence": round(self.confidence, 3),
            "score": round(self.score, 2),
            "first": self.first,
            "median_lag_seconds": round(self.median_lag_s, 1),
        }

    def describe(self) -> str:
        """One line for people."""
        lag = abs(self.median_lag_s)
        return (
            f"{self.service} -> {self.depends_on}: {self.co_alerts} co-alerts "
            f"(of {self.unexplained} unexplained {self.service} onsets), lift {self.lift:.1f}, "
            f"confidence {self.confidence:.2f}; {self.first} alerts first "
            f"(median lag {lag:.0f}s): {self.service} probably depends on {self.depends_on}"
        )


@dataclass(frozen=True, slots=True)
class StaleEdge:
    """A declared dependency whose two ends alerted often but never together."""

    service: str
    depends_on: str
    onsets: tuple[int, int]

    def to_dict(self) -> dict[str, Any]:
        """One JSON line of ``topology suggest --json``."""
        return {
            "kind": "stale_dependency",
            "service": self.service,
            "depends_on": self.depends_on,
            "co_alerts": 0,
            "onsets": {self.service: self.onsets[0], self.depends_on: self.onsets[1]},
        }

    def describe(self) -> str:
        """One line for people."""
        return (
            f"stale? {self.service} -> {self.depends_on}: declared, but never alerted together "
            f"({self.service} {self.onsets[0]} onsets, {self.depends_on} {self.onsets[1]})"
        )


@dataclass(frozen=True, slots=True)
class History:
    """Alert onsets per service (sorted epoch seconds) and what was read."""

    onsets: Mapping[str, tuple[float, ...]]
    incidents: int
    skipped_merged: int
    unknown_services: tuple[str, ...]
    topology_versions: tuple[str, ...]

    @property
    def span_s(self) -> float:
        """Seconds from the first onset to the last."""
        times = [t for series in self.onsets.values() for t in series]
        return max(times) - min(times) if times else 0.0


@dataclass(frozen=True, slots=True)
class Report:
    """Suggestions best first, stale-edge candidates, and the history they came from."""

    suggestions: tuple[Suggestion, ...]
    stale: tuple[StaleEdge, ...]
    history: History


def latest_incidents(lines: Iterable[bytes | str], source: str) -> list[dict[str, Any]]:
    """The latest version of every incident id, in first-seen order, merged ones left out.

    Raises:
        HistoryError: a line is not a JSON object with ``id`` and ``version``.
    """
    latest: dict[str, dict[str, Any]] = {}
    for number, raw in enumerate(lines, start=1):
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        if not text.strip():
            continue
        try:
            event = json.loads(text)
        except ValueError as exc:
            raise HistoryError(f"{source}: line {number}: not JSON ({exc})") from None
        if not isinstance(event, dict) or not isinstance(event.get("id"), str):
            raise HistoryError(f"{source}: line {number}: not an incident event (no 'id')")
        version = event.get("version")
        if not isinstance(version, int) or isinstance(version, bool):
            raise HistoryError(f"{source}: line {number}: incident without an integer 'version'")
        held = latest.get(event["id"])
        if held is None or version > held["version"]:
            latest[event["id"]] = event
    return list(latest.values())


def history_from_incidents(
    incidents: Sequence[Mapping[str, Any]],
    topology: Topology | None,
    window_s: float = DEFAULT_WINDOW_S,
) -> History:
    """Collect onsets per service; with a topology only services it knows (ids or aliases)."""
    per_service: dict[str, list[float]] = {}
    unknown: set[str] = set()
    merged = 0
    versions: set[str] = set()
    kept = 0
    for incident in incidents:
        if incident.get("status") == "merged":
            merged += 1
            continue
        kept += 1
        if isinstance(incident.get("topology_version"), str):
            versions.add(incident["topology_version"])
        for service, start in _first_starts(incident).items():
            sid = topology.resolve(service) if topology is not None else service
            if sid is None:
                unknown.add(service)
                continue
            per_service.setdefault(sid, []).append(start)
    onsets = {sid: _episodes(sorted(times), window_s) for sid, times in sorted(per_service.items())}
    return History(onsets, kept, merged, tuple(sorted(unknown)), tuple(sorted(versions)))


def _first_starts(incident: Mapping[str, Any]) -> dict[str, float]:
    first: dict[str, float] = {}
    alerts = incident.get("alerts")
    for alert in alerts if isinstance(alerts, list) else []:
        if not isinstance(alert, dict):
            continue
        service, started = alert.get("service"), alert.get("starts_at")
        if not isinstance(service, str) or not isinstance(started, str):
            continue
        try:
            moment = datetime.fromisoformat(started).timestamp()
        except ValueError:
            continue
        if service not in first or moment < first[service]:
            first[service] = moment
    return first


def _episodes(times: list[float], window_s: float) -> tuple[float, ...]:
    """Onsets closer than ``window_s`` to the previous kept one are the same episode."""
    kept: list[float] = []
    for moment in times:
        if not kept or moment - kept[-1] > window_s:
            kept.append(moment)
    return tuple(kept)


@dataclass
class _State:
    """The working graph and the per-onset bookkeeping of the greedy search."""

    services: list[str]
    onsets: Mapping[str, tuple[float, ...]]
    near: dict[str, list[frozenset[str]]]  # per service, per onset: who alerted around it
    descendants: dict[str, set[str]]
    ancestors: dict[str, set[str]]
    unexplained: dict[str, list[int]] = field(default_factory=dict)
    # caller -> callee -> indexes of the caller's unexplained onsets the callee accompanies
    evidence: dict[str, dict[str, list[int]]] = field(default_factory=dict)

    def explain(self, service: str) -> None:
        """Recompute which onsets of ``service`` are unexplained, and its evidence."""
        deps = self.descendants[service]
        free = [i for i, around in enumerate(self.near[service]) if deps.isdisjoint(around)]
        self.unexplained[service] = free
        mine: dict[str, list[int]] = {}
        for index in free:
            for other in sorted(self.near[service][index]):
                mine.setdefault(other, []).append(index)
        self.evidence[service] = mine

    def connect(self, caller: str, callee: str) -> set[str]:
        """Add ``caller -> callee``; return the services whose dependencies grew."""
        grown = self.ancestors[caller] | {caller}
        reach = self.descendants[callee] | {callee}
        for node in grown:
            self.descendants[node] |= reach
        above = self.ancestors[caller] | {caller}
        for node in reach:
            self.ancestors[node] |= above
        return grown

    def connected(self, a: str, b: str) -> bool:
        return b in self.descendants[a] or a in self.descendants[b]


def suggest(
    history: History,
    topology: Topology | None,
    *,
    window_s: float = DEFAULT_WINDOW_S,
    lead_s: float = DEFAULT_LEAD_S,
    min_support: int = DEFAULT_MIN_SUPPORT,
    limit: int = DEFAULT_LIMIT,
    min_onsets: int = DEFAULT_MIN_ONSETS,
) -> Report:
    """Mine ``history`` for missing and stale dependencies of ``topology`` (see module doc)."""
    state = _initial_state(history, topology, window_s, lead_s)
    span = history.span_s + window_s
    suggestions: list[Suggestion] = []
    while len(suggestions) < limit:
        best = _best(state, span, window_s + lead_s, min_support)
        if best is None:
            break
        suggestions.append(best)
        for service in sorted(state.connect(best.service, best.depends_on)):
            if service in state.onsets:
                state.explain(service)
    stale = _stale(history, topology, window_s, min_onsets)
    return Report(tuple(suggestions), stale, history)


def _initial_state(
    history: History, topology: Topology | None, window_s: float, lead_s: float
) -> _State:
    services = sorted(history.onsets)
    timeline = sorted((t, s) for s in services for t in history.onsets[s])
    times = [t for t, _ in timeline]
    near: dict[str, list[frozenset[str]]] = {}
    for service in services:
        rows: list[frozenset[str]] = []
        for moment in history.onsets[service]:
            lo = bisect.bisect_left(times, moment - window_s)
            hi = bisect.bisect_right(times, moment + lead_s)
            rows.append(frozenset(s for _, s in timeline[lo:hi] if s != service))
        near[service] = rows
    nodes = set(services) | (set(topology) if topology is not None else set())
    descendants = {n: _reach(topology, n, "dependencies") for n in sorted(nodes)}
    ancestors = {n: _reach(topology, n, "dependents") for n in sorted(nodes)}
    state = _State(services, history.onsets, near, descendants, ancestors)
    for service in services:
        state.explain(service)
    return state


def _reach(topology: Topology | None, node: str, direction: str) -> set[str]:
    if topology is None or node not in topology:
        return set()
    found = topology.neighbourhood(node, len(topology), cast(Direction, direction))
    return set(found) - {node}


def _best(state: _State, span: float, width: float, min_support: int) -> Suggestion | None:
    best: tuple[tuple[float, int, str, str], Suggestion] | None = None
    for caller, callee, hits in (
        (caller, callee, hits)
        for caller, row in state.evidence.items()
        for callee, hits in row.items()
    ):
        support = len(hits)
        if support < min_support or state.connected(caller, callee):
            continue
        unexplained = len(state.unexplained[caller])
        n_callee = len(state.onsets[callee])
        expected = unexplained * (1.0 - math.exp(-n_callee * width / span)) if span > 0 else 0.0
        if expected <= 0 or support <= expected:
            continue
        score = support * math.log(support / expected) - (support - expected)
        # Ties: higher score, then more support, then names (reverse, so "a" wins over "b").
        key = (score, support, _negate(caller), _negate(callee))
        if best is not None and key <= best[0]:
            continue
        best = (
            key,
            Suggestion(
                service=caller,
                depends_on=callee,
                co_alerts=support,
                unexplained=unexplained,
                onsets=(len(state.onsets[caller]), n_callee),
                expected=expected,
                lift=support / expected,
                confidence=support / unexplained,
                score=score,
                median_lag_s=_median_lag(state, caller, callee, hits),
            ),
        )
    return None if best is None else best[1]


def _negate(name: str) -> str:
    """A string that sorts in the reverse order of ``name`` (for max-based tie breaks)."""
    return "".join(chr(0x10FFFF - ord(c)) for c in name)


def _median_lag(state: _State, caller: str, callee: str, hits: list[int]) -> float:
    series = state.onsets[callee]
    lags: list[float] = []
    for index in hits:
        moment = state.onsets[caller][index]
        position = bisect.bisect_left(series, moment)
        candidates = [series[i] for i in (position - 1, position) if 0 <= i < len(series)]
        nearest = min(candidates, key=lambda t: abs(t - moment))
        lags.append(moment - nearest)
    return float(statistics.median(lags)) if lags else 0.0


def _stale(
    history: History, topology: Topology | None, window_s: float, min_onsets: int
) -> tuple[StaleEdge, ...]:
    if topology is None:
        return ()
    found: list[StaleEdge] = []
    for caller in topology:
        mine = history.onsets.get(caller, ())
        if len(mine) < min_onsets:
            continue
        for callee in sorted(topology.dependencies(caller)):
            theirs = history.onsets.get(callee, ())
            if len(theirs) < min_onsets or _ever_together(mine, theirs, window_s):
                continue
            found.append(StaleEdge(caller, callee, (len(mine), len(theirs))))
    found.sort(key=lambda s: (-min(s.onsets), s.service, s.depends_on))
    return tuple(found)


def _ever_together(first: Sequence[float], second: Sequence[float], window_s: float) -> bool:
    for moment in first:
        position = bisect.bisect_left(second, moment - window_s)
        if position < len(second) and second[position] <= moment + window_s:
            return True
    return False
