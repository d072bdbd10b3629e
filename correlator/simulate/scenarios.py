"""Scenario families: named, combinable adjustments to the storm's knobs.

Each family stresses one thing that makes correlation hard in production:
incidents that overlap, unrelated noise, a topology that is out of date,
root alerts that arrive late, alerts that flap, and services the topology
does not know; ``deploys`` adds the changes behind cascades (and innocent
ones around them) for change correlation, without altering the alerts.
A scenario is a comma-separated list of families applied in
order on top of a plain base storm (cascades with light noise); ``mixed``
(alias ``baseline``) is a moderate dose of everything, and ``all`` is every
family at full strength.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

SCENARIOS: tuple[str, ...] = (
    "mixed",
    "overlapping",
    "noise",
    "drift",
    "late_root",
    "flapping",
    "unknown",
    "deploys",
)
"""The scenario families; ``baseline`` is an alias of ``mixed`` and ``all`` combines the rest."""

ALIASES = {"baseline": ("mixed",), "all": SCENARIOS[1:]}


@dataclass(frozen=True, slots=True)
class Knobs:
    """Every tunable of the storm model. Times are in seconds unless named otherwise.

    The defaults describe a plain storm: a few independent cascades in an
    hour, light noise, an accurate topology, prompt and steady alerts.
    """

    duration_min: float = 60.0
    cascades: int = 4
    overlap: bool = False  # cascades start close together in adjacent parts of the graph
    noise_per_hour: float = 4.0
    edge_probability: tuple[float, float] = (0.6, 0.9)  # per cascade, drawn uniformly
    max_depth: tuple[int, int] = (2, 4)  # per cascade, drawn uniformly
    hop_delay_median_s: float = 35.0
    hop_delay_bounds_s: tuple[float, float] = (15.0, 90.0)
    fault_minutes: tuple[float, float] = (3.0, 30.0)  # log-uniform
    missing_edge_fraction: float = 0.0  # true edges absent from the given topology
    spurious_edge_fraction: float = 0.0  # extra given edges, relative to the true edge count
    unknown_fraction: float = 0.0  # services removed from the given topology
    late_root_probability: float = 0.0  # cascades whose root alerts arrive after symptoms
    late_root_delay_s: tuple[float, float] = (300.0, 720.0)  # a long ``for:`` on the root
    flapping_fraction: float = 0.0  # alerts that fire and resolve repeatedly
    alias_probability: float = 0.3  # alerts naming their service by alias or app/job label
    group_by: tuple[str, ...] = ("alertname", "cluster")
    group_wait_s: float = 30.0
    group_interval_s: float = 300.0
    repeat_interval_s: float = 600.0
    arrival_jitter_s: float = 4.0
    cluster: str = "prod-eu1"
    deploys: bool = False  # write changes: culprit deploys before cascades, innocent ones around
    culprit_probability: float = 0.8  # with deploys: share of cascades set off by a change
    culprit_lead_min: tuple[float, float] = (1.0, 15.0)  # culprit lands this long before alerts
    innocent_deploys_per_hour: float = 6.0  # with deploys: unrelated changes on random services

    def with_overrides(self, overrides: dict[str, Any]) -> Knobs:
        """Return a copy with ``overrides`` applied; unknown names are a ValueError."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(f"unknown simulation knob(s): {', '.join(unknown)}")
        return replace(self, **overrides)


_FAMILY_OVERRIDES: dict[str, dict[str, Any]] = {
    "mixed": {
        "cascades": 5,
        "noise_per_hour": 10.0,
        "missing_edge_fraction": 0.05,
        "spurious_edge_fraction": 0.01,
        "unknown_fraction": 0.03,
        "late_root_probability": 0.25,
        "flapping_fraction": 0.05,
    },
    "overlapping": {"cascades": 6, "overlap": True},
    "noise": {"noise_per_hour": 40.0},
    "drift": {"missing_edge_fraction": 0.15, "spurious_edge_fraction": 0.04},
    "late_root": {"late_root_probability": 0.8},
    "flapping": {"flapping_fraction": 0.2},
    "unknown": {"unknown_fraction": 0.1},
    "deploys": {"deploys": True},
}


def parse_scenario(scenario: str | Sequence[str]) -> tuple[str, ...]:
    """Normalise ``"overlapping,noise"`` or a list of names into known family names.

    Raises ValueError naming the unknown family and the allowed ones.
    """
    parts = scenario.split(",") if isinstance(scenario, str) else list(scenario)
    names: list[str] = []
    for raw in parts:
        name = raw.strip()
        if not name:
            continue
        expanded = ALIASES.get(name, (name,))
        for family in expanded:
            if family not in _FAMILY_OVERRIDES:
                allowed = ", ".join((*SCENARIOS, *sorted(ALIASES)))
                raise ValueError(f"unknown scenario {name!r}; choose from {allowed}")
            if family not in names:
                names.append(family)
    if not names:
        raise ValueError("empty scenario; name at least one family, e.g. 'mixed'")
    return tuple(names)


def knobs_for(families: Sequence[str], base: Knobs | None = None) -> Knobs:
    """Apply each family's adjustments in order; later families win on shared knobs."""
    knobs = base or Knobs()
    for family in families:
        knobs = replace(knobs, **_FAMILY_OVERRIDES[family])
    return knobs
