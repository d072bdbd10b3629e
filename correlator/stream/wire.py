"""The internal repartition record: decoded alerts on their way to the engine that owns them.

Raw input is decoded once, in the first stage; the second stage must not pay for format
detection and RFC 3339 parsing again, and must see exactly the alerts the first stage saw.
So alerts travel in a compact positional JSON form with times as integer microseconds since
the epoch (exact, unlike float seconds), several alerts per record to cut the per-record
overhead of the stream framework. Each alert keeps the coordinates of the record it came
from, for dead-letter headers and latency metrics.

This format is private to one deployment's workers: it is versioned (``"v"``) and a
record of another version is refused rather than guessed at.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any

import orjson

from correlator.model import Alert, Severity, Status

__all__ = ["WIRE_VERSION", "Origin", "WireAlert", "WireError", "decode_batch", "encode_alerts"]

WIRE_VERSION = 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)
_SEVERITIES = {s.value: s for s in Severity}
_STATUSES = {s.value: s for s in Status}
_FIELDS = 15


class WireError(ValueError):
    """A repartition record that this version cannot read."""


@dataclass(frozen=True, slots=True)
class Origin:
    """Where an alert entered the pipeline: the raw input record, and its place in it."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int | None
    #: Position of the alert among the alerts decoded from that record.
    index: int = 0

    @property
    def position(self) -> tuple[int, int]:
        """Total order of alerts from one input partition: (record offset, index)."""
        return (self.offset, self.index)


@dataclass(frozen=True, slots=True)
class WireAlert:
    alert: Alert
    origin: Origin


def to_micros(value: datetime) -> int:
    return (value - _EPOCH) // _MICRO


def from_micros(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


def _row(item: WireAlert) -> list[Any]:
    a = item.alert
    o = item.origin
    return [
        a.fingerprint,
        a.source,
        a.service,
        a.name,
        a.severity.value,
        a.status.value,
        to_micros(a.starts_at),
        None if a.ends_at is None else to_micros(a.ends_at),
        dict(a.labels),
        dict(a.annotations),
        a.summary,
        o.partition,
        o.offset,
        o.timestamp_ms,
        o.index,
    ]


def encode_alerts(topic: str, items: Sequence[WireAlert], max_bytes: int) -> Iterator[bytes]:
    """Encode alerts (all from input ``topic``) as records of at most ``max_bytes`` each.

    Order is kept, within and across records. One alert larger than the bound still
    travels, alone in its record (the broker's own limit is the real ceiling).
    """
    head = orjson.dumps({"v": WIRE_VERSION, "t": topic})[:-1] + b',"a":['
    rows: list[bytes] = []
    size = len(head) + 2
    for item in items:
        row = orjson.dumps(_row(item))
        if rows and size + len(row) + 1 > max_bytes:
            yield head + b",".join(rows) + b"]}"
            rows = []
            size = len(head) + 2
        rows.append(row)
        size += len(row) + 1
    if rows:
        yield head + b",".join(rows) + b"]}"


def decode_batch(value: bytes) -> list[WireAlert]:
    """Decode one repartition record; raises :class:`WireError` when it is not one."""
    try:
        doc = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise WireError(f"not JSON: {exc}") from None
    if type(doc) is not dict or doc.get("v") != WIRE_VERSION:
        version = doc.get("v") if type(doc) is dict else None
        raise WireError(f"unsupported repartition record version {version!r}")
    topic = doc.get("t")
    rows = doc.get("a")
    if type(topic) is not str or type(rows) is not list:
        raise WireError("repartition record lacks 't' or 'a'")
    out: list[WireAlert] = []
    for index, row in enumerate(rows):
        try:
            out.append(_from_row(topic, row))
        except (TypeError, ValueError, KeyError, OverflowError) as exc:
            raise WireError(f"alert {index}: {exc}") from None
    return out


def _from_row(topic: str, row: Any) -> WireAlert:
    if type(row) is not list or len(row) != _FIELDS:
        raise ValueError(f"expected a list of {_FIELDS} fields")
    (
        fp,
        source,
        service,
        name,
        severity,
        status,
        starts,
        ends,
        labels,
        annotations,
        summary,
        partition,
        offset,
        ts,
        index,
    ) = row
    for text in (fp, source, service, name, summary):
        if type(text) is not str:
            raise TypeError("text field is not a string")
    if type(labels) is not dict or type(annotations) is not dict:
        raise TypeError("labels/annotations must be objects")
    alert = Alert(
        fingerprint=fp,
        source=source,
        service=service,
        name=name,
        severity=_SEVERITIES[severity],
        status=_STATUSES[status],
        starts_at=from_micros(int(starts)),
        ends_at=None if ends is None else from_micros(int(ends)),
        labels=MappingProxyType(labels),
        annotations=MappingProxyType(annotations),
        summary=summary,
    )
    origin = Origin(topic, int(partition), int(offset), None if ts is None else int(ts), int(index))
    return WireAlert(alert, origin)
