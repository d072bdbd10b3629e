"""Alertmanager webhook v4 and Grafana webhook codec (decode and encode).

Grafana-managed alerting posts the Alertmanager shape with
``"version": "1"`` plus Grafana-only fields (``orgId``, ``state``,
``values``, panel URLs); those extras are ignored, so one decoder serves
both and only the reported format differs.

Mapping of one ``alerts[]`` entry onto :class:`~correlator.model.Alert`:

* ``status`` is taken per alert (the group status is only a summary);
* ``fingerprint`` is kept, or computed from the labels as Alertmanager does;
* ``endsAt`` equal to Go's zero time (``0001-01-01T00:00:00Z``) means "no end";
* name = ``labels.alertname`` (``""`` if absent), severity = normalised
  ``labels.severity``, service = the first non-empty label among
  ``DecodeOptions.service_label_keys``, then the same keys in
  ``commonLabels``, else ``"unknown"``;
* summary = ``annotations.summary``, else ``annotations.description``, else ``""``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from types import MappingProxyType
from typing import Any

import orjson

from correlator.codecs.fields import (
    Problem,
    describe,
    item,
    opt_str,
    opt_str_map,
    opt_time,
    req_time,
    str_map,
)
from correlator.codecs.fingerprint import alert_fingerprint
from correlator.codecs.options import DEFAULT_SERVICE_LABEL_KEYS, DecodeOptions
from correlator.codecs.result import RejectReason
from correlator.codecs.severity import normalise_severity
from correlator.codecs.timefmt import (
    ZERO_TIME,
    ZERO_TIME_TEXT,
    format_rfc3339,
    parse_rfc3339_cached,
)
from correlator.model import Alert, Status

__all__ = ["UNKNOWN_SERVICE", "decode_webhook", "encode_alertmanager"]

UNKNOWN_SERVICE = "unknown"

_STATUSES = {"firing": Status.FIRING, "resolved": Status.RESOLVED}


def _service(labels: Mapping[str, str], keys: Sequence[str]) -> str | None:
    for key in keys:
        value = labels.get(key)
        if value:
            return value
    return None


def _summary(annotations: Mapping[str, str]) -> str:
    return annotations.get("summary") or annotations.get("description") or ""


def decode_webhook(value: dict[str, Any], options: DecodeOptions, source: str) -> tuple[Alert, ...]:
    """Decode an Alertmanager (v4) or Grafana (v1) webhook body into alerts."""
    alerts = item(value, "alerts", "")
    if type(alerts) is not list:
        raise Problem(
            RejectReason.INVALID_FIELD, f"alerts: expected an array, got {describe(alerts)}"
        )
    if len(alerts) > options.max_alerts:
        raise Problem(
            RejectReason.TOO_MANY_ALERTS,
            f"alerts: {len(alerts)} alerts exceed max_alerts={options.max_alerts}",
        )
    common = value.get("commonLabels")
    common_labels = {} if common is None else str_map(common, "commonLabels")
    keys = options.service_label_keys
    fallback = _service(common_labels, keys) or UNKNOWN_SERVICE
    decoded: list[Alert] = []
    for index, entry in enumerate(alerts):
        alert = _decode_plain(entry, fallback, keys, source) if type(entry) is dict else None
        if alert is None:
            alert = _decode_alert(entry, index, fallback, keys, source)
        decoded.append(alert)
    return tuple(decoded)


def _plain_map(value: object) -> dict[str, str] | None:
    """A private copy of an object of strings; None for anything else."""
    if type(value) is not dict:
        return None
    for name, entry in value.items():
        if type(entry) is not str or type(name) is not str:
            return None
    return dict(value)


def _decode_plain(
    entry: dict[str, Any], fallback_service: str, keys: Sequence[str], source: str
) -> Alert | None:
    """The common case of one ``alerts[]`` entry, well formed, in one pass.

    Returns None at the first thing out of the ordinary, without saying what: the
    caller then decodes the entry with :func:`_decode_alert`, which checks field by
    field in a fixed order and reports the first problem precisely. So the messages
    of rejected payloads cannot depend on this shortcut, and an accepted entry gives
    an alert equal to what :func:`_decode_alert` builds (``test_alertmanager`` pins
    the two together).
    """
    status_text = entry.get("status")
    if type(status_text) is not str:
        return None
    status = _STATUSES.get(status_text)
    labels = _plain_map(entry.get("labels"))
    if status is None or labels is None:
        return None
    raw_annotations = entry.get("annotations")
    annotations = {} if raw_annotations is None else _plain_map(raw_annotations)
    starts_text = entry.get("startsAt")
    fingerprint = entry.get("fingerprint")
    if (
        annotations is None
        or type(starts_text) is not str
        or (fingerprint is not None and type(fingerprint) is not str)
    ):
        return None
    ends_text = entry.get("endsAt")
    ends_at: datetime | None = None
    try:
        starts_at = parse_rfc3339_cached(starts_text)
        if ends_text is not None and ends_text != ZERO_TIME_TEXT:
            if type(ends_text) is not str:
                return None
            ends_at = parse_rfc3339_cached(ends_text)
            if ends_at == ZERO_TIME:
                ends_at = None
    except ValueError:
        return None
    service = fallback_service
    for key in keys:
        named = labels.get(key)
        if named:
            service = named
            break
    return Alert.from_canonical(
        fingerprint=fingerprint or alert_fingerprint(labels),
        source=source,
        service=service,
        name=labels.get("alertname", ""),
        severity=normalise_severity(labels.get("severity")),
        status=status,
        starts_at=starts_at,
        ends_at=ends_at,
        labels=MappingProxyType(labels),
        annotations=MappingProxyType(annotations),
        summary=annotations.get("summary") or annotations.get("description") or "",
    )


def _decode_alert(
    entry: object, index: int, fallback_service: str, keys: Sequence[str], source: str
) -> Alert:
    """One ``alerts[]`` entry, field by field: the first problem is reported precisely."""
    path = f"alerts[{index}]"
    if type(entry) is not dict:
        raise Problem(
            RejectReason.INVALID_FIELD, f"{path}: expected an object, got {describe(entry)}"
        )
    status_text = item(entry, "status", path)
    status = _STATUSES.get(status_text) if type(status_text) is str else None
    if status is None:
        raise Problem(
            RejectReason.INVALID_FIELD,
            f"{path}.status: expected 'firing' or 'resolved', got {describe(status_text)}",
        )
    labels = str_map(item(entry, "labels", path), path, "labels")
    annotations = opt_str_map(entry, "annotations", path)
    starts_at = req_time(entry, "startsAt", path)
    ends_at = opt_time(entry, "endsAt", path)
    fingerprint = opt_str(entry, "fingerprint", path) or alert_fingerprint(labels)
    return Alert(
        fingerprint=fingerprint,
        source=source,
        service=_service(labels, keys) or fallback_service,
        name=labels.get("alertname", ""),
        severity=normalise_severity(labels.get("severity")),
        status=status,
        starts_at=starts_at,
        ends_at=ends_at,
        labels=MappingProxyType(labels),
        annotations=MappingProxyType(annotations),
        summary=_summary(annotations),
    )


def _wire_labels(alert: Alert) -> dict[str, str]:
    """Labels that make :func:`decode_webhook` give back this alert's fields."""
    labels = dict(alert.labels)
    if labels.get("alertname", "") != alert.name:
        labels["alertname"] = alert.name
    if (_service(labels, DEFAULT_SERVICE_LABEL_KEYS) or UNKNOWN_SERVICE) != alert.service:
        labels["service"] = alert.service
    if normalise_severity(labels.get("severity")) is not alert.severity:
        labels["severity"] = alert.severity.value
    return dict(sorted(labels.items()))


def _wire_annotations(alert: Alert) -> dict[str, str]:
    annotations = dict(alert.annotations)
    if _summary(annotations) != alert.summary:
        annotations["summary"] = alert.summary
    return dict(sorted(annotations.items()))


def _common(maps: Sequence[Mapping[str, str]]) -> dict[str, str]:
    if not maps:
        return {}
    first, *rest = maps
    return {
        key: value
        for key, value in sorted(first.items())
        if all(other.get(key) == value for other in rest)
    }


def _group_key(group_labels: Mapping[str, str]) -> str:
    pairs = ", ".join(
        f"{key}={orjson.dumps(value).decode()}" for key, value in sorted(group_labels.items())
    )
    return "{}:{" + pairs + "}"


def encode_alertmanager(
    alerts: Sequence[Alert],
    *,
    receiver: str = "correlator",
    group_labels: Mapping[str, str] | None = None,
    external_url: str = "http://alertmanager:9093",
) -> dict[str, Any]:
    """Build an Alertmanager webhook v4 body carrying ``alerts``.

    ``alertname``, ``service`` and ``severity`` labels and the ``summary``
    annotation are added or overwritten where needed so that decoding the
    result (with the default service label keys) gives back each alert's
    fingerprint, name, service, severity, status, times and summary (one
    corner is not representable: an empty summary next to a non-empty
    ``description`` annotation decodes as that description). The
    ``source`` becomes ``"alertmanager"``. Output is deterministic: label
    maps are sorted by key.
    """
    wire_labels = [_wire_labels(alert) for alert in alerts]
    wire_annotations = [_wire_annotations(alert) for alert in alerts]
    groups = dict(sorted((group_labels or {}).items()))
    return {
        "version": "4",
        "groupKey": _group_key(groups),
        "truncatedAlerts": 0,
        "status": "firing" if any(alert.is_firing for alert in alerts) else "resolved",
        "receiver": receiver,
        "groupLabels": groups,
        "commonLabels": _common(wire_labels),
        "commonAnnotations": _common(wire_annotations),
        "externalURL": external_url,
        "alerts": [
            {
                "status": alert.status.value,
                "labels": labels,
                "annotations": annotations,
                "startsAt": format_rfc3339(alert.starts_at),
                "endsAt": ZERO_TIME_TEXT
                if alert.ends_at is None
                else format_rfc3339(alert.ends_at),
                "generatorURL": "",
                "fingerprint": alert.fingerprint,
            }
            for alert, labels, annotations in zip(
                alerts, wire_labels, wire_annotations, strict=True
            )
        ],
    }
