"""Warnings (cycles, isolated services) and how ``topology validate`` reports them."""

from __future__ import annotations

import pytest

from tests.unit.topology.support import BROKEN, FIXTURES, build
from topology import load_topology
from topology.checks import warnings_for
from topology.cli import main

WARNINGS = FIXTURES / "warnings"


@pytest.mark.parametrize(
    ("edges", "expected"),
    [
        pytest.param({"a": ["b"], "b": []}, [], id="clean"),
        pytest.param({"a": ["b"], "b": ["a"]}, [("cycle", ("a", "b"))], id="two-cycle"),
        pytest.param(
            {"a": ["b"], "b": ["c"], "c": ["a"], "x": ["y"], "y": ["x"]},
            [("cycle", ("a", "b", "c")), ("cycle", ("x", "y"))],
            id="two-cycles",
        ),
        pytest.param({"a": ["b"], "b": [], "c": []}, [("isolated", ("c",))], id="isolated"),
        pytest.param({"a": []}, [], id="single-service-is-fine"),
    ],
)
def test_warnings(edges: dict[str, list[str]], expected: list[tuple[str, tuple[str, ...]]]) -> None:
    assert [(w.kind, w.services) for w in warnings_for(build(edges))] == expected


def test_cycle_message_shows_one_cycle() -> None:
    (finding,) = warnings_for(load_topology(WARNINGS / "cycle.yaml"))
    assert finding.message.startswith("dependency cycle: billing -> ledger -> orders -> billing")


def test_big_cycle_group_says_how_many_take_part() -> None:
    # a <-> b and b <-> c form one group of three; the shortest cycle through a has two.
    (finding,) = warnings_for(build({"a": ["b"], "b": ["a", "c"], "c": ["b"]}))
    assert finding.message.startswith("dependency cycle: a -> b -> a (3 services take part)")


@pytest.mark.parametrize(
    ("name", "strict", "code", "warnings"),
    [
        pytest.param("clean.yaml", False, 0, 0, id="clean"),
        pytest.param("clean.yaml", True, 0, 0, id="clean-strict"),
        pytest.param("cycle.yaml", False, 0, 1, id="cycle"),
        pytest.param("cycle.yaml", True, 1, 1, id="cycle-strict"),
        pytest.param("isolated.yaml", False, 0, 1, id="isolated"),
        pytest.param("isolated.yaml", True, 1, 1, id="isolated-strict"),
    ],
)
def test_validate_warnings_and_strict(
    name: str, strict: bool, code: int, warnings: int, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(WARNINGS / name)
    assert main(["validate", path, *(["--strict"] if strict else [])]) == code
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert sum(1 for line in lines if line.startswith(f"{path}: warning: ")) == warnings
    if code == 0:
        assert captured.out.startswith("ok: ")
        if warnings:
            assert captured.out.endswith(f", {warnings} warning\n")
        else:
            assert "warning" not in captured.out + captured.err
    else:
        assert captured.out == "" and lines[-1] == "invalid: 1 warning (--strict)"


def test_errors_come_before_warnings(capsys: pytest.CaptureFixture[str]) -> None:
    # A broken file is reported as broken; warnings need a graph to look at.
    assert main(["validate", str(BROKEN / "self_dependency.yaml"), "--strict"]) == 1
    assert "warning" not in capsys.readouterr().err
