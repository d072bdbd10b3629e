"""Assemble a storm: plan faults, degrade the topology, label, dispatch, encode.

Each stage draws from its own random stream derived from the seed, so the
storm is byte-for-byte reproducible, and changing one stage (say, the noise
rate) does not reshuffle the others.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from correlator.codecs import encode_alertmanager
from correlator.model import Alert, Status
from correlator.simulate.delivery import Entry, Notification, dispatch
from correlator.simulate.deploys import plan_changes
from correlator.simulate.faults import plan_storm
from correlator.simulate.labels import SimAlert, label_storm
from correlator.simulate.perturb import degrade
from correlator.simulate.scenarios import knobs_for, parse_scenario
from topology import Topology

BASE_TIME = datetime(2026, 9, 1, 10, 0, tzinfo=UTC)
"""Storms start here plus a per-seed offset of whole minutes; never the wall clock."""

RECEIVER = "correlator"


@dataclass(frozen=True, slots=True)
class Storm:
    """A simulated alert storm and its ground truth.

    ``payloads`` are Alertmanager v4 webhook bodies in arrival order;
    ``given_topology`` is what the engine should be handed, ``true_topology``
    is what the faults actually spread along. ``changes`` are canonical
    change records in time order (only with the ``deploys`` knob).
    """

    payloads: list[dict[str, Any]]
    truth: dict[str, Any]
    given_topology: Topology
    true_topology: Topology
    changes: list[dict[str, Any]] = field(default_factory=list)

    def lines(self) -> list[bytes]:
        """The payloads as JSON Lines (no trailing newlines), as alerts.jsonl holds them."""
        return [orjson.dumps(p) for p in self.payloads]

    def change_lines(self) -> list[bytes]:
        """The change records as JSON Lines (no trailing newlines), as changes.jsonl holds them."""
        return [orjson.dumps(c) for c in self.changes]

    def write(self, out_dir: Path) -> None:
        """Write alerts.jsonl, truth.json, topology.json (given) and true_topology.json.

        With deploys, also changes.jsonl.
        """
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "alerts.jsonl").write_bytes(b"".join(line + b"\n" for line in self.lines()))
        if self.truth.get("knobs", {}).get("deploys"):
            (out_dir / "changes.jsonl").write_bytes(
                b"".join(line + b"\n" for line in self.change_lines()))
        pretty = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS
        (out_dir / "truth.json").write_bytes(orjson.dumps(self.truth, option=pretty) + b"\n")
        for name, topo in (("topology.json", self.given_topology),
                           ("true_topology.json", self.true_topology)):
            (out_dir / name).write_bytes(orjson.dumps(topo.to_node_link(), option=pretty) + b"\n")


def base_time(seed: int) -> datetime:
    """The storm's time origin: fixed, shifted by the seed so storms do not all coincide."""
    return BASE_TIME + timedelta(minutes=seed % 10_000)


def _to_alert(entry: Entry, origin: datetime) -> Alert:
    alert = entry.alert
    return Alert(
        fingerprint=alert.fingerprint,
        source="alertmanager",
        service=alert.label_service,
        name=alert.name,
        severity=alert.severity,
        status=Status.RESOLVED if entry.resolved else Status.FIRING,
        starts_at=origin + timedelta(milliseconds=entry.episode.starts_ms),
        ends_at=origin + timedelta(milliseconds=entry.episode.ends_ms) if entry.resolved else None,
        labels=alert.labels,
        annotations={"summary": alert.summary},
        summary=alert.summary,
    )


def _payload(note: Notification, origin: datetime) -> dict[str, Any]:
    payload = encode_alertmanager(
        [_to_alert(e, origin) for e in note.entries],
        receiver=RECEIVER,
        group_labels=dict(note.group_labels),
    )
    payload["notification_reason"] = note.reason
    return payload


def _truth(seed: int, families: Sequence[str], alerts: Sequence[SimAlert],
           notes: Sequence[Notification]) -> dict[str, Any]:
    """Ground truth over the fingerprints that reached the engine as firing at least once."""
    owner: dict[str, str] = {}
    for alert in alerts:
        if owner.setdefault(alert.fingerprint, alert.group) != alert.group:
            raise AssertionError(f"simulator bug: fingerprint {alert.fingerprint} in two groups")
    by_fp = {a.fingerprint: a for a in alerts}
    seen = sorted({e.alert.fingerprint for n in notes for e in n.entries if not e.resolved})
    groups: dict[str, dict[str, Any]] = {}
    for fp in seen:
        alert = by_fp[fp]
        group = groups.setdefault(alert.group, {"root_fingerprints": []})
        if alert.is_root:
            group["root_fingerprints"].append(fp)
    roots = {a.group: (a.service, "noise" if a.group.startswith("noise") else "cascade")
             for a in alerts if a.is_root}
    for gid, group in groups.items():
        root, kind = roots[gid]
        group["kind"] = kind
        group["root"] = root
    return {
        "seed": seed,
        "scenario": ",".join(families),
        "alerts": {fp: by_fp[fp].group for fp in seen},
        "groups": dict(sorted(groups.items())),
        "records": sum(len(n.entries) for n in notes),
    }


def simulate(topology: Topology, scenario: str | Sequence[str], seed: int,
             **knobs: Any) -> Storm:
    """Simulate an alert storm on ``topology`` (the true graph); deterministic per seed.

    ``scenario`` names families from :data:`SCENARIOS` (comma-separated or a
    list); ``knobs`` override fields of :class:`Knobs` after the families.
    Raises ValueError for an unknown scenario or knob.
    """
    families = parse_scenario(scenario)
    settings = knobs_for(families).with_overrides(knobs)
    groups = plan_storm(topology, random.Random(f"{seed}:plan"), settings)
    involved = sorted({s for g in groups for s in g.services})
    given, drift = degrade(topology, involved, random.Random(f"{seed}:degrade"), settings)
    alerts = label_storm(groups, topology, given, random.Random(f"{seed}:labels"), settings)
    notes = dispatch(alerts, random.Random(f"{seed}:dispatch"), settings)
    origin = base_time(seed)
    truth = _truth(seed, families, alerts, notes)
    truth["base_time"] = origin.strftime("%Y-%m-%dT%H:%M:%SZ")
    truth["knobs"] = asdict(settings)
    truth["drift"] = drift.to_dict()
    truth["topology_version"] = {"true": topology.version, "given": given.version}
    changes: list[dict[str, Any]] = []
    if settings.deploys:
        changes, culprits = plan_changes(groups, topology, given,
                                         random.Random(f"{seed}:changes"), settings, origin=origin)
        for gid, change in culprits.items():
            if gid in truth["groups"]:
                truth["groups"][gid]["culprit_change"] = change
        truth["changes"] = len(changes)
    return Storm([_payload(n, origin) for n in notes], truth, given, topology, changes)
