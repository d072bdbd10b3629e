"""RFC 3339 timestamps: the one parser and the one formatter of Correlator.

Every wire format we accept carries RFC 3339 times, and the engine's output
uses :func:`format_rfc3339`, so both live here and nowhere else.

Parsing is a direct, position-based shape check (no regular expression; it
runs for every alert on the hot path) followed by the C-speed
:meth:`datetime.fromisoformat`. The shape check matters because
``fromisoformat`` alone accepts ISO 8601 forms (week dates, basic format,
comma fractions, missing offsets) that RFC 3339 does not.

Accepted: ``YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)`` where ``T`` and
``Z`` may be lower case and the fraction has 1 to 9 digits (Go emits 9; we
keep microseconds and truncate the rest). Naive times (no offset) are
refused: guessing a zone silently skews event time. A leap second (``:60``)
is clamped to ``:59.999999`` because :class:`datetime` cannot represent it.

Formatting always gives UTC with ``Z`` and the shortest of 0, 3 or 6
fractional digits that is lossless: ``10:02:11Z``, ``10:02:11.512Z``,
``10:02:11.512345Z``. Millisecond output is the common case (Alertmanager,
JavaScript), and never dropping microseconds keeps decode/encode round trips
exact.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from correlator.memo import BoundedMemo

__all__ = [
    "ZERO_TIME",
    "ZERO_TIME_TEXT",
    "format_rfc3339",
    "parse_rfc3339",
    "parse_rfc3339_cached",
]

#: Go's zero ``time.Time``; Alertmanager sends it as ``endsAt`` of firing alerts.
ZERO_TIME = datetime(1, 1, 1, tzinfo=UTC)
ZERO_TIME_TEXT = "0001-01-01T00:00:00Z"

_MIN_LEN = len("2006-01-02T15:04:05")
_MAX_LEN = len("2006-01-02T15:04:05.999999999-07:00")
_MAX_ECHO = 60
#: Bound of the :func:`parse_rfc3339_cached` memo (about 10 MB when full).
_CACHE_LIMIT = 65_536


def _echo(text: str) -> str:
    if len(text) > _MAX_ECHO:
        return repr(text[:_MAX_ECHO]) + "..."
    return repr(text)


def _check_offset(hours: str, minutes: str, text: str) -> None:
    if not (hours.isdigit() and minutes.isdigit()):
        raise ValueError(f"not an RFC 3339 time (bad UTC offset): {_echo(text)}")
    if int(hours) > 23 or int(minutes) > 59:
        raise ValueError(f"UTC offset out of range: {_echo(text)}")


def parse_rfc3339(text: str, *, allow_compact_offset: bool = False) -> datetime:
    """Parse an RFC 3339 timestamp into an aware UTC :class:`datetime`.

    ``allow_compact_offset`` additionally accepts ``+HHMM`` offsets, the
    ISO 8601 basic form that PagerDuty shows in its own examples.

    Raises :class:`ValueError` with a message that names the problem and
    echoes at most 60 characters of the input.
    """
    if not isinstance(text, str):
        raise ValueError(f"expected an RFC 3339 string, got {type(text).__name__}")
    n = len(text)
    if (
        n < _MIN_LEN
        or n > _MAX_LEN
        or not text.isascii()
        or text[4] != "-"
        or text[7] != "-"
        or text[10] not in "Tt"
        or text[13] != ":"
        or text[16] != ":"
    ):
        raise ValueError(f"not an RFC 3339 time: {_echo(text)}")

    last = text[-1]
    if last in "Zz":
        zone_at = n - 1
    elif n >= 25 and text[-6] in "+-" and text[-3] == ":":
        zone_at = n - 6
        _check_offset(text[-5:-3], text[-2:], text)
    elif allow_compact_offset and n >= 24 and text[-5] in "+-":
        zone_at = n - 5
        _check_offset(text[-4:-2], text[-2:], text)
        text = f"{text[:-2]}:{text[-2:]}"
    else:
        rest = text[19:]
        if rest == "" or (rest[0] == "." and rest[1:].isdigit()):
            raise ValueError(
                f"naive time without UTC offset: {_echo(text)} (append 'Z' or '+HH:MM')"
            )
        raise ValueError(f"not an RFC 3339 time (bad UTC offset): {_echo(text)}")
    if zone_at < 19:
        raise ValueError(f"not an RFC 3339 time: {_echo(text)}")
    if zone_at != 19 and (
        text[19] != "." or not 1 <= zone_at - 20 <= 9 or not text[20:zone_at].isdigit()
    ):
        raise ValueError(f"not an RFC 3339 time (bad fractional seconds): {_echo(text)}")

    # The text is now RFC 3339 shaped; the C parser checks that the fixed
    # fields are ASCII digits, keeps 6 fractional digits and drops the rest.
    try:
        value = datetime.fromisoformat(text if last == "Z" and text[10] == "T" else text.upper())
    except ValueError:
        return _parse_slowly(text, zone_at)
    if value.tzinfo is not UTC:
        try:
            value = value.astimezone(UTC)
        except (ValueError, OverflowError) as exc:
            raise ValueError(f"invalid date or time {_echo(text)}: {exc}") from None
    return value


_PARSED: BoundedMemo[str, datetime] = BoundedMemo(parse_rfc3339, _CACHE_LIMIT)


def parse_rfc3339_cached(text: str) -> datetime:
    """:func:`parse_rfc3339` (strict offsets) through a bounded memo of accepted texts.

    Senders repeat the same times over and over: Alertmanager re-sends every alert of a
    group at each group interval, and every version of an incident carries its
    ``opened_at``. Only successes are remembered, so a bad text raises exactly as
    :func:`parse_rfc3339` does, every time. ``text`` must be a string.
    """
    return _PARSED[text]


def _parse_slowly(text: str, zone_at: int) -> datetime:
    """Field-by-field parse of a well-shaped text that fromisoformat refused.

    Handles leap seconds and turns bad or out-of-range fields into precise
    messages.
    """
    if not (text[0:4] + text[5:7] + text[8:10] + text[11:13] + text[14:16] + text[17:19]).isdigit():
        raise ValueError(f"not an RFC 3339 time: {_echo(text)}")
    fraction = text[20:zone_at]
    micro = int(fraction[:6].ljust(6, "0")) if fraction else 0
    second = int(text[17:19])
    if second == 60:
        second, micro = 59, 999_999
    if zone_at == len(text) - 1:
        zone = UTC
    else:
        minutes = int(text[-5:-3]) * 60 + int(text[-2:])
        zone = timezone(timedelta(minutes=-minutes if text[-6] == "-" else minutes))
    try:
        value = datetime(
            int(text[0:4]),
            int(text[5:7]),
            int(text[8:10]),
            int(text[11:13]),
            int(text[14:16]),
            second,
            micro,
            tzinfo=zone,
        )
        return value.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"invalid date or time {_echo(text)}: {exc}") from None


def format_rfc3339(value: datetime) -> str:
    """Format an aware datetime as RFC 3339 in UTC with ``Z``.

    Fractional seconds: none when zero, 3 digits when the value is whole
    milliseconds, otherwise 6 digits (lossless for :class:`datetime`).
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"cannot format naive datetime {value.isoformat()}: an offset is required")
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    base = (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
        f"T{value.hour:02d}:{value.minute:02d}:{value.second:02d}"
    )
    micro = value.microsecond
    if micro == 0:
        return base + "Z"
    if micro % 1000 == 0:
        return f"{base}.{micro // 1000:03d}Z"
    return f"{base}.{micro:06d}Z"
