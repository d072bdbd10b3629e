"""The canonical change record: Correlator's own documented change format.

One JSON object per change::

    {
      "service": "checkout",                   # required, non-empty string
      "kind": "deploy",                        # required: deploy|config|flag|rollback
      "time": "2026-09-01T09:55:00Z",          # required, RFC 3339 with offset
      "version": "v2.14.0",                    # optional string
      "author": "alice",                       # optional string
      "link": "https://git.example/pr/812",    # optional string (commit or PR URL)
      "id": "deploy-4711",                     # optional non-empty string
      "summary": "Deployed checkout v2.14.0",  # optional string
      "environment": "prod-eu1"                # optional string
    }

Like the canonical alert, decoding is strict: any other key is rejected,
because we own the format and a typo should fail at the sender. Without an
``id`` the change gets :func:`~correlator.changes.model.change_id`.
:func:`encode_change` writes every key and decodes back to an equal change.
"""

from __future__ import annotations

from typing import Any

from correlator.changes.model import Change, ChangeKind, change_id
from correlator.codecs.fields import Problem, child, describe, opt_str, req_str, req_time
from correlator.codecs.result import RejectReason
from correlator.codecs.timefmt import format_rfc3339

__all__ = ["CHANGE_KEYS", "decode_canonical_change", "encode_change", "looks_canonical_change"]

CHANGE_KEYS = frozenset(
    {"service", "kind", "time", "version", "author", "link", "id", "summary", "environment"}
)
SOURCE = "canonical"
_REQUIRED = ("service", "kind", "time")
_ALLOWED_TEXT = ", ".join(sorted(CHANGE_KEYS))
KINDS_TEXT = ", ".join(kind.value for kind in ChangeKind)


def looks_canonical_change(value: dict[Any, Any]) -> bool:
    """Two of the required keys, or one of them and only canonical keys."""
    present = sum(1 for key in _REQUIRED if key in value)
    if present >= 2:
        return True
    return present == 1 and all(key in CHANGE_KEYS for key in value)


def parse_kind(text: str, where: str) -> ChangeKind:
    """A kind word (case-insensitive) or a Problem naming the allowed ones."""
    try:
        return ChangeKind(text.lower())
    except ValueError:
        raise Problem(
            RejectReason.INVALID_FIELD,
            f"{where}: expected one of {KINDS_TEXT}, got {describe(text)}",
        ) from None


def decode_canonical_change(obj: dict[str, Any]) -> Change:
    """Decode one canonical change object (strict)."""
    for key in obj:
        if key not in CHANGE_KEYS:
            raise Problem(
                RejectReason.INVALID_FIELD,
                f"{child('', key)}: unknown field; change records allow only {_ALLOWED_TEXT}",
            )
    service = req_str(obj, "service", "", non_empty=True)
    kind = parse_kind(req_str(obj, "kind", ""), "kind")
    at = req_time(obj, "time", "")
    version = opt_str(obj, "version", "")
    given_id = opt_str(obj, "id", "")
    if given_id is not None and not given_id:
        raise Problem(RejectReason.INVALID_FIELD, "id: must not be empty")
    return Change(
        id=given_id or change_id(SOURCE, service, kind.value, at, version),
        service=service,
        kind=kind,
        at=at,
        version=version,
        author=opt_str(obj, "author", ""),
        link=opt_str(obj, "link", ""),
        summary=opt_str(obj, "summary", "") or "",
        environment=opt_str(obj, "environment", ""),
        source=SOURCE,
    )


def encode_change(change: Change) -> dict[str, Any]:
    """The canonical record of a change; decoding it gives an equal change.

    ``source`` and ``alt_services`` are not part of the record, so a change
    decoded from another format round-trips to an equal one only in the
    fields the record carries.
    """
    return {
        "id": change.id,
        "service": change.service,
        "kind": change.kind.value,
        "time": format_rfc3339(change.at),
        "version": change.version,
        "author": change.author,
        "link": change.link,
        "summary": change.summary,
        "environment": change.environment,
    }
