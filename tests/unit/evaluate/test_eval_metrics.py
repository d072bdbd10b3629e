"""Scoring on tiny storms whose answers are computed by hand."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from correlator.evaluate import evaluate
from correlator.evaluate.metrics import TruthError, pairwise_scores, percentile
from tests.unit.evaluate.builders import TRUTH, incident


@dataclass(frozen=True)
class Case:
    name: str
    events: list[dict[str, Any]]
    expected: dict[str, Any]


# Truth pairs: A has 3, B has 1, N has 0 -> 4 true pairs over 6 alerts (3 groups).
CASES = [
    Case(
        "perfect grouping",
        [incident("i1", ["a1", "a2", "a3"]), incident("i2", ["b1", "b2"]), incident("i3", ["n1"])],
        {"precision": 1.0, "recall": 1.0, "f1": 1.0, "ari": 1.0, "purity": 1.0,
         "incidents": 3, "compression": 0.5, "ideal_compression": 0.5,
         "record_compression": 0.75, "lost_alerts": 0, "noise_isolation": 1.0},
    ),
    Case(
        # 15 predicted pairs, 4 of them true: P = 4/15, R = 1, F1 = 8/19.
        "everything in one incident",
        [incident("i1", ["a1", "a2", "a3", "b1", "b2", "n1"])],
        {"precision": 4 / 15, "recall": 1.0, "f1": 8 / 19, "ari": 0.0, "purity": 0.5,
         "incidents": 1, "compression": 1 - 1 / 6, "noise_isolation": 0.0, "lost_alerts": 0},
    ),
    Case(
        "every alert alone",
        [incident(f"i{k}", [fp]) for k, fp in enumerate(["a1", "a2", "a3", "b1", "b2", "n1"])],
        {"precision": 1.0, "recall": 0.0, "f1": 0.0, "purity": 1.0, "incidents": 6,
         "compression": 0.0, "noise_isolation": 1.0},
    ),
    Case(
        # a3 lost: a singleton. True pairs together: a1a2, b1b2 -> 2 of 4.
        "a lost alert costs recall",
        [incident("i1", ["a1", "a2"]), incident("i2", ["b1", "b2"]), incident("i3", ["n1"])],
        {"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "lost_alerts": 1, "incidents": 3},
    ),
    Case(
        # n1 shares an incident with B: not isolated; pairs: a(3) + b1b2 + 2 wrong (n1-b*).
        "noise glued to a cascade",
        [incident("i1", ["a1", "a2", "a3"]), incident("i2", ["b1", "b2", "n1"])],
        {"precision": 4 / 6, "recall": 1.0, "noise_isolation": 0.0, "purity": 5 / 6},
    ),
    Case(
        "merged incidents are skipped, their alerts live in the survivor",
        [incident("i1", ["a1", "a2", "a3"], status="merged", version=2),
         incident("i2", ["a1", "a2", "a3", "b1", "b2"]),
         incident("i3", ["n1"])],
        {"incidents": 2, "lost_alerts": 0, "precision": 4 / 10, "recall": 1.0},
    ),
    Case(
        "last version wins, whatever the line order",
        [incident("i1", ["a1", "a2", "a3", "b1", "b2", "n1"], version=2),
         incident("i1", ["a1"], version=1)],
        {"incidents": 1, "lost_alerts": 0, "precision": 4 / 15},
    ),
    Case(
        "a fingerprint in two incidents counts for the earlier one",
        [incident("i1", ["a1", "a2", "a3"], opened_at="2026-09-01T10:00:00.000Z"),
         incident("i2", ["a3", "b1", "b2", "n1"], opened_at="2026-09-01T10:05:00.000Z")],
        {"split_alerts": 1, "incidents": 2, "precision": 4 / 6, "lost_alerts": 0,
         "noise_isolation": 0.0},
    ),
    Case(
        "alerts outside the truth are ignored but their incidents count",
        [incident("i1", ["a1", "a2", "a3"]), incident("i2", ["b1", "b2"]), incident("i3", ["n1"]),
         incident("i4", ["zz"])],
        {"f1": 1.0, "incidents": 4, "compression": 1 - 4 / 6},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_metrics(case: Case) -> None:
    metrics = evaluate(TRUTH, case.events).to_dict()
    for key, value in case.expected.items():
        assert metrics[key] == pytest.approx(value, abs=1e-4), key


AC_CASES = [
    ("both roots first", [["db", "api"], ["api2"]], 1.0, 1.0),
    ("one root third", [["db"], ["x", "y", "api2"]], 0.5, 1.0),
    ("one root fourth", [["db"], ["x", "y", "z", "api2"]], 0.5, 0.5),
    ("duplicate services count once", [["api", "api", "db"], ["x", "x", "x", "api2"]], 0.0, 1.0),
    ("no candidates is a miss", [[], []], 0.0, 0.0),
]


@pytest.mark.parametrize(("name", "ranked", "ac1", "ac3"), AC_CASES, ids=[c[0] for c in AC_CASES])
def test_accuracy_at_k(name: str, ranked: list[list[str]], ac1: float, ac3: float) -> None:
    events = [incident("i1", ["a1", "a2", "a3"], candidates=ranked[0]),
              incident("i2", ["b1", "b2"], candidates=ranked[1]),
              incident("i3", ["n1"], candidates=["x"])]
    metrics = evaluate(TRUTH, events)
    assert metrics.cascades == 2
    assert (metrics.ac_at_1, metrics.ac_at_3) == (ac1, ac3)


def test_accuracy_uses_the_incident_holding_most_of_the_cascade() -> None:
    events = [incident("i1", ["a1"], candidates=["db"]),
              incident("i2", ["a2", "a3", "b1", "b2"], candidates=["api2", "web"])]
    metrics = evaluate(TRUTH, events)
    assert metrics.ac_at_1 == 0.5  # A is judged by i2, which ranks api2 first, db nowhere
    assert metrics.ac_at_3 == 0.5


def test_detection_latency_percentiles() -> None:
    events = [
        incident(f"i{k}", [fp], first_emitted_at=f"2026-09-01T10:00:{sec:02d}.000Z",
                 starts=["2026-09-01T10:00:00.000Z"])
        for k, (fp, sec) in enumerate([("a1", 10), ("b1", 20), ("n1", 30)])
    ]
    metrics = evaluate(TRUTH, events)
    assert metrics.latency_p50_s == 20.0
    assert metrics.latency_p95_s == pytest.approx(29.0)


PAIR_CASES = [
    ("one cluster per group", {("A", "x"): 3, ("B", "y"): 2}, (1.0, 1.0, 1.0)),
    ("two groups merged", {("A", "x"): 2, ("B", "x"): 2}, (2 / 6, 1.0, 0.5)),
    ("group split in half", {("A", "x"): 2, ("A", "y"): 2}, (1.0, 2 / 6, 0.5)),
    ("only singletons", {("A", "x"): 1, ("B", "y"): 1}, (1.0, 1.0, 1.0)),
]


@pytest.mark.parametrize(("name", "table", "expected"), PAIR_CASES,
                         ids=[c[0] for c in PAIR_CASES])
def test_pairwise_scores(name: str, table: dict[tuple[str, str], int],
                         expected: tuple[float, float, float]) -> None:
    assert pairwise_scores(table) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [([], 50, None), ([7.0], 95, 7.0), ([1.0, 2.0, 3.0, 4.0], 50, 2.5),
     ([3.0, 1.0, 2.0], 100, 3.0)],
    ids=["empty", "single", "even median interpolates", "unsorted max"],
)
def test_percentile(values: list[float], q: float, expected: float | None) -> None:
    assert percentile(values, q) == expected


def test_no_noise_and_no_cascades_give_none() -> None:
    truth = {"alerts": {"a": "G"}, "groups": {"G": {"kind": "other", "root": "s"}}, "records": 1}
    metrics = evaluate(truth, [incident("i1", ["a"])])
    assert metrics.noise_isolation is None
    assert metrics.ac_at_1 is None


@pytest.mark.parametrize(
    "truth",
    [{}, {"alerts": {"a": "G"}, "groups": {}}, {"alerts": [], "groups": {}}],
    ids=["empty", "alert in unknown group", "alerts not an object"],
)
def test_malformed_truth_is_rejected(truth: dict[str, Any]) -> None:
    with pytest.raises(TruthError):
        evaluate(truth, [])
