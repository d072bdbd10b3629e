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

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any

import orjson

from correlator.memo import BoundedMemo
from correlator.model import Alert, Severity, Status

__all__ = [
    "WIRE_VERSION",
    "Origin",
    "WireAlert",
    "WireError",
    "decode_batch",
    "encode_alerts",
    "encode_row",
    "pack_rows",
]

WIRE_VERSION = 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)
_SEVERITIES = {s.value: s for s in Severity}
_STATUSES = {s.value: s for s in Status}
_FIELDS = 15
#: Bound of the time conversion memos (alerts are re-sent with the same times).
_CACHE_LIMIT = 65_536


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


_MICROS_OF: BoundedMemo[datetime, int] = BoundedMemo(to_micros, _CACHE_LIMIT)
_TIME_OF: BoundedMemo[int, datetime] = BoundedMemo(from_micros, _CACHE_LIMIT)


def encode_row(
    alert: Alert, partition: int, offset: int, timestamp_ms: int | None, index: int
) -> bytes:
    """One alert's row of a repartition record, with the coordinates of its origin."""
    return orjson.dumps(
        [
            alert.fingerprint,
            alert.source,
            alert.service,
            alert.name,
            alert.severity,  # a StrEnum: orjson writes its value
            alert.status,
            _MICROS_OF[alert.starts_at],
            None if alert.ends_at is None else _MICROS_OF[alert.ends_at],
            dict(alert.labels),
            dict(alert.annotations),
            alert.summary,
            partition,
            offset,
            timestamp_ms,
            index,
        ]
    )


def pack_rows(topic: str, rows: Iterable[bytes], max_bytes: int) -> Iterator[bytes]:
    """Pack :func:`encode_row` rows (all from input ``topic``) into records of at most
    ``max_bytes`` each.

    Order is kept, within and across records. One row larger than the bound still
    travels, alone in its record (the broker's own limit is the real ceiling).
    """
    head = orjson.dumps({"v": WIRE_VERSION, "t": topic})[:-1] + b',"a":['
    batch: list[bytes] = []
    size = len(head) + 2
    for row in rows:
        if batch and size + len(row) + 1 > max_bytes:
            yield head + b",".join(batch) + b"]}"
            batch = []
            size = len(head) + 2
        batch.append(row)
        size += len(row) + 1
    if batch:
        yield head + b",".join(batch) + b"]}"


def encode_alerts(topic: str, items: Sequence[WireAlert], max_bytes: int) -> Iterator[bytes]:
    """Encode alerts (all from input ``topic``) as records of at most ``max_bytes`` each.

    Order is kept, within and across records. One alert larger than the bound still
    travels, alone in its record (the broker's own limit is the real ceiling).
    """
    rows = (
        encode_row(item.alert, o.partition, o.offset, o.timestamp_ms, o.index)
        for item in items
        for o in (item.origin,)
    )
    return pack_rows(topic, rows, max_bytes)


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
        item = _from_plain_row(topic, row)
        if item is None:
            try:
                item = _from_row(topic, row)
            except (TypeError, ValueError, KeyError, OverflowError) as exc:
                raise WireError(f"alert {index}: {exc}") from None
        out.append(item)
    return out


def _is_row(row: Any) -> bool:
    """A list of the row's fields, in the order :func:`encode_row` writes them."""
    return type(row) is list and len(row) == _FIELDS


def _from_plain_row(topic: str, row: Any) -> WireAlert | None:
    """A row exactly as :func:`encode_alerts` writes it, without the checked path's costs.

    Every value is checked by type (JSON gives nothing else for a good row), so the
    alert can skip the model's re-validation (:meth:`Alert.from_canonical`): the
    fingerprint is non-empty, times come from the UTC epoch, maps are fresh dicts.
    Anything else gives None, and :func:`_from_row` then decodes the row or says
    precisely why it cannot.
    """
    if not _is_row(row):
        return None
    (fp, source, service, name, severity, status, starts, ends, labels, annotations,
     summary, partition, offset, ts, index) = row
    if (
        type(fp) is not str
        or not fp
        or type(source) is not str
        or type(service) is not str
        or type(name) is not str
        or type(summary) is not str
        or type(severity) is not str
        or type(status) is not str
        or type(labels) is not dict
        or type(annotations) is not dict
        or type(starts) is not int
        or (ends is not None and type(ends) is not int)
        or type(partition) is not int
        or type(offset) is not int
        or (ts is not None and type(ts) is not int)
        or type(index) is not int
    ):
        return None
    level = _SEVERITIES.get(severity)
    state = _STATUSES.get(status)
    if level is None or state is None:
        return None
    try:
        starts_at = _TIME_OF[starts]
        ends_at = None if ends is None else _TIME_OF[ends]
    except (OverflowError, ValueError):
        return None
    alert = Alert.from_canonical(
        fingerprint=fp,
        source=source,
        service=service,
        name=name,
        severity=level,
        status=state,
        starts_at=starts_at,
        ends_at=ends_at,
        labels=MappingProxyType(labels),
        annotations=MappingProxyType(annotations),
        summary=summary,
    )
    return WireAlert(alert, Origin(topic, partition, offset, ts, index))


def _from_row(topic: str, row: Any) -> WireAlert:
    if not _is_row(row):
        raise ValueError(f"expected a list of {_FIELDS} fields")
    (fp, source, service, name, severity, status, starts, ends, labels, annotations,
     summary, partition, offset, ts, index) = row
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
