"""Invariants of simulated storms: determinism, truth consistency, scenario effects."""

from __future__ import annotations

from collections import defaultdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from correlator.simulate import SCENARIOS, Storm, generate_topology, simulate
from correlator.simulate import labels as labels_module
from tests.unit.simulate.builders import build_topology, decoded_lines, payloads

TOPO = generate_topology(120, 5)
TINY = build_topology(
    {"gw": ["api"], "api": ["db", "cache"], "worker": ["db"]},
    kinds={"gw": "gateway", "db": "database", "cache": "cache"},
    aliases={"api": ("api-svc",)},
)
SCENARIO_CASES = [*SCENARIOS, "overlapping,noise", "all"]


def _storm(scenario: str, seed: int = 11, **knobs: object) -> Storm:
    return simulate(TOPO, scenario, seed, **knobs)


@pytest.mark.parametrize("scenario", SCENARIO_CASES, ids=SCENARIO_CASES)
def test_same_seed_gives_identical_bytes(scenario: str) -> None:
    first, second = _storm(scenario), _storm(scenario)
    assert first.lines() == second.lines()
    assert first.truth == second.truth
    assert first.given_topology.version == second.given_topology.version


def test_different_seeds_give_different_storms() -> None:
    assert _storm("mixed", seed=1).lines() != _storm("mixed", seed=2).lines()


@pytest.mark.parametrize("scenario", SCENARIO_CASES, ids=SCENARIO_CASES)
def test_truth_and_alerts_agree(scenario: str) -> None:
    storm = _storm(scenario)
    alerts = decoded_lines(storm.lines())
    in_lines = {a.fingerprint for _, a in alerts}
    firing = {a.fingerprint for _, a in alerts if a.is_firing}
    truth = storm.truth["alerts"]
    assert set(truth) <= in_lines, "every truth fingerprint appears in alerts.jsonl"
    assert firing <= set(truth), "every firing fingerprint is in the truth"
    assert storm.truth["records"] == len(alerts)
    assert set(truth.values()) == set(storm.truth["groups"])


@pytest.mark.parametrize("scenario", SCENARIO_CASES, ids=SCENARIO_CASES)
def test_root_fingerprints_name_the_root_service(scenario: str) -> None:
    storm = _storm(scenario)
    service_of = {a.fingerprint: a.service for _, a in decoded_lines(storm.lines())}
    for gid, group in storm.truth["groups"].items():
        for fp in group["root_fingerprints"]:
            assert storm.truth["alerts"][fp] == gid
            assert storm.true_topology.resolve(service_of[fp]) == group["root"]


@pytest.mark.parametrize("scenario", ["mixed", "all"], ids=["mixed", "all"])
def test_cascade_alerts_sit_on_callers_of_the_root(scenario: str) -> None:
    """A fault spreads only to (transitive) dependents of its root in the true graph."""
    storm = _storm(scenario)
    topo = storm.true_topology
    service_of = {a.fingerprint: topo.resolve(a.service) for _, a in decoded_lines(storm.lines())}
    for fp, gid in storm.truth["alerts"].items():
        group = storm.truth["groups"][gid]
        if group["kind"] != "cascade":
            continue
        service = service_of[fp]
        assert service is not None
        assert topo.dependency_path(service, group["root"]) is not None


def test_alerts_are_resent_and_arrive_out_of_event_time_order() -> None:
    storm = _storm("mixed")
    alerts = decoded_lines(storm.lines())
    assert storm.truth["records"] > 1.5 * len(storm.truth["alerts"])
    first_start: dict[int, float] = {}
    for index, alert in alerts:
        ts = alert.starts_at.timestamp()
        first_start[index] = min(first_start.get(index, ts), ts)
    newest_so_far, disorder = float("-inf"), 0
    for index in sorted(first_start):
        disorder += first_start[index] < newest_so_far
        newest_so_far = max(newest_so_far, first_start[index])
    assert disorder > 0


def test_payloads_are_alertmanager_groups() -> None:
    storm = _storm("mixed", group_by=("alertname", "cluster"))
    for payload in payloads(storm.lines()):
        assert payload["version"] == "4"
        assert set(payload["groupLabels"]) == {"alertname", "cluster"}
        for alert in payload["alerts"]:
            for key, value in payload["groupLabels"].items():
                assert alert["labels"][key] == value
            if alert["status"] == "firing":
                assert alert["endsAt"] == "0001-01-01T00:00:00Z"
            else:
                assert alert["endsAt"] > alert["startsAt"]


def test_resolved_alerts_follow_their_firing_lines() -> None:
    storm = _storm("mixed")
    first_firing: dict[str, int] = {}
    for index, alert in decoded_lines(storm.lines()):
        if alert.is_firing:
            first_firing.setdefault(alert.fingerprint, index)
        elif alert.fingerprint in first_firing:
            assert index > first_firing[alert.fingerprint]


def _late_root_share(storm: Storm) -> float:
    """Share of cascades whose first root alert arrives after their first symptom."""
    first_line: dict[str, int] = {}
    for index, alert in decoded_lines(storm.lines()):
        first_line.setdefault(alert.fingerprint, index)
    late = checked = 0
    for gid, group in storm.truth["groups"].items():
        roots = group["root_fingerprints"]
        symptoms = [fp for fp, g in storm.truth["alerts"].items() if g == gid and fp not in roots]
        if group["kind"] != "cascade" or not symptoms or not roots:
            continue
        checked += 1
        late += min(first_line[fp] for fp in roots) > min(first_line[fp] for fp in symptoms)
    assert checked >= 3
    return late / checked


def test_late_root_alerts_arrive_after_their_symptoms() -> None:
    seeds = range(1, 5)
    late = [_late_root_share(_storm("late_root", s, cascades=8)) for s in seeds]
    prompt = [_late_root_share(_storm("late_root", s, cascades=8, late_root_probability=0.0))
              for s in seeds]
    assert sum(late) / len(seeds) >= 0.6
    assert sum(late) / len(seeds) > sum(prompt) / len(seeds) + 0.25


def test_drift_hides_true_edges_and_adds_spurious_ones() -> None:
    storm = _storm("drift")
    true_edges = {(a, b) for a in storm.true_topology for b in storm.true_topology.dependencies(a)}
    given_edges = {(a, b) for a in storm.given_topology
                   for b in storm.given_topology.dependencies(a)}
    missing = len(true_edges - given_edges) / len(true_edges)
    assert 0.1 <= missing <= 0.2
    assert given_edges - true_edges
    assert len(storm.truth["drift"]["spurious_edges"]) == len(given_edges - true_edges)


def test_unknown_removes_services_that_alert() -> None:
    storm = _storm("unknown")
    given = storm.given_topology
    alerting = {a.service for _, a in decoded_lines(storm.lines())}
    unknown = {s for s in alerting if given.resolve(s) is None}
    assert unknown
    assert unknown <= set(storm.truth["drift"]["removed_services"])
    assert all(s in storm.true_topology for s in unknown)


def test_flapping_alerts_fire_again_with_new_start_times() -> None:
    storm = _storm("flapping")
    starts: dict[str, set[float]] = defaultdict(set)
    for _, alert in decoded_lines(storm.lines()):
        if alert.is_firing:
            starts[alert.fingerprint].add(alert.starts_at.timestamp())
    assert sum(1 for s in starts.values() if len(s) >= 2) >= 3


def _overlapping_share(storm: Storm) -> float:
    """Share of cascades overlapping in time with another cascade rooted within 2 hops."""
    span: dict[str, tuple[float, float]] = {}
    for _, alert in decoded_lines(storm.lines()):
        gid = storm.truth["alerts"].get(alert.fingerprint)
        if gid is None or storm.truth["groups"][gid]["kind"] != "cascade":
            continue
        t0 = alert.starts_at.timestamp()
        t1 = alert.ends_at.timestamp() if alert.ends_at else t0
        low, high = span.get(gid, (t0, t1))
        span[gid] = (min(low, t0), max(high, t1))
    root = {gid: storm.truth["groups"][gid]["root"] for gid in span}
    near = 0
    for gid, (a0, a1) in span.items():
        near += any(
            other != gid and b0 < a1 and a0 < b1
            and storm.true_topology.path(root[gid], root[other], 2) is not None
            for other, (b0, b1) in span.items()
        )
    return near / len(span)


def test_overlapping_cascades_are_close_in_time_and_graph() -> None:
    seeds = range(1, 5)
    overlapping = [_overlapping_share(_storm("overlapping", s)) for s in seeds]
    independent = [_overlapping_share(_storm("noise", s, noise_per_hour=0.0, cascades=6))
                   for s in seeds]
    assert sum(overlapping) / len(seeds) >= 0.8
    assert sum(overlapping) / len(seeds) > sum(independent) / len(seeds) + 0.3


@pytest.mark.parametrize(
    ("scenario", "minimum"),
    [("noise", 20), ("mixed", 3)],
    ids=["heavy noise", "mixed has some noise"],
)
def test_noise_groups_are_isolated_single_service_events(scenario: str, minimum: int) -> None:
    storm = _storm(scenario)
    noise = {g: spec for g, spec in storm.truth["groups"].items() if spec["kind"] == "noise"}
    assert len(noise) >= minimum
    for gid, spec in noise.items():
        members = [fp for fp, g in storm.truth["alerts"].items() if g == gid]
        assert sorted(members) == sorted(spec["root_fingerprints"])


def test_same_service_in_two_cascades_gets_distinct_fingerprints() -> None:
    storm = simulate(TINY, "mixed", 3, cascades=12, noise_per_hour=0.0)
    by_rule: dict[tuple[str, str], set[str]] = defaultdict(set)
    for _, alert in decoded_lines(storm.lines()):
        by_rule[(alert.service, alert.name)].add(storm.truth["alerts"].get(alert.fingerprint, "?"))
    assert any(len(groups) > 1 for groups in by_rule.values())


def test_fingerprint_collision_is_reported_as_a_simulator_bug(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(labels_module, "alert_fingerprint", lambda labels: "0" * 16)
    with pytest.raises(AssertionError, match="simulator bug"):
        simulate(TINY, "mixed", 1, cascades=3)


def test_aliases_and_app_labels_are_used() -> None:
    storm = _storm("mixed", alias_probability=1.0)
    keys: set[str] = set()
    for payload in payloads(storm.lines()):
        for alert in payload["alerts"]:
            keys.update(k for k in ("service", "app", "job") if k in alert["labels"])
    assert {"app", "job"} <= keys


def test_unknown_knob_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown simulation knob"):
        simulate(TINY, "mixed", 1, cascadez=3)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(min_value=0, max_value=10**6),
       scenario=st.sampled_from(SCENARIO_CASES))
def test_truth_invariants_hold_for_any_seed(seed: int, scenario: str) -> None:
    storm = simulate(TINY, scenario, seed, duration_min=30.0)
    alerts = decoded_lines(storm.lines())
    firing = {a.fingerprint for _, a in alerts if a.is_firing}
    assert firing == set(storm.truth["alerts"])
    assert storm.truth["records"] == len(alerts)
    for gid, group in storm.truth["groups"].items():
        assert group["kind"] in ("cascade", "noise")
        assert group["root"] in TINY
        assert all(storm.truth["alerts"][fp] == gid for fp in group["root_fingerprints"])
