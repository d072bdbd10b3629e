"""Reduce a stream of incident events to the final incidents worth scoring.

Every event is a full snapshot, so an incident's final state is simply its
highest ``version`` (a later line wins a tie, as a subscriber applying events
in order would see). Incidents that ended ``merged`` live on inside the
incident they were merged into, so scoring skips them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson


class EventsError(ValueError):
    """An incidents file cannot be read; the message names the line and the problem."""


def parse_time(value: object, what: str) -> datetime:
    """Parse an RFC 3339 timestamp from an event into an aware UTC datetime."""
    if not isinstance(value, str):
        raise EventsError(f"{what}: expected an RFC 3339 time, got {value!r}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise EventsError(f"{what}: not an RFC 3339 time: {value!r}") from None
    if parsed.tzinfo is None:
        raise EventsError(f"{what}: time without a UTC offset: {value!r}")
    return parsed.astimezone(UTC)


def final_incidents(events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The last version of every incident, merged ones dropped, in (opened_at, id) order."""
    latest: dict[str, dict[str, Any]] = {}
    for index, event in enumerate(events):
        incident_id = event.get("id")
        if not isinstance(incident_id, str):
            raise EventsError(f"event {index + 1}: missing incident 'id'")
        version = event.get("version", 0)
        if not isinstance(version, int):
            raise EventsError(f"event {index + 1} ({incident_id}): 'version' must be an integer")
        current = latest.get(incident_id)
        if current is None or version >= current.get("version", 0):
            latest[incident_id] = event
    kept = [e for e in latest.values() if e.get("status") != "merged"]
    return sorted(kept, key=lambda e: (str(e.get("opened_at", "")), str(e["id"])))


def read_events(path: Path) -> Iterator[dict[str, Any]]:
    """Yield the JSON objects of a JSON Lines file; blank lines are skipped."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise EventsError(f"cannot read {path}: {exc.strerror}") from None
    with handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                value = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise EventsError(f"{path}:{number}: not JSON: {exc}") from None
            if not isinstance(value, dict):
                raise EventsError(f"{path}:{number}: expected a JSON object per line")
            yield value
