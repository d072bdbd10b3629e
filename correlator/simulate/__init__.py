"""Alert-storm simulator: realistic storms with known ground truth.

Correlation quality cannot be judged on production data, because nobody knows
for certain which alerts shared a cause. The simulator makes storms where the
answer is known: faults spread along a true topology, every affected service
fires alerts that fit its kind, and Alertmanager-style delivery batches,
re-sends and reorders them. The engine is handed a topology that may differ
from the true one, as it would in production.

    storm = simulate(topology, "overlapping,noise", seed=7)
    storm.payloads        # Alertmanager v4 webhook bodies, arrival order
    storm.truth           # fingerprint -> group, groups with their roots
    storm.given_topology  # what the engine should be given
"""

from correlator.simulate.scenarios import SCENARIOS, Knobs, parse_scenario
from correlator.simulate.storm import BASE_TIME, Storm, simulate
from correlator.simulate.topogen import generate_topology

__all__ = [
    "BASE_TIME",
    "SCENARIOS",
    "Knobs",
    "Storm",
    "generate_topology",
    "parse_scenario",
    "simulate",
]
