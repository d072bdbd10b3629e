"""The optional per-service ``slo`` key: value type, YAML/node-link reading, exports, hash."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.unit.topology.support import BROKEN
from topology import SLO, Service, TopologyError, load_topology, loads_topology
from topology.cli import main


def _one(slo_yaml: str) -> Service:
    text = f"services:\n  api:\n    slo: {slo_yaml}\n"
    return loads_topology(text).service("api")


def test_defaults_are_28_days_and_critical_error() -> None:
    slo = SLO(objective=99.9)
    assert slo.window_seconds == 28 * 86400
    assert slo.severities == ("critical", "error")


def test_is_frozen_and_hashable() -> None:
    slo = SLO(objective=99.5, window_seconds=3600, severities=("error",))
    with pytest.raises(dataclasses.FrozenInstanceError):
        slo.objective = 1.0  # type: ignore[misc]
    assert {slo: 1}[SLO(objective=99.5, window_seconds=3600, severities=("error",))] == 1


def test_severities_are_kept_in_urgency_order() -> None:
    assert SLO(99.0, 60, ("info", "critical", "warning")).severities == (
        "critical",
        "warning",
        "info",
    )


def test_int_objective_becomes_float() -> None:
    slo = SLO(objective=99)
    assert slo.objective == 99.0 and isinstance(slo.objective, float)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        pytest.param({"objective": 100}, "objective must be a percentage", id="hundred"),
        pytest.param({"objective": 0}, "objective must be a percentage", id="zero"),
        pytest.param({"objective": float("nan")}, "objective must be", id="nan"),
        pytest.param({"objective": True}, "objective must be", id="bool"),
        pytest.param({"objective": "99.9"}, "objective must be", id="string"),
        pytest.param({"objective": 99.0, "window_seconds": 0}, "window must be", id="zero-window"),
        pytest.param({"objective": 99.0, "window_seconds": 1.5}, "window must be", id="float-win"),
        pytest.param({"objective": 99.0, "severities": ()}, "non-empty list", id="no-severities"),
        pytest.param(
            {"objective": 99.0, "severities": ("fatal",)}, "severities[0] must be one of", id="bad"
        ),
        pytest.param(
            {"objective": 99.0, "severities": ("error", "error")}, "listed twice", id="repeated"
        ),
    ],
)
def test_value_type_rejects(fields: dict[str, Any], expected: str) -> None:
    with pytest.raises(TopologyError) as caught:
        SLO(**fields)
    assert len(caught.value.problems) == 1
    assert expected in caught.value.problems[0]


def test_service_rejects_a_non_slo() -> None:
    with pytest.raises(TopologyError, match="slo must be an SLO or None"):
        Service(id="x", slo={"objective": 99.9})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("{objective: 99.9}", SLO(99.9, 28 * 86400, ("critical", "error")), id="min"),
        pytest.param("{objective: 99.9, window: 7d}", SLO(99.9, 7 * 86400), id="days"),
        pytest.param("{objective: 99, window: 1h}", SLO(99.0, 3600), id="hour"),
        pytest.param("{objective: 99, window: 30m}", SLO(99.0, 1800), id="minutes"),
        pytest.param("{objective: 99, window: 2w}", SLO(99.0, 14 * 86400), id="weeks"),
        pytest.param("{objective: 99, window: 86400}", SLO(99.0, 86400), id="seconds"),
        pytest.param(
            "{objective: 95.5, severities: [warning, critical]}",
            SLO(95.5, severities=("critical", "warning")),
            id="severities",
        ),
    ],
)
def test_yaml_reads(text: str, expected: SLO) -> None:
    assert _one(text).slo == expected


def test_absent_slo_is_none() -> None:
    assert loads_topology("services:\n  api:\n").service("api").slo is None
    assert loads_topology("services:\n  api: {slo: null}\n").service("api").slo is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("99.9", "slo must be a mapping", id="scalar"),
        pytest.param("{window: 7d}", "missing required key 'objective'", id="no-objective"),
        pytest.param("{objective: 100}", "objective must be a percentage", id="hundred"),
        pytest.param("{objective: '99.9'}", "objective must be a percentage", id="quoted"),
        pytest.param(
            "{objective: 99, window: 7x}", "window must be a positive duration", id="unit"
        ),
        pytest.param("{objective: 99, window: 0d}", "window must be a positive duration", id="0d"),
        pytest.param("{objective: 99, window: -5}", "window must be a positive duration", id="neg"),
        pytest.param("{objective: 99, window: 1.5h}", "window must be", id="fraction"),
        pytest.param("{objective: 99, severities: error}", "(write [error])", id="not-list"),
        pytest.param("{objective: 99, severities: []}", "non-empty list", id="empty"),
        pytest.param("{objective: 99, severities: [fatal]}", "severities[0] must be", id="bad"),
        pytest.param("{objective: 99, target: 1}", "unknown key 'target'", id="unknown-key"),
    ],
)
def test_yaml_rejects_with_entry_and_reason(text: str, expected: str) -> None:
    with pytest.raises(TopologyError) as caught:
        _one(text)
    assert any(p.startswith("<string>: service 'api': slo") for p in caught.value.problems)
    assert any(expected in p for p in caught.value.problems), caught.value.problems


def test_every_slo_problem_is_reported_at_once() -> None:
    with pytest.raises(TopologyError) as caught:
        _one("{objective: 100, window: 7x, severities: [fatal], extra: 1}")
    found = "\n".join(caught.value.problems)
    for part in ("unknown key 'extra'", "objective must be", "window must be"):
        assert part in found


def test_broken_fixture_names_file_entry_and_problem() -> None:
    path = BROKEN / "bad_slo.yaml"
    with pytest.raises(TopologyError) as caught:
        load_topology(path)
    assert len(caught.value.problems) == 3
    assert all(p.startswith(f"{path}: service ") for p in caught.value.problems)


SLO_YAML = """\
services:
  api:
    depends_on: [db]
    slo: {objective: 99.95, window: 7d, severities: [error, critical, warning]}
  db:
    kind: database
    slo: {objective: 99.99, window: 90061}
"""


def test_exports_carry_the_slo_and_load_back_to_the_same_version() -> None:
    topology = loads_topology(SLO_YAML)
    nodes = {n["id"]: n for n in topology.to_node_link()["nodes"]}
    assert nodes["api"]["slo"] == {
        "objective": 99.95,
        "window": "7d",
        "severities": ["critical", "error", "warning"],
    }
    assert nodes["db"]["slo"]["window"] == 90061  # not a whole number of minutes
    from_json = loads_topology(json.dumps(topology.to_node_link()))
    from_yaml = loads_topology(yaml.safe_dump(topology.to_yaml_dict()))
    assert from_json.version == from_yaml.version == topology.version
    assert from_json.service("api").slo == topology.service("api").slo
    assert topology.graph.nodes["api"]["slo"] == topology.service("api").slo


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(("99.95", "99.9"), id="objective"),
        pytest.param(("7d", "28d"), id="window"),
        pytest.param(("[error, critical, warning]", "[error, critical]"), id="severities"),
        pytest.param(
            (
                "slo: {objective: 99.95, window: 7d, severities: [error, critical, warning]}",
                "team: x",
            ),
            id="removed",
        ),
    ],
)
def test_slo_is_part_of_the_version(change: tuple[str, str]) -> None:
    before = loads_topology(SLO_YAML).version
    assert loads_topology(SLO_YAML.replace(*change)).version != before


def test_slo_free_topologies_keep_their_old_version() -> None:
    # The hash of a graph without SLOs must not change because the key exists now.
    topology = loads_topology("services:\n  a: {depends_on: [b]}\n  b:\n")
    assert topology.version == "sha256:" + _old_hash(topology)


def _old_hash(topology: Any) -> str:
    canonical = [
        [s.id, s.kind, s.team, s.tier, s.criticality, s.aliases, tuple(sorted(s.depends_on))]
        for s in (topology.service(i) for i in sorted(topology))
    ]
    data = json.dumps(canonical, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(data.encode("utf-8")).hexdigest()[:16]


def test_node_link_rejects_a_bad_slo() -> None:
    document = {"nodes": [{"id": "a", "slo": {"objective": 120}}], "links": []}
    with pytest.raises(TopologyError, match="node 'a' \\(nodes\\[0\\]\\): slo: objective"):
        loads_topology(json.dumps(document))


@pytest.mark.parametrize(
    ("slo", "line"),
    [
        pytest.param(
            "{objective: 99.95, window: 7d}",
            "  slo: 99.95% over 7d (counts critical, error alerts)",
            id="days",
        ),
        pytest.param(
            "{objective: 99, window: 90061, severities: [warning]}",
            "  slo: 99% over 90061s (counts warning alerts)",
            id="seconds",
        ),
    ],
)
def test_show_prints_the_slo(
    slo: str, line: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(f"services:\n  api: {{slo: {slo}}}\n", encoding="utf-8")
    assert main(["show", str(path), "api"]) == 0
    assert capsys.readouterr().out.splitlines()[1] == line
