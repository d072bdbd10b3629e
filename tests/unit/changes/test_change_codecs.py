"""Change codecs: every format decodes to the right Change; every malformed file says why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from correlator.changes import (
    Change,
    ChangeKind,
    change_id,
    decode_change,
    decode_change_value,
    encode_change,
)
from correlator.changes.cdevents import package_name_and_version
from correlator.changes.pagerduty import guess_kind
from correlator.codecs import DecodeOptions, Rejection, RejectReason

FIXTURES = Path(__file__).parents[2] / "fixtures" / "changes"
MALFORMED = FIXTURES / "malformed"
T = datetime(2026, 9, 1, 9, 55, tzinfo=UTC)


def _decode_file(name: str, **kwargs: object) -> Change:
    result = decode_change((FIXTURES / name).read_bytes(), **kwargs)  # type: ignore[arg-type]
    assert isinstance(result, Change), result
    return result


# file, service, alternatives, kind, time, version, author, link, source, id
GOOD = [
    ("canonical_deploy.json", "checkout-svc", (), "deploy", T, "v2.14.0", "alice",
     "https://git.example.internal/shop/checkout/pull/812", "canonical", "deploy-812"),
    ("canonical_minimal.json", "payments-db", (), "config",
     datetime(2026, 9, 1, 7, 40, 0, 250000, tzinfo=UTC), None, None, None, "canonical", None),
    ("cdevents_service_deployed.json", "shop/checkout-api", ("checkout-api",), "deploy", T,
     "sha256:abc123", None, None, "cdevents", "6f1c0d2e-1111-4a5b-9c3d-2e4f5a6b7c8d"),
    ("cdevents_service_rolledback.json", "payments", (), "rollback",
     datetime(2026, 9, 1, 10, 20, tzinfo=UTC), "v3.1.0", "bob",
     "https://ci.example.internal/runs/77", "cdevents", "rb-0001"),
    ("cloudevents_cdevent.json", "cart", (), "deploy", datetime(2026, 9, 1, 9, 58, tzinfo=UTC),
     "v1.10.0", None, None, "cdevents", "up-77"),
    ("pagerduty_change.json", "checkout-api", (), "deploy", T, "v2.14.0", None,
     "https://git.example.internal/shop/checkout/commit/9f3e2a1", "pagerduty", None),
    ("pagerduty_change_rollback.json", "cart", (), "rollback",
     datetime(2026, 9, 1, 8, 31, tzinfo=UTC), None, "carol", None, "pagerduty", None),
    ("cloudevents_pagerduty_no_timestamp.json", "checkout", (), "flag",
     datetime(2026, 9, 1, 10, 5, tzinfo=UTC), None, None, None, "pagerduty", None),
]


@pytest.mark.parametrize(
    ("name", "service", "alternatives", "kind", "at", "version", "author", "link", "source",
     "given_id"),
    GOOD, ids=[g[0].removesuffix(".json") for g in GOOD],
)
def test_each_format_decodes(name: str, service: str, alternatives: tuple[str, ...], kind: str,
                             at: datetime, version: str | None, author: str | None,
                             link: str | None, source: str, given_id: str | None) -> None:
    change = _decode_file(name)
    assert (change.service, change.alt_services, change.kind.value) == (service, alternatives, kind)
    assert (change.at, change.version, change.author, change.link) == (at, version, author, link)
    assert change.source == source
    if given_id is not None:
        assert change.id == given_id
    else:
        assert change.id == change_id(source, service, kind, at, version)


def test_cdevents_summary_names_service_environment_and_artifact() -> None:
    change = _decode_file("cdevents_service_rolledback.json")
    assert change.summary == "payments rolled back in prod-eu1 (pkg:oci/payments@v3.1.0)"
    assert change.environment == "prod-eu1"


def test_pagerduty_received_at_stands_in_for_a_missing_timestamp() -> None:
    raw = b'{"payload": {"summary": "Deployed cart v2", "source": "cart"}}'
    received = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)
    change = decode_change(raw, received_at=received)
    assert isinstance(change, Change)
    assert change.at == received


@pytest.mark.parametrize(
    ("purl", "expected"),
    [
        ("pkg:oci/checkout-api@sha256%3Aabc?repository_url=r", ("checkout-api", "sha256:abc")),
        ("pkg:npm/%40scope/web@1.2.3#sub/path", ("web", "1.2.3")),
        ("pkg:golang/example.com/a/b", ("b", None)),
        ("docker.io/library/nginx:1.25", (None, None)),
    ],
    ids=["oci digest", "scoped npm with subpath", "no version", "not a purl"],
)
def test_package_url_parts(purl: str, expected: tuple[str | None, str | None]) -> None:
    assert package_name_and_version(purl) == expected


@pytest.mark.parametrize(
    ("summary", "kind"),
    [
        ("Rolled back checkout to v1", ChangeKind.ROLLBACK),
        ("Revert 'add retries'", ChangeKind.ROLLBACK),
        ("Feature flag new-cart on for 5%", ChangeKind.FLAG),
        ("Config push: pool size 50", ChangeKind.CONFIG),
        ("Deployed checkout v2.14.0", ChangeKind.DEPLOY),
    ],
    ids=["rolled back", "revert", "flag", "config", "default deploy"],
)
def test_pagerduty_kind_guess(summary: str, kind: ChangeKind) -> None:
    assert guess_kind(summary) is kind


# file -> (format, detail fragment); the reason is the file name's prefix.
MALFORMED_TABLE = {
    "empty--zero_bytes.json": (None, "payload is empty"),
    "invalid_json--trailing_comma.json": (None, "invalid JSON"),
    "invalid_utf8--latin1_service.json": (None, "invalid UTF-8 at byte 16"),
    "too_deep--nested_100.json": (None, "deeper than max_depth=64"),
    "unknown_format--top_level_array.json": (None, "top-level JSON value is an array"),
    "unknown_format--unrelated_object.json": (None, "keys ['title', 'host']"),
    "unknown_format--pagerduty_alert_event.json": (None, "a PagerDuty alert event"),
    "invalid_field--canonical_unknown_key.json": ("canonical", "sha: unknown field"),
    "invalid_field--canonical_bad_kind.json": (
        "canonical", "kind: expected one of deploy, config, flag, rollback, got a string"),
    "invalid_field--canonical_naive_time.json": ("canonical", "time: naive time"),
    "invalid_field--canonical_empty_service.json": ("canonical", "service: must not be empty"),
    "invalid_field--canonical_epoch_time.json": (
        "canonical", "time: expected an RFC 3339 time string, got a number"),
    "missing_field--canonical_no_kind.json": ("canonical", "kind: required field is missing"),
    "invalid_field--cdevents_pipeline_event.json": (
        "cdevents", "pipelinerun.finished is not a service change"),
    "invalid_field--cdevents_bad_type.json": ("cdevents", "context.type: not a CDEvents type"),
    "missing_field--cdevents_no_timestamp.json": (
        "cdevents", "context.timestamp: required field is missing"),
    "invalid_field--cdevents_subject_string.json": ("cdevents", "subject: expected an object"),
    "missing_field--pagerduty_no_service.json": (
        "pagerduty", "payload.custom_details.service: required"),
    "missing_field--pagerduty_no_timestamp.json": ("pagerduty", "payload.timestamp: required"),
    "invalid_field--pagerduty_bad_kind.json": (
        "pagerduty", "payload.custom_details.kind: expected one of"),
    "invalid_field--cloudevents_nested.json": (
        "cloudevents", "a CloudEvent inside a CloudEvent's data is not accepted"),
    "missing_field--cloudevents_canonical_no_time.json": (
        "cloudevents", "data (canonical): time: required field is missing"),
}


def test_malformed_table_covers_the_corpus() -> None:
    assert sorted(p.name for p in MALFORMED.iterdir()) == sorted(MALFORMED_TABLE)


@pytest.mark.parametrize("name", sorted(MALFORMED_TABLE), ids=lambda n: n.removesuffix(".json"))
def test_malformed_is_rejected_with_its_reason(name: str) -> None:
    raw = (MALFORMED / name).read_bytes()
    result = decode_change(raw)
    assert isinstance(result, Rejection)
    fmt, fragment = MALFORMED_TABLE[name]
    assert result.reason is RejectReason(name.split("--", maxsplit=1)[0])
    assert result.format == fmt
    assert fragment in result.detail
    assert result.raw == raw


def test_size_limit_is_checked_before_parsing() -> None:
    raw = b'{"service": "cart", "kind": "deploy", "time": "2026-09-01T10:00:00Z"}' + b" " * 2000
    result = decode_change(raw, DecodeOptions(max_bytes=1024))
    assert isinstance(result, Rejection)
    assert result.reason is RejectReason.TOO_LARGE


def test_value_decoder_checks_depth_and_carries_raw() -> None:
    deep: object = "x"
    for _ in range(70):
        deep = {"a": deep}
    result = decode_change_value(deep, raw=b"orig")
    assert isinstance(result, Rejection)
    assert (result.reason, result.raw) == (RejectReason.TOO_DEEP, b"orig")


def test_non_bytes_payload_is_a_rejection_not_an_exception() -> None:
    result = decode_change(12345)  # type: ignore[arg-type]
    assert isinstance(result, Rejection)
    assert "payload must be bytes" in result.detail


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=200).map(lambda t: t.encode()))
def test_never_raises_on_arbitrary_bytes(raw: bytes) -> None:
    assert isinstance(decode_change(raw), Change | Rejection)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**62), 2**62) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["service", "kind", "time", "context", "subject", "payload", "id",
                         "type", "timestamp", "specversion", "data", "custom_details"]),
        inner, max_size=5),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(_JSON)
def test_never_raises_on_change_shaped_json(value: object) -> None:
    assert isinstance(decode_change(orjson.dumps(value)), Change | Rejection)


_NAME = st.text(st.characters(min_codepoint=33, max_codepoint=0x2FFF, exclude_categories=["Cs"]),
                min_size=1, max_size=20)


@settings(max_examples=200, deadline=None)
@given(
    service=_NAME,
    kind=st.sampled_from(list(ChangeKind)),
    offset_ms=st.integers(-10**10, 10**10),
    version=st.none() | _NAME,
    author=st.none() | _NAME,
)
def test_canonical_round_trip(service: str, kind: ChangeKind, offset_ms: int,
                              version: str | None, author: str | None) -> None:
    at = T + timedelta(milliseconds=offset_ms)
    change = Change(id=change_id("canonical", service, kind.value, at, version), service=service,
                    kind=kind, at=at, version=version, author=author, summary="s")
    again = decode_change(orjson.dumps(encode_change(change)))
    assert again == change


def test_change_rejects_naive_time_and_empty_service() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Change(id="x", service="cart", kind=ChangeKind.DEPLOY, at=datetime(2026, 9, 1))
    with pytest.raises(ValueError, match="service must not be empty"):
        Change(id="x", service="", kind=ChangeKind.DEPLOY, at=T)


def test_change_id_is_deterministic_and_distinguishes_versions() -> None:
    a = change_id("canonical", "cart", "deploy", T, "v1")
    assert a == change_id("canonical", "cart", "deploy", T, "v1")
    assert a != change_id("canonical", "cart", "deploy", T, "v2")
    assert a.startswith("chg-") and len(a) == 20
