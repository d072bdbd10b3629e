"""``topology export``: Mermaid, DOT, node-link JSON and images."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.unit.topology.support import FIXTURES
from topology import load_topology, loads_topology
from topology.cli import main
from topology.export import neighbourhood, to_dot, to_mermaid
from topology.render import layered_positions, render_image

SHOP = str(FIXTURES / "shop.yaml")
SMALL = 'name: t\nservices:\n  web: {depends_on: [db]}\n  db: {kind: database}\n  "q\\"x": {}\n'


def test_mermaid() -> None:
    assert to_mermaid(loads_topology(SMALL)).splitlines() == [
        "flowchart LR",
        f"  %% t: 3 services, 1 dependencies, version {loads_topology(SMALL).version}",
        '  n0[("db")]',
        '  n1["q#quot;x"]',
        '  n2["web"]',
        "  n2 --> n0",
        "  classDef database fill:#f6e3c6",
        "  class n0 database",
        "  classDef service fill:#dbe9f6",
        "  class n1,n2 service",
    ]


def test_dot_escapes_and_shapes() -> None:
    text = to_dot(loads_topology(SMALL))
    assert text.startswith('digraph "t" {\n')
    assert '  "db" [shape=cylinder];' in text
    assert '  "q\\"x" [shape=box];' in text
    assert '  "web" -> "db";' in text and text.endswith("}\n")


def test_neighbourhood_keeps_only_nearby_services() -> None:
    topology = load_topology(SHOP)
    near = neighbourhood(topology, "web-svc", 1)  # alias accepted
    assert set(near) == {"gateway", "web", "cart", "catalog"}
    assert near.dependencies("cart") == frozenset()  # redis-cart is outside
    with pytest.raises(KeyError):
        neighbourhood(topology, "nope", 1)


@pytest.mark.parametrize("fmt", ["mermaid", "dot", "nodelink"])
def test_cli_text_formats_to_stdout_and_file(
    fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", SHOP, "--to", fmt]) == 0
    out = capsys.readouterr().out
    target = tmp_path / "out.txt"
    assert main(["export", SHOP, "--to", fmt, "--output", str(target)]) == 0
    assert capsys.readouterr().out == ""
    assert target.read_text(encoding="utf-8") == out


def test_cli_nodelink_round_trip(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", SHOP, "--to", "nodelink"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert loads_topology(json.dumps(data)).version == load_topology(SHOP).version


def test_cli_service_depth(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", SHOP, "--to", "dot", "--service", "cart", "--depth", "1"]) == 0
    out = capsys.readouterr().out
    assert '"web" -> "cart";' in out and '"cart" -> "redis-cart";' in out
    assert '"catalog"' not in out


@pytest.mark.parametrize(
    ("fmt", "magic"),
    [pytest.param("svg", b"<?xml", id="svg"), pytest.param("png", b"\x89PNG", id="png")],
)
def test_cli_images(fmt: str, magic: bytes, tmp_path: Path) -> None:
    target = tmp_path / f"shop.{fmt}"
    assert main(["export", SHOP, "--to", fmt, "--output", str(target)]) == 0
    assert target.read_bytes().startswith(magic)


def test_svg_is_reproducible(tmp_path: Path) -> None:
    topology = load_topology(FIXTURES / "online-boutique.json")
    first, second = tmp_path / "a.svg", tmp_path / "b.svg"
    render_image(topology, first, "svg")
    render_image(topology, second, "svg")
    assert first.read_bytes() == second.read_bytes()
    assert b"frontend" in first.read_bytes()


def test_layered_layout_puts_callers_left_of_callees() -> None:
    topology = load_topology(SHOP)
    positions = layered_positions(topology)
    for caller in topology:
        for callee in topology.dependencies(caller):
            assert positions[caller][0] < positions[callee][0]


def test_layered_layout_handles_cycles() -> None:
    topology = loads_topology(
        "services:\n  a: {depends_on: [b]}\n  b: {depends_on: [a, c]}\n  c:\n"
    )
    positions = layered_positions(topology)
    assert positions["a"][0] == positions["b"][0] < positions["c"][0]


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        pytest.param(["export", SHOP, "--to", "png"], "--output FILE is required", id="no-output"),
        pytest.param(
            ["export", SHOP, "--to", "dot", "--depth", "2"], "--depth needs --service", id="depth"
        ),
        pytest.param(
            ["export", SHOP, "--to", "dot", "--service", "nope"],
            "unknown service 'nope'",
            id="service",
        ),
        pytest.param(
            ["export", "/nonexistent/t.yaml", "--to", "dot"], "file not found", id="missing"
        ),
    ],
)
def test_cli_export_errors(
    argv: list[str], reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert (
        len(lines) == 1 and lines[0].startswith("topology export: error: ") and reason in lines[0]
    )


def test_cli_unwritable_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "missing-dir" / "out.dot"
    assert main(["export", SHOP, "--to", "dot", "--output", str(target)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("topology export: error: ") and len(err.splitlines()) == 1
