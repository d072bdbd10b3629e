"""Canonical alert type shared by every codec and the engine.

The alert is deliberately tiny and immutable, like Alertmanager's: it is
identified by its ``fingerprint`` and carries nothing that a codec could not
fill from any supported wire format.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType


class Severity(StrEnum):
    """Normalised severity, ordered from most to least urgent."""

    CRITICAL = "critical"
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Higher is more urgent; used for ordering and scoring."""
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {
    Severity.CRITICAL: 3,
    Severity.ERROR: 2,
    Severity.WARNING: 1,
    Severity.INFO: 0,
}


class Status(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


_EMPTY: Mapping[str, str] = MappingProxyType({})


def require_utc(value: datetime, what: str) -> datetime:
    """Reject naive datetimes and normalise aware ones to UTC.

    Naive datetimes are a classic source of silent skew between senders, so
    the domain refuses them outright instead of guessing a zone.
    """
    if value.tzinfo is UTC:
        return value  # the common case, and a hot path: every alert passes here
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {value.isoformat()}")
    return value.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert notification, normalised from any supported wire format.

    ``service`` is the raw service name the sender used (from labels or the
    payload); the engine maps it onto a topology service via aliases.
    ``ends_at`` is ``None`` while the alert is firing and the sender gave no
    end time (Alertmanager's zero time ``0001-01-01T00:00:00Z``).
    """

    fingerprint: str
    source: str
    service: str
    name: str
    severity: Severity
    status: Status
    starts_at: datetime
    ends_at: datetime | None = None
    labels: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    annotations: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    summary: str = ""

    def __post_init__(self) -> None:
        if not self.fingerprint:
            raise ValueError("alert fingerprint must not be empty")
        object.__setattr__(self, "starts_at", require_utc(self.starts_at, "starts_at"))
        if self.ends_at is not None:
            object.__setattr__(self, "ends_at", require_utc(self.ends_at, "ends_at"))
        if not isinstance(self.labels, MappingProxyType):
            object.__setattr__(self, "labels", MappingProxyType(dict(self.labels)))
        if not isinstance(self.annotations, MappingProxyType):
            object.__setattr__(self, "annotations", MappingProxyType(dict(self.annotations)))

    @classmethod
    def from_canonical(
        cls,
        *,
        fingerprint: str,
        source: str,
        service: str,
        name: str,
        severity: Severity,
        status: Status,
        starts_at: datetime,
        ends_at: datetime | None,
        labels: MappingProxyType[str, str],
        annotations: MappingProxyType[str, str],
        summary: str,
    ) -> Alert:
        """Build an alert from values that are already in the form ``__post_init__`` gives.

        For decoders on the hot path, which have checked every value themselves: the
        fingerprint is non-empty, both times have ``tzinfo is UTC`` and both maps are
        read-only proxies over private dicts. The result equals ``Alert(...)`` of the same
        values; only the (then redundant) re-checks are skipped, which halves the cost of
        building an alert. Anything else must go through the normal constructor.
        """
        alert = object.__new__(cls)
        _set = object.__setattr__
        _set(alert, "fingerprint", fingerprint)
        _set(alert, "source", source)
        _set(alert, "service", service)
        _set(alert, "name", name)
        _set(alert, "severity", severity)
        _set(alert, "status", status)
        _set(alert, "starts_at", starts_at)
        _set(alert, "ends_at", ends_at)
        _set(alert, "labels", labels)
        _set(alert, "annotations", annotations)
        _set(alert, "summary", summary)
        return alert

    @property
    def is_firing(self) -> bool:
        return self.status is Status.FIRING

    @property
    def event_time(self) -> datetime | None:
        """When this notification happened, in event time.

        ``starts_at`` for firing alerts and ``ends_at`` for resolved ones.
        ``None`` for a resolve without an end time (PagerDuty ``resolve``):
        the engine then uses the latest event time it has seen.
        """
        return self.starts_at if self.is_firing else self.ends_at
