"""The ``topology`` command: exit codes and what a person reads."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.topology.support import BROKEN, FIXTURES
from topology import load_topology
from topology.cli import main

SHOP = str(FIXTURES / "shop.yaml")


def test_validate_ok(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", SHOP]) == 0
    out = capsys.readouterr().out
    version = load_topology(SHOP).version
    assert out == f"ok: 9 services, 7 dependencies, version {version}\n"


@pytest.mark.parametrize(
    ("name", "count"),
    [
        pytest.param("many_problems.yaml", 4, id="several"),
        pytest.param("not_yaml.yaml", 1, id="syntax"),
        pytest.param("empty.yaml", 1, id="empty"),
        pytest.param("undirected.json", 1, id="undirected"),
        pytest.param("missing.yaml", 1, id="missing"),
    ],
)
def test_validate_lists_every_problem(
    name: str, count: int, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(BROKEN / name)
    assert main(["validate", path]) == 1
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert captured.out == ""
    assert len(lines) == count + 1
    assert all(line.startswith(f"{path}: ") for line in lines[:-1])
    assert lines[-1] == f"invalid: {count} problem{'s' if count > 1 else ''}"
    assert "Traceback" not in captured.err


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        pytest.param([], 2, id="no-command"),
        pytest.param(["frobnicate"], 2, id="unknown-command"),
        pytest.param(["validate"], 2, id="missing-file"),
        pytest.param(["show", SHOP, "--depth", "0"], 2, id="depth-zero"),
        pytest.param(["show", SHOP, "--depth", "x"], 2, id="depth-not-int"),
        pytest.param(["--help"], 0, id="help"),
        pytest.param(["show", SHOP, "nope"], 1, id="unknown-service"),
        pytest.param(["show", str(BROKEN / "dangling_ref.yaml")], 1, id="show-broken"),
        pytest.param(["show", SHOP], 0, id="overview"),
        pytest.param(["show", SHOP, "web", "--depth", "1"], 0, id="service"),
    ],
)
def test_exit_codes(argv: list[str], code: int) -> None:
    assert main(argv) == code


def test_show_service_tree(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", SHOP, "WEB-SVC", "--depth", "1"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "web (service, team storefront)",
        "  tier: frontend",
        "  criticality: high",
        "  aliases: Web-Deployment, web-svc",
        "",
        "depends on:",
        "  |-- cart (service)  (...)",
        "  `-- catalog (service)  (...)",
        "",
        "depended on by:",
        "  `-- gateway (gateway, team platform)",
        "",
        "(...) = more levels below; raise --depth to see them",
    ]


def test_show_overview_marks_repeats_and_cycles(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(
        "name: loop\nservices:\n"
        "  top: {depends_on: [a, b]}\n"
        "  a: {depends_on: [c]}\n"
        "  b: {depends_on: [a]}\n"
        "  c: {depends_on: [a]}\n"
        "  x: {depends_on: [y]}\n"
        "  y: {depends_on: [x]}\n",
        encoding="utf-8",
    )
    assert main(["show", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("loop: 6 services, 7 dependencies, version sha256:")
    assert out[1:] == [
        "",
        "top (service)",
        "  |-- a (service)",
        "  |   `-- c (service)",
        "  |       `-- a (service)  (cycle)",
        "  `-- b (service)",
        "      `-- a (service)  (see above)",
        "",
        "x (service)",
        "  `-- y (service)",
        "      `-- x (service)  (cycle)",
        "",
        "(see above) = this subtree is printed earlier; (cycle) = the service is already on "
        "this path",
    ]


def test_unknown_service_suggests(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", SHOP, "cat"]) == 1
    assert capsys.readouterr().err.startswith("error: unknown service 'cat'; did you mean ")


def test_runs_as_a_module() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "topology.cli", "validate", str(BROKEN / "bad_kind.yaml")],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parents[3],
    )
    assert result.returncode == 1
    assert "kind must be one of" in result.stderr and "Traceback" not in result.stderr
