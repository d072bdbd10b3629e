"""PagerDuty change events (``/v2/change/enqueue``) as changes.

Shape: ``{routing_key?, payload{summary, source?, timestamp?, custom_details?},
links[]?}`` with no ``event_action`` (that is an alert event).

Mapping: service = ``custom_details.service``, else ``payload.source`` (one
of them is required); kind = ``custom_details.kind`` when it is a change kind,
else guessed from the summary (``rollback``/``rolled back``/``revert`` ->
rollback, ``flag``/``toggle`` -> flag, ``config`` -> config, otherwise
deploy); time = ``payload.timestamp`` (RFC 3339, ``+HHMM`` accepted) or else
the caller's ``received_at``; version, author and environment from
``custom_details`` (``version``, ``author`` or ``user``, ``environment``);
link = the first ``links[].href``; id = ``custom_details.id`` or a derived
:func:`~correlator.changes.model.change_id`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from correlator.changes.canonical import parse_kind
from correlator.changes.model import Change, ChangeKind, change_id
from correlator.codecs.fields import Problem, describe, item, opt_str, opt_time, req_str
from correlator.codecs.result import RejectReason

__all__ = ["decode_pagerduty_change", "guess_kind", "looks_pagerduty_change"]

SOURCE = "pagerduty"
_GUESSES = (
    (("rollback", "rolled back", "roll back", "revert"), ChangeKind.ROLLBACK),
    (("feature flag", "flag", "toggle"), ChangeKind.FLAG),
    (("config",), ChangeKind.CONFIG),
)


def looks_pagerduty_change(value: dict[Any, Any]) -> bool:
    """A ``payload`` object and no ``event_action``."""
    return type(value.get("payload")) is dict and "event_action" not in value


def guess_kind(summary: str) -> ChangeKind:
    """The change kind a free-text summary suggests; deploy when nothing matches."""
    text = summary.casefold()
    for words, kind in _GUESSES:
        if any(word in text for word in words):
            return kind
    return ChangeKind.DEPLOY


def _details(payload: dict[str, Any]) -> dict[str, str]:
    details = payload.get("custom_details")
    if details is None:
        return {}
    if type(details) is not dict:
        raise Problem(
            RejectReason.INVALID_FIELD,
            f"payload.custom_details: expected an object, got {describe(details)}",
        )
    return {k: v for k, v in details.items() if type(k) is str and type(v) is str and v}


def _first_link(value: dict[str, Any]) -> str | None:
    links = value.get("links")
    if links is None:
        return None
    if type(links) is not list:
        raise Problem(
            RejectReason.INVALID_FIELD, f"links: expected an array, got {describe(links)}"
        )
    for entry in links:
        if type(entry) is dict and type(entry.get("href")) is str and entry["href"]:
            return str(entry["href"])
    return None


def decode_pagerduty_change(value: dict[str, Any], received_at: datetime | None) -> Change:
    """Decode one PagerDuty change event into a change."""
    opt_str(value, "routing_key", "")
    payload = item(value, "payload", "")
    summary = req_str(payload, "summary", "payload", non_empty=True)
    details = _details(payload)
    service = details.get("service") or opt_str(payload, "source", "payload")
    if not service:
        raise Problem(
            RejectReason.MISSING_FIELD,
            "payload.custom_details.service: required (or payload.source) to name the service",
        )
    at = opt_time(payload, "timestamp", "payload", compact=True) or received_at
    if at is None:
        raise Problem(
            RejectReason.MISSING_FIELD,
            "payload.timestamp: required when the caller passes no received_at",
        )
    kind_text = details.get("kind")
    kind = (
        parse_kind(kind_text, "payload.custom_details.kind") if kind_text else guess_kind(summary)
    )
    version = details.get("version")
    return Change(
        id=details.get("id") or change_id(SOURCE, service, kind.value, at, version),
        service=service,
        kind=kind,
        at=at,
        version=version,
        author=details.get("author") or details.get("user"),
        link=_first_link(value),
        summary=summary,
        environment=details.get("environment"),
        source=SOURCE,
    )
