"""Root-cause ranking on hand-checked cases."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from correlator.model import Severity
from correlator.rootcause import ServiceSignal, rank_candidates
from tests.helpers import topo

# edge -> web -> {api, search}; api -> db; search -> index; worker -> db
GRAPH = topo(
    {
        "edge": ["web"],
        "web": ["api", "search"],
        "api": ["db"],
        "search": ["index"],
        "worker": ["db"],
    }
)


def sig(service: str, at: float, sev: str = "warning", known: bool = True) -> ServiceSignal:
    return ServiceSignal(service, known, at, f"fp-{service}", Severity(sev))


@dataclass(frozen=True)
class Case:
    name: str
    signals: list[ServiceSignal]
    expected_top: str


CASES = [
    Case(
        "chain: the deepest dependency wins",
        [sig("edge", 0), sig("web", 10), sig("api", 20), sig("db", 30)],
        "db",
    ),
    Case(
        "a critical symptom that fired first does not win",
        [sig("edge", 0, "critical"), sig("web", 5, "critical"), sig("db", 60, "info")],
        "db",
    ),
    Case(
        "shared dependency explains two callers",
        [sig("api", 0), sig("worker", 0), sig("db", 40)],
        "db",
    ),
    Case(
        "unknown services explain nothing",
        [sig("ghost", 0, "critical", known=False), sig("web", 10), sig("api", 15)],
        "api",
    ),
    Case(
        "an unknown service's dependencies are unknown: earliness alone does not win",
        [sig("ghost", 0, known=False), sig("worker", 30)],
        "worker",
    ),
    Case(
        "an unknown service alone in its incident is its root",
        [sig("ghost", 0, known=False)],
        "ghost",
    ),
    Case("single service", [sig("search", 0)], "search"),
    Case(
        "no path: earliest and most severe wins",
        [sig("index", 10, "warning"), sig("worker", 0, "critical")],
        "worker",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_top_candidate(case: Case) -> None:
    ranked = rank_candidates(case.signals, GRAPH, max_hops=5, max_candidates=5)
    assert ranked[0].service == case.expected_top
    assert abs(sum(c.score for c in ranked) - 1.0) < 1e-9 or len(case.signals) > 5
    assert [c.score for c in ranked] == sorted((c.score for c in ranked), reverse=True)


def test_evidence_paths_and_offsets() -> None:
    ranked = rank_candidates(
        [sig("edge", 0), sig("api", 20), sig("db", 30)], GRAPH, max_hops=5, max_candidates=3
    )
    top = ranked[0]
    assert top.service == "db" and top.coverage == 1.0 and top.alerting_dependencies == ()
    paths = {e.service: (e.path, e.offset_seconds) for e in top.explains}
    assert paths == {"api": (("api", "db"), -10.0), "edge": (("edge", "web", "api", "db"), -30.0)}
    symptom = next(c for c in ranked if c.service == "edge")
    assert symptom.alerting_dependencies == ("api", "db")


def test_max_candidates_limits_output_but_scores_stay_normalised_over_all() -> None:
    ranked = rank_candidates(
        [sig("edge", 0), sig("web", 1), sig("api", 2), sig("db", 3)],
        GRAPH,
        max_hops=5,
        max_candidates=2,
    )
    assert len(ranked) == 2 and sum(c.score for c in ranked) < 1.0
