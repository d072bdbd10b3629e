"""Simple groupers to compare Correlator against.

A correlation engine earns its keep only if it beats what teams already have
for free, so the quality report runs three reference strategies over the very
same ``alerts.jsonl``, as streams in arrival order, and scores their output
with the same code:

* ``time_window``: everything that starts within ``gap`` of the current
  incident joins it (an "alert storm" detector); the root is the first alert.
* ``am_service``: Alertmanager with ``group_by: [service]``: one incident per
  service per burst, a burst ending after ``group_interval`` of quiet; the
  root is that service.
* ``components``: alerts whose services share a weakly connected component of
  the given topology, within ``gap``; the root is the first alert's service.

They emit one final incident event per incident in the engine's schema.
First emission is stamped with the stream's event-time watermark when the
incident opened, so their detection latency is an optimistic lower bound
(they never wait for anything).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from correlator.codecs import Rejection, decode
from correlator.model import Alert, Severity
from topology import Topology

BASELINES: tuple[str, ...] = ("time_window", "am_service", "components")
DEFAULT_GAP = timedelta(minutes=5)


def iso_ms(value: datetime) -> str:
    """RFC 3339 UTC with milliseconds, like the engine's output."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


@dataclass(slots=True)
class _Member:
    alert: Alert
    service: str
    known: bool
    count: int = 1
    joined: str = "time"


@dataclass(slots=True)
class _Incident:
    key: str
    opened_at: datetime
    first_emitted_at: datetime
    updated_at: datetime
    last_start: datetime
    members: dict[str, _Member] = field(default_factory=dict)

    def accepts(self, start: datetime, gap: timedelta) -> bool:
        return self.opened_at - gap <= start <= self.last_start + gap


# Chooses the key of the incident an alert may join: every alert of one key
# shares the incident until a gap ends it.
KeyFn = Callable[[str], str]
RootFn = Callable[["_Incident"], list[str]]


def _first_fired(incident: _Incident) -> list[str]:
    ordered = sorted(incident.members.values(), key=lambda m: (m.alert.starts_at, m.service))
    services: list[str] = []
    for member in ordered:
        if member.service not in services:
            services.append(member.service)
    return services


def _the_key(incident: _Incident) -> list[str]:
    return [incident.key]


class _Grouper:
    """Shared streaming machinery: dedup by fingerprint, watermark, gap-based joining."""

    def __init__(self, name: str, topology: Topology, key: KeyFn, ranking: RootFn,
                 gap: timedelta) -> None:
        self.name = name
        self.topology = topology
        self.key = key
        self.ranking = ranking
        self.gap = gap
        self.incidents: list[_Incident] = []
        self.open_by_key: dict[str, _Incident] = {}
        self.where: dict[str, _Incident] = {}
        self.watermark: datetime | None = None
        self.records = 0

    def resolve(self, raw: str) -> tuple[str, bool]:
        canonical = self.topology.resolve(raw)
        return (canonical, True) if canonical is not None else (raw, False)

    def feed(self, alert: Alert) -> None:
        self.records += 1
        moment = alert.event_time or alert.starts_at
        if self.watermark is None or moment > self.watermark:
            self.watermark = moment
        known = self.where.get(alert.fingerprint)
        if known is not None:
            member = known.members[alert.fingerprint]
            member.alert, member.count = alert, member.count + 1
            known.updated_at = max(known.updated_at, self.watermark)
            return
        if not alert.is_firing:
            return  # a resolve for an alert never seen firing opens nothing
        service, is_known = self.resolve(alert.service)
        key = self.key(service)
        incident = self.open_by_key.get(key)
        if incident is None or not incident.accepts(alert.starts_at, self.gap):
            incident = _Incident(key, alert.starts_at, self.watermark, self.watermark,
                                 alert.starts_at)
            self.incidents.append(incident)
            self.open_by_key[key] = incident
            joined = "first"
        else:
            joined = "time"
        incident.members[alert.fingerprint] = _Member(alert, service, is_known, joined=joined)
        incident.opened_at = min(incident.opened_at, alert.starts_at)
        incident.last_start = max(incident.last_start, alert.starts_at)
        incident.updated_at = max(incident.updated_at, self.watermark)
        self.where[alert.fingerprint] = incident

    def events(self) -> list[dict[str, Any]]:
        return [self._event(i) for i in self.incidents]

    def _event(self, incident: _Incident) -> dict[str, Any]:
        members = sorted(incident.members.values(),
                         key=lambda m: (m.alert.starts_at, m.alert.fingerprint))
        ranked = self.ranking(incident)
        first_fp = {m.service: m.alert.fingerprint for m in reversed(members)}
        candidates = [
            {"service": s, "score": round(1.0 / (rank + 1), 4),
             "evidence": {"method": self.name, "rank": rank + 1}, "fingerprint": first_fp.get(s)}
            for rank, s in enumerate(ranked)
        ]
        resolved = all(not m.alert.is_firing for m in members)
        ends = [m.alert.ends_at for m in members if m.alert.ends_at is not None]
        digest = hashlib.sha256(
            f"{self.name}:{iso_ms(incident.opened_at)}:{members[0].alert.fingerprint}".encode()
        ).hexdigest()[:16]
        severity = max((m.alert.severity for m in members), key=lambda s: s.rank,
                       default=Severity.INFO)
        services = sorted({m.service for m in members})
        root = candidates[0] if candidates else None
        return {
            "schema_version": 1,
            "id": f"inc-{digest}",
            "version": 1,
            "status": "resolved" if resolved else "open",
            "merged_into": None,
            "previous_incident": None,
            "opened_at": iso_ms(incident.opened_at),
            "updated_at": iso_ms(incident.updated_at),
            "resolved_at": iso_ms(max(ends)) if resolved and ends else None,
            "first_emitted_at": iso_ms(incident.first_emitted_at),
            "severity": severity.value,
            "title": f"{self.name}: {len(services)} service(s) alerting",
            "root_cause": (
                {"service": root["service"], "fingerprint": root["fingerprint"],
                 "score": root["score"]} if root else None
            ),
            "candidates": candidates,
            "alerts": [self._member(m) for m in members],
            "services": services,
            "unknown_services": sorted({m.service for m in members if not m.known}),
            "topology_version": self.topology.version,
            "stats": {"alerts": len(members), "records": sum(m.count for m in members)},
        }

    @staticmethod
    def _member(member: _Member) -> dict[str, Any]:
        alert = member.alert
        return {
            "fingerprint": alert.fingerprint,
            "service": member.service,
            "known_service": member.known,
            "name": alert.name,
            "severity": alert.severity.value,
            "status": alert.status.value,
            "starts_at": iso_ms(alert.starts_at),
            "ends_at": iso_ms(alert.ends_at) if alert.ends_at else None,
            "count": member.count,
            "flapping": False,
            "late": False,
            "joined": {"reason": member.joined, "via": None, "hops": None, "path": None},
        }


def _component_key(topology: Topology) -> KeyFn:
    owner = {s: min(part) for part in topology.components() for s in part}
    return lambda service: owner.get(service, f"unknown:{service}")


def make_grouper(name: str, topology: Topology, gap: timedelta = DEFAULT_GAP) -> _Grouper:
    """The named baseline, ready to be fed alerts; ValueError for an unknown name."""
    if name == "time_window":
        return _Grouper(name, topology, lambda _s: "all", _first_fired, gap)
    if name == "am_service":
        return _Grouper(name, topology, lambda s: s, _the_key, gap)
    if name == "components":
        return _Grouper(name, topology, _component_key(topology), _first_fired, gap)
    raise ValueError(f"unknown baseline {name!r}; choose from {', '.join(BASELINES)}")


def decode_lines(lines: Iterable[bytes]) -> Iterable[Alert]:
    """Alerts of every decodable line, in arrival order; undecodable lines are skipped."""
    for line in lines:
        raw = line.rstrip(b"\r\n")
        if not raw.strip():
            continue
        decoded = decode(raw)
        if isinstance(decoded, Rejection):
            continue
        yield from decoded.alerts


def run_baseline(name: str, lines: Sequence[bytes], topology: Topology,
                 gap: timedelta = DEFAULT_GAP) -> list[dict[str, Any]]:
    """Group the alerts of ``lines`` (Alertmanager/JSON Lines payloads) with a baseline."""
    grouper = make_grouper(name, topology, gap)
    for alert in decode_lines(lines):
        grouper.feed(alert)
    return grouper.events()
