"""``correlator simulate`` writes its three files and fails in one line on bad input."""

from __future__ import annotations

import argparse
from pathlib import Path

import orjson
import pytest

from correlator.simulate.cli import register
from topology import load_topology


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="correlator")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["simulate", *argv])
    return int(args.func(args))


def test_writes_storm_truth_and_given_topology(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "storm"
    code = run(["--generate-topology", "60", "--out", str(out), "--seed", "4",
                "--scenario", "unknown,noise", "--duration", "30", "--cascades", "3"])
    assert code == 0
    truth = orjson.loads((out / "truth.json").read_bytes())
    assert truth["seed"] == 4
    assert truth["scenario"] == "unknown,noise"
    assert truth["knobs"]["cascades"] == 3
    lines = (out / "alerts.jsonl").read_bytes().splitlines()
    assert len(lines) > 0
    given = load_topology(out / "topology.json")
    true = load_topology(out / "true_topology.json")
    assert len(given) < len(true)
    assert "unique alerts" in capsys.readouterr().err


def test_same_arguments_same_bytes(tmp_path: Path) -> None:
    for name in ("a", "b"):
        assert run(["--generate-topology", "40", "--out", str(tmp_path / name)]) == 0
    for file in ("alerts.jsonl", "truth.json", "topology.json"):
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes()


BAD = [
    ("missing topology file", ["--topology", "nope.yaml"], "nope.yaml"),
    ("unknown scenario", ["--generate-topology", "30", "--scenario", "chaos"], "unknown scenario"),
    ("negative cascades", ["--generate-topology", "30", "--cascades", "-1"], "--cascades"),
    ("tiny generated topology", ["--generate-topology", "3"], "at least 8"),
    ("empty group_by", ["--generate-topology", "30", "--group-by", ","], "--group-by"),
]


@pytest.mark.parametrize(("name", "argv", "needle"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_one_line_on_stderr(name: str, argv: list[str], needle: str,
                                         tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert run([*argv, "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert needle in err
    assert err.count("\n") == 1
    assert "Traceback" not in err
