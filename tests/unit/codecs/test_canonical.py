"""The canonical JSON alert: decoding, strictness, defaults and detection."""

from __future__ import annotations

from typing import Any

import pytest

from correlator.codecs import Decoded, Rejection, RejectReason, alert_fingerprint, decode_value
from correlator.codecs.canonical import looks_canonical
from correlator.model import Severity, Status
from tests.unit.codecs.corpus import decoded, only, raw, utc


def test_single_fixture() -> None:
    result = decoded(raw("canonical_single.json"))
    assert result.format == "canonical"
    alert = only(result)
    assert alert.fingerprint == "1122334455667788"
    assert alert.source == "blackbox-probe"
    assert alert.service == "postgres-orders"
    assert alert.name == "PostgresDown"
    assert alert.severity is Severity.CRITICAL
    assert alert.status is Status.FIRING
    assert alert.starts_at == utc(2026, 9, 1, 10, 1, 30, 120000)
    assert alert.ends_at is None
    assert dict(alert.labels) == {"cluster": "eu1", "instance": "pg-orders-0:5432"}
    assert dict(alert.annotations) == {
        "runbook_url": "https://runbooks.example.internal/postgres-down"
    }
    assert alert.summary == "postgres-orders primary is not accepting connections"


def test_array_fixture_with_defaults() -> None:
    result = decoded(raw("canonical_array.json"))
    assert result.format == "canonical"
    first, second = result.alerts
    assert first.fingerprint == alert_fingerprint(
        {"route": "/checkout", "alertname": "HighLatency", "service": "web-frontend"}
    )
    assert (first.source, first.status, first.severity) == (
        "canonical",
        Status.FIRING,
        Severity.WARNING,
    )
    assert first.starts_at == utc(2026, 9, 1, 10, 2, 40)
    assert first.summary == "p99 latency above 2s"
    assert (second.service, second.status, second.severity) == (
        "cart-api",
        Status.RESOLVED,
        Severity.ERROR,
    )
    assert second.ends_at == utc(2026, 9, 1, 10, 4, 40)
    assert dict(second.labels) == {} and second.summary == ""


def _minimal(**extra: Any) -> dict[str, Any]:
    return {"service": "s", "name": "n", "starts_at": "2026-09-01T10:00:00Z", **extra}


def test_defaults() -> None:
    result = decode_value(_minimal())
    assert isinstance(result, Decoded)
    alert = only(result)
    assert alert.severity is Severity.WARNING
    assert alert.status is Status.FIRING
    assert alert.source == "canonical"
    assert alert.fingerprint == alert_fingerprint({"alertname": "n", "service": "s"})
    assert (alert.ends_at, alert.summary, dict(alert.labels)) == (None, "", {})


def test_default_fingerprint_uses_fields_over_labels() -> None:
    alert = only(
        decoded(
            b'{"service": "s", "name": "n", "starts_at": "2026-09-01T10:00:00Z",'
            b' "labels": {"service": "other", "k": "v"}}'
        )
    )
    assert alert.fingerprint == alert_fingerprint({"service": "s", "alertname": "n", "k": "v"})


def test_empty_name_is_allowed() -> None:
    assert (
        only(decoded(b'{"service": "s", "name": "", "starts_at": "2026-09-01T10:00:00Z"}')).name
        == ""
    )


def test_empty_array_is_no_alerts() -> None:
    assert decoded(b"[]") == Decoded("canonical", ())


STRICT = [
    ("unknown_key", _minimal(team="x"), RejectReason.INVALID_FIELD, "team: unknown field"),
    (
        "camel_case_key",
        _minimal(startsAt="x"),
        RejectReason.INVALID_FIELD,
        "startsAt: unknown field",
    ),
    (
        "missing_service",
        {"name": "n", "starts_at": "2026-09-01T10:00:00Z"},
        RejectReason.MISSING_FIELD,
        "service: required",
    ),
    (
        "missing_name",
        {"service": "s", "starts_at": "2026-09-01T10:00:00Z"},
        RejectReason.MISSING_FIELD,
        "name: required",
    ),
    (
        "missing_starts_at",
        {"service": "s", "name": "n"},
        RejectReason.MISSING_FIELD,
        "starts_at: required",
    ),
    (
        "empty_service",
        _minimal(service=""),
        RejectReason.INVALID_FIELD,
        "service: must not be empty",
    ),
    (
        "empty_fingerprint",
        _minimal(fingerprint=""),
        RejectReason.INVALID_FIELD,
        "fingerprint: must not be empty",
    ),
    (
        "alias_severity",
        _minimal(severity="high"),
        RejectReason.INVALID_FIELD,
        "severity: expected one of critical, error, warning, info",
    ),
    (
        "bad_status",
        _minimal(status="acknowledged"),
        RejectReason.INVALID_FIELD,
        "status: expected one of firing, resolved",
    ),
    (
        "naive_start",
        _minimal(starts_at="2026-09-01T10:00:00"),
        RejectReason.INVALID_FIELD,
        "starts_at: naive time",
    ),
    (
        "number_end",
        _minimal(ends_at=1756720931),
        RejectReason.INVALID_FIELD,
        "ends_at: expected an RFC 3339 time string",
    ),
    (
        "label_list",
        _minimal(labels=["a"]),
        RejectReason.INVALID_FIELD,
        "labels: expected an object of strings",
    ),
    (
        "label_bool",
        _minimal(labels={"a": True}),
        RejectReason.INVALID_FIELD,
        "labels.a: expected a string value, got a boolean (true)",
    ),
    (
        "summary_number",
        _minimal(summary=3),
        RejectReason.INVALID_FIELD,
        "summary: expected a string",
    ),
]


@pytest.mark.parametrize(
    ("body", "reason", "detail"), [c[1:] for c in STRICT], ids=[c[0] for c in STRICT]
)
def test_strict_validation(body: dict[str, Any], reason: RejectReason, detail: str) -> None:
    result = decode_value(body)
    assert isinstance(result, Rejection)
    assert (result.reason, result.format) == (reason, "canonical")
    assert result.detail.startswith(detail), result.detail


ARRAY_PROBLEMS = [
    ("bad_second_element", [_minimal(), _minimal(severity="x")], "[1].severity"),
    ("non_object_element", [_minimal(), 5], "[1]: expected a canonical alert object"),
]


@pytest.mark.parametrize(
    ("body", "detail"), [c[1:] for c in ARRAY_PROBLEMS], ids=[c[0] for c in ARRAY_PROBLEMS]
)
def test_array_problems_name_the_element(body: list[Any], detail: str) -> None:
    result = decode_value(body)
    assert isinstance(result, Rejection)
    assert result.detail.startswith(detail)


DETECTION = [
    ("all_required", {"service": "s", "name": "n", "starts_at": "t"}, True),
    ("two_required_plus_foreign", {"service": "s", "name": "n", "team": "x"}, True),
    ("one_required_only_canonical_keys", {"name": "n", "severity": "x"}, True),
    ("one_required_with_foreign_key", {"name": "bob", "age": 3}, False),
    ("no_required", {"severity": "critical", "labels": {}}, False),
    ("empty", {}, False),
]


@pytest.mark.parametrize(
    ("body", "expected"), [c[1:] for c in DETECTION], ids=[c[0] for c in DETECTION]
)
def test_looks_canonical(body: dict[str, Any], expected: bool) -> None:
    assert looks_canonical(body) is expected
    result = decode_value(body)
    if not expected:
        assert isinstance(result, Rejection) and result.reason is RejectReason.UNKNOWN_FORMAT
    else:
        assert isinstance(result, Decoded) or result.format == "canonical"
