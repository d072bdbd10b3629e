"""Incident CloudEvents and dead letters: the exact shape consumers rely on."""

from __future__ import annotations

from types import MappingProxyType

import orjson
import pytest

from correlator.stream.envelope import (
    CE_CONTENT_TYPE,
    H_DETAIL,
    H_REASON,
    H_SOURCE_OFFSET,
    H_SOURCE_PARTITION,
    H_SOURCE_TIMESTAMP,
    H_SOURCE_TOPIC,
    DeadLetter,
    EnvelopeError,
    dead_letter,
    incident_cloudevent,
    incident_record,
    parse_incident_record,
)
from tests.helpers import alert, run, topo


def _data(status: str, version: int = 3) -> dict[str, object]:
    return {
        "id": "inc-0123",
        "version": version,
        "status": status,
        "updated_at": "2026-09-01T10:00:00.000Z",
    }


@pytest.mark.parametrize(
    ("status", "ce_type"),
    [
        ("open", "dev.correlator.incident.created"),
        ("updated", "dev.correlator.incident.updated"),
        ("resolved", "dev.correlator.incident.resolved"),
        ("merged", "dev.correlator.incident.merged"),
    ],
    ids=["open", "updated", "resolved", "merged"],
)
def test_each_status_maps_to_its_cloudevents_type(status: str, ce_type: str) -> None:
    event = incident_cloudevent(_data(status), source="/correlator/test")
    assert event == {
        "specversion": "1.0",
        "id": "inc-0123:3",
        "source": "/correlator/test",
        "type": ce_type,
        "subject": "inc-0123",
        "time": "2026-09-01T10:00:00.000Z",
        "datacontenttype": "application/json",
        "data": _data(status),
    }


def test_an_unknown_status_is_an_error_not_a_guess() -> None:
    with pytest.raises(EnvelopeError, match="acknowledged"):
        incident_cloudevent(_data("acknowledged"), source="/c")


def test_a_real_incident_event_becomes_a_keyed_structured_mode_record() -> None:
    _, events = run(topo({"api": ["db"]}), [alert("f1", "db", 0), alert("f2", "api", 10)])
    event = events[-1]
    record = incident_record(event, source="/correlator")
    assert record.key == event.id.encode()
    assert record.headers == [("content-type", CE_CONTENT_TYPE.encode())]
    parsed = parse_incident_record(record.value)
    assert parsed["data"] == orjson.loads(orjson.dumps(event.to_dict()))
    assert parsed["id"] == f"{event.id}:{event.version}"
    assert incident_record(event, source="/correlator") == record, "re-emission is byte-identical"


@pytest.mark.parametrize(
    "value",
    [
        None,
        b"not json",
        b"[]",
        b'{"specversion": "0.3"}',
        b'{"specversion": "1.0", "type": "com.example.other", "data": {}}',
        b'{"specversion": "1.0", "type": "dev.correlator.incident.created", "data": "x"}',
    ],
    ids=["tombstone", "garbage", "array", "old-spec", "foreign-type", "data-not-object"],
)
def test_records_that_are_not_incident_events_are_refused(value: bytes | None) -> None:
    with pytest.raises(EnvelopeError):
        parse_incident_record(value)


def test_a_dead_letter_keeps_bytes_and_key_and_explains_itself_in_headers() -> None:
    raw = b'{"version": "4", "alerts": [\xff'
    letter = DeadLetter("invalid_json", "unexpected end", "alerts", 2, 41, 1_790_000_000_000)
    record = dead_letter(letter, raw, b"key-1")
    assert (record.key, record.value) == (b"key-1", raw)
    assert dict(record.headers) == {
        H_REASON: b"invalid_json",
        H_DETAIL: b"unexpected end",
        H_SOURCE_TOPIC: b"alerts",
        H_SOURCE_PARTITION: b"2",
        H_SOURCE_OFFSET: b"41",
        H_SOURCE_TIMESTAMP: b"1790000000000",
    }


def test_a_long_detail_is_truncated_and_a_missing_timestamp_is_left_out() -> None:
    letter = DeadLetter("too_large", "x" * 5000, "alerts", 0, 0, None)
    headers = dict(dead_letter(letter, b"").headers)
    assert len(headers[H_DETAIL]) == 1000 and headers[H_DETAIL].endswith(b"...")
    assert H_SOURCE_TIMESTAMP not in headers


def test_a_giant_incident_is_published_with_a_cut_member_list_that_fits() -> None:
    alerts = [alert("f-db", "db", 0)] + [alert(f"f-api-{i}", "api", 1 + i) for i in range(300)]
    _, events = run(topo({"api": ["db"]}), alerts)
    event = max(events, key=lambda e: len(e.alerts))
    assert len(event.alerts) == 301
    whole = incident_record(event, source="/c")
    cut = incident_record(event, source="/c", max_bytes=len(whole.value) // 3)
    assert len(cut.value) <= len(whole.value) // 3
    data = parse_incident_record(cut.value)["data"]
    kept = len(data["alerts"])
    assert 0 < kept < 301
    assert data["alerts_truncated"] == 301 - kept
    assert data["stats"]["alerts"] == 301, "counts stay exact"
    assert data["root_cause"] == orjson.loads(whole.value)["data"]["root_cause"]
    assert "alerts_truncated" not in orjson.loads(whole.value)["data"]


@pytest.mark.parametrize("as_dict", [True, False], ids=["enriched-dict", "other-mapping"])
def test_a_record_from_a_mapping_is_the_cloudevent_and_leaves_the_mapping_alone(
    as_dict: bool,
) -> None:
    _, events = run(topo({"api": ["db"]}), [alert("f1", "db", 0), alert("f2", "api", 10)])
    doc = {**events[-1].to_dict(), "priority": "normal"}
    before = orjson.dumps(doc)
    given = doc if as_dict else MappingProxyType(doc)
    record = incident_record(given, source="/correlator")
    assert record.value == orjson.dumps(incident_cloudevent(doc, source="/correlator"))
    assert orjson.dumps(doc) == before and "alerts_truncated" not in doc
    small = incident_record(given, source="/correlator", max_bytes=600)
    assert orjson.loads(small.value)["data"]["alerts_truncated"] > 0
    assert orjson.dumps(doc) == before
