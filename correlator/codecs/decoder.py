"""The decode boundary: bytes or parsed JSON in, alerts or a rejection out.

Format detection is by content, per record, in this order: CloudEvents
(``specversion``), Alertmanager (``version == "4"``), Grafana
(``version == "1"`` with ``alerts`` or ``orgId``), PagerDuty
(``event_action``), canonical alert or array of canonical alerts.

Nothing here raises for any input: codecs report problems as
:class:`~correlator.codecs.fields.Problem`, and a last catch-all turns any
unexpected exception into an ``invalid_field`` rejection whose detail starts
with ``internal error`` (a bug to fix, never the normal path).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from itertools import islice
from typing import Any

from correlator.codecs.alertmanager import decode_webhook
from correlator.codecs.canonical import decode_canonical, looks_canonical
from correlator.codecs.cloudevents import unwrap
from correlator.codecs.depth import value_exceeds_depth
from correlator.codecs.fields import Problem, describe, snip
from correlator.codecs.jsonparse import parse_json
from correlator.codecs.options import DecodeOptions
from correlator.codecs.pagerduty import decode_event
from correlator.codecs.result import Decoded, Rejection, RejectReason
from correlator.model import Alert

__all__ = ["FORMATS", "decode", "decode_value"]

FORMATS = ("alertmanager", "grafana", "pagerduty", "cloudevents", "canonical")

_DEFAULT_OPTIONS = DecodeOptions()
_DETAIL_LIMIT = 400
_KEYS_SHOWN = 8
_EXPECTED = (
    "expected an Alertmanager v4 or Grafana webhook, a PagerDuty Events v2 event, "
    "a CloudEvents 1.0 envelope or a canonical alert"
)

_Decoder = Callable[[Any, DecodeOptions, datetime | None], tuple[Alert, ...]]
_DECODERS: dict[str, _Decoder] = {
    "alertmanager": lambda value, options, _: decode_webhook(value, options, "alertmanager"),
    "grafana": lambda value, options, _: decode_webhook(value, options, "grafana"),
    "pagerduty": lambda value, _, received_at: decode_event(value, received_at),
    "canonical": lambda value, options, _: decode_canonical(value, options),
}


def _keys_text(value: dict[Any, Any]) -> str:
    shown = ", ".join(snip(key, 24) for key in islice(value, _KEYS_SHOWN))
    more = len(value) - _KEYS_SHOWN
    return f"[{shown}{f', ... +{more} more' if more > 0 else ''}]"


def _unknown_detail(value: object) -> str:
    if type(value) is dict:
        if not value:
            return f"empty JSON object; {_EXPECTED}"
        if "alerts" in value and "version" in value:
            return (
                f"webhook-like object with 'alerts' but version {describe(value['version'])}; "
                "expected '4' (Alertmanager) or '1' (Grafana)"
            )
        if "routing_key" in value and "event_action" not in value:
            return (
                "PagerDuty-like object without event_action (a change event?); "
                "only alert events (trigger/acknowledge/resolve) are accepted"
            )
        return f"JSON object with keys {_keys_text(value)}; {_EXPECTED}"
    if type(value) is list:
        first = value[0]
        if type(first) is dict:
            return (
                f"JSON array whose first element is an object with keys {_keys_text(first)}; "
                "only arrays of canonical alerts are accepted"
            )
        return f"JSON array of {describe(first)}; only arrays of canonical alerts are accepted"
    return f"top-level JSON value is {describe(value)}; {_EXPECTED}"


def detect(value: object) -> str:
    """The wire format of a parsed payload, or :class:`Problem` (unknown_format)."""
    if type(value) is dict:
        if "specversion" in value:
            return "cloudevents"
        version = value.get("version")
        if version == "4":
            return "alertmanager"
        if version == "1" and ("alerts" in value or "orgId" in value):
            return "grafana"
        if "event_action" in value:
            return "pagerduty"
        if looks_canonical(value):
            return "canonical"
    elif type(value) is list and (
        not value or (type(value[0]) is dict and looks_canonical(value[0]))
    ):
        return "canonical"
    raise Problem(RejectReason.UNKNOWN_FORMAT, _unknown_detail(value))


def _decode_any(
    value: object, options: DecodeOptions, received_at: datetime | None, *, nested: bool
) -> tuple[str, tuple[Alert, ...]]:
    fmt = detect(value)
    try:
        if fmt != "cloudevents":
            return fmt, _DECODERS[fmt](value, options, received_at)
        if nested:
            raise Problem(
                RejectReason.INVALID_FIELD,
                "a CloudEvent inside a CloudEvent's data is not accepted (one level only)",
            )
        assert type(value) is dict
        data, inner_received_at = unwrap(value, options, received_at)
        try:
            _, alerts = _decode_any(data, options, inner_received_at, nested=True)
        except Problem as inner:
            label = f"data ({inner.format})" if inner.format else "data"
            raise Problem(inner.reason, f"{label}: {inner.detail}") from None
        return fmt, alerts
    except Problem as problem:
        if problem.format is None:
            problem.format = fmt
        raise


def _check_received_at(received_at: object) -> datetime | None:
    if received_at is None:
        return None
    if (
        not isinstance(received_at, datetime)
        or received_at.tzinfo is None
        or received_at.utcoffset() is None
    ):
        raise Problem(
            RejectReason.INVALID_FIELD,
            f"received_at: must be a timezone-aware datetime, got {snip(received_at)}",
        )
    try:
        return received_at.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise Problem(
            RejectReason.INVALID_FIELD, f"received_at: cannot convert to UTC: {exc}"
        ) from None


def _rejection(problem: Problem, raw: bytes) -> Rejection:
    return Rejection(problem.reason, problem.detail[:_DETAIL_LIMIT], raw, problem.format)


def _internal(exc: BaseException, raw: bytes) -> Rejection:
    text = f"internal error while decoding ({type(exc).__name__}): {snip(str(exc), 120)}"
    return Rejection(RejectReason.INVALID_FIELD, text, raw, None)


def _decode_parsed(
    value: object, options: DecodeOptions, raw: bytes, received_at: object
) -> Decoded | Rejection:
    try:
        fmt, alerts = _decode_any(value, options, _check_received_at(received_at), nested=False)
    except Problem as problem:
        return _rejection(problem, raw)
    return Decoded(fmt, alerts)


def _as_bytes(raw: object) -> bytes | None:
    if type(raw) is bytes:
        return raw
    if isinstance(raw, bytes | bytearray | memoryview):
        return bytes(raw)
    if isinstance(raw, str):
        # Lone surrogates survive as invalid UTF-8 and are reported as such.
        return raw.encode("utf-8", "surrogatepass")
    return None


def decode(
    raw: bytes,
    options: DecodeOptions = _DEFAULT_OPTIONS,
    *,
    received_at: datetime | None = None,
) -> Decoded | Rejection:
    """Decode one payload (any supported format) into alerts, or say why not.

    ``received_at`` is when the payload arrived (e.g. the Kafka record
    timestamp); formats without their own event time use it. Never raises.
    """
    data = _as_bytes(raw)
    if data is None:
        return Rejection(
            RejectReason.INVALID_FIELD,
            f"payload must be bytes, got {type(raw).__name__}",
            b"",
            None,
        )
    try:
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
            return _rejection(problem, data)
        return _decode_parsed(value, options, data, received_at)
    except Exception as exc:
        return _internal(exc, data)


def decode_value(
    value: object,
    options: DecodeOptions = _DEFAULT_OPTIONS,
    *,
    raw: bytes = b"",
    received_at: datetime | None = None,
) -> Decoded | Rejection:
    """Decode an already-parsed JSON value (batch decoders, HTTP frameworks).

    ``raw`` is only carried into a :class:`Rejection`. The depth limit is
    checked by walking the value; the size limit is the caller's business.
    Never raises.
    """
    original = raw if type(raw) is bytes else (_as_bytes(raw) or b"")
    try:
        if value_exceeds_depth(value, options.max_depth):
            return Rejection(
                RejectReason.TOO_DEEP,
                f"value nests deeper than max_depth={options.max_depth}",
                original,
                None,
            )
        return _decode_parsed(value, options, original, received_at)
    except Exception as exc:
        return _internal(exc, original)
