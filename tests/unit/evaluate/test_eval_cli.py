"""``correlator evaluate`` and ``correlator quality-report`` command lines."""

from __future__ import annotations

import argparse
from pathlib import Path

import orjson
import pytest

from correlator.evaluate import evaluate
from correlator.evaluate.cli import register
from correlator.simulate import generate_topology, simulate
from tests.unit.evaluate.builders import TRUTH, incident


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="correlator")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return int(args.func(args))


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    truth = tmp_path / "truth.json"
    truth.write_bytes(orjson.dumps(TRUTH))
    events = [incident("i1", ["a1", "a2", "a3"], candidates=["db"]), incident("i2", ["b1", "b2"]),
              incident("i3", ["n1"])]
    incidents = tmp_path / "incidents.jsonl"
    incidents.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
    return {"truth": truth, "incidents": incidents}


def test_table_output(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["evaluate", "--truth", str(files["truth"]),
                "--incidents", str(files["incidents"])]) == 0
    rows = dict(line.rsplit(maxsplit=1) for line in capsys.readouterr().out.splitlines())
    assert rows["F1"] == "1.0000"
    assert rows["AC@1"] == "0.5000"
    assert rows["incidents"] == "3"


def test_json_output_matches_the_api(files: dict[str, Path],
                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["evaluate", "--truth", str(files["truth"]),
                "--incidents", str(files["incidents"]), "--json"]) == 0
    printed = orjson.loads(capsys.readouterr().out)
    events = [orjson.loads(x) for x in files["incidents"].read_bytes().splitlines()]
    assert printed == evaluate(TRUTH, events).to_dict()


def test_baseline_run_scores_and_writes_incidents(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    storm = simulate(generate_topology(40, 1), "mixed", 1)
    storm.write(tmp_path)
    out = tmp_path / "baseline.jsonl"
    code = run(["evaluate", "--truth", str(tmp_path / "truth.json"), "--baseline", "components",
                "--alerts", str(tmp_path / "alerts.jsonl"),
                "--topology", str(tmp_path / "topology.json"),
                "--write-incidents", str(out), "--json"])
    assert code == 0
    printed = orjson.loads(capsys.readouterr().out)
    assert printed["alerts"] == len(storm.truth["alerts"])
    assert printed["records"] == storm.truth["records"]
    assert printed["lost_alerts"] == 0
    assert len(out.read_bytes().splitlines()) == printed["incidents"]


BAD = [
    ("missing truth", ["--truth", "nope.json", "--incidents", "{incidents}"], "nope.json"),
    ("baseline without topology", ["--truth", "{truth}", "--baseline", "am_service",
                                   "--alerts", "{incidents}"], "--topology"),
    ("garbage incidents", ["--truth", "{truth}", "--incidents", "{garbage}"], "not JSON"),
    ("truth not the simulator's", ["--truth", "{incidents}", "--incidents", "{incidents}"],
     "not JSON"),
]


@pytest.mark.parametrize(("name", "argv", "needle"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_one_line(name: str, argv: list[str], needle: str,
                               files: dict[str, Path], tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    garbage = tmp_path / "garbage.jsonl"
    garbage.write_bytes(b"{nope\n")
    paths = {"truth": files["truth"], "incidents": files["incidents"], "garbage": garbage}
    assert run(["evaluate", *(a.format(**paths) for a in argv)]) == 2
    err = capsys.readouterr().err
    assert needle in err
    assert err.count("\n") == 1


def test_quality_report_rejects_zero_seeds(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["quality-report", "--out", str(tmp_path / "q.md"), "--seeds", "0"]) == 2
    assert "--seeds" in capsys.readouterr().err
