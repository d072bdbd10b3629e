"""Scenario names parse into families, and families adjust the knobs they promise."""

from __future__ import annotations

import pytest

from correlator.simulate import SCENARIOS, Knobs, parse_scenario
from correlator.simulate.scenarios import knobs_for

PARSE_CASES = [
    ("single", "noise", ("noise",)),
    ("comma list keeps order", "overlapping,noise", ("overlapping", "noise")),
    ("spaces and repeats", " drift , drift,unknown", ("drift", "unknown")),
    ("sequence input", ["flapping", "late_root"], ("flapping", "late_root")),
    ("baseline is mixed", "baseline", ("mixed",)),
    ("all is every family but mixed", "all", SCENARIOS[1:]),
]


@pytest.mark.parametrize(("name", "raw", "expected"), PARSE_CASES, ids=[c[0] for c in PARSE_CASES])
def test_parse_scenario(name: str, raw: str | list[str], expected: tuple[str, ...]) -> None:
    assert parse_scenario(raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [("storm", "unknown scenario 'storm'"), ("", "empty scenario"), (" , ", "empty scenario")],
    ids=["unknown family", "empty", "only commas"],
)
def test_parse_scenario_rejects(raw: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_scenario(raw)


KNOB_CASES = [
    ("noise raises the noise rate", ("noise",), "noise_per_hour", 40.0),
    ("drift drops edges", ("drift",), "missing_edge_fraction", 0.15),
    ("unknown removes services", ("unknown",), "unknown_fraction", 0.1),
    ("late_root delays roots", ("late_root",), "late_root_probability", 0.8),
    ("flapping flaps", ("flapping",), "flapping_fraction", 0.2),
    ("overlapping overlaps", ("overlapping",), "overlap", True),
    ("later family wins", ("mixed", "overlapping"), "cascades", 6),
    ("families combine", ("noise", "drift"), "noise_per_hour", 40.0),
]


@pytest.mark.parametrize(("name", "families", "knob", "value"), KNOB_CASES,
                         ids=[c[0] for c in KNOB_CASES])
def test_families_set_knobs(name: str, families: tuple[str, ...], knob: str,
                            value: object) -> None:
    knobs = knobs_for(families)
    assert getattr(knobs, knob) == value
    assert getattr(Knobs(), knob) != value or families == ("mixed", "overlapping")


def test_overrides_apply_after_families_and_reject_unknown_names() -> None:
    assert knobs_for(("noise",)).with_overrides({"noise_per_hour": 1.0}).noise_per_hour == 1.0
    with pytest.raises(ValueError, match="unknown simulation knob"):
        Knobs().with_overrides({"noize": 1})
