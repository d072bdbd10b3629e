"""Simulated changes: the deploys that set cascades off, and innocent ones around them.

With the ``deploys`` knob on, each cascade is, with ``culprit_probability``,
preceded by a *culprit* change on its root service: a deploy (sometimes a
config push) landing ``culprit_lead_min`` minutes before the cascade's first
alert, with a version, an author and a commit link. Innocent changes land on
uniformly random components as a Poisson process of
``innocent_deploys_per_hour`` over the hour before the storm and the storm
itself, so some of them fall near cascades by chance, as real deploys do.

Changes are written as canonical change records (``changes.jsonl``); the
truth names the culprit of each cascade (``groups[g]["culprit_change"]``).
Everything draws from its own random stream, so the alerts of a storm are
the same with or without deploys.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from correlator.changes.model import change_id
from correlator.codecs.timefmt import format_rfc3339
from correlator.simulate.faults import PlannedGroup
from correlator.simulate.scenarios import Knobs
from topology import Topology

__all__ = ["SimChanges", "plan_changes"]

_MINUTE_MS = 60_000
_AUTHORS = ("alice", "bob", "chen", "dara", "emeka", "farah", "gus", "hana", "ivo", "jun")
_CULPRIT_KINDS = (("deploy", 0.85), ("config", 0.15))
_INNOCENT_KINDS = (("deploy", 0.7), ("config", 0.15), ("flag", 0.15))

SimChanges = tuple[list[dict[str, Any]], dict[str, str]]


def _pick(rng: random.Random, table: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([k for k, _ in table], weights=[w for _, w in table], k=1)[0]


def _name(rng: random.Random, service: str, given: Topology) -> str:
    """The id, or one time in five an alias the given topology knows."""
    aliases = given.services[service].aliases if service in given else ()
    if aliases and rng.random() < 0.2:
        return rng.choice(sorted(aliases))
    rng.random()  # keep the stream aligned whichever branch ran
    return service


def _record(rng: random.Random, service: str, name: str, kind: str, at: datetime) -> dict[str, Any]:
    version = f"v{rng.randint(1, 9)}.{rng.randint(0, 40)}.{rng.randint(0, 20)}"
    author = rng.choice(_AUTHORS)
    commit = hashlib.blake2b(f"{service}:{version}:{author}".encode(), digest_size=4).hexdigest()
    summary = {
        "deploy": f"Deployed {service} {version}",
        "config": f"Config change on {service} ({version})",
        "flag": f"Feature flag flipped on {service}",
    }[kind]
    return {
        "id": change_id("sim", service, kind, at, version),
        "service": name,
        "kind": kind,
        "time": format_rfc3339(at),
        "version": version,
        "author": author,
        "link": f"https://git.example.internal/{service}/commit/{commit}",
        "summary": summary,
    }


def _first_alert_ms(group: PlannedGroup) -> int:
    return min(alert.episodes[0].starts_ms for alert in group.alerts)


def plan_changes(groups: Sequence[PlannedGroup], true_topology: Topology, given: Topology,
                 rng: random.Random, knobs: Knobs, *, origin: datetime) -> SimChanges:
    """Culprit and innocent change records (time order) and culprit id per cascade."""
    records: list[tuple[int, str, dict[str, Any]]] = []
    culprits: dict[str, str] = {}
    for group in groups:
        if group.kind != "cascade":
            continue
        draw = rng.random()
        lead_ms = round(rng.uniform(*knobs.culprit_lead_min) * _MINUTE_MS)
        kind = _pick(rng, _CULPRIT_KINDS)
        name = _name(rng, group.root, given)
        if draw >= knobs.culprit_probability:
            continue
        at_ms = _first_alert_ms(group) - lead_ms
        record = _record(rng, group.root, name, kind, origin + timedelta(milliseconds=at_ms))
        culprits[group.id] = record["id"]
        records.append((at_ms, record["id"], record))
    services = sorted(true_topology.services)
    rate_per_ms = knobs.innocent_deploys_per_hour / (60 * _MINUTE_MS)
    t = -60.0 * _MINUTE_MS
    end = knobs.duration_min * _MINUTE_MS
    while rate_per_ms > 0:
        t += rng.expovariate(rate_per_ms)
        if t >= end:
            break
        service = rng.choice(services)
        kind = _pick(rng, _INNOCENT_KINDS)
        name = _name(rng, service, given)
        at_ms = int(t)
        record = _record(rng, service, name, kind, origin + timedelta(milliseconds=at_ms))
        records.append((at_ms, record["id"], record))
    records.sort(key=lambda entry: entry[:2])
    return [entry[2] for entry in records], culprits
