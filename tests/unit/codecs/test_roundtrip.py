"""encode -> decode round trips for the canonical and Alertmanager encoders."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from correlator.codecs import (
    Decoded,
    decode,
    encode_alertmanager,
    encode_canonical,
)
from correlator.model import Alert, Severity, Status
from tests.unit.codecs.corpus import GOOD_FIXTURES, decoded, raw, utc
from tests.unit.codecs.strategies import alerts

RECEIVED = utc(2026, 9, 1, 10, 6)


def _fixture_alerts() -> list[Alert]:
    found: list[Alert] = []
    for name in GOOD_FIXTURES:
        found.extend(decoded(raw(name), received_at=RECEIVED).alerts)
    return found


def _decode_json(body: object) -> Decoded:
    return decoded(orjson.dumps(body))


@pytest.mark.parametrize("alert", _fixture_alerts(), ids=lambda a: f"{a.source}-{a.fingerprint}")
def test_canonical_round_trip_of_fixture_alerts(alert: Alert) -> None:
    again = _decode_json(encode_canonical(alert))
    assert again.format == "canonical"
    assert again.alerts == (alert,)


@given(alerts)
def test_canonical_round_trip(alert: Alert) -> None:
    assert _decode_json(encode_canonical(alert)).alerts == (alert,)


def test_canonical_encoding_shape() -> None:
    alert = Alert(
        fingerprint="f",
        source="src",
        service="svc",
        name="n",
        severity=Severity.ERROR,
        status=Status.RESOLVED,
        starts_at=utc(2026, 9, 1, 10, 0, 0, 5000),
        ends_at=utc(2026, 9, 1, 10, 5),
        labels={"b": "2", "a": "1"},
    )
    body = encode_canonical(alert)
    assert body == {
        "fingerprint": "f",
        "source": "src",
        "service": "svc",
        "name": "n",
        "severity": "error",
        "status": "resolved",
        "starts_at": "2026-09-01T10:00:00.005Z",
        "ends_at": "2026-09-01T10:05:00Z",
        "labels": {"a": "1", "b": "2"},
        "annotations": {},
        "summary": "",
    }
    assert list(body["labels"]) == ["a", "b"]


def _core(alert: Alert) -> tuple[object, ...]:
    return (
        alert.fingerprint,
        alert.name,
        alert.service,
        alert.severity,
        alert.status,
        alert.starts_at,
        alert.ends_at,
        alert.summary,
    )


def _representable(alert: Alert) -> bool:
    # An empty summary next to a description annotation reads back as the description.
    return bool(alert.summary) or not alert.annotations.get("description")


@settings(max_examples=200)
@given(st.lists(alerts, max_size=6))
def test_alertmanager_round_trip_keeps_alert_fields(batch: list[Alert]) -> None:
    assume(all(_representable(alert) for alert in batch))
    result = _decode_json(encode_alertmanager(batch))
    assert result.format == "alertmanager"
    assert [_core(a) for a in result.alerts] == [_core(a) for a in batch]
    for before, after in zip(batch, result.alerts, strict=True):
        assert after.source == "alertmanager"
        steering = {"alertname", "service", "severity"}
        assert {
            k: v for k, v in before.labels.items() if k not in steering
        }.items() <= after.labels.items()
        assert {
            k: v for k, v in before.annotations.items() if k != "summary"
        }.items() <= after.annotations.items()


@settings(max_examples=200)
@given(st.lists(alerts, max_size=6))
def test_alertmanager_encoding_is_idempotent_after_one_pass(batch: list[Alert]) -> None:
    once = _decode_json(encode_alertmanager(batch)).alerts
    twice = _decode_json(encode_alertmanager(once)).alerts
    assert twice == once
    assert encode_alertmanager(once) == encode_alertmanager(twice)


def test_alertmanager_fixture_round_trips_exactly() -> None:
    original = decoded(raw("alertmanager_v4_firing_resolved.json")).alerts
    assert _decode_json(encode_alertmanager(original)).alerts == original


def test_alertmanager_encoding_shape() -> None:
    firing = Alert(
        fingerprint="00000000000000aa",
        source="sim",
        service="checkout-api",
        name="HighErrorRate",
        severity=Severity.CRITICAL,
        status=Status.FIRING,
        starts_at=utc(2026, 9, 1, 10, 2, 11, 512000),
        labels={"cluster": "eu1", "team": "payments"},
        summary="errors",
    )
    resolved = Alert(
        fingerprint="00000000000000bb",
        source="sim",
        service="cart-api",
        name="HighErrorRate",
        severity=Severity.WARNING,
        status=Status.RESOLVED,
        starts_at=utc(2026, 9, 1, 9, 58, 40),
        ends_at=utc(2026, 9, 1, 10, 4, 40),
        labels={"cluster": "eu1", "team": "payments", "severity": "warn"},
    )
    body = encode_alertmanager(
        [firing, resolved],
        receiver="storm",
        group_labels={"cluster": "eu1", "alertname": "HighErrorRate"},
        external_url="http://am.example:9093",
    )
    assert body["version"] == "4"
    assert body["status"] == "firing"
    assert body["receiver"] == "storm"
    assert body["externalURL"] == "http://am.example:9093"
    assert body["truncatedAlerts"] == 0
    assert body["groupKey"] == '{}:{alertname="HighErrorRate", cluster="eu1"}'
    assert body["groupLabels"] == {"alertname": "HighErrorRate", "cluster": "eu1"}
    assert body["commonLabels"] == {
        "alertname": "HighErrorRate",
        "cluster": "eu1",
        "team": "payments",
    }
    first, second = body["alerts"]
    assert first["labels"] == {
        "alertname": "HighErrorRate",
        "cluster": "eu1",
        "service": "checkout-api",
        "severity": "critical",
        "team": "payments",
    }
    assert first["annotations"] == {"summary": "errors"}
    assert (first["startsAt"], first["endsAt"]) == (
        "2026-09-01T10:02:11.512Z",
        "0001-01-01T00:00:00Z",
    )
    assert second["labels"]["severity"] == "warn"  # already normalises to warning: kept
    assert (second["status"], second["endsAt"]) == ("resolved", "2026-09-01T10:04:40Z")
    assert [a["fingerprint"] for a in body["alerts"]] == ["00000000000000aa", "00000000000000bb"]


def test_alertmanager_all_resolved_group_status() -> None:
    alert = Alert(
        fingerprint="f", source="s", service="svc", name="n", severity=Severity.INFO,
        status=Status.RESOLVED, starts_at=utc(2026, 9, 1), ends_at=utc(2026, 9, 1, 1),
    )  # fmt: skip
    body = encode_alertmanager([alert])
    assert body["status"] == "resolved"
    assert isinstance(decode(orjson.dumps(body)), Decoded)


def test_empty_alertmanager_encoding_decodes_to_nothing() -> None:
    body = encode_alertmanager([])
    assert body["commonLabels"] == {} and body["alerts"] == []
    assert _decode_json(body).alerts == ()
