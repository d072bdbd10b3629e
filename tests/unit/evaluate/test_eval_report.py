"""The quality report renders every system for every scenario, deterministically."""

from __future__ import annotations

import pytest

from correlator.evaluate import BASELINES
from correlator.evaluate.report import (
    COLUMNS,
    TopologyCase,
    average,
    baseline_runner,
    build_report,
)
from correlator.simulate import generate_topology

CASE = TopologyCase("tiny", "tiny generated topology", generate_topology(40, 1))
RUNNERS = [(name, baseline_runner(name)) for name in BASELINES]


def _report() -> str:
    return build_report([CASE], ["mixed", "noise"], [1, 2], RUNNERS, notes=["A note."],
                        command="cmd")


def test_report_has_a_row_per_system_and_scenario() -> None:
    text = _report()
    assert text == _report()
    assert "Regenerate with:\n     cmd -->" in text
    assert "A note." in text
    for heading in ("## Summary: tiny generated topology", "### tiny / mixed", "### tiny / noise"):
        assert heading in text
    rows = [line for line in text.splitlines() if line.startswith(("| time_window",
                                                                    "| am_service",
                                                                    "| components"))]
    assert len(rows) == 3 * 3  # summary + two scenarios
    assert all(row.count("|") == len(COLUMNS) + 2 for row in rows)


@pytest.mark.parametrize(
    ("rows", "key", "expected"),
    [([{"f1": 0.5}, {"f1": 1.0}], "f1", 0.75),
     ([{"ac_at_1": None}, {"ac_at_1": 0.5}], "ac_at_1", 0.5),
     ([{"ac_at_1": None}], "ac_at_1", None)],
    ids=["mean", "none skipped", "all none"],
)
def test_average(rows: list[dict[str, float | None]], key: str, expected: float | None) -> None:
    assert average(rows)[key] == expected
