"""The enrichment stage: always-present keys, determinism, SLO context, priority, and the
offline loop end to end (simulated deploys storm -> replay --changes -> culprit named, gate
closes and reopens)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from correlator.changes import Change, ChangeKind, decode_change
from correlator.cli import main
from correlator.codecs import parse_rfc3339
from correlator.enrich import ENRICHED_KEYS, Enricher
from correlator.errors import SnapshotError
from correlator.evaluate import evaluate
from correlator.evaluate.changes import storm_changes
from correlator.evaluate.incidents import final_incidents
from correlator.replay import replay_lines
from correlator.simulate import simulate
from tests.helpers import T0, alert
from tests.unit.budget.builders import incident
from topology import SLO, Service, Topology, load_topology

SAMPLE = Path(__file__).parents[2] / "configs" / "topology.yaml"
TOPO = Topology.from_services([
    Service(id="web", depends_on=("checkout",)),
    Service(id="checkout", aliases=("checkout-svc",), depends_on=("payments",),
            slo=SLO(99.9, 86400, ("critical", "error"))),
    Service(id="payments", slo=SLO(99.0, 86400)),
])


def deploy(cid: str, service: str, minutes: float, kind: str = "deploy") -> Change:
    return Change(id=cid, service=service, kind=ChangeKind(kind),
                  at=T0 + timedelta(minutes=minutes), version="v1", author="alice")


EVENT = incident("I", root="payments", services=["checkout", "payments", "web"], opened=0,
                 updated=600)
CHANGES = [deploy("root", "payments", -7), deploy("dep", "checkout-svc", -3),
           deploy("late", "web", 5, "rollback"), deploy("far", "payments", -90)]


def enriched(changes: list[Change]) -> dict[str, Any]:
    enricher = Enricher(TOPO)
    for change in changes:
        enricher.observe_change(change)
    enricher.advance(T0 + timedelta(minutes=2))
    return enricher.enrich(EVENT)


def test_enrich_adds_keys_after_the_engine_keys_and_leaves_input_alone() -> None:
    before = dict(EVENT)
    doc = enriched(CHANGES)
    assert before == EVENT
    assert list(doc)[: len(EVENT)] == list(EVENT)
    assert tuple(list(doc)[len(EVENT):]) == ENRICHED_KEYS


def test_enrich_is_deterministic_whatever_the_change_order() -> None:
    reference = orjson.dumps(enriched(CHANGES))
    assert orjson.dumps(enriched(list(reversed(CHANGES)))) == reference
    assert orjson.dumps(enriched([*CHANGES, *CHANGES])) == reference  # re-deliveries
    suspects = json.loads(reference)["suspect_changes"]
    assert [(s["change_id"], s["relation"]) for s in suspects] == [
        ("root", "root_cause"), ("dep", "member"), ("late", "after_open")]


def test_slo_context_root_first_and_priority_normal() -> None:
    doc = enriched([])
    # 120 s of a critical incident: checkout 99.9 %/1 d (86.4 s budget) is overspent,
    # payments 99 %/1 d (864 s) has 1 - 120/864 left and burns 120/3600/0.01 = 3.33x.
    assert doc["slo_context"] == [
        {"service": "payments", "slo_objective": 99.0, "budget_remaining": 0.8611,
         "burn_rate_1h": 3.33, "fast_burn": False, "source": "incidents"},
        {"service": "checkout", "slo_objective": 99.9, "budget_remaining": -0.3889,
         "burn_rate_1h": 33.33, "fast_burn": True, "source": "incidents"},
    ]
    assert doc["priority"] == "raised"
    assert doc["priority_reason"] == "checkout has 0.0% of its error budget left (below 10%)"


def test_priority_is_normal_with_budget_left_and_burn_alerts_name_their_source() -> None:
    enricher = Enricher(TOPO)
    enricher.observe_alert(alert("b", "web", 0, severity="critical", name="ErrorBudgetBurn",
                                 labels={"slo": "web-availability"}))
    event = incident("J", root="web", services=["web"], opened=0)
    doc = enricher.enrich(event)
    assert doc["slo_context"] == [
        {"service": "web", "slo_objective": None, "budget_remaining": None,
         "burn_rate_1h": None, "fast_burn": True, "source": "pyrra"}]
    assert (doc["priority"], doc["priority_reason"]) == ("normal", None)
    assert [e["state"] for e in enricher.gate_events()] == ["closed"]
    assert enricher.gate_events() == []  # drained


def test_seeded_budget_raises_priority() -> None:
    enricher = Enricher(TOPO)
    enricher.seed_budget("checkout-svc", 0.05)
    doc = enricher.enrich(incident("K", root="web", services=["checkout", "web"], opened=0,
                                   severity="warning"))
    assert doc["priority"] == "raised"
    assert doc["priority_reason"] == "checkout has 5.0% of its error budget left (below 10%)"


def _alert_line(fp: str, service: str, seconds: float, severity: str = "critical") -> bytes:
    return orjson.dumps({
        "fingerprint": fp, "service": service, "name": "Down", "severity": severity,
        "starts_at": (T0 + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z"),
    })


def test_replay_without_changes_only_adds_the_new_keys() -> None:
    lines = [_alert_line("a", "payments", 0), _alert_line("b", "checkout", 20),
             _alert_line("c", "web", 40, "warning")]
    plain: list[dict[str, Any]] = []
    replay_lines(lines, TOPO, on_event=lambda e: plain.append(e.to_dict()))
    enriched_events = replay_lines(lines, TOPO).events
    assert len(plain) == len(enriched_events) > 0
    for raw, rich in zip(plain, enriched_events, strict=True):
        assert {k: v for k, v in rich.items() if k not in ENRICHED_KEYS} == raw
        assert rich["suspect_changes"] == []
        assert rich["priority"] in ("normal", "raised")


def test_replay_merges_changes_by_event_time_like_observing_them_up_front() -> None:
    lines = [_alert_line("a", "payments", 0), _alert_line("b", "checkout", 20),
             _alert_line("c", "web", 150)]
    changes = [deploy("before", "payments", -5), deploy("during", "checkout", 2),
               deploy("after-all", "payments", 60)]
    merged = replay_lines(lines, TOPO, changes=changes).events
    upfront = Enricher(TOPO)
    for change in changes:
        upfront.observe_change(change)
    again = replay_lines(lines, TOPO, enricher=upfront).events
    assert orjson.dumps(merged) == orjson.dumps(again)
    final = final_incidents(merged)
    assert [s["change_id"] for s in final[0]["suspect_changes"]] == ["before", "during"]


# ------------------------------------------------------------------ end to end, offline


@pytest.fixture(scope="module")
def storm_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("storm")
    assert main(["simulate", "--topology", str(SAMPLE), "--scenario", "deploys",
                 "--seed", "1", "--out", str(out)]) == 0
    bad = out / "changes-with-junk.jsonl"
    bad.write_bytes((out / "changes.jsonl").read_bytes() + b'{"service": "cart"}\n')
    assert main(["replay", "--topology", str(out / "topology.json"),
                 "--input", str(out / "alerts.jsonl"), "--changes", str(bad),
                 "--output", str(out / "incidents.jsonl"), "--rejects", str(out / "rejects.jsonl"),
                 "--gate-events", str(out / "gate-events.jsonl"),
                 "--gate-state", str(out / "gate.json"), "-q"]) == 0
    return out


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def test_each_cascade_incident_names_its_culprit_deploy(storm_dir: Path) -> None:
    truth = json.loads((storm_dir / "truth.json").read_text())
    events = _jsonl(storm_dir / "incidents.jsonl")
    incidents = [i for i in final_incidents(events) if i["alerts"]]
    owner = {a["fingerprint"]: i for i in reversed(incidents) for a in i["alerts"]}
    culprits = {g: spec["culprit_change"] for g, spec in truth["groups"].items()
                if spec.get("culprit_change")}
    assert culprits
    for group, culprit in culprits.items():
        held = Counter(owner[fp]["id"] for fp, g in truth["alerts"].items()
                       if g == group and fp in owner)
        best = next(i for i in incidents if i["id"] == held.most_common(1)[0][0])
        first = best["suspect_changes"][0]
        assert first["change_id"] == culprit, group
        assert first["relation"] == "root_cause"
        assert first["reason"].startswith("root_cause_service_")
        assert first["service"] == truth["groups"][group]["root"]
    assert evaluate(truth, events).change_top1 == 1.0


def test_gate_closes_on_the_incident_and_reopens_after_resolution(storm_dir: Path) -> None:
    events = final_incidents(_jsonl(storm_dir / "incidents.jsonl"))
    gate = _jsonl(storm_dir / "gate-events.jsonl")
    critical = [i for i in events if i["severity"] == "critical" and i["resolved_at"]]
    assert critical
    for inc in critical:
        root = inc["root_cause"]["service"]
        mine = [g for g in gate if g["service"] == root]
        closing = [g for g in mine if g["state"] == "closed"
                   and any(r.get("incident") == inc["id"] for r in g["reasons"])]
        assert closing, root
        reopening = [g for g in mine if g["state"] == "open" and g["at"] >= inc["resolved_at"]
                     and g["at"] > closing[0]["at"]]
        assert reopening, root
    state = json.loads((storm_dir / "gate.json").read_text())
    assert {d["state"] for d in state["services"].values()} == {"open"}


def test_bad_change_lines_go_to_rejects(storm_dir: Path) -> None:
    rejects = _jsonl(storm_dir / "rejects.jsonl")
    changes = (storm_dir / "changes.jsonl").read_bytes().splitlines()
    assert rejects == [{"input": "changes", "line": len(changes) + 1, "reason": "missing_field",
                        "detail": "kind: required field is missing", "raw": '{"service": "cart"}'}]


def test_gate_cli_on_a_mid_storm_state_file(storm_dir: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    truth = json.loads((storm_dir / "truth.json").read_text())
    first_root = truth["groups"]["cascade-1"]["root"]
    lines = (storm_dir / "alerts.jsonl").read_bytes().splitlines()
    # Replay only the storm's first ten payloads: cascade-1 is still firing at their end.
    partial = tmp_path / "partial.jsonl"
    partial.write_bytes(b"\n".join(lines[:10]) + b"\n")
    state = tmp_path / "gate.json"
    assert main(["replay", "--topology", str(storm_dir / "topology.json"),
                 "--input", str(partial), "--changes", str(storm_dir / "changes.jsonl"),
                 "--output", str(tmp_path / "out.jsonl"), "--gate-state", str(state), "-q"]) == 0
    code = main(["gate", first_root, "--state", str(state)])
    decision = json.loads(capsys.readouterr().out)
    assert (code, decision["state"]) == (1, "closed")
    assert decision["reasons"][0]["code"] == "incident_open"


def test_simulated_changes_decode_and_storm_alerts_are_unchanged_by_deploys() -> None:
    topology = load_topology(SAMPLE)
    with_deploys = simulate(topology, "deploys", 4)
    without = simulate(topology, "mixed", 4, **{"cascades": 4, "noise_per_hour": 4.0,
                                                "missing_edge_fraction": 0.0,
                                                "spurious_edge_fraction": 0.0,
                                                "unknown_fraction": 0.0,
                                                "late_root_probability": 0.0,
                                                "flapping_fraction": 0.0})
    assert with_deploys.lines() == without.lines()
    assert without.changes == [] and "changes" not in without.truth
    decoded = storm_changes(with_deploys.changes)
    assert len(decoded) == with_deploys.truth["changes"] == len(with_deploys.changes)
    assert all(isinstance(decode_change(line), Change) for line in with_deploys.change_lines())
    times = [c.at for c in decoded]
    assert times == sorted(times)


def test_snapshot_restore_continues_identically() -> None:
    topology = load_topology(SAMPLE)
    storm = simulate(topology, "deploys", 2)
    recorded: list[Any] = []
    replay_lines(storm.lines(), storm.given_topology, on_event=recorded.append)
    changes = storm_changes(storm.changes)
    burn = alert("burn", "catalog", 0, severity="critical",
                 labels={"sloth_service": "catalog", "sloth_slo": "a", "sloth_severity": "page"})

    def run(enricher: Enricher, events: list[Any]) -> list[bytes]:
        out = []
        for event in events:
            doc = event.to_dict()
            clock = parse_rfc3339(doc["updated_at"])
            for change in changes:
                if change.at <= clock:
                    enricher.observe_change(change)
            out.append(orjson.dumps(enricher.enrich(event)))
            out.extend(orjson.dumps(g) for g in enricher.gate_events())
        return out

    half = len(recorded) // 2
    original = Enricher(storm.given_topology)
    original.observe_alert(burn)
    run(original, recorded[:half])
    restored = Enricher(storm.given_topology)
    restored.restore(original.snapshot())
    assert restored.snapshot() == original.snapshot()
    assert run(restored, recorded[half:]) == run(original, recorded[half:])
    assert restored.gate_state() == original.gate_state()


@pytest.mark.parametrize(
    ("data", "message"),
    [(b"not json", "cannot restore"), (b'{"version": 9}', "version 9"),
     (b'{"version": 1, "changes": [{}], "gate": {}}', "cannot restore")],
    ids=["garbage", "other version", "missing fields"],
)
def test_bad_snapshots_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(SnapshotError, match=message):
        Enricher(TOPO).restore(data)
