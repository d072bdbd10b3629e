"""Small builders shared by the unit, property and golden tests."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from correlator.config import EngineConfig
from correlator.engine import Engine
from correlator.incident import IncidentEvent
from correlator.model import Alert, Severity, Status
from topology import Service, Topology

T0 = datetime(2026, 9, 1, 10, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def topo(edges: Mapping[str, Iterable[str]], kinds: Mapping[str, str] | None = None) -> Topology:
    """Build a topology from ``{service: [dependencies...]}``; leaves may be implicit."""
    names = set(edges)
    for deps in edges.values():
        names.update(deps)
    kinds = kinds or {}
    return Topology.from_services(
        Service(id=n, kind=kinds.get(n, "service"), depends_on=tuple(sorted(edges.get(n, ()))))
        for n in sorted(names)
    )


def alert(
    fp: str,
    service: str,
    start: float,
    *,
    status: str = "firing",
    end: float | None = None,
    severity: str = "warning",
    name: str = "HighErrorRate",
    labels: Mapping[str, str] | None = None,
) -> Alert:
    st = Status(status)
    ends = at(end) if end is not None else (at(start + 60) if st is Status.RESOLVED else None)
    return Alert(
        fingerprint=fp,
        source="test",
        service=service,
        name=name,
        severity=Severity(severity),
        status=st,
        starts_at=at(start),
        ends_at=ends,
        labels=dict(labels or {"service": service, "alertname": name}),
        summary=f"{name} on {service}",
    )


def resolved(fp: str, service: str, start: float, end: float, **kw: Any) -> Alert:
    return alert(fp, service, start, status="resolved", end=end, **kw)


def run(
    topology: Topology, alerts: Iterable[Alert], config: EngineConfig | None = None
) -> tuple[Engine, list[IncidentEvent]]:
    """Ingest in order, advancing after each alert, then flush; return all events."""
    engine = Engine(topology, config)
    events: list[IncidentEvent] = []
    for a in alerts:
        engine.ingest(a)
        events.extend(engine.advance())
    events.extend(engine.flush())
    return engine, events


def final_state(events: Iterable[IncidentEvent]) -> dict[str, IncidentEvent]:
    """Last version per incident id, merged ones excluded."""
    last: dict[str, IncidentEvent] = {}
    for e in events:
        if e.id not in last or e.version > last[e.id].version:
            last[e.id] = e
    return {i: e for i, e in last.items() if e.status.value != "merged"}


def groups(events: Iterable[IncidentEvent]) -> list[frozenset[str]]:
    """The final grouping as a sorted list of fingerprint sets."""
    return sorted(
        (frozenset(m.fingerprint for m in e.alerts) for e in final_state(events).values()),
        key=sorted,
    )
