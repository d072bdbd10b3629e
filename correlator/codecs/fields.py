"""Typed field access for untrusted JSON, with precise problem reports.

Codecs raise :class:`Problem` on the first bad field; the decode boundary
turns it into a :class:`~correlator.codecs.result.Rejection`. Every message
names the field by its path (``alerts[3].startsAt``) and echoes at most a
short snippet of the offending value, so a dead-letter record explains
itself without leaking a whole payload into logs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from correlator.codecs.result import RejectReason
from correlator.codecs.timefmt import (
    ZERO_TIME,
    ZERO_TIME_TEXT,
    parse_rfc3339,
    parse_rfc3339_cached,
)

__all__ = [
    "MISSING",
    "Problem",
    "child",
    "describe",
    "item",
    "opt_str",
    "opt_str_map",
    "opt_time",
    "req_str",
    "req_time",
    "snip",
    "str_map",
]

_ECHO = 60
_KEY_ECHO = 40


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


#: Sentinel for "key absent", distinct from JSON ``null``.
MISSING: Final = _Missing()


class Problem(Exception):
    """A payload problem found while decoding; never escapes the codecs."""

    def __init__(self, reason: RejectReason, detail: str, fmt: str | None = None) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.format = fmt


def snip(value: object, limit: int = _ECHO) -> str:
    """``repr`` of a value cut to ``limit`` characters, for error messages."""
    if isinstance(value, str | bytes) and len(value) > limit:
        return repr(value[:limit]) + "..."
    text = repr(value) if isinstance(value, str | bytes | int | float) else type(value).__name__
    return text if len(text) <= limit else text[:limit] + "..."


def describe(value: object) -> str:
    """A JSON-flavoured description of a value: ``null``, ``a number (3)``..."""
    if value is None:
        return "null"
    if value is True or value is False:
        return f"a boolean ({'true' if value else 'false'})"
    if isinstance(value, int | float):
        return f"a number ({snip(value)})"
    if isinstance(value, str):
        return f"a string ({snip(value)})"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"


def child(path: str, key: object) -> str:
    """Path of ``key`` under ``path``; odd or long keys are quoted and cut."""
    text = key if isinstance(key, str) else repr(key)
    if len(text) > _KEY_ECHO:
        text = text[:_KEY_ECHO] + "..."
        return f"{path}[{text!r}]"
    if text and all(c.isalnum() or c in "_-" for c in text) and text.isascii():
        return f"{path}.{text}" if path else text
    return f"{path}[{text!r}]"


def item(obj: dict[str, Any], key: str, path: str) -> Any:
    """A required member: absent means MISSING_FIELD (``null`` is left to the caller)."""
    value = obj.get(key, MISSING)
    if value is MISSING:
        raise Problem(RejectReason.MISSING_FIELD, f"{child(path, key)}: required field is missing")
    return value


def req_str(obj: dict[str, Any], key: str, path: str, *, non_empty: bool = False) -> str:
    """A required string member."""
    value = item(obj, key, path)
    if type(value) is not str:
        raise Problem(
            RejectReason.INVALID_FIELD,
            f"{child(path, key)}: expected a string, got {describe(value)}",
        )
    if non_empty and not value:
        raise Problem(RejectReason.INVALID_FIELD, f"{child(path, key)}: must not be empty")
    return value


def opt_str(obj: dict[str, Any], key: str, path: str) -> str | None:
    """An optional string member; absent and ``null`` both give ``None``."""
    value = obj.get(key)
    if value is None or type(value) is str:
        return value
    raise Problem(
        RejectReason.INVALID_FIELD, f"{child(path, key)}: expected a string, got {describe(value)}"
    )


def str_map(value: object, path: str, key: str | None = None) -> dict[str, str]:
    """Validate an object of string to string and return a private copy.

    The field is ``path`` (or ``key`` under ``path``); the path text is only
    built when there is something to report.
    """
    if type(value) is not dict:
        where = path if key is None else child(path, key)
        raise Problem(
            RejectReason.INVALID_FIELD,
            f"{where}: expected an object of strings, got {describe(value)}",
        )
    for name, entry in value.items():
        if type(entry) is not str or type(name) is not str:
            where = path if key is None else child(path, key)
            raise Problem(
                RejectReason.INVALID_FIELD,
                f"{child(where, name)}: expected a string value, got {describe(entry)}",
            )
    return dict(value)


def opt_str_map(obj: dict[str, Any], key: str, path: str) -> dict[str, str]:
    """An optional object of strings; absent or ``null`` give an empty dict."""
    value = obj.get(key)
    if value is None:
        return {}
    return str_map(value, path, key)


def _time(value: object, path: str, key: str, compact: bool) -> datetime:
    if type(value) is not str:
        raise Problem(
            RejectReason.INVALID_FIELD,
            f"{child(path, key)}: expected an RFC 3339 time string, got {describe(value)}",
        )
    try:
        if compact:
            return parse_rfc3339(value, allow_compact_offset=True)
        return parse_rfc3339_cached(value)
    except ValueError as exc:
        raise Problem(RejectReason.INVALID_FIELD, f"{child(path, key)}: {exc}") from None


def req_time(obj: dict[str, Any], key: str, path: str, *, compact: bool = False) -> datetime:
    """A required RFC 3339 time member."""
    return _time(item(obj, key, path), path, key, compact)


def opt_time(obj: dict[str, Any], key: str, path: str, *, compact: bool = False) -> datetime | None:
    """An optional RFC 3339 time; absent, ``null`` and Go's zero time give ``None``."""
    value = obj.get(key)
    if value is None or value == ZERO_TIME_TEXT:
        return None
    parsed = _time(value, path, key, compact)
    return None if parsed == ZERO_TIME else parsed
