"""The malformed corpus: every file and generated case is rejected for the right reason.

Corpus files are named ``<reason>--<case>.json``; the table below pins the
detected format and a fragment of the detail for each one, and a guard test
keeps table and directory in step.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson
import pytest

from correlator.codecs import DecodeOptions, Rejection, RejectReason, decode, decode_value
from tests.unit.codecs.corpus import MALFORMED, raw

CORPUS = [
    # file, format, detail fragment
    ("empty--zero_bytes.json", None, "payload is empty"),
    ("empty--whitespace_only.json", None, "contains only whitespace"),
    ("invalid_utf8--latin1_label_value.json", None, "invalid UTF-8 at byte"),
    ("invalid_utf8--utf16_encoded.json", None, "invalid UTF-8 at byte 0"),
    ("invalid_json--truncated_webhook.json", None, "unexpected end of data"),
    ("invalid_json--trailing_comma.json", None, "trailing comma"),
    ("invalid_json--single_quotes.json", None, "invalid JSON"),
    ("invalid_json--nan_value.json", None, "invalid JSON"),
    ("too_deep--pagerduty_custom_details_100_levels.json", None, "deeper than max_depth=64"),
    ("unknown_format--datadog_monitor_webhook.json", None, "'body', 'last_updated'"),
    ("unknown_format--alertmanager_api_v2_array.json", None, "only arrays of canonical alerts"),
    ("unknown_format--pagerduty_change_event.json", None, "without event_action"),
    ("unknown_format--top_level_string.json", None, "top-level JSON value is a string"),
    ("unknown_format--top_level_null.json", None, "top-level JSON value is null"),
    ("unknown_format--webhook_version_3.json", None, "version a string ('3')"),
    ("unknown_format--cdevents_service_deployed.json", None, "['context', 'subject']"),
    (
        "invalid_field--label_value_number.json",
        "alertmanager",
        "alerts[1].labels.replicas: expected a string value, got a number (3)",
    ),
    (
        "invalid_field--starts_at_not_a_time.json",
        "alertmanager",
        "alerts[2].startsAt: not an RFC 3339 time: 'yesterday'",
    ),
    (
        "invalid_field--naive_timestamp.json",
        "alertmanager",
        "alerts[0].startsAt: naive time without UTC offset",
    ),
    (
        "invalid_field--epoch_number_timestamp.json",
        "alertmanager",
        "alerts[0].startsAt: expected an RFC 3339 time string, got a number",
    ),
    (
        "invalid_field--alert_status_pending.json",
        "alertmanager",
        "alerts[0].status: expected 'firing' or 'resolved'",
    ),
    (
        "invalid_field--grafana_annotations_array.json",
        "grafana",
        "alerts[0].annotations: expected an object of strings, got an array",
    ),
    (
        "invalid_field--alerts_is_object.json",
        "alertmanager",
        "alerts: expected an array, got an object",
    ),
    (
        "invalid_field--common_labels_null_value.json",
        "alertmanager",
        "commonLabels.cluster: expected a string value, got null",
    ),
    (
        "invalid_field--pagerduty_severity_high.json",
        "pagerduty",
        "payload.severity: expected one of",
    ),
    ("invalid_field--pagerduty_unknown_action.json", "pagerduty", "event_action: expected one of"),
    ("invalid_field--canonical_unknown_key.json", "canonical", "team: unknown field"),
    ("invalid_field--canonical_bad_severity.json", "canonical", "severity: expected one of"),
    ("invalid_field--cloudevents_specversion_0_3.json", "cloudevents", "specversion: only '1.0'"),
    (
        "invalid_field--cloudevents_data_is_string.json",
        "cloudevents",
        "data: expected a JSON object or array",
    ),
    ("invalid_field--cloudevents_nested_cloudevent.json", "cloudevents", "one level only"),
    (
        "invalid_field--cloudevents_data_bad_timestamp.json",
        "cloudevents",
        "data (canonical): starts_at: invalid date",
    ),
    (
        "missing_field--webhook_without_alerts.json",
        "alertmanager",
        "alerts: required field is missing",
    ),
    (
        "missing_field--alert_without_starts_at.json",
        "alertmanager",
        "alerts[1].startsAt: required field is missing",
    ),
    (
        "missing_field--pagerduty_resolve_without_dedup_key.json",
        "pagerduty",
        "dedup_key: required for 'resolve'",
    ),
    (
        "missing_field--pagerduty_trigger_without_summary.json",
        "pagerduty",
        "payload.summary: required",
    ),
    ("missing_field--canonical_without_starts_at.json", "canonical", "starts_at: required"),
    ("missing_field--cloudevents_without_data.json", "cloudevents", "data: required"),
]


def _assert_bounded_echo(detail: str, payload: bytes) -> None:
    """The detail never repeats a long run of the input."""
    assert len(detail) <= 400
    text = payload.decode("utf-8", "replace")
    window = 100
    for start in range(0, max(0, len(text) - window), 13):
        assert text[start : start + window] not in detail


@pytest.mark.parametrize(
    ("name", "fmt", "fragment"), CORPUS, ids=[c[0].removesuffix(".json") for c in CORPUS]
)
def test_corpus_file(name: str, fmt: str | None, fragment: str) -> None:
    payload = (MALFORMED / name).read_bytes()
    result = decode(payload)
    assert isinstance(result, Rejection), result
    assert result.reason is RejectReason(name.split("--", maxsplit=1)[0])
    assert result.format == fmt
    assert fragment in result.detail, result.detail
    assert result.raw == payload
    assert "internal error" not in result.detail
    _assert_bounded_echo(result.detail, payload)


def test_corpus_table_matches_directory() -> None:
    assert sorted(c[0] for c in CORPUS) == sorted(p.name for p in MALFORMED.iterdir())


def _ten_mib() -> bytes:
    return b'{"version": "4", "alerts": [' + b'{"x": 1},' * (10 * 1024 * 1024 // 9) + b"{}]}"


def _deep_arrays() -> bytes:
    return b"[" * 10_000 + b"]" * 10_000


def _deep_in_alert() -> bytes:
    labels = '{"a":' * 10_000 + '"x"' + "}" * 10_000
    return f'{{"version":"4","alerts":[{{"labels":{labels}}}]}}'.encode()


def _unclosed_megabyte() -> bytes:
    return b"[" * 1_000_000


def _too_many_am_alerts() -> bytes:
    return orjson.dumps({"version": "4", "alerts": [{}] * 10_001})


def _too_many_canonical() -> bytes:
    one = {"service": "s", "name": "n", "starts_at": "2026-09-01T10:00:00Z"}
    return orjson.dumps([one] * 10_001)


GENERATED: list[tuple[str, Callable[[], bytes], RejectReason, str | None]] = [
    ("ten_mib_payload", _ten_mib, RejectReason.TOO_LARGE, None),
    ("just_over_limit", lambda: b" " * 1_048_577, RejectReason.TOO_LARGE, None),
    ("arrays_10000_deep", _deep_arrays, RejectReason.TOO_DEEP, None),
    ("objects_10000_deep_in_labels", _deep_in_alert, RejectReason.TOO_DEEP, None),
    ("unclosed_million_brackets", _unclosed_megabyte, RejectReason.TOO_DEEP, None),
    ("depth_65", lambda: b"[" * 65 + b"]" * 65, RejectReason.TOO_DEEP, None),
    (
        "alertmanager_10001_alerts",
        _too_many_am_alerts,
        RejectReason.TOO_MANY_ALERTS,
        "alertmanager",
    ),
    ("canonical_10001_alerts", _too_many_canonical, RejectReason.TOO_MANY_ALERTS, "canonical"),
    ("lone_surrogate_escape", lambda: b'{"service": "\\ud800"}', RejectReason.INVALID_JSON, None),
    ("bom_then_nothing", lambda: b"\xef\xbb\xbf", RejectReason.EMPTY, None),
    ("truncated_utf8_sequence", lambda: b'{"service": "caf\xc3"}', RejectReason.INVALID_UTF8, None),
    (
        "brackets_inside_strings_are_not_depth",
        lambda: orjson.dumps({"k": "[" * 5000}),
        RejectReason.UNKNOWN_FORMAT,
        None,
    ),
]


@pytest.mark.parametrize(
    ("make", "reason", "fmt"), [c[1:] for c in GENERATED], ids=[c[0] for c in GENERATED]
)
def test_generated_case(make: Callable[[], bytes], reason: RejectReason, fmt: str | None) -> None:
    payload = make()
    result = decode(payload)
    assert isinstance(result, Rejection), result
    assert result.reason is reason, result.detail
    assert result.format == fmt
    assert result.raw is payload or result.raw == payload
    _assert_bounded_echo(result.detail, payload[:20_000])


def test_depth_limit_is_exact() -> None:
    at_limit = decode(b"[" * 64 + b"]" * 64)  # parsed, then not an alert format
    assert isinstance(at_limit, Rejection) and at_limit.reason is RejectReason.UNKNOWN_FORMAT
    deeper = decode(b"[" * 65 + b"]" * 65)
    assert isinstance(deeper, Rejection) and deeper.reason is RejectReason.TOO_DEEP
    shallow = decode(b"[" * 3 + b"]" * 3, DecodeOptions(max_depth=2))
    assert isinstance(shallow, Rejection) and shallow.reason is RejectReason.TOO_DEEP


def test_bom_is_tolerated() -> None:
    payload = b"\xef\xbb\xbf" + raw("canonical_single.json")
    result = decode(payload)
    assert not isinstance(result, Rejection), result


def test_custom_size_limit_checked_first() -> None:
    result = decode(b"\xff" * 11, DecodeOptions(max_bytes=10))
    assert isinstance(result, Rejection) and result.reason is RejectReason.TOO_LARGE
    assert "11 bytes" in result.detail and "max_bytes=10" in result.detail


def test_custom_alert_limit() -> None:
    result = decode(raw("alertmanager_v4_firing_resolved.json"), DecodeOptions(max_alerts=2))
    assert isinstance(result, Rejection)
    assert result.reason is RejectReason.TOO_MANY_ALERTS
    assert result.detail == "alerts: 3 alerts exceed max_alerts=2"


def test_decode_value_depth_is_checked_by_walking() -> None:
    nested: Any = "x"
    for _ in range(70):
        nested = {"k": nested}
    result = decode_value(
        {"service": "s", "name": "n", "starts_at": "2026-09-01T10:00:00Z", "labels": nested}
    )
    assert isinstance(result, Rejection) and result.reason is RejectReason.TOO_DEEP
    cyclic: list[Any] = []
    cyclic.append(cyclic)
    result = decode_value(cyclic, raw=b"[...]")
    assert isinstance(result, Rejection) and result.reason is RejectReason.TOO_DEEP
    assert result.raw == b"[...]"


ODD_INPUTS: list[tuple[str, Any, RejectReason]] = [
    ("none", None, RejectReason.INVALID_FIELD),
    ("int", 5, RejectReason.INVALID_FIELD),
    ("dict", {"a": 1}, RejectReason.INVALID_FIELD),
    ("str_with_lone_surrogate", '{"a": "\ud800"}', RejectReason.INVALID_UTF8),
]


@pytest.mark.parametrize(
    ("payload", "reason"), [c[1:] for c in ODD_INPUTS], ids=[c[0] for c in ODD_INPUTS]
)
def test_non_bytes_inputs_are_rejected_not_raised(payload: Any, reason: RejectReason) -> None:
    result = decode(payload)
    assert isinstance(result, Rejection)
    assert result.reason is reason


@pytest.mark.parametrize(
    "payload",
    [
        bytearray(raw("canonical_single.json")),
        memoryview(raw("canonical_single.json")),
        raw("canonical_single.json").decode(),
    ],
    ids=["bytearray", "memoryview", "str"],
)
def test_bytes_like_inputs_are_decoded(payload: Any) -> None:
    assert not isinstance(decode(payload), Rejection)


@pytest.mark.parametrize(
    "received_at",
    [datetime(2026, 9, 1, 10, 0), "2026-09-01T10:00:00Z"],
    ids=["naive_datetime", "string"],
)
def test_bad_received_at_is_a_rejection(received_at: Any) -> None:
    result = decode(raw("pagerduty_resolve.json"), received_at=received_at)
    assert isinstance(result, Rejection)
    assert result.reason is RejectReason.INVALID_FIELD
    assert result.detail.startswith("received_at: must be a timezone-aware datetime")


def test_every_reason_is_exercised() -> None:
    covered = {RejectReason(c[0].split("--")[0]) for c in CORPUS} | {c[2] for c in GENERATED}
    assert covered == set(RejectReason)
