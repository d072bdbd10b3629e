"""PagerDuty Events API v2 decoding: trigger, acknowledge, resolve."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from correlator.codecs import Decoded, Rejection, RejectReason, decode_value
from correlator.codecs.fingerprint import derived_dedup_key, pagerduty_fingerprint
from correlator.codecs.pagerduty import EPOCH
from correlator.model import Alert, Severity, Status
from tests.unit.codecs.corpus import decoded, only, raw, utc, value

RECEIVED = utc(2026, 9, 1, 10, 6, 30)
DEDUP = "payments/checkout-api/HighErrorRate"


def test_trigger_fixture_mapping() -> None:
    result = decoded(raw("pagerduty_trigger.json"))
    assert result.format == "pagerduty"
    alert = only(result)
    assert alert.fingerprint == pagerduty_fingerprint(DEDUP)
    assert alert.source == "pagerduty"
    assert alert.service == "checkout-api"
    assert alert.name == "error-rate"
    assert alert.severity is Severity.CRITICAL
    assert alert.status is Status.FIRING
    assert alert.starts_at == utc(2026, 9, 1, 10, 2, 11)
    assert alert.ends_at is None
    assert alert.summary == "checkout-api 5xx ratio 7.2% (>5%)"
    assert dict(alert.labels) == {
        "cluster": "eu1",
        "namespace": "shop",
        "source": "checkout-api.shop.eu1",
        "component": "checkout-api",
        "group": "payments",
        "class": "error-rate",
    }
    assert dict(alert.annotations) == {
        "client": "Prometheus",
        "client_url": "https://grafana.example.internal/d/abc",
    }


def test_trigger_without_dedup_key_fixture() -> None:
    body = value("pagerduty_trigger_no_dedup_key.json")
    alert = only(decoded(raw("pagerduty_trigger_no_dedup_key.json")))
    payload = body["payload"]
    key = derived_dedup_key(body["routing_key"], payload["source"], payload["summary"])
    assert alert.fingerprint == pagerduty_fingerprint(key)
    assert alert.service == "postgres-orders"  # custom_details.service
    assert alert.name == "Replication lag on pg-orders-1 above 30s"  # blanks collapsed
    assert alert.severity is Severity.WARNING
    assert alert.starts_at == utc(2015, 7, 17, 8, 42, 58, 315000)  # "+0000" offset form
    assert dict(alert.labels) == {"service": "postgres-orders", "source": "pg-orders-1.db.eu1"}


def _trigger(**payload_overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {"summary": "disk full", "source": "db-1", "severity": "error"}
    payload.update(payload_overrides)
    payload = {k: v for k, v in payload.items() if v is not None}
    return {
        "routing_key": "r" * 32,
        "event_action": "trigger",
        "dedup_key": "k",
        "payload": payload,
    }


def _one(body: dict[str, Any], **kwargs: Any) -> Alert:
    result = decode_value(body, **kwargs)
    assert isinstance(result, Decoded), result
    return only(result)


SERVICE_CASES = [
    ("component_first", {"component": "c", "custom_details": {"service": "d"}}, "c"),
    ("custom_details_service", {"custom_details": {"service": "d"}}, "d"),
    ("source_last", {}, "db-1"),
    ("empty_component_skipped", {"component": "", "custom_details": {"service": "d"}}, "d"),
    ("non_string_detail_ignored", {"custom_details": {"service": 3}}, "db-1"),
]


@pytest.mark.parametrize(
    ("overrides", "expected"), [c[1:] for c in SERVICE_CASES], ids=[c[0] for c in SERVICE_CASES]
)
def test_trigger_service_precedence(overrides: dict[str, Any], expected: str) -> None:
    assert _one(_trigger(**overrides), received_at=RECEIVED).service == expected


NAME_CASES = [
    ("class", {"class": "disk"}, "disk"),
    ("summary", {}, "disk full"),
    ("long_summary_cut", {"summary": "x" * 100}, "x" * 64),
    ("blank_runs_collapsed", {"summary": " disk \n\t full "}, "disk full"),
]


@pytest.mark.parametrize(
    ("overrides", "expected"), [c[1:] for c in NAME_CASES], ids=[c[0] for c in NAME_CASES]
)
def test_trigger_name(overrides: dict[str, Any], expected: str) -> None:
    assert _one(_trigger(**overrides), received_at=RECEIVED).name == expected


def test_payload_fields_win_over_custom_details_labels() -> None:
    alert = _one(
        _trigger(group="g", custom_details={"source": "fake", "group": "fake", "team": "t"}),
        received_at=RECEIVED,
    )
    assert dict(alert.labels) == {"source": "db-1", "group": "g", "team": "t"}


@pytest.mark.parametrize("severity", ["critical", "error", "warning", "info", "WARNING"])
def test_trigger_severities(severity: str) -> None:
    alert = _one(_trigger(severity=severity), received_at=RECEIVED)
    assert alert.severity.value == severity.lower()


def test_trigger_time_falls_back_to_received_at() -> None:
    assert _one(_trigger(), received_at=RECEIVED).starts_at == RECEIVED


def test_trigger_payload_time_wins_over_received_at() -> None:
    alert = _one(_trigger(timestamp="2026-09-01T10:00:00Z"), received_at=RECEIVED)
    assert alert.starts_at == utc(2026, 9, 1, 10)


def test_trigger_without_any_time_is_rejected() -> None:
    result = decode_value(_trigger())
    assert isinstance(result, Rejection)
    assert result.reason is RejectReason.MISSING_FIELD
    assert result.detail.startswith("payload.timestamp")


def test_acknowledge_stays_firing_with_label() -> None:
    alert = only(decoded(raw("pagerduty_acknowledge.json"), received_at=RECEIVED))
    assert alert.fingerprint == pagerduty_fingerprint(DEDUP)
    assert alert.status is Status.FIRING
    assert alert.starts_at == RECEIVED
    assert dict(alert.labels) == {"pagerduty_action": "acknowledge"}
    assert alert.service == "unknown"


def test_acknowledge_without_received_at_is_rejected() -> None:
    result = decode_value(value("pagerduty_acknowledge.json"))
    assert isinstance(result, Rejection)
    assert result.reason is RejectReason.MISSING_FIELD
    assert result.format == "pagerduty"
    assert "received_at" in result.detail


@pytest.mark.parametrize(
    ("received_at", "starts_at", "ends_at"),
    [(RECEIVED, RECEIVED, RECEIVED), (None, EPOCH, None)],
    ids=["with_received_at", "without_received_at_epoch_placeholder"],
)
def test_resolve(received_at: Any, starts_at: Any, ends_at: Any) -> None:
    alert = only(decoded(raw("pagerduty_resolve.json"), received_at=received_at))
    assert alert.fingerprint == pagerduty_fingerprint(DEDUP)
    assert alert.status is Status.RESOLVED
    assert (alert.starts_at, alert.ends_at) == (starts_at, ends_at)
    assert alert.event_time == ends_at


def test_trigger_ack_resolve_share_identity() -> None:
    fingerprints = {
        only(decoded(raw(name), received_at=RECEIVED)).fingerprint
        for name in (
            "pagerduty_trigger.json",
            "pagerduty_acknowledge.json",
            "pagerduty_resolve.json",
        )
    }
    assert len(fingerprints) == 1


def test_resolve_ignores_payload_like_pagerduty() -> None:
    body = value("pagerduty_resolve.json") | {"payload": {"severity": "nonsense", "timestamp": 5}}
    assert _one(body).status is Status.RESOLVED


PROBLEMS = [
    ("no_routing_key", {"routing_key": None}, RejectReason.MISSING_FIELD, "routing_key: required"),
    (
        "empty_routing_key",
        {"routing_key": ""},
        RejectReason.INVALID_FIELD,
        "routing_key: must not be empty",
    ),
    (
        "bad_action",
        {"event_action": "escalate"},
        RejectReason.INVALID_FIELD,
        "event_action: expected one of",
    ),
    (
        "action_not_string",
        {"event_action": 1},
        RejectReason.INVALID_FIELD,
        "event_action: expected a string",
    ),
    ("dedup_key_too_long", {"dedup_key": "k" * 256}, RejectReason.INVALID_FIELD, "limit of 255"),
    (
        "dedup_key_number",
        {"dedup_key": 7},
        RejectReason.INVALID_FIELD,
        "dedup_key: expected a string",
    ),
    ("payload_missing", {"payload": None}, RejectReason.MISSING_FIELD, "payload: required"),
    ("payload_string", {"payload": "x"}, RejectReason.INVALID_FIELD, "payload: expected an object"),
]


@pytest.mark.parametrize(
    ("overrides", "reason", "detail"), [c[1:] for c in PROBLEMS], ids=[c[0] for c in PROBLEMS]
)
def test_event_problems(overrides: dict[str, Any], reason: RejectReason, detail: str) -> None:
    body = _trigger()
    for key, new in overrides.items():
        if new is None:
            del body[key]
        else:
            body[key] = new
    result = decode_value(body, raw=orjson.dumps(body), received_at=RECEIVED)
    assert isinstance(result, Rejection)
    assert (result.reason, result.format) == (reason, "pagerduty")
    assert detail in result.detail
    assert result.raw == orjson.dumps(body)


PAYLOAD_PROBLEMS = [
    ("no_summary", {"summary": None}, RejectReason.MISSING_FIELD, "payload.summary"),
    ("no_source", {"source": None}, RejectReason.MISSING_FIELD, "payload.source"),
    ("no_severity", {"severity": None}, RejectReason.MISSING_FIELD, "payload.severity"),
    ("severity_high", {"severity": "high"}, RejectReason.INVALID_FIELD, "payload.severity"),
    (
        "empty_summary",
        {"summary": ""},
        RejectReason.INVALID_FIELD,
        "payload.summary: must not be empty",
    ),
    ("bad_timestamp", {"timestamp": "17/07/2015"}, RejectReason.INVALID_FIELD, "payload.timestamp"),
    ("component_number", {"component": 5}, RejectReason.INVALID_FIELD, "payload.component"),
]


@pytest.mark.parametrize(
    ("overrides", "reason", "detail"),
    [c[1:] for c in PAYLOAD_PROBLEMS],
    ids=[c[0] for c in PAYLOAD_PROBLEMS],
)
def test_trigger_payload_problems(
    overrides: dict[str, Any], reason: RejectReason, detail: str
) -> None:
    body = _trigger()
    for key, new in overrides.items():
        if new is None:
            del body["payload"][key]
        else:
            body["payload"][key] = new
    result = decode_value(body, received_at=RECEIVED)
    assert isinstance(result, Rejection)
    assert result.reason is reason
    assert result.detail.startswith(detail)
