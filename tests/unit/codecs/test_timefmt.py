"""RFC 3339 parsing and formatting (correlator.codecs.timefmt)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from correlator.codecs.timefmt import (
    ZERO_TIME,
    format_rfc3339,
    parse_rfc3339,
    parse_rfc3339_cached,
)

VALID = [
    ("zulu", "2026-09-01T10:02:11Z", datetime(2026, 9, 1, 10, 2, 11, tzinfo=UTC)),
    ("millis", "2026-09-01T10:02:11.512Z", datetime(2026, 9, 1, 10, 2, 11, 512000, tzinfo=UTC)),
    ("one_digit", "2026-09-01T10:02:11.5Z", datetime(2026, 9, 1, 10, 2, 11, 500000, tzinfo=UTC)),
    ("micros", "2026-09-01T10:02:11.000007Z", datetime(2026, 9, 1, 10, 2, 11, 7, tzinfo=UTC)),
    (
        "go_nanos_truncated",
        "2026-09-01T10:02:11.512345678Z",
        datetime(2026, 9, 1, 10, 2, 11, 512345, tzinfo=UTC),
    ),
    (
        "nanos_999_not_rounded_up",
        "2026-09-01T10:02:11.999999999Z",
        datetime(2026, 9, 1, 10, 2, 11, 999999, tzinfo=UTC),
    ),
    ("plus_offset", "2026-09-01T12:02:11+02:00", datetime(2026, 9, 1, 10, 2, 11, tzinfo=UTC)),
    (
        "minus_half_hour_offset",
        "2026-09-01T04:32:11.25-05:30",
        datetime(2026, 9, 1, 10, 2, 11, 250000, tzinfo=UTC),
    ),
    ("offset_crosses_day", "2026-09-01T23:30:00-01:00", datetime(2026, 9, 2, 0, 30, tzinfo=UTC)),
    ("minus_zero", "2026-09-01T10:02:11-00:00", datetime(2026, 9, 1, 10, 2, 11, tzinfo=UTC)),
    ("lower_case_t_z", "2026-09-01t10:02:11z", datetime(2026, 9, 1, 10, 2, 11, tzinfo=UTC)),
    ("go_zero_time", "0001-01-01T00:00:00Z", ZERO_TIME),
    (
        "leap_second_clamped",
        "2016-12-31T23:59:60Z",
        datetime(2016, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    ),
    ("leap_day", "2024-02-29T00:00:00Z", datetime(2024, 2, 29, tzinfo=UTC)),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in VALID], ids=[c[0] for c in VALID])
def test_parse_valid(text: str, expected: datetime) -> None:
    parsed = parse_rfc3339(text)
    assert parsed == expected
    assert parsed.tzinfo is UTC


INVALID = [
    ("naive", "2026-09-01T10:02:11", "naive time without UTC offset"),
    ("naive_fraction", "2026-09-01T10:02:11.512", "naive time without UTC offset"),
    ("word", "yesterday", "not an RFC 3339 time: 'yesterday'"),
    ("date_only", "2026-09-01", "not an RFC 3339 time"),
    ("space_separator", "2026-09-01 10:02:11Z", "not an RFC 3339 time"),
    ("basic_format", "20260901T100211Z", "not an RFC 3339 time"),
    ("week_date", "2026-W35-1T10:02:11Z", "not an RFC 3339 time"),
    ("comma_fraction", "2026-09-01T10:02:11,5Z", "bad fractional seconds"),
    ("empty_fraction", "2026-09-01T10:02:11.Z", "bad fractional seconds"),
    ("ten_digit_fraction", "2026-09-01T10:02:11.1234567890Z", "bad fractional seconds"),
    ("compact_offset_not_allowed", "2026-09-01T10:02:11+0200", "bad UTC offset"),
    ("hour_only_offset", "2026-09-01T10:02:11+02", "bad UTC offset"),
    ("offset_hours_24", "2026-09-01T10:02:11+24:00", "UTC offset out of range"),
    ("offset_minutes_60", "2026-09-01T10:02:11+01:60", "UTC offset out of range"),
    ("month_13", "2026-13-01T10:02:11Z", "month must be in 1..12"),
    ("february_30", "2026-02-30T10:02:11Z", "day is out of range for month"),
    ("hour_25", "2026-09-01T25:02:11Z", "invalid date or time"),
    ("letter_in_hour", "2026-09-01T1x:02:11Z", "not an RFC 3339 time"),
    ("signed_hour", "2026-09-01T+1:02:11Z", "not an RFC 3339 time"),
    ("unicode_digit", "\uff12026-09-01T10:02:11Z", "not an RFC 3339 time"),
    ("underscore_digit", "2026-0_-01T10:02:11Z", "not an RFC 3339 time"),
    ("overflow_before_year_1", "0001-01-01T00:00:00+01:00", "invalid date or time"),
    ("overflow_after_9999", "9999-12-31T23:59:59-01:00", "invalid date or time"),
    ("empty", "", "not an RFC 3339 time"),
    ("short_field_with_z", "2026-09-01T10:0:05Z", "not an RFC 3339 time"),
    ("short_field_with_offset", "2026-09-01T10:0:05+01:00", "not an RFC 3339 time"),
]


@pytest.mark.parametrize(("text", "message"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_parse_invalid(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=None) as info:
        parse_rfc3339(text)
    assert message in str(info.value)


def test_parse_rejects_non_string() -> None:
    with pytest.raises(ValueError, match="expected an RFC 3339 string, got int"):
        parse_rfc3339(1756720931)  # type: ignore[arg-type]


def test_parse_echo_is_bounded() -> None:
    text = "2026-09-01T10:02:11" + "9" * 500
    with pytest.raises(ValueError, match=None) as info:
        parse_rfc3339(text)
    assert len(str(info.value)) < 120


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2015-07-17T08:42:58.315+0000", datetime(2015, 7, 17, 8, 42, 58, 315000, tzinfo=UTC)),
        ("2015-07-17T10:42:58+0200", datetime(2015, 7, 17, 8, 42, 58, tzinfo=UTC)),
        ("2015-07-17T08:42:58Z", datetime(2015, 7, 17, 8, 42, 58, tzinfo=UTC)),
        ("2015-07-17T10:42:58+02:00", datetime(2015, 7, 17, 8, 42, 58, tzinfo=UTC)),
    ],
    ids=["pagerduty_doc_form", "compact_plus_two", "zulu_still_fine", "colon_still_fine"],
)
def test_parse_compact_offset_when_allowed(text: str, expected: datetime) -> None:
    assert parse_rfc3339(text, allow_compact_offset=True) == expected


FORMAT = [
    ("whole_seconds", datetime(2026, 9, 1, 10, 2, 11, tzinfo=UTC), "2026-09-01T10:02:11Z"),
    ("millis", datetime(2026, 9, 1, 10, 2, 11, 512000, tzinfo=UTC), "2026-09-01T10:02:11.512Z"),
    (
        "leading_zero_millis",
        datetime(2026, 9, 1, 10, 2, 11, 5000, tzinfo=UTC),
        "2026-09-01T10:02:11.005Z",
    ),
    ("micros", datetime(2026, 9, 1, 10, 2, 11, 512345, tzinfo=UTC), "2026-09-01T10:02:11.512345Z"),
    ("one_micro", datetime(2026, 9, 1, 10, 2, 11, 1, tzinfo=UTC), "2026-09-01T10:02:11.000001Z"),
    (
        "offset_converted",
        datetime(2026, 9, 1, 12, 2, 11, tzinfo=timezone(timedelta(hours=2))),
        "2026-09-01T10:02:11Z",
    ),
    ("zero_time", ZERO_TIME, "0001-01-01T00:00:00Z"),
]


@pytest.mark.parametrize(("value", "expected"), [c[1:] for c in FORMAT], ids=[c[0] for c in FORMAT])
def test_format(value: datetime, expected: str) -> None:
    assert format_rfc3339(value) == expected


def test_format_rejects_naive() -> None:
    with pytest.raises(ValueError, match="naive"):
        format_rfc3339(datetime(2026, 9, 1, 10, 2, 11))


@given(
    st.datetimes(
        min_value=datetime(1, 1, 2),
        max_value=datetime(9999, 12, 30),
        timezones=st.sampled_from(
            [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))]
        ),
    )
)
def test_format_then_parse_is_lossless(value: datetime) -> None:
    text = format_rfc3339(value)
    assert text.endswith("Z")
    assert parse_rfc3339(text) == value
    assert format_rfc3339(parse_rfc3339(text)) == text


@given(
    st.text(alphabet="0123456789-:TtZz.+ ", min_size=15, max_size=40),
    st.booleans(),
)
def test_parse_only_ever_raises_value_error(text: str, compact: bool) -> None:
    try:
        parsed = parse_rfc3339(text, allow_compact_offset=compact)
    except ValueError as exc:
        assert str(exc)
    else:
        assert parsed.tzinfo is UTC
        assert format_rfc3339(parsed).endswith("Z")


D = "[0-9]"
WELL_SHAPED = rf"{D}{{4}}-{D}{D}-{D}{D}T{D}{D}:{D}{D}:{D}{D}(\.{D}{{1,9}})?(Z|[+-]{D}{D}:{D}{D})"


@given(st.from_regex(WELL_SHAPED, fullmatch=True))
def test_parse_well_shaped_text(text: str) -> None:
    try:
        parsed = parse_rfc3339(text)
    except ValueError as exc:
        assert "invalid date or time" in str(exc) or "out of range" in str(exc)
    else:
        assert parsed.tzinfo is UTC


@pytest.mark.parametrize(
    "text",
    ["2026-09-01T10:02:11.512Z", "2026-09-01T12:02:11+02:00", "2016-12-31T23:59:60Z"],
    ids=["millis-z", "offset", "leap-second"],
)
def test_cached_parse_gives_the_uncached_value_every_time(text: str) -> None:
    first, again = parse_rfc3339_cached(text), parse_rfc3339_cached(text)
    assert first == again == parse_rfc3339(text)
    assert first.tzinfo is UTC


@pytest.mark.parametrize(
    "text", ["2026-09-01T10:02:11", "2026-09-01T10:02:11+0200", "2026-02-30T10:00:00Z"],
    ids=["naive", "compact-offset", "impossible-date"],
)
def test_cached_parse_raises_for_bad_text_every_time(text: str) -> None:
    with pytest.raises(ValueError) as expected:
        parse_rfc3339(text)
    for _ in range(2):
        with pytest.raises(ValueError) as got:
            parse_rfc3339_cached(text)
        assert str(got.value) == str(expected.value)
