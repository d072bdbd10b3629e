"""Burn-rate alerts from Sloth, Grafana SLO and Pyrra are recognised; others are not."""

from __future__ import annotations

import pytest

from correlator.budget import BurnSource, BurnSpeed, recognise_burn_alert
from tests.helpers import alert

# name, alert name, severity, labels, expected (source, speed, service, slo) or None
CASES = [
    ("sloth page", "CheckoutAvailabilityHighErrorRate", "critical",
     {"sloth_service": "checkout", "sloth_slo": "availability", "sloth_severity": "page"},
     ("sloth", "fast", "checkout", "availability")),
    ("sloth ticket", "X", "warning",
     {"sloth_service": "checkout", "sloth_slo": "latency", "sloth_severity": "ticket"},
     ("sloth", "slow", "checkout", "latency")),
    ("sloth service label wins over service", "X", "critical",
     {"service": "web", "sloth_service": "checkout-svc", "sloth_id": "checkout-availability",
      "sloth_severity": "PAGE"},
     ("sloth", "fast", "checkout-svc", "checkout-availability")),
    ("sloth without a burn severity", "X", "critical",
     {"sloth_service": "checkout", "sloth_slo": "a", "sloth_severity": "info"}, None),
    ("grafana fast", "SLO burn", "critical",
     {"grafana_slo_uuid": "u-1", "grafana_slo_severity": "critical",
      "grafana_slo_name": "checkout availability"},
     ("grafana_slo", "fast", "checkout", "checkout availability")),
    ("grafana slow falls back to the uuid", "SLO burn", "warning",
     {"grafana_slo_uuid": "u-2", "grafana_slo_severity": "warning"},
     ("grafana_slo", "slow", "checkout", "u-2")),
    ("grafana without severity", "SLO burn", "warning", {"grafana_slo_uuid": "u-3"}, None),
    ("pyrra critical", "ErrorBudgetBurn", "critical", {"slo": "checkout-errors"},
     ("pyrra", "fast", "checkout", "checkout-errors")),
    ("pyrra warning by window labels", "SomethingElse", "warning",
     {"slo": "checkout-latency", "long": "6h", "short": "30m"},
     ("pyrra", "slow", "checkout", "checkout-latency")),
    ("bare slo label is not enough", "HighErrorRate", "critical", {"slo": "gold"}, None),
    ("ordinary alert", "HighErrorRate", "critical", {"service": "checkout"}, None),
]


@pytest.mark.parametrize(("name", "severity", "labels", "expected"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_recognition(name: str, severity: str, labels: dict[str, str],
                     expected: tuple[str, str, str, str] | None) -> None:
    signal = recognise_burn_alert(alert("fp1", "checkout", 0, severity=severity, name=name,
                                        labels=labels))
    if expected is None:
        assert signal is None
        return
    assert signal is not None
    assert (signal.source, signal.speed, signal.service, signal.slo) == (
        BurnSource(expected[0]), BurnSpeed(expected[1]), expected[2], expected[3])
    assert signal.fingerprint == "fp1" and signal.firing


def test_resolved_burn_alert_is_not_firing() -> None:
    labels = {"sloth_service": "checkout", "sloth_slo": "a", "sloth_severity": "page"}
    signal = recognise_burn_alert(alert("fp", "checkout", 0, status="resolved", labels=labels))
    assert signal is not None and not signal.firing
