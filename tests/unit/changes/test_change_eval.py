"""Suspect-change accuracy in ``correlator evaluate``, on hand-made truth and incidents.

Cascades: G1 (culprit c1, named first), G2 (culprit c2, named third behind an
innocent change), G3 (culprit c3, alerts lost), G4 and G5 without culprits:
G4's incident blames its root-cause service, G5's names nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from correlator.cli import main
from correlator.evaluate import evaluate
from correlator.evaluate.changes import culprit_outcomes
from tests.unit.evaluate.builders import incident

TRUTH: dict[str, Any] = {
    "alerts": {"a": "G1", "b": "G2", "c": "G3", "d": "G4", "e": "G5"},
    "groups": {
        "G1": {"kind": "cascade", "root": "s1", "culprit_change": "c1"},
        "G2": {"kind": "cascade", "root": "s2", "culprit_change": "c2"},
        "G3": {"kind": "cascade", "root": "s3", "culprit_change": "c3"},
        "G4": {"kind": "cascade", "root": "s4"},
        "G5": {"kind": "cascade", "root": "s5"},
    },
    "changes": 6,
}


def suspects(*pairs: tuple[str, str]) -> list[dict[str, Any]]:
    return [{"change_id": cid, "relation": relation} for cid, relation in pairs]


EVENTS = [
    {**incident("I1", ["a"], candidates=["s1"]),
     "suspect_changes": suspects(("c1", "root_cause"), ("x", "member"))},
    {**incident("I2", ["b"], candidates=["s2"]),
     "suspect_changes": suspects(("x", "root_cause"), ("y", "member"), ("c2", "candidate"))},
    {**incident("I4", ["d"], candidates=["s4"]),
     "suspect_changes": suspects(("z", "root_cause"))},
    {**incident("I5", ["e"], candidates=["s5"]), "suspect_changes": []},
]


def test_metrics() -> None:
    metrics = evaluate(TRUTH, EVENTS)
    assert metrics.culprits == 3
    assert metrics.change_top1 == pytest.approx(1 / 3)
    assert metrics.change_top3 == pytest.approx(2 / 3)
    assert metrics.innocent_blamed == pytest.approx(1 / 2)


def test_outcomes() -> None:
    assert [(o.group, o.rank, o.verdict) for o in culprit_outcomes(TRUTH, EVENTS)] == [
        ("G1", 1, "top1"), ("G2", 3, "top3 (outranked_by_innocent)"), ("G3", None, "lost")]


def test_storms_without_changes_have_no_change_metrics() -> None:
    plain = {**TRUTH, "groups": {g: {k: v for k, v in spec.items() if k != "culprit_change"}
                                 for g, spec in TRUTH["groups"].items()}}
    del plain["changes"]
    metrics = evaluate(plain, EVENTS)
    assert (metrics.culprits, metrics.change_top1, metrics.innocent_blamed) == (0, None, None)


def test_cli_reranks_with_changes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    truth = {"alerts": {"a": "G1"},
             "groups": {"G1": {"kind": "cascade", "root": "s1", "culprit_change": "c1"}},
             "changes": 2}
    event = {**incident("I1", ["a"], candidates=["s1"]), "services": ["s1"]}
    files = {"truth.json": orjson.dumps(truth), "incidents.jsonl": orjson.dumps(event) + b"\n",
             "changes.jsonl": b'{"id": "c1", "service": "s1", "kind": "deploy", '
             b'"time": "2026-09-01T09:55:00Z"}\n{"id": "c0", "service": "s1", "kind": "flag", '
             b'"time": "2026-09-01T09:20:00Z"}\n',
             "topology.yaml": b"services:\n  s1: {}\n"}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    argv = ["evaluate", "--truth", str(tmp_path / "truth.json"),
            "--incidents", str(tmp_path / "incidents.jsonl"), "--json"]
    assert main(argv) == 0
    assert orjson.loads(capsys.readouterr().out)["change_top1"] == 0.0
    assert main([*argv, "--changes", str(tmp_path / "changes.jsonl")]) == 2
    assert "--changes needs --topology" in capsys.readouterr().err
    assert main([*argv, "--changes", str(tmp_path / "changes.jsonl"),
                 "--topology", str(tmp_path / "topology.yaml")]) == 0
    assert orjson.loads(capsys.readouterr().out)["change_top1"] == 1.0
