"""Reading incident event files and reducing them to final incidents."""

from __future__ import annotations

from pathlib import Path

import pytest

from correlator.evaluate.incidents import EventsError, final_incidents, parse_time, read_events
from tests.unit.evaluate.builders import incident


def test_final_incidents_keep_last_version_drop_merged_and_sort() -> None:
    events = [
        incident("b", ["x"], version=1, opened_at="2026-09-01T10:05:00.000Z"),
        incident("a", ["y"], version=3, opened_at="2026-09-01T10:00:00.000Z"),
        incident("b", ["x", "z"], version=2, opened_at="2026-09-01T10:05:00.000Z"),
        incident("a", ["y"], version=2, opened_at="2026-09-01T10:00:00.000Z"),
        incident("c", ["w"], version=1, status="merged"),
    ]
    final = final_incidents(events)
    assert [(e["id"], e["version"]) for e in final] == [("a", 3), ("b", 2)]


@pytest.mark.parametrize(
    ("event", "message"),
    [({"version": 1}, "missing incident 'id'"), ({"id": "a", "version": "2"}, "integer")],
    ids=["no id", "string version"],
)
def test_malformed_events(event: dict[str, object], message: str) -> None:
    with pytest.raises(EventsError, match=message):
        final_incidents([event])


def test_read_events_names_the_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "inc.jsonl"
    path.write_bytes(b'{"id": "a"}\n\n[1]\n')
    with pytest.raises(EventsError, match=r"inc.jsonl:3: expected a JSON object"):
        list(read_events(path))
    path.write_bytes(b"{oops\n")
    with pytest.raises(EventsError, match=r"inc.jsonl:1: not JSON"):
        list(read_events(path))
    with pytest.raises(EventsError, match="cannot read"):
        list(read_events(tmp_path / "missing.jsonl"))


@pytest.mark.parametrize(
    ("text", "ok"),
    [("2026-09-01T10:00:00.512Z", True), ("2026-09-01T12:00:00+02:00", True),
     ("2026-09-01T10:00:00", False), ("yesterday", False), (None, False)],
    ids=["zulu", "offset", "naive", "garbage", "null"],
)
def test_parse_time(text: str | None, ok: bool) -> None:
    if ok:
        assert parse_time(text, "t").isoformat() == "2026-09-01T10:00:00" + (
            ".512000+00:00" if text and ".512" in text else "+00:00")
    else:
        with pytest.raises(EventsError):
            parse_time(text, "t")
