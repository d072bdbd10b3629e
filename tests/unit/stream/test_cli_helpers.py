"""Pure parts of `correlator produce` and `correlator tail`."""

from __future__ import annotations

import io
import time

import orjson
import pytest

from correlator.stream.envelope import incident_record, parse_incident_record
from correlator.stream.produce import RateLimiter, iter_records
from correlator.stream.tail import format_incident
from tests.helpers import alert, run, topo


@pytest.mark.parametrize(
    ("text", "whole", "expected"),
    [
        (b'{"a": 1}\n\n{"b": 2}\r\n   \n', False, [b'{"a": 1}', b'{"b": 2}']),
        (b"not json but a record\n", False, [b"not json but a record"]),
        (b"services:\n  - id: a\n", True, [b"services:\n  - id: a\n"]),
        (b"\n \n", True, []),
    ],
    ids=["lines-blank-crlf", "bytes-kept-verbatim", "whole-file", "whole-but-blank"],
)
def test_records_are_lines_without_endings_or_the_whole_file(
    text: bytes, whole: bool, expected: list[bytes]
) -> None:
    assert list(iter_records(io.BytesIO(text), whole=whole)) == expected


def test_the_rate_limiter_spaces_records() -> None:
    limiter = RateLimiter(200.0)
    started = time.monotonic()
    for _ in range(21):
        limiter.wait()
    assert time.monotonic() - started >= 0.095
    unlimited = RateLimiter(None)
    started = time.monotonic()
    for _ in range(1000):
        unlimited.wait()
    assert time.monotonic() - started < 0.05


def test_tail_shows_root_cause_evidence_and_members() -> None:
    _, events = run(
        topo({"web": ["api"], "api": ["db"]}),
        [
            alert("f-db", "db", 0, name="PostgresDown", severity="critical"),
            alert("f-api", "api", 15, name="HighErrorRate"),
            alert("f-web", "web", 30, name="HighLatency"),
        ],
    )
    event = parse_incident_record(incident_record(events[-1], source="/c").value)
    text = format_incident(event)
    lines = text.splitlines()
    assert events[-1].id in lines[0] and "3 alert(s) on 3 service(s)" in lines[0]
    assert "root cause: db" in text
    assert "explains api: api -> db" in text
    assert "db/PostgresDown [firing]" in text


def test_tail_survives_sparse_events() -> None:
    text = format_incident(
        {"type": "dev.correlator.incident.merged", "data": {"id": "inc-1", "merged_into": "inc-0"}}
    )
    assert "MERGED" in text and "merged into inc-0" in text
    assert orjson.dumps(text)
