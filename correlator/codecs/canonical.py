"""The canonical JSON alert: Correlator's own documented wire format.

It mirrors :class:`~correlator.model.Alert` one to one (the full field list
is in the :mod:`correlator.codecs` docstring). Because we own it, decoding is
strict: unknown keys, wrong types and unknown severities are rejected rather
than guessed, so typos surface at the sender instead of as odd incidents.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, TypeVar

from correlator.codecs.fields import (
    Problem,
    child,
    describe,
    opt_str,
    opt_str_map,
    opt_time,
    req_str,
    req_time,
)
from correlator.codecs.fingerprint import alert_fingerprint
from correlator.codecs.options import DecodeOptions
from correlator.codecs.result import RejectReason
from correlator.codecs.timefmt import format_rfc3339
from correlator.model import Alert, Severity, Status

__all__ = ["CANONICAL_KEYS", "decode_canonical", "encode_canonical", "looks_canonical"]

CANONICAL_KEYS = frozenset(
    {
        "fingerprint",
        "service",
        "name",
        "severity",
        "status",
        "starts_at",
        "ends_at",
        "labels",
        "annotations",
        "summary",
        "source",
    }
)
DEFAULT_SOURCE = "canonical"
_REQUIRED = ("service", "name", "starts_at")
_ALLOWED_TEXT = ", ".join(sorted(CANONICAL_KEYS))
_SEVERITIES = {severity.value: severity for severity in Severity}
_STATUSES = {status.value: status for status in Status}

_E = TypeVar("_E", Severity, Status)


def looks_canonical(value: dict[Any, Any]) -> bool:
    """Whether an object is meant as a canonical alert.

    True when it has two of the three required keys, or one of them and no
    key outside the canonical set. Anything else is an unknown format
    rather than a broken canonical alert.
    """
    present = sum(1 for key in _REQUIRED if key in value)
    if present >= 2:
        return True
    return present == 1 and all(key in CANONICAL_KEYS for key in value)


def decode_canonical(
    value: dict[str, Any] | list[Any], options: DecodeOptions
) -> tuple[Alert, ...]:
    """Decode one canonical alert object or an array of them."""
    if type(value) is dict:
        return (_decode_one(value, ""),)
    if len(value) > options.max_alerts:
        raise Problem(
            RejectReason.TOO_MANY_ALERTS,
            f"array of {len(value)} alerts exceeds max_alerts={options.max_alerts}",
        )
    alerts = []
    for index, entry in enumerate(value):
        if type(entry) is not dict:
            raise Problem(
                RejectReason.INVALID_FIELD,
                f"[{index}]: expected a canonical alert object, got {describe(entry)}",
            )
        alerts.append(_decode_one(entry, f"[{index}]"))
    return tuple(alerts)


def _enum_member(table: dict[str, _E], obj: dict[str, Any], key: str, path: str, default: _E) -> _E:
    text = opt_str(obj, key, path)
    if text is None:
        return default
    found = table.get(text)
    if found is None:
        raise Problem(
            RejectReason.INVALID_FIELD,
            f"{child(path, key)}: expected one of {', '.join(table)}, got {describe(text)}",
        )
    return found


def _decode_one(obj: dict[str, Any], path: str) -> Alert:
    for key in obj:
        if key not in CANONICAL_KEYS:
            raise Problem(
                RejectReason.INVALID_FIELD,
                f"{child(path, key)}: unknown field; canonical alerts allow only {_ALLOWED_TEXT}",
            )
    service = req_str(obj, "service", path, non_empty=True)
    name = req_str(obj, "name", path)
    labels = opt_str_map(obj, "labels", path)
    fingerprint = opt_str(obj, "fingerprint", path)
    if fingerprint is None:
        fingerprint = alert_fingerprint({**labels, "alertname": name, "service": service})
    elif not fingerprint:
        raise Problem(
            RejectReason.INVALID_FIELD, f"{child(path, 'fingerprint')}: must not be empty"
        )
    source = opt_str(obj, "source", path)
    return Alert(
        fingerprint=fingerprint,
        source=DEFAULT_SOURCE if source is None else source,
        service=service,
        name=name,
        severity=_enum_member(_SEVERITIES, obj, "severity", path, Severity.WARNING),
        status=_enum_member(_STATUSES, obj, "status", path, Status.FIRING),
        starts_at=req_time(obj, "starts_at", path),
        ends_at=opt_time(obj, "ends_at", path),
        labels=MappingProxyType(labels),
        annotations=MappingProxyType(opt_str_map(obj, "annotations", path)),
        summary=opt_str(obj, "summary", path) or "",
    )


def encode_canonical(alert: Alert) -> dict[str, Any]:
    """The canonical JSON object of an alert; decoding it gives an equal alert."""
    return {
        "fingerprint": alert.fingerprint,
        "source": alert.source,
        "service": alert.service,
        "name": alert.name,
        "severity": alert.severity.value,
        "status": alert.status.value,
        "starts_at": format_rfc3339(alert.starts_at),
        "ends_at": None if alert.ends_at is None else format_rfc3339(alert.ends_at),
        "labels": dict(sorted(alert.labels.items())),
        "annotations": dict(sorted(alert.annotations.items())),
        "summary": alert.summary,
    }
