"""Simulate, group, score: loose floors that any sane grouper clears."""

from __future__ import annotations

import pytest

from correlator.evaluate import BASELINES, Metrics, evaluate, run_baseline
from correlator.replay import replay_lines
from correlator.simulate import Storm, generate_topology, simulate
from topology import load_topology

TOPOLOGIES = {
    "sample": load_topology("configs/topology.yaml"),
    "generated": generate_topology(300, 2),
}
STORMS = [(t, s, seed) for t in TOPOLOGIES for s in ("mixed", "noise") for seed in (1, 2)]


def _storm(topo: str, scenario: str, seed: int) -> Storm:
    return simulate(TOPOLOGIES[topo], scenario, seed)


def _score(name: str, storm: Storm) -> Metrics:
    return evaluate(storm.truth, run_baseline(name, storm.lines(), storm.given_topology))


@pytest.mark.parametrize(("topo", "scenario", "seed"), STORMS,
                         ids=[f"{t}-{s}-{seed}" for t, s, seed in STORMS])
def test_baselines_clear_loose_floors(topo: str, scenario: str, seed: int) -> None:
    storm = _storm(topo, scenario, seed)
    scores = {name: _score(name, storm) for name in BASELINES}
    for metrics in scores.values():
        assert metrics.lost_alerts == 0
        assert metrics.alerts == len(storm.truth["alerts"]) > 0
        assert 0.0 <= metrics.purity <= 1.0
        assert metrics.compression <= metrics.record_compression
    # One incident per burst joins nearly everything; per-service incidents split cascades.
    assert scores["time_window"].recall >= 0.9
    assert scores["am_service"].precision > scores["time_window"].precision
    assert scores["am_service"].recall < scores["time_window"].recall
    assert scores["am_service"].noise_isolation is not None
    assert scores["am_service"].noise_isolation > scores["time_window"].noise_isolation  # type: ignore[operator]
    assert scores["components"].f1 >= 0.8 * scores["time_window"].f1


def test_scores_are_deterministic() -> None:
    storm = _storm("generated", "mixed", 1)
    assert _score("components", storm) == _score("components", _storm("generated", "mixed", 1))


@pytest.mark.parametrize(("topo", "scenario", "seed"), STORMS,
                         ids=[f"{t}-{s}-{seed}" for t, s, seed in STORMS])
def test_engine_loses_nothing_and_groups_cascades(topo: str, scenario: str, seed: int) -> None:
    storm = _storm(topo, scenario, seed)
    metrics = evaluate(storm.truth, replay_lines(storm.lines(), storm.given_topology).events)
    assert metrics.lost_alerts == 0
    assert metrics.recall >= 0.5
    assert metrics.ac_at_3 is not None and metrics.ac_at_3 >= 0.25
