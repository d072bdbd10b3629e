"""Root-cause ranking: which alerting service best explains the others.

A fault propagates from a dependency to its dependents (edge ``A -> B``:
A calls B, so a fault in B shows up in A). The likeliest root cause is
therefore an alerting service that

* *explains* many other alerting services: they reach it along dependency
  edges (``coverage``), and
* is not itself explained: none of its own dependencies is alerting
  (``alerting_dependencies`` is empty).

Time precedence and severity only break near-ties: a noisy symptom that fired
first must not outrank the cause, and a root whose alert arrives late must
still win. Services outside the topology can be candidates, but explain
nothing, so they only win when nothing else is known.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from correlator.incident import Candidate, Explanation
from correlator.model import Severity
from topology import Topology

#: Weights of the score terms. Structure dominates; time and severity are
#: tie-breakers, bounded so they can never flip a structural verdict alone.
W_COVERAGE = 0.55
W_UNEXPLAINED = 0.25
W_EARLIEST = 0.12
W_SEVERITY = 0.08

MAX_EXPLANATIONS = 10


@dataclass(frozen=True, slots=True)
class ServiceSignal:
    """What the ranking needs to know about one alerting service."""

    service: str
    known: bool
    first_at: float  # earliest starts_at among its member alerts
    fingerprint: str  # that earliest alert's fingerprint
    severity: Severity  # its most severe member alert


def rank_candidates(
    signals: Sequence[ServiceSignal],
    topology: Topology,
    *,
    max_hops: int,
    max_candidates: int,
) -> tuple[Candidate, ...]:
    """Rank every alerting service of an incident as a root-cause candidate."""
    if not signals:
        return ()
    by_service = {s.service: s for s in signals}
    known = sorted(s.service for s in signals if s.known)
    known_set = set(known)
    t_min = min(s.first_at for s in signals)
    t_max = max(s.first_at for s in signals)
    spread = t_max - t_min
    others = len(signals) - 1

    scored: list[tuple[float, float, str, Candidate]] = []
    for sig in signals:
        explained: list[str] = []
        blamed: list[str] = []
        if sig.known and others:
            explained = _alerting_within(topology, sig.service, "dependents", max_hops, known_set)
            blamed = _alerting_within(topology, sig.service, "dependencies", max_hops, known_set)
        coverage = len(explained) / others if others else 1.0
        unexplained = 1.0 - (len(blamed) / others if others else 0.0)
        if not sig.known and others:
            # Nothing is known of its dependencies: not evidence of being unexplained.
            unexplained = 0.5
        earliest = 1.0 - (sig.first_at - t_min) / spread if spread > 0 else 1.0
        severity = sig.severity.rank / 3.0
        raw = (
            W_COVERAGE * coverage
            + W_UNEXPLAINED * unexplained
            + W_EARLIEST * earliest
            + W_SEVERITY * severity
        )
        scored.append(
            (raw, sig.first_at, sig.service, _candidate_stub(sig, raw, coverage, blamed, t_min))
        )

    # Highest score first; earlier first alert, then name, break exact ties.
    scored.sort(key=lambda item: (-item[0], item[1], item[2]))
    total = sum(item[0] for item in scored) or 1.0
    ranked: list[Candidate] = []
    for raw, _, service, stub in scored[:max_candidates]:
        sig = by_service[service]
        explains = (
            _explanations(topology, sig, by_service, known_set, max_hops) if sig.known else ()
        )
        ranked.append(replace(stub, score=raw / total, explains=explains))
    return tuple(ranked)


def _candidate_stub(
    sig: ServiceSignal, raw: float, coverage: float, blamed: list[str], t_min: float
) -> Candidate:
    return Candidate(
        service=sig.service,
        fingerprint=sig.fingerprint,
        score=0.0,
        raw_score=raw,
        coverage=coverage,
        alerting_dependencies=tuple(blamed),
        first_alert_offset_seconds=sig.first_at - t_min,
        severity=sig.severity.value,
        known_service=sig.known,
        explains=(),
    )


def _alerting_within(
    topology: Topology, service: str, direction: str, max_hops: int, alerting: set[str]
) -> list[str]:
    """Alerting services within ``max_hops`` of ``service`` in one direction, sorted."""
    reach = topology.neighbourhood(service, max_hops, direction)  # type: ignore[arg-type]
    if len(reach) <= len(alerting):
        found = [s for s in reach if s in alerting and s != service]
    else:
        found = [s for s in alerting if s in reach and s != service]
    return sorted(found)


def _explanations(
    topology: Topology,
    sig: ServiceSignal,
    by_service: dict[str, ServiceSignal],
    alerting: set[str],
    max_hops: int,
) -> tuple[Explanation, ...]:
    """Dependency paths from the symptoms to the candidate, nearest first."""
    symptoms = _alerting_within(topology, sig.service, "dependents", max_hops, alerting)
    out: list[Explanation] = []
    for symptom in symptoms:
        path = topology.dependency_path(symptom, sig.service, max_hops)
        if path is None:
            continue
        out.append(Explanation(symptom, path, by_service[symptom].first_at - sig.first_at))
    out.sort(key=lambda e: (len(e.path), e.service))
    return tuple(out[:MAX_EXPLANATIONS])
