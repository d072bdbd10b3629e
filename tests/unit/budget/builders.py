"""Incident-event dicts (the published JSON shape) for budget and gate tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from correlator.codecs import format_rfc3339

T0 = datetime(2026, 9, 1, 10, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def iso(seconds: float | None) -> str | None:
    return None if seconds is None else format_rfc3339(at(seconds))


def incident(iid: str, *, root: str, services: list[str], opened: float,
             resolved: float | None = None, updated: float | None = None,
             severity: str = "critical", version: int = 1,
             status: str | None = None) -> dict[str, Any]:
    """An incident event; times are seconds after 10:00."""
    return {
        "id": iid,
        "version": version,
        "status": status or ("resolved" if resolved is not None else "open"),
        "opened_at": iso(opened),
        "updated_at": iso(updated if updated is not None else (resolved or opened)),
        "resolved_at": iso(resolved),
        "severity": severity,
        "root_cause": {"service": root, "fingerprint": "f", "score": 1.0},
        "candidates": [{"service": root}],
        "services": sorted(services),
        "unknown_services": [],
    }
