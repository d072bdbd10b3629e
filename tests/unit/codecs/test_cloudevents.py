"""CloudEvents 1.0 structured envelopes around the other formats."""

from __future__ import annotations

import base64
from typing import Any

import orjson
import pytest

from correlator.codecs import Decoded, Rejection, RejectReason, decode_value
from correlator.model import Status
from tests.unit.codecs.corpus import decoded, only, raw, utc, value


@pytest.mark.parametrize(
    ("envelope", "inner"),
    [
        ("cloudevents_alertmanager.json", "alertmanager_v4_firing_resolved.json"),
        ("cloudevents_canonical.json", "canonical_single.json"),
    ],
    ids=["alertmanager", "canonical"],
)
def test_envelope_gives_the_inner_alerts(envelope: str, inner: str) -> None:
    wrapped = decoded(raw(envelope))
    assert wrapped.format == "cloudevents"
    assert wrapped.alerts == decoded(raw(inner)).alerts
    assert wrapped.alerts


def test_base64_pagerduty_resolve_uses_event_time() -> None:
    alert = only(decoded(raw("cloudevents_base64_pagerduty.json")))
    assert alert.status is Status.RESOLVED
    assert alert.ends_at == utc(2026, 9, 1, 10, 7)


def test_caller_received_at_wins_over_event_time() -> None:
    received = utc(2026, 9, 1, 10, 8)
    alert = only(decoded(raw("cloudevents_base64_pagerduty.json"), received_at=received))
    assert alert.ends_at == received


def _event(**fields: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "specversion": "1.0",
        "id": "1",
        "source": "/probes",
        "type": "dev.correlator.alert.v1",
        "data": value("canonical_single.json"),
    }
    event.update(fields)
    return {k: v for k, v in event.items() if v is not None}


def test_data_base64_with_json_content() -> None:
    data = base64.b64encode(orjson.dumps(value("canonical_single.json"))).decode()
    result = decode_value(_event(data=None, data_base64=data))
    assert isinstance(result, Decoded)
    assert only(result).service == "postgres-orders"


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/cloudevents+json; charset=UTF-8",
        "text/json",
        "APPLICATION/JSON",
    ],
)
def test_json_content_types_accepted(content_type: str) -> None:
    assert isinstance(decode_value(_event(datacontenttype=content_type)), Decoded)


PROBLEMS = [
    (
        "specversion_number",
        {"specversion": 1.0},
        RejectReason.INVALID_FIELD,
        "specversion: only '1.0'",
    ),
    ("missing_id", {"id": None}, RejectReason.MISSING_FIELD, "id: required"),
    ("empty_source", {"source": ""}, RejectReason.INVALID_FIELD, "source: must not be empty"),
    ("type_number", {"type": 3}, RejectReason.INVALID_FIELD, "type: expected a string"),
    ("bad_time", {"time": "now"}, RejectReason.INVALID_FIELD, "time: not an RFC 3339 time"),
    (
        "xml_content",
        {"datacontenttype": "application/xml"},
        RejectReason.INVALID_FIELD,
        "datacontenttype",
    ),
    ("no_data", {"data": None}, RejectReason.MISSING_FIELD, "data: required"),
    (
        "data_is_string",
        {"data": "null"},
        RejectReason.INVALID_FIELD,
        "data: expected a JSON object",
    ),
    ("both_data_forms", {"data_base64": "e30="}, RejectReason.INVALID_FIELD, "data, data_base64"),
    (
        "bad_base64",
        {"data": None, "data_base64": "***"},
        RejectReason.INVALID_FIELD,
        "data_base64: not valid base64",
    ),
    (
        "base64_not_json",
        {"data": None, "data_base64": base64.b64encode(b"hello").decode()},
        RejectReason.INVALID_JSON,
        "data_base64: invalid JSON",
    ),
    (
        "base64_not_utf8",
        {"data": None, "data_base64": base64.b64encode(b'{"a":"\xff"}').decode()},
        RejectReason.INVALID_UTF8,
        "data_base64: invalid UTF-8",
    ),
    ("base64_empty", {"data": None, "data_base64": ""}, RejectReason.EMPTY, "data_base64 is empty"),
    (
        "base64_too_deep",
        {"data": None, "data_base64": base64.b64encode(b"[" * 100 + b"]" * 100).decode()},
        RejectReason.TOO_DEEP,
        "data_base64: JSON nests deeper",
    ),
    (
        "unknown_inner_format",
        {"data": {"foo": 1}},
        RejectReason.UNKNOWN_FORMAT,
        "data: JSON object with keys ['foo']",
    ),
    (
        "inner_field_problem",
        {"data": {"service": "s", "name": "n", "starts_at": "x"}},
        RejectReason.INVALID_FIELD,
        "data (canonical): starts_at: not an RFC 3339 time",
    ),
    (
        "nested_envelope",
        {"data": {"specversion": "1.0", "id": "2", "source": "/x", "type": "t", "data": {}}},
        RejectReason.INVALID_FIELD,
        "data (cloudevents): a CloudEvent inside",
    ),
]


@pytest.mark.parametrize(
    ("fields", "reason", "detail"), [c[1:] for c in PROBLEMS], ids=[c[0] for c in PROBLEMS]
)
def test_envelope_problems(fields: dict[str, Any], reason: RejectReason, detail: str) -> None:
    event = _event()
    for key, new in fields.items():
        if new is None:
            event.pop(key, None)
        else:
            event[key] = new
    result = decode_value(event)
    assert isinstance(result, Rejection)
    assert (result.reason, result.format) == (reason, "cloudevents")
    assert result.detail.startswith(detail), result.detail


def test_data_null_literal() -> None:
    result = decode_value(_event(data=None) | {"data": None})
    assert isinstance(result, Rejection)
    assert result.detail.startswith("data: expected a JSON object or array, got null")
