"""``correlator explain``: one incident's root cause, symptom paths and neighbourhood."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest

from correlator.errors import CorrelatorError
from correlator.explain import (
    ALERT_STYLE,
    QUIET_STYLE,
    ROOT_STYLE,
    ExplainError,
    explain,
    find_incident,
    image_parts,
    render_text,
)
from correlator.explain_cli import register
from correlator.replay import replay_lines
from correlator.simulate import generate_topology, simulate
from topology import loads_topology

TOPOLOGY = """\
services:
  edge: {kind: gateway, depends_on: [web]}
  web: {depends_on: [checkout, search]}
  checkout: {depends_on: [orders-db, cart]}
  cart: {depends_on: [redis]}
  redis: {kind: cache}
  search:
  orders-db: {kind: database}
"""


def _alert(service: str, offset: int, name: str = "HighErrorRate", **extra: Any) -> dict[str, Any]:
    return {
        "fingerprint": f"fp-{service}",
        "service": service,
        "known_service": extra.pop("known", True),
        "name": name,
        "severity": extra.pop("severity", "error"),
        "status": "firing",
        "starts_at": f"2026-09-01T10:0{offset // 60}:{offset % 60:02d}.000Z",
        "joined": {"reason": "topology"},
    }


INCIDENT: dict[str, Any] = {
    "schema_version": 1,
    "id": "inc-3f0c9a1e5b7d2c44",
    "version": 3,
    "status": "updated",
    "merged_into": None,
    "opened_at": "2026-09-01T10:00:00.000Z",
    "updated_at": "2026-09-01T10:02:00.000Z",
    "severity": "critical",
    "title": "orders-db and 3 related services degraded (5 alerts, 5 firing)",
    "root_cause": {"service": "orders-db", "fingerprint": "fp-orders-db", "score": 0.41},
    "candidates": [
        {
            "service": "orders-db",
            "score": 0.41,
            "evidence": {
                "coverage": 1.0,
                "explains": [
                    {"service": "checkout", "path": ["checkout", "orders-db"], "hops": 1},
                    {"service": "web", "path": ["web", "checkout", "orders-db"], "hops": 2},
                ],
            },
        },
        {"service": "checkout", "score": 0.3, "evidence": {}},
    ],
    "alerts": [
        _alert("orders-db", 0, "PostgresDown", severity="critical"),
        _alert("checkout", 40),
        _alert("checkout", 50, "HighLatency"),
        _alert("web", 65),
        _alert("edge", 80),
        _alert("batch-job", 90, known=False),
    ],
    "services": ["checkout", "edge", "orders-db", "web"],
    "unknown_services": ["batch-job"],
    "topology_version": "sha256:5d0e1c2b3a4f5e6d",
}


def _lines(*incidents: dict[str, Any]) -> list[str]:
    return [json.dumps(i) for i in incidents]


def test_text_report() -> None:
    topology = loads_topology(TOPOLOGY)
    lines = render_text(explain(INCIDENT, topology))
    assert lines[0] == "incident inc-3f0c9a1e5b7d2c44 (version 3, updated): critical"
    assert (
        "root cause: (R) orders-db  score 0.41, explains 100% of the other alerting services"
        in (lines)
    )
    assert "other candidates: checkout 0.3" in lines
    start = lines.index(
        "how the symptoms reach the root cause (each service depends on the one above it):"
    )
    assert lines[start + 1 : start + 5] == [
        "(R) orders-db  [database]  PostgresDown critical at +0s",
        " `-- (!) checkout  [service]  HighErrorRate error at +40s +1 more",
        "     `-- (!) web  [service]  HighErrorRate error at +65s",
        "         `-- (!) edge  [gateway]  HighErrorRate error at +80s",
    ]
    assert "  (!) checkout: depends on ( ) cart, (R) orders-db; called by (!) web" in lines
    assert "alerting, not on a path to the root cause: (!) batch-job" in lines
    assert any("the file given is" in line for line in lines)  # topology version differs
    assert lines[-1].startswith("legend: ")
    assert not any("\x1b[" in line for line in lines)


def test_colours_only_when_asked() -> None:
    coloured = render_text(explain(INCIDENT, None), colour=True)
    assert any("\x1b[1;31m(R) orders-db" in line for line in coloured)


def test_without_topology_uses_the_incident_paths_only() -> None:
    explanation = explain(INCIDENT, None)
    assert explanation.paths == (("checkout", "orders-db"), ("web", "checkout", "orders-db"))
    assert explanation.unexplained == ("batch-job", "edge")
    assert not any(line.startswith("neighbourhood") for line in render_text(explanation))


def test_single_service_incident() -> None:
    incident = {**INCIDENT, "candidates": [], "alerts": [_alert("orders-db", 0)]}
    lines = render_text(explain(incident, loads_topology(TOPOLOGY)))
    assert "  (no other service reaches it: a single-service incident)" in lines


def test_image_parts_mark_root_alerting_and_quiet() -> None:
    graph, styles, highlight = image_parts(explain(INCIDENT, loads_topology(TOPOLOGY)))
    assert styles["orders-db"] == ROOT_STYLE
    assert styles["checkout"] == styles["web"] == styles["batch-job"] == ALERT_STYLE
    assert styles["cart"] == styles["search"] == QUIET_STYLE  # direct neighbours
    assert "redis" not in graph  # two hops from any alerting service
    assert highlight == {("checkout", "orders-db"), ("web", "checkout"), ("edge", "web")}


def test_find_latest_version_prefix_and_cloudevents() -> None:
    older = {**INCIDENT, "version": 1, "status": "open"}
    cloudevent = {"specversion": "1.0", "type": "dev.correlator.incident.updated", "data": INCIDENT}
    lines = [json.dumps(older), json.dumps(cloudevent), ""]
    found = find_incident(lines, "inc-3f0c", "x")
    assert (found["id"], found["version"]) == (INCIDENT["id"], 3)


def test_merged_incident_is_followed() -> None:
    absorbed = {**INCIDENT, "id": "inc-old", "status": "merged", "merged_into": INCIDENT["id"]}
    found = find_incident(_lines(absorbed, INCIDENT), "inc-old", "x")
    assert found["id"] == INCIDENT["id"]
    lines = render_text(explain(found, None))
    assert any("inc-old was merged; showing inc-3f0c9a1e5b7d2c44" in line for line in lines)


@pytest.mark.parametrize(
    ("lines", "wanted", "problem"),
    [
        pytest.param(_lines(INCIDENT), "inc-nope", "no incident 'inc-nope' in x", id="missing"),
        pytest.param(
            _lines(INCIDENT, {**INCIDENT, "id": "inc-3f0c-other"}),
            "inc-3f0c",
            "matches 2 incidents",
            id="ambiguous",
        ),
        pytest.param(["{bad"], "inc", "line 1: not JSON", id="json"),
        pytest.param(['{"id": 1}'], "inc", "line 1: not an incident event", id="shape"),
    ],
)
def test_find_errors(lines: list[str], wanted: str, problem: str) -> None:
    with pytest.raises(ExplainError, match=problem):
        find_incident(lines, wanted, "x")


# -- command -----------------------------------------------------------------------------------


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="correlator")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return int(args.func(args))


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, Any]]:
    """A simulated storm replayed end to end: incidents file, topology file, biggest incident."""
    folder = tmp_path_factory.mktemp("storm")
    storm = simulate(generate_topology(40, 3), "mixed", seed=3)
    storm.write(folder)
    events = replay_lines(storm.lines(), storm.given_topology).events
    incidents = folder / "incidents.jsonl"
    incidents.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    latest: dict[str, dict[str, Any]] = {}
    for event in events:
        latest[event["id"]] = event
    biggest = max(
        (e for e in latest.values() if e["status"] != "merged"),
        key=lambda e: (len(e["services"]), e["id"]),
    )
    return incidents, folder / "topology.json", biggest


def test_cli_on_a_replayed_storm(
    replayed: tuple[Path, Path, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    incidents, topology, biggest = replayed
    argv = ["explain", biggest["id"], "--incidents", str(incidents), "--topology", str(topology)]
    assert _run(argv) == 0
    out = capsys.readouterr().out
    root = biggest["root_cause"]["service"]
    assert f"(R) {root}" in out
    for service in biggest["services"]:
        assert service in out
    paths = [e["path"] for e in biggest["candidates"][0]["evidence"]["explains"]]
    assert paths and all(p[-1] == root for p in paths)
    assert "\x1b[" not in out  # not a terminal: no colours


@pytest.mark.parametrize("suffix", ["svg", "png"])
def test_cli_image(
    replayed: tuple[Path, Path, dict[str, Any]],
    tmp_path: Path,
    suffix: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    incidents, topology, biggest = replayed
    image = tmp_path / f"incident.{suffix}"
    argv = ["explain", biggest["id"], "--incidents", str(incidents), "--topology", str(topology)]
    assert _run([*argv, "--image", str(image)]) == 0
    data = image.read_bytes()
    assert data.startswith(b"<?xml" if suffix == "svg" else b"\x89PNG")
    if suffix == "svg":
        assert b"#e74c3c" in data  # the root cause's fill colour
    assert f"image written to {image}" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        pytest.param(["--image", "out.gif"], "must end in .svg or .png", id="image-format"),
        pytest.param(["--topology", "/nonexistent.yaml"], "file not found", id="topology"),
    ],
)
def test_cli_errors(
    replayed: tuple[Path, Path, dict[str, Any]], extra: list[str], problem: str
) -> None:
    incidents, _, biggest = replayed
    with pytest.raises(CorrelatorError, match=problem):
        _run(["explain", biggest["id"], "--incidents", str(incidents), *extra])


def test_cli_missing_incidents_file(tmp_path: Path) -> None:
    with pytest.raises(CorrelatorError, match="cannot read"):
        _run(["explain", "inc-x", "--incidents", str(tmp_path / "none.jsonl")])
