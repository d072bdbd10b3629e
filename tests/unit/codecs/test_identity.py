"""Fingerprints, severity normalisation and DecodeOptions validation."""

from __future__ import annotations

import hashlib
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from correlator.codecs import DEFAULT_SERVICE_LABEL_KEYS, DecodeOptions, alert_fingerprint
from correlator.codecs.fingerprint import derived_dedup_key, pagerduty_fingerprint
from correlator.codecs.severity import normalise_severity
from correlator.errors import ConfigError
from correlator.model import Severity

# Test vectors of Prometheus' label-set fingerprint (prometheus/common model
# signature tests); equal values mean we give Alertmanager's identity.
PROMETHEUS_VECTORS = [
    ("empty", {}, 14695981039346656037),
    ("two_labels", {"name": "garland, briggs", "fear": "love is not enough"}, 5799056148416392346),
]


@pytest.mark.parametrize(
    ("labels", "expected"),
    [c[1:] for c in PROMETHEUS_VECTORS],
    ids=[c[0] for c in PROMETHEUS_VECTORS],
)
def test_alert_fingerprint_matches_prometheus(labels: dict[str, str], expected: int) -> None:
    assert alert_fingerprint(labels) == f"{expected:016x}"


labels_strategy = st.dictionaries(st.text(max_size=12), st.text(max_size=12), max_size=6)


@given(labels_strategy)
def test_alert_fingerprint_is_16_hex_and_order_independent(labels: dict[str, str]) -> None:
    fingerprint = alert_fingerprint(labels)
    assert re.fullmatch(r"[0-9a-f]{16}", fingerprint)
    assert alert_fingerprint(dict(reversed(list(labels.items())))) == fingerprint


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ({"a": "b"}, {"a": "c"}),
        ({"a": "b"}, {"b": "a"}),
        ({"ab": "c"}, {"a": "bc"}),  # the separator byte keeps these apart
        ({"a": "b"}, {"a": "b", "c": ""}),
    ],
    ids=["value", "swapped", "boundary", "extra_empty_label"],
)
def test_alert_fingerprint_distinguishes(a: dict[str, str], b: dict[str, str]) -> None:
    assert alert_fingerprint(a) != alert_fingerprint(b)


def test_pagerduty_fingerprint_is_documented_hash_of_dedup_key() -> None:
    key = "payments/checkout-api/HighErrorRate"
    digest = hashlib.blake2b(digest_size=8)
    for part in ("pagerduty", key):
        digest.update(part.encode() + b"\x1f")
    assert pagerduty_fingerprint(key) == digest.hexdigest()
    assert pagerduty_fingerprint(key) != pagerduty_fingerprint(key + "x")


def test_derived_dedup_key_is_deterministic_and_sensitive() -> None:
    base = derived_dedup_key("rk", "db-1", "lag high")
    assert base == derived_dedup_key("rk", "db-1", "lag high")
    assert base.startswith("derived:")
    others = {
        derived_dedup_key("rk2", "db-1", "lag high"),
        derived_dedup_key("rk", "db-2", "lag high"),
        derived_dedup_key("rk", "db-1", "lag low"),
        derived_dedup_key("rkdb-1", "", "lag high"),
    }
    assert base not in others
    assert len(others) == 4


SEVERITIES = [
    *[(word, Severity.CRITICAL) for word in ("critical", "crit", "page", "p1")],
    *[(word, Severity.ERROR) for word in ("error", "high", "major", "p2")],
    *[(word, Severity.WARNING) for word in ("warning", "warn", "ticket", "minor", "medium", "p3")],
    *[(word, Severity.INFO) for word in ("info", "low", "none", "p4", "p5")],
    ("CRITICAL", Severity.CRITICAL),
    (" Page ", Severity.CRITICAL),
    ("P2", Severity.ERROR),
    ("Warning\n", Severity.WARNING),
    ("", Severity.WARNING),
    (None, Severity.WARNING),
    ("disaster", Severity.WARNING),
    ("p0", Severity.WARNING),
    ("sev1", Severity.WARNING),
]


@pytest.mark.parametrize(
    ("word", "expected"), SEVERITIES, ids=[f"{w!r}->{e.value}" for w, e in SEVERITIES]
)
def test_normalise_severity(word: str | None, expected: Severity) -> None:
    assert normalise_severity(word) is expected


def test_default_options() -> None:
    options = DecodeOptions()
    assert options.max_bytes == 1_048_576
    assert options.max_depth == 64
    assert options.max_alerts == 10_000
    assert options.service_label_keys == DEFAULT_SERVICE_LABEL_KEYS
    assert DEFAULT_SERVICE_LABEL_KEYS == ("service", "service.name", "service_name", "app", "job")


BAD_OPTIONS = [
    ("zero_bytes", {"max_bytes": 0}, "max_bytes must be a positive integer"),
    ("negative_depth", {"max_depth": -1}, "max_depth must be a positive integer"),
    ("float_alerts", {"max_alerts": 1.5}, "max_alerts must be a positive integer"),
    ("bool_bytes", {"max_bytes": True}, "max_bytes must be a positive integer"),
    ("depth_over_ceiling", {"max_depth": 513}, "max_depth must be at most 512"),
    ("empty_keys", {"service_label_keys": ()}, "must not be empty"),
    ("string_keys", {"service_label_keys": "service"}, "must be a tuple of label names"),
    ("blank_key", {"service_label_keys": ("service", "")}, "non-empty strings"),
    ("non_string_key", {"service_label_keys": ("service", 3)}, "non-empty strings"),
]


@pytest.mark.parametrize(
    ("kwargs", "message"), [c[1:] for c in BAD_OPTIONS], ids=[c[0] for c in BAD_OPTIONS]
)
def test_options_validation(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        DecodeOptions(**kwargs)  # type: ignore[arg-type]


def test_options_list_of_keys_becomes_tuple() -> None:
    options = DecodeOptions(service_label_keys=["app", "job"])  # type: ignore[arg-type]
    assert options.service_label_keys == ("app", "job")
    hash(options)
