"""The change decode boundary: bytes in, a :class:`Change` or a rejection out.

Format detection is by content, in this order: CloudEvents envelope
(``specversion``; its ``data`` is decoded as any format below, one level
only), CDEvents (``context`` + ``subject``), PagerDuty change event
(``payload``, no ``event_action``), canonical change record. A PagerDuty
*alert* event is rejected by name, since it is the usual mistake.

Like :func:`correlator.codecs.decode`, it never raises: size is checked
before parsing, depth before the native parser recurses (the alert codecs'
guards), and any unexpected exception becomes an ``invalid_field``
rejection whose detail starts with ``internal error``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import islice
from typing import Any

from correlator.changes.canonical import decode_canonical_change, looks_canonical_change
from correlator.changes.cdevents import decode_cdevent, looks_cdevent
from correlator.changes.model import Change
from correlator.changes.pagerduty import decode_pagerduty_change, looks_pagerduty_change
from correlator.codecs import DecodeOptions, Rejection, RejectReason
from correlator.codecs.cloudevents import unwrap
from correlator.codecs.depth import value_exceeds_depth
from correlator.codecs.fields import Problem, describe, snip
from correlator.codecs.jsonparse import parse_json

__all__ = ["CHANGE_FORMATS", "decode_change", "decode_change_value", "detect_change_format"]

CHANGE_FORMATS = ("canonical", "cdevents", "pagerduty", "cloudevents")

_DEFAULT_OPTIONS = DecodeOptions()
_DETAIL_LIMIT = 400
_EXPECTED = (
    "expected a canonical change record, a CDEvents service event, "
    "a PagerDuty change event or a CloudEvents 1.0 envelope of one"
)


def detect_change_format(value: object) -> str:
    """The change format of a parsed payload, or :class:`Problem` (unknown_format)."""
    if type(value) is not dict:
        raise Problem(
            RejectReason.UNKNOWN_FORMAT, f"top-level JSON value is {describe(value)}; {_EXPECTED}"
        )
    if "specversion" in value:
        return "cloudevents"
    if looks_cdevent(value):
        return "cdevents"
    if "event_action" in value:
        raise Problem(
            RejectReason.UNKNOWN_FORMAT,
            "a PagerDuty alert event (it has event_action); change events go to "
            "/v2/change/enqueue and have none",
        )
    if looks_pagerduty_change(value):
        return "pagerduty"
    if looks_canonical_change(value):
        return "canonical"
    if not value:
        raise Problem(RejectReason.UNKNOWN_FORMAT, f"empty JSON object; {_EXPECTED}")
    keys = ", ".join(snip(key, 24) for key in islice(value, 8))
    raise Problem(RejectReason.UNKNOWN_FORMAT, f"JSON object with keys [{keys}]; {_EXPECTED}")


def _decode_any(
    value: object, options: DecodeOptions, received_at: datetime | None, *, nested: bool
) -> Change:
    fmt = detect_change_format(value)
    assert type(value) is dict
    try:
        if fmt == "cdevents":
            return decode_cdevent(value)
        if fmt == "pagerduty":
            return decode_pagerduty_change(value, received_at)
        if fmt == "canonical":
            return decode_canonical_change(value)
        if nested:
            raise Problem(
                RejectReason.INVALID_FIELD,
                "a CloudEvent inside a CloudEvent's data is not accepted (one level only)",
            )
        data, inner_received_at = unwrap(value, options, received_at)
        try:
            return _decode_any(data, options, inner_received_at, nested=True)
        except Problem as inner:
            label = f"data ({inner.format})" if inner.format else "data"
            raise Problem(inner.reason, f"{label}: {inner.detail}") from None
    except Problem as problem:
        if problem.format is None:
            problem.format = fmt
        raise


def _received(received_at: object) -> datetime | None:
    if received_at is None:
        return None
    if not isinstance(received_at, datetime) or received_at.utcoffset() is None:
        raise Problem(
            RejectReason.INVALID_FIELD,
            f"received_at: must be a timezone-aware datetime, got {snip(received_at)}",
        )
    return received_at.astimezone(UTC)


def _decode_parsed(
    value: object, options: DecodeOptions, raw: bytes, received_at: object
) -> Change | Rejection:
    try:
        return _decode_any(value, options, _received(received_at), nested=False)
    except Problem as problem:
        return Rejection(problem.reason, problem.detail[:_DETAIL_LIMIT], raw, problem.format)


def _internal(exc: BaseException, raw: bytes) -> Rejection:
    text = f"internal error while decoding a change ({type(exc).__name__}): {snip(str(exc), 120)}"
    return Rejection(RejectReason.INVALID_FIELD, text, raw, None)


def decode_change(
    raw: bytes,
    options: DecodeOptions = _DEFAULT_OPTIONS,
    *,
    received_at: datetime | None = None,
) -> Change | Rejection:
    """Decode one change payload (any supported format), or say why not. Never raises.

    ``received_at`` (e.g. the Kafka record timestamp) stands in for the time
    of a PagerDuty change event without ``payload.timestamp``.
    """
    given: object = raw  # typed bytes; other buffers and str are accepted too
    data: Any = given
    try:
        if isinstance(given, bytearray | memoryview):
            data = bytes(given)
        elif isinstance(given, str):
            data = given.encode("utf-8", "surrogatepass")
        if type(data) is not bytes:
            return Rejection(
                RejectReason.INVALID_FIELD,
                f"payload must be bytes, got {type(raw).__name__}",
                b"",
                None,
            )
        if len(data) > options.max_bytes:
            return Rejection(
                RejectReason.TOO_LARGE,
                f"payload is {len(data)} bytes, more than max_bytes={options.max_bytes}",
                data,
                None,
            )
        try:
            value = parse_json(data, options.max_depth)
        except Problem as problem:
            return Rejection(problem.reason, problem.detail[:_DETAIL_LIMIT], data, None)
        return _decode_parsed(value, options, data, received_at)
    except Exception as exc:
        return _internal(exc, data if type(data) is bytes else b"")


def decode_change_value(
    value: object,
    options: DecodeOptions = _DEFAULT_OPTIONS,
    *,
    raw: bytes = b"",
    received_at: datetime | None = None,
) -> Change | Rejection:
    """Decode an already-parsed JSON value; ``raw`` is only carried into a rejection."""
    try:
        if value_exceeds_depth(value, options.max_depth):
            return Rejection(
                RejectReason.TOO_DEEP,
                f"value nests deeper than max_depth={options.max_depth}",
                raw,
                None,
            )
        return _decode_parsed(value, options, raw, received_at)
    except Exception as exc:
        return _internal(exc, raw)
