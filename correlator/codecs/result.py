"""What a decode returns: the decoded alerts, or a rejection that says why.

Bad input is data, not an exception: a stream processor must route a broken
record to a dead-letter topic with a reason and keep going, so decoding
returns a :class:`Rejection` value carrying the untouched bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from correlator.model import Alert

__all__ = ["Decoded", "RejectReason", "Rejection"]


class RejectReason(StrEnum):
    """Why a payload was rejected; stable strings, safe to use as metric labels."""

    EMPTY = "empty"
    TOO_LARGE = "too_large"
    INVALID_UTF8 = "invalid_utf8"
    INVALID_JSON = "invalid_json"
    TOO_DEEP = "too_deep"
    UNKNOWN_FORMAT = "unknown_format"
    INVALID_FIELD = "invalid_field"
    MISSING_FIELD = "missing_field"
    TOO_MANY_ALERTS = "too_many_alerts"


@dataclass(frozen=True, slots=True)
class Rejection:
    """A payload that could not be decoded.

    ``detail`` names the field and the problem and echoes only short snippets
    of the input; ``raw`` is the original payload for the dead-letter queue.
    """

    reason: RejectReason
    detail: str
    raw: bytes
    format: str | None


@dataclass(frozen=True, slots=True)
class Decoded:
    """The alerts of one payload and the wire format they came in."""

    format: str
    alerts: tuple[Alert, ...]
