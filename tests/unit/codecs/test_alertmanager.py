"""Alertmanager v4 and Grafana webhook decoding: field mapping from the fixtures and tables."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

import orjson
import pytest

from correlator.codecs import Decoded, DecodeOptions, alert_fingerprint, decode_value
from correlator.codecs.alertmanager import _decode_alert, _decode_plain
from correlator.model import Alert, Severity, Status
from tests.unit.codecs.corpus import decoded, raw, utc, value

AM_EXPECTED = [
    # index, fingerprint, service, severity, status, starts_at, ends_at, summary
    (
        0,
        "a1b2c3d4e5f60718",
        "checkout-api",
        Severity.CRITICAL,
        Status.FIRING,
        datetime(2026, 9, 1, 10, 2, 11, 512345, tzinfo=UTC),
        None,
        "5xx ratio above 5% for checkout-api",
    ),
    (
        1,
        "0f1e2d3c4b5a6978",
        "cart-api",
        Severity.WARNING,
        Status.RESOLVED,
        utc(2026, 9, 1, 9, 58, 40),
        datetime(2026, 9, 1, 10, 4, 40, 250000, tzinfo=UTC),
        "cart-api is answering 5.4% of requests with 5xx",
    ),
    (
        2,
        "5e4d3c2b1a098765",
        "payments-gateway",
        Severity.WARNING,
        Status.FIRING,
        utc(2026, 9, 1, 10, 3, 5),
        None,
        "",
    ),
]


@pytest.mark.parametrize(
    "case",
    AM_EXPECTED,
    ids=[
        "firing_service_label_nanos_zero_end",
        "resolved_app_label_offset_start_description_summary",
        "firing_job_label_no_severity_no_summary",
    ],
)
def test_alertmanager_fixture_mapping(case: tuple[Any, ...]) -> None:
    index, fingerprint, service, severity, status, starts_at, ends_at, summary = case
    result = decoded(raw("alertmanager_v4_firing_resolved.json"))
    assert result.format == "alertmanager"
    assert len(result.alerts) == 3
    alert = result.alerts[index]
    source_labels = value("alertmanager_v4_firing_resolved.json")["alerts"][index]["labels"]
    assert alert.fingerprint == fingerprint
    assert alert.source == "alertmanager"
    assert alert.service == service
    assert alert.name == "HighErrorRate"
    assert alert.severity is severity
    assert alert.status is status
    assert alert.starts_at == starts_at
    assert alert.ends_at == ends_at
    assert alert.summary == summary
    assert dict(alert.labels) == source_labels


GRAFANA_EXPECTED = [
    (
        0,
        "9d2f7c31e0ab4456",
        Status.FIRING,
        utc(2026, 9, 1, 9, 58),
        None,
        "Disk on pg-orders-0 is 93% full",
    ),
    (
        1,
        "1c0b9a8f7e6d5c4b",
        Status.RESOLVED,
        utc(2026, 9, 1, 9, 40),
        utc(2026, 9, 1, 9, 57, 30),
        "Disk on pg-orders-1 is 91% full",
    ),
]


@pytest.mark.parametrize("case", GRAFANA_EXPECTED, ids=["firing", "resolved"])
def test_grafana_fixture_mapping(case: tuple[Any, ...]) -> None:
    index, fingerprint, status, starts_at, ends_at, summary = case
    result = decoded(raw("grafana_v1.json"))
    assert result.format == "grafana"
    alert = result.alerts[index]
    assert alert.source == "grafana"
    assert alert.fingerprint == fingerprint
    assert alert.service == "postgres-orders"  # from service_name
    assert alert.name == "DiskAlmostFull"
    assert alert.severity is Severity.ERROR  # "high"
    assert alert.status is status
    assert (alert.starts_at, alert.ends_at) == (starts_at, ends_at)
    assert alert.summary == summary
    assert "values" not in alert.labels and "grafana_folder" in alert.labels


def _webhook(
    alert_overrides: dict[str, Any], *, common: dict[str, str] | None = None, version: str = "4"
) -> dict[str, Any]:
    alert: dict[str, Any] = {
        "status": "firing",
        "labels": {"alertname": "Probe"},
        "annotations": {},
        "startsAt": "2026-09-01T10:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "fingerprint": "00000000000000aa",
    }
    alert.update(alert_overrides)
    body: dict[str, Any] = {
        "version": version,
        "status": "firing",
        "receiver": "r",
        "alerts": [alert],
    }
    if common is not None:
        body["commonLabels"] = common
    return body


def _one(body: dict[str, Any], options: DecodeOptions | None = None) -> Alert:
    result = decode_value(body, options or DecodeOptions())
    assert isinstance(result, Decoded), result
    assert len(result.alerts) == 1
    return result.alerts[0]


SERVICE_CASES = [
    (
        "service_wins_over_all",
        {"service": "a", "service.name": "b", "service_name": "c", "app": "d", "job": "e"},
        None,
        "a",
    ),
    ("otel_service_name", {"service.name": "b", "app": "d", "job": "e"}, None, "b"),
    ("service_name_underscore", {"service_name": "c", "job": "e"}, None, "c"),
    ("app_before_job", {"app": "d", "job": "e"}, None, "d"),
    ("job_last", {"job": "e"}, None, "e"),
    ("empty_value_skipped", {"service": "", "app": "d"}, None, "d"),
    ("common_labels_fallback", {"instance": "x"}, {"service": "from-common"}, "from-common"),
    ("own_label_beats_common", {"job": "own"}, {"service": "from-common"}, "own"),
    ("nothing_is_unknown", {"instance": "x"}, None, "unknown"),
    ("empty_common_is_unknown", {}, {"service": ""}, "unknown"),
]


@pytest.mark.parametrize(
    ("labels", "common", "expected"),
    [c[1:] for c in SERVICE_CASES],
    ids=[c[0] for c in SERVICE_CASES],
)
def test_service_label_precedence(
    labels: dict[str, str], common: dict[str, str] | None, expected: str
) -> None:
    alert = _one(_webhook({"labels": {"alertname": "Probe", **labels}}, common=common))
    assert alert.service == expected


def test_service_label_keys_option() -> None:
    body = _webhook({"labels": {"alertname": "P", "service": "s", "component": "c"}})
    alert = _one(body, DecodeOptions(service_label_keys=("component", "service")))
    assert alert.service == "c"


SEVERITY_LABELS = [
    ("absent", None, Severity.WARNING),
    ("page", "page", Severity.CRITICAL),
    ("major_mixed_case", "Major", Severity.ERROR),
    ("p4", "p4", Severity.INFO),
    ("unknown_word", "sev2", Severity.WARNING),
]


@pytest.mark.parametrize(
    ("label", "expected"), [c[1:] for c in SEVERITY_LABELS], ids=[c[0] for c in SEVERITY_LABELS]
)
def test_severity_from_label(label: str | None, expected: Severity) -> None:
    labels = {"alertname": "P"} | ({} if label is None else {"severity": label})
    alert = _one(_webhook({"labels": labels}))
    assert alert.severity is expected
    assert alert.labels.get("severity") == label  # the raw label is kept


ENDS_AT = [
    ("go_zero_time", "0001-01-01T00:00:00Z", None),
    ("zero_time_with_fraction", "0001-01-01T00:00:00.000Z", None),
    ("null", None, None),
    ("real_end", "2026-09-01T10:05:00.5+00:00", datetime(2026, 9, 1, 10, 5, 0, 500000, tzinfo=UTC)),
]


@pytest.mark.parametrize(
    ("text", "expected"), [c[1:] for c in ENDS_AT], ids=[c[0] for c in ENDS_AT]
)
def test_ends_at(text: str | None, expected: datetime | None) -> None:
    assert _one(_webhook({"endsAt": text})).ends_at == expected


def test_ends_at_absent_is_none() -> None:
    body = _webhook({})
    del body["alerts"][0]["endsAt"]
    assert _one(body).ends_at is None


def test_per_alert_status_is_authoritative() -> None:
    body = _webhook({"status": "resolved", "endsAt": "2026-09-01T10:05:00Z"})
    body["status"] = "firing"
    alert = _one(body)
    assert alert.status is Status.RESOLVED
    assert alert.event_time == utc(2026, 9, 1, 10, 5)


@pytest.mark.parametrize("fingerprint", [None, ""], ids=["absent", "empty"])
def test_missing_fingerprint_is_computed_from_labels(fingerprint: str | None) -> None:
    labels = {"alertname": "Probe", "service": "s"}
    body = _webhook({"labels": labels})
    if fingerprint is None:
        del body["alerts"][0]["fingerprint"]
    else:
        body["alerts"][0]["fingerprint"] = fingerprint
    assert _one(body).fingerprint == alert_fingerprint(labels)


SUMMARIES = [
    ("summary_first", {"summary": "s", "description": "d"}, "s"),
    ("description_fallback", {"description": "d"}, "d"),
    ("empty_summary_falls_back", {"summary": "", "description": "d"}, "d"),
    ("neither", {"runbook_url": "u"}, ""),
]


@pytest.mark.parametrize(
    ("annotations", "expected"), [c[1:] for c in SUMMARIES], ids=[c[0] for c in SUMMARIES]
)
def test_summary_from_annotations(annotations: dict[str, str], expected: str) -> None:
    alert = _one(_webhook({"annotations": annotations}))
    assert alert.summary == expected
    assert dict(alert.annotations) == annotations


def test_missing_alertname_gives_empty_name() -> None:
    assert _one(_webhook({"labels": {"service": "s"}})).name == ""


def test_grafana_detected_without_org_id_and_extras_ignored() -> None:
    body = _webhook({"values": {"A": 1.5}, "valueString": "x", "panelURL": "u"}, version="1")
    result = decode_value(body)
    assert isinstance(result, Decoded)
    assert result.format == "grafana"


def test_decoded_maps_are_private_read_only_copies() -> None:
    body = _webhook({"labels": {"alertname": "P", "service": "s"}})
    alert = _one(body)
    body["alerts"][0]["labels"]["service"] = "changed"
    assert alert.labels["service"] == "s"
    assert isinstance(alert.labels, MappingProxyType)
    with pytest.raises(TypeError):
        alert.labels["x"] = "y"  # type: ignore[index]


def test_empty_alert_list_decodes_to_nothing() -> None:
    body = _webhook({})
    body["alerts"] = []
    result = decode_value(body)
    assert isinstance(result, Decoded) and result.alerts == ()


def test_bytes_and_value_paths_agree() -> None:
    payload = raw("alertmanager_v4_firing_resolved.json")
    assert decoded(payload) == decode_value(orjson.loads(payload))


def test_many_alerts_keep_order() -> None:
    body = _webhook({})
    template = body["alerts"][0]
    body["alerts"] = []
    for n in range(50):
        entry = copy.deepcopy(template)
        entry["fingerprint"] = f"{n:016x}"
        body["alerts"].append(entry)
    result = decode_value(body)
    assert isinstance(result, Decoded)
    assert [a.fingerprint for a in result.alerts] == [f"{n:016x}" for n in range(50)]


# ---------------------------------------------------------------- the one-pass shortcut

_GOOD_ENTRY: dict[str, Any] = {
    "status": "firing",
    "labels": {"alertname": "HighErrorRate", "service": "checkout", "severity": "page"},
    "annotations": {"summary": "5xx above 5%"},
    "startsAt": "2026-09-01T10:02:11.512Z",
    "endsAt": "0001-01-01T00:00:00Z",
    "fingerprint": "a1b2c3d4e5f60718",
}


def _entry(**changes: Any) -> dict[str, Any]:
    entry = copy.deepcopy(_GOOD_ENTRY)
    for key, new in changes.items():
        if new is _DROP:
            entry.pop(key, None)
        else:
            entry[key] = new
    return entry


_DROP = object()
_KEYS = DecodeOptions().service_label_keys

SHORTCUT_ACCEPTS = [
    _entry(),
    _entry(fingerprint=_DROP, annotations=_DROP),
    _entry(fingerprint="", annotations=None, endsAt=None),
    _entry(status="resolved", endsAt="2026-09-01T10:09:00+02:00"),
    _entry(endsAt="0001-01-01T00:00:00.000Z", startsAt="2026-09-01t10:02:11.123456789z"),
    _entry(labels={"app": "cart", "job": "x"}, annotations={"description": "d"}),
    _entry(labels={}, startsAt="2016-12-31T23:59:60Z"),
]
SHORTCUT_DECLINES = [
    _entry(status="pending"),
    _entry(status=None),
    _entry(labels=_DROP),
    _entry(labels={"severity": 3}),
    _entry(annotations=["summary"]),
    _entry(annotations={"summary": None}),
    _entry(startsAt=_DROP),
    _entry(startsAt="2026-09-01 10:02:11Z"),
    _entry(startsAt=1_780_000_000),
    _entry(endsAt=17),
    _entry(endsAt="2026-02-30T10:00:00Z"),
    _entry(fingerprint=5),
]


@pytest.mark.parametrize(
    "entry",
    SHORTCUT_ACCEPTS,
    ids=[
        "typical",
        "no-fingerprint-no-annotations",
        "empty-fingerprint-null-annotations-null-end",
        "resolved-with-offset-end",
        "zero-end-with-fraction-lowercase-nanos",
        "other-service-label-description",
        "no-labels-leap-second",
    ],
)
def test_shortcut_builds_the_alert_the_checked_path_builds(entry: dict[str, Any]) -> None:
    fast = _decode_plain(entry, "fallback", _KEYS, "alertmanager")
    slow = _decode_alert(entry, 0, "fallback", _KEYS, "alertmanager")
    assert fast is not None
    assert fast == slow
    assert fast.starts_at.tzinfo is UTC and type(fast.labels) is MappingProxyType
    assert fast.labels is not entry["labels"]  # a private copy, as the checked path makes


@pytest.mark.parametrize(
    "entry",
    SHORTCUT_DECLINES,
    ids=[
        "unknown-status",
        "null-status",
        "no-labels",
        "number-label",
        "array-annotations",
        "null-annotation",
        "no-start",
        "space-separated-start",
        "numeric-start",
        "numeric-end",
        "impossible-end-date",
        "numeric-fingerprint",
    ],
)
def test_shortcut_leaves_anything_unusual_to_the_checked_path(entry: dict[str, Any]) -> None:
    assert _decode_plain(entry, "fallback", _KEYS, "alertmanager") is None
    result = decode_value({"version": "4", "alerts": [entry]})
    assert not isinstance(result, Decoded)
    assert result.detail.startswith("alerts[0]")


def test_from_canonical_equals_the_checked_constructor() -> None:
    values: dict[str, Any] = {
        "fingerprint": "fp",
        "source": "alertmanager",
        "service": "checkout",
        "name": "HighErrorRate",
        "severity": Severity.ERROR,
        "status": Status.RESOLVED,
        "starts_at": datetime(2026, 9, 1, 10, 0, tzinfo=UTC),
        "ends_at": datetime(2026, 9, 1, 10, 5, tzinfo=UTC),
        "labels": MappingProxyType({"service": "checkout"}),
        "annotations": MappingProxyType({}),
        "summary": "s",
    }
    built = Alert.from_canonical(**values)
    checked = Alert(**values)
    assert built == checked
    assert built.event_time == checked.event_time
    with pytest.raises(AttributeError):
        built.name = "other"  # type: ignore[misc]
