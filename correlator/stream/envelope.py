"""What the worker writes to Kafka: CloudEvents for incidents, annotated dead letters.

Incident events are CloudEvents 1.0 in structured mode (the whole event is the JSON
record value, announced by the ``content-type`` header), so any CloudEvents SDK, or a
plain JSON consumer, can read them. The record key is the incident id: a compacted
copy of the topic keeps the latest state of every incident, and all versions of one
incident stay in order on one partition. ``id`` is ``<incident>:<version>``, so a
consumer that sees a duplicate (at-least-once delivery) recognises it.

Dead letters keep the original bytes untouched and explain themselves in headers, so
that a fixed record can be re-published as is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from correlator.incident import IncidentEvent

__all__ = [
    "CE_CONTENT_TYPE",
    "CE_TYPES",
    "DeadLetter",
    "EnvelopeError",
    "OutputRecord",
    "dead_letter",
    "incident_cloudevent",
    "incident_record",
    "parse_incident_record",
]

CE_SPECVERSION = "1.0"
CE_CONTENT_TYPE = "application/cloudevents+json; charset=UTF-8"
CE_TYPE_PREFIX = "dev.correlator.incident."
#: Incident status -> CloudEvents type.
CE_TYPES: Mapping[str, str] = {
    "open": CE_TYPE_PREFIX + "created",
    "updated": CE_TYPE_PREFIX + "updated",
    "resolved": CE_TYPE_PREFIX + "resolved",
    "merged": CE_TYPE_PREFIX + "merged",
}
DATASCHEMA_HINT = "application/json"

#: Below the broker's default 1 MB record limit, with room for headers and framing.
DEFAULT_MAX_EVENT_BYTES = 900_000

H_REASON = "x-correlator-reason"
H_DETAIL = "x-correlator-detail"
H_SOURCE_TOPIC = "x-source-topic"
H_SOURCE_PARTITION = "x-source-partition"
H_SOURCE_OFFSET = "x-source-offset"
H_SOURCE_TIMESTAMP = "x-source-timestamp"
_DETAIL_LIMIT = 1000

Headers = list[tuple[str, bytes]]


class EnvelopeError(ValueError):
    """A record on the incidents topic that is not one of our CloudEvents."""


@dataclass(frozen=True, slots=True)
class OutputRecord:
    """One record to produce: topic is chosen by the caller."""

    key: bytes | None
    value: bytes
    headers: Headers


def incident_cloudevent(data: Mapping[str, Any], *, source: str) -> dict[str, Any]:
    """The structured-mode CloudEvent of one incident event (``IncidentEvent.to_dict()``).

    ``time`` is the incident's ``updated_at`` in event time, so re-emitting the same
    version after a restart produces byte-identical events.
    """
    return _cloudevent(dict(data), source)


def _cloudevent(data: dict[str, Any], source: str) -> dict[str, Any]:
    """:func:`incident_cloudevent` around ``data`` itself (no copy: serialised at once)."""
    status = str(data["status"])
    try:
        ce_type = CE_TYPES[status]
    except KeyError:
        raise EnvelopeError(f"unknown incident status {status!r}") from None
    incident_id = str(data["id"])
    return {
        "specversion": CE_SPECVERSION,
        "id": f"{incident_id}:{data['version']}",
        "source": source,
        "type": ce_type,
        "subject": incident_id,
        "time": data.get("updated_at"),
        "datacontenttype": DATASCHEMA_HINT,
        "data": data,
    }


def incident_record(
    event: IncidentEvent | Mapping[str, Any],
    *,
    source: str,
    max_bytes: int = DEFAULT_MAX_EVENT_BYTES,
) -> OutputRecord:
    """The Kafka record for one incident event (key = incident id).

    A giant incident (thousands of member alerts) can outgrow what a broker accepts
    (1 MB by default). Rather than failing delivery, the member list is cut to fit and
    ``data.alerts_truncated`` says how many members were left out; the counts in
    ``data.stats`` stay exact. Everything else (root cause, evidence) is kept whole.
    ``event`` may also be an enriched event dict (:meth:`correlator.enrich.Enricher.enrich`).
    """
    if isinstance(event, IncidentEvent):
        data = event.to_dict()
    else:  # only read (and serialised before returning): no private copy needed
        data = event if type(event) is dict else dict(event)
    value = orjson.dumps(_cloudevent(data, source))
    if len(value) > max_bytes:
        value = _fit(data, source, max_bytes)
    return OutputRecord(
        key=str(data["id"]).encode("utf-8"),
        value=value,
        headers=[("content-type", CE_CONTENT_TYPE.encode("ascii"))],
    )


def _fit(data: dict[str, Any], source: str, max_bytes: int) -> bytes:
    members = list(data["alerts"])
    low, high = 0, len(members)
    best: bytes | None = None
    while low <= high:  # the most members that still fit
        keep = (low + high) // 2
        trial = {**data, "alerts": members[:keep], "alerts_truncated": len(members) - keep}
        value = orjson.dumps(_cloudevent(trial, source))
        if len(value) <= max_bytes:
            best, low = value, keep + 1
        else:
            high = keep - 1
    if best is None:
        trial = {**data, "alerts": [], "alerts_truncated": len(members)}
        best = orjson.dumps(_cloudevent(trial, source))
    return best


def parse_incident_record(value: bytes | None) -> dict[str, Any]:
    """Read back a record written by :func:`incident_record`; returns the CloudEvent."""
    if value is None:
        raise EnvelopeError("empty record (tombstone)")
    try:
        doc = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise EnvelopeError(f"not JSON: {exc}") from None
    if type(doc) is not dict or doc.get("specversion") != CE_SPECVERSION:
        raise EnvelopeError("not a CloudEvents 1.0 structured-mode event")
    if not str(doc.get("type", "")).startswith(CE_TYPE_PREFIX) or type(doc.get("data")) is not dict:
        raise EnvelopeError(f"not a Correlator incident event (type {doc.get('type')!r})")
    return doc


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """Where a rejected record came from and why it was rejected."""

    reason: str
    detail: str
    topic: str
    partition: int
    offset: int
    timestamp_ms: int | None


def dead_letter(letter: DeadLetter, raw: bytes, key: bytes | None = None) -> OutputRecord:
    """The DLQ record: the original bytes and key, with the reason and origin in headers."""
    detail = letter.detail
    if len(detail) > _DETAIL_LIMIT:
        detail = detail[: _DETAIL_LIMIT - 3] + "..."
    headers: Headers = [
        (H_REASON, letter.reason.encode("utf-8")),
        (H_DETAIL, detail.encode("utf-8", "replace")),
        (H_SOURCE_TOPIC, letter.topic.encode("utf-8")),
        (H_SOURCE_PARTITION, str(letter.partition).encode("ascii")),
        (H_SOURCE_OFFSET, str(letter.offset).encode("ascii")),
    ]
    if letter.timestamp_ms is not None:
        headers.append((H_SOURCE_TIMESTAMP, str(letter.timestamp_ms).encode("ascii")))
    return OutputRecord(key=key, value=raw, headers=headers)
