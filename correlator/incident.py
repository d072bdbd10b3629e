"""The engine's output: immutable incident events.

Every material change of an incident produces one :class:`IncidentEvent`
carrying the *full* snapshot of the incident, so that a subscriber needs only
the latest event per id, and can apply events idempotently by
``(id, version)``. The JSON form (``to_dict``) is the published schema; its
``schema_version`` changes only on incompatible changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any

SCHEMA_VERSION = 1


class IncidentStatus(StrEnum):
    OPEN = "open"
    UPDATED = "updated"
    RESOLVED = "resolved"
    MERGED = "merged"


class JoinReason(StrEnum):
    """Why an alert became a member of its incident."""

    FIRST = "first"  # the alert that opened the incident
    SAME_SERVICE = "same_service"  # same service as an existing member
    TOPOLOGY = "topology"  # explained by a member on a service it depends on (path, hops)
    NEARBY = "nearby"  # no explainer; a member within max_hops in any direction, close in time
    TIME = "time"  # a service outside the topology, joined by time proximity alone
    LATE = "late"  # arrived after the watermark and opened its own incident


def iso(ts: float | None) -> str | None:
    """Format epoch seconds as RFC 3339 UTC with millisecond precision."""
    if ts is None:
        return None
    return _iso(ts)


@lru_cache(maxsize=1 << 16)
def _iso(ts: float) -> str:
    # Every emission re-formats the start and end of every member, and members
    # outlive many emissions: a bounded cache turns most of that into a lookup.
    dt = datetime.fromtimestamp(ts, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


@dataclass(frozen=True, slots=True)
class JoinedBy:
    reason: JoinReason
    via: str | None = None  # fingerprint of the member it related to
    hops: int | None = None
    path: tuple[str, ...] | None = None  # dependency path between the two services

    def to_dict(self) -> dict[str, Any]:
        return {
            "reason": self.reason.value,
            "via": self.via,
            "hops": self.hops,
            "path": list(self.path) if self.path is not None else None,
        }


@dataclass(frozen=True, slots=True)
class MemberView:
    """One member alert as published in an incident event."""

    fingerprint: str
    service: str
    known_service: bool
    name: str
    severity: str
    status: str
    starts_at: float
    ends_at: float | None
    count: int
    flapping: bool
    late: bool
    summary: str
    joined: JoinedBy
    # The published form, kept once built: a member outlives many events, and an
    # incident of thousands of members would re-format every one of them per event.
    _doc: dict[str, Any] | None = field(default=None, init=False, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The published form (a new dict each call; its nested values are shared)."""
        doc = self._doc
        if doc is None:
            doc = self._build_doc()
            object.__setattr__(self, "_doc", doc)
        return dict(doc)

    def _build_doc(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "service": self.service,
            "known_service": self.known_service,
            "name": self.name,
            "severity": self.severity,
            "status": self.status,
            "starts_at": iso(self.starts_at),
            "ends_at": iso(self.ends_at),
            "count": self.count,
            "flapping": self.flapping,
            "late": self.late,
            "summary": self.summary,
            "joined": self.joined.to_dict(),
        }


@dataclass(frozen=True, slots=True)
class Explanation:
    """Evidence that a candidate explains one symptom service."""

    service: str
    path: tuple[str, ...]
    offset_seconds: float  # symptom's first alert minus the candidate's first alert

    def to_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "path": list(self.path),
            "hops": len(self.path) - 1,
            "offset_seconds": round(self.offset_seconds, 3),
        }


@dataclass(frozen=True, slots=True)
class Candidate:
    """A ranked root-cause candidate with the evidence behind its score."""

    service: str
    fingerprint: str  # the candidate service's earliest alert
    score: float  # normalised: the candidates' scores sum to 1 over all alerting services
    raw_score: float  # absolute, in [0, 1]
    coverage: float  # share of the other alerting services this one explains
    alerting_dependencies: tuple[str, ...]  # alerting services it depends on itself
    first_alert_offset_seconds: float  # its first alert minus the incident's first alert
    severity: str
    known_service: bool
    explains: tuple[Explanation, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "fingerprint": self.fingerprint,
            "score": round(self.score, 4),
            "evidence": {
                "raw_score": round(self.raw_score, 4),
                "coverage": round(self.coverage, 4),
                "explains": [e.to_dict() for e in self.explains],
                "alerting_dependencies": list(self.alerting_dependencies),
                "first_alert_offset_seconds": round(self.first_alert_offset_seconds, 3),
                "severity": self.severity,
                "known_service": self.known_service,
            },
        }


@dataclass(frozen=True, slots=True)
class IncidentEvent:
    """A full snapshot of one incident at one version."""

    id: str
    version: int
    status: IncidentStatus
    merged_into: str | None
    previous_incident: str | None
    opened_at: float
    updated_at: float
    resolved_at: float | None
    first_emitted_at: float
    severity: str
    title: str
    candidates: tuple[Candidate, ...]
    alerts: tuple[MemberView, ...]
    services: tuple[str, ...]
    unknown_services: tuple[str, ...]
    topology_version: str
    records: int
    resolved_reason: str | None = None
    shed_alerts: int = 0  # members dropped after settling (``member_retention``), not listed

    @property
    def root_cause(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None

    def to_dict(self) -> dict[str, Any]:
        root = self.root_cause
        return {
            "schema_version": SCHEMA_VERSION,
            "id": self.id,
            "version": self.version,
            "status": self.status.value,
            "merged_into": self.merged_into,
            "previous_incident": self.previous_incident,
            "opened_at": iso(self.opened_at),
            "updated_at": iso(self.updated_at),
            "resolved_at": iso(self.resolved_at),
            "resolved_reason": self.resolved_reason,
            "first_emitted_at": iso(self.first_emitted_at),
            "severity": self.severity,
            "title": self.title,
            "root_cause": (
                {
                    "service": root.service,
                    "fingerprint": root.fingerprint,
                    "score": round(root.score, 4),
                }
                if root is not None
                else None
            ),
            "candidates": [c.to_dict() for c in self.candidates],
            "alerts": [m.to_dict() for m in self.alerts],
            "services": list(self.services),
            "unknown_services": list(self.unknown_services),
            "topology_version": self.topology_version,
            "stats": {
                "alerts": len(self.alerts),
                "records": self.records,
                "shed_alerts": self.shed_alerts,
            },
        }
