"""PagerDuty Events API v2 alert events (``/v2/enqueue``) codec.

Mapping onto :class:`~correlator.model.Alert`:

* fingerprint = 16-hex hash of ``("pagerduty", dedup_key)``. A trigger
  without ``dedup_key`` gets a deterministic one derived from routing key,
  ``payload.source`` and ``payload.summary`` (PagerDuty would invent a random
  one we can never learn), so identical repeated triggers collapse.
* ``trigger`` needs ``payload.summary``, ``payload.source`` and
  ``payload.severity`` (critical|error|warning|info). starts_at =
  ``payload.timestamp`` (RFC 3339; ``+HHMM`` offsets as in PagerDuty's docs
  are accepted too), else ``received_at``; with neither it is rejected,
  because a firing alert needs a real event time.
  service = ``payload.component``, else ``custom_details.service``, else
  ``payload.source``; name = ``payload.class``, else the summary with runs
  of blanks collapsed, cut to 64 characters. Labels: the string values of
  ``custom_details``, then ``source``/``component``/``group``/``class``
  (payload fields win). Annotations: ``client`` and ``client_url``.
* ``acknowledge`` and ``resolve`` need only ``dedup_key``; like PagerDuty we
  ignore their payload. ``acknowledge`` stays firing (it still is) with the
  label ``pagerduty_action=acknowledge`` and starts_at = ``received_at``
  (required). ``resolve`` is resolved with ends_at = ``received_at``, which
  may be ``None``: the engine then uses the event time it has reached, and
  keys resolves on the fingerprint only. Its starts_at, unknowable, is
  ``received_at`` or else the Unix epoch as an explicit placeholder.
  Both carry service ``"unknown"`` and an empty name.
"""

from __future__ import annotations

from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from correlator.codecs.fields import Problem, describe, item, opt_str, opt_time, req_str
from correlator.codecs.fingerprint import derived_dedup_key, pagerduty_fingerprint
from correlator.codecs.result import RejectReason
from correlator.model import Alert, Severity, Status

__all__ = ["EPOCH", "decode_event"]

#: starts_at of a resolve whose time is unknown (see module docstring).
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SOURCE = "pagerduty"

_ACTIONS = ("trigger", "acknowledge", "resolve")
_SEVERITIES = {severity.value: severity for severity in Severity}
_DEDUP_KEY_LIMIT = 255
_NAME_LIMIT = 64
_UNKNOWN_SERVICE = "unknown"


def decode_event(value: dict[str, Any], received_at: datetime | None) -> tuple[Alert, ...]:
    """Decode one PagerDuty Events v2 alert event into a single alert."""
    routing_key = req_str(value, "routing_key", "", non_empty=True)
    action = req_str(value, "event_action", "")
    if action not in _ACTIONS:
        raise Problem(
            RejectReason.INVALID_FIELD,
            f"event_action: expected one of trigger, acknowledge, resolve, got {describe(action)}",
        )
    dedup_key = opt_str(value, "dedup_key", "")
    if dedup_key is not None and len(dedup_key) > _DEDUP_KEY_LIMIT:
        raise Problem(
            RejectReason.INVALID_FIELD,
            f"dedup_key: {len(dedup_key)} characters exceed PagerDuty's limit "
            f"of {_DEDUP_KEY_LIMIT}",
        )
    if action == "trigger":
        return (_trigger(value, routing_key, dedup_key, received_at),)
    if not dedup_key:
        raise Problem(RejectReason.MISSING_FIELD, f"dedup_key: required for '{action}' events")
    fingerprint = pagerduty_fingerprint(dedup_key)
    if action == "resolve":
        return (
            Alert(
                fingerprint=fingerprint,
                source=SOURCE,
                service=_UNKNOWN_SERVICE,
                name="",
                severity=Severity.WARNING,
                status=Status.RESOLVED,
                starts_at=received_at or EPOCH,
                ends_at=received_at,
            ),
        )
    if received_at is None:
        raise Problem(
            RejectReason.MISSING_FIELD,
            "received_at: an 'acknowledge' event carries no time, so the caller must "
            "pass received_at (a firing alert needs an event time)",
        )
    return (
        Alert(
            fingerprint=fingerprint,
            source=SOURCE,
            service=_UNKNOWN_SERVICE,
            name="",
            severity=Severity.WARNING,
            status=Status.FIRING,
            starts_at=received_at,
            labels=MappingProxyType({"pagerduty_action": "acknowledge"}),
        ),
    )


def _name_from_summary(summary: str) -> str:
    return " ".join(summary.split())[:_NAME_LIMIT]


def _trigger(
    value: dict[str, Any], routing_key: str, dedup_key: str | None, received_at: datetime | None
) -> Alert:
    payload = item(value, "payload", "")
    if type(payload) is not dict:
        raise Problem(
            RejectReason.INVALID_FIELD, f"payload: expected an object, got {describe(payload)}"
        )
    summary = req_str(payload, "summary", "payload", non_empty=True)
    source = req_str(payload, "source", "payload", non_empty=True)
    severity_text = req_str(payload, "severity", "payload")
    severity = _SEVERITIES.get(severity_text.lower())
    if severity is None:
        raise Problem(
            RejectReason.INVALID_FIELD,
            "payload.severity: expected one of critical, error, warning, info, "
            f"got {describe(severity_text)}",
        )
    starts_at = opt_time(payload, "timestamp", "payload", compact=True) or received_at
    if starts_at is None:
        raise Problem(
            RejectReason.MISSING_FIELD,
            "payload.timestamp: required when the caller passes no received_at",
        )
    component = opt_str(payload, "component", "payload")
    group = opt_str(payload, "group", "payload")
    klass = opt_str(payload, "class", "payload")

    labels: dict[str, str] = {}
    details = payload.get("custom_details")
    if type(details) is dict:
        for key, entry in details.items():
            if type(entry) is str and type(key) is str:
                labels[key] = entry
    detail_service = labels.get("service")
    labels["source"] = source
    for key, field_value in (("component", component), ("group", group), ("class", klass)):
        if field_value:
            labels[key] = field_value

    annotations: dict[str, str] = {}
    for key in ("client", "client_url"):
        text = value.get(key)
        if type(text) is str and text:
            annotations[key] = text

    key = dedup_key or derived_dedup_key(routing_key, source, summary)
    return Alert(
        fingerprint=pagerduty_fingerprint(key),
        source=SOURCE,
        service=component or detail_service or source,
        name=klass or _name_from_summary(summary),
        severity=severity,
        status=Status.FIRING,
        starts_at=starts_at,
        labels=MappingProxyType(labels),
        annotations=MappingProxyType(annotations),
        summary=summary,
    )
