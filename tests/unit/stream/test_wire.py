"""The internal repartition record: exact round trip, bounded records, order kept."""

from __future__ import annotations

from datetime import UTC
from types import MappingProxyType

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from correlator.model import Alert
from correlator.stream.wire import (
    Origin,
    WireAlert,
    WireError,
    _from_plain_row,
    _from_row,
    decode_batch,
    encode_alerts,
    encode_row,
    pack_rows,
)
from tests.helpers import alert
from tests.unit.codecs.strategies import alerts


def _items(batch: list[Alert]) -> list[WireAlert]:
    return [
        WireAlert(a, Origin("alerts", 3, 100 + i, 1_790_000_000_000 + i, i % 2))
        for i, a in enumerate(batch)
    ]


@settings(max_examples=80, deadline=None)
@given(batch=st.lists(alerts, min_size=1, max_size=8), limit=st.integers(4096, 20_000))
def test_alerts_and_origins_survive_the_trip_exactly_and_in_order(
    batch: list[Alert], limit: int
) -> None:
    items = _items(batch)
    records = list(encode_alerts("alerts", items, limit))
    decoded = [item for record in records for item in decode_batch(record)]
    assert decoded == items
    for got, sent in zip(decoded, items, strict=True):
        assert got.alert.starts_at.isoformat() == sent.alert.starts_at.isoformat()


def test_records_stay_under_the_bound_unless_one_alert_alone_exceeds_it() -> None:
    items = _items([alert(f"fp{i}", "svc", i, labels={"pad": "x" * 300}) for i in range(40)])
    records = list(encode_alerts("alerts", items, 4096))
    assert len(records) > 1
    assert all(len(r) <= 4096 for r in records)
    huge = _items([alert("big", "svc", 0, labels={"pad": "y" * 10_000})])
    (single,) = encode_alerts("alerts", huge, 4096)
    assert decode_batch(single) == huge


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (b"{not json", "not JSON"),
        (b'{"v": 2, "t": "a", "a": []}', "version 2"),
        (b'{"v": 1, "a": []}', "lacks"),
        (b'{"v": 1, "t": "a", "a": [[1, 2]]}', "alert 0"),
        (
            orjson.dumps(
                {
                    "v": 1,
                    "t": "a",
                    "a": [
                        ["f", "s", "svc", "n", "loud", "firing", 0, None, {}, {}, "", 0, 0, None, 0]
                    ],
                }
            ),
            "alert 0",
        ),
    ],
    ids=["garbage", "other-version", "no-topic", "short-row", "bad-severity"],
)
def test_foreign_or_broken_records_are_refused(value: bytes, fragment: str) -> None:
    with pytest.raises(WireError, match=fragment):
        decode_batch(value)


_GOOD_ROW = [
    "f", "s", "svc", "n", "error", "resolved", 1_780_000_000_123_456, 1_780_000_060_000_000,
    {"a": "b"}, {"summary": "x"}, "sum", 3, 100, 1_790_000_000_000, 2,
]  # fmt: skip


def _changed(index: int, new: object) -> list[object]:
    row: list[object] = list(_GOOD_ROW)
    row[index] = new
    return row


@pytest.mark.parametrize(
    "row",
    [_GOOD_ROW, _changed(7, None), _changed(13, None), _changed(8, {})],
    ids=["typical", "no-end", "no-timestamp", "no-labels"],
)
def test_the_plain_row_shortcut_gives_what_the_checked_path_gives(row: list[object]) -> None:
    fast = _from_plain_row("alerts", row)
    assert fast is not None
    assert fast == _from_row("alerts", row)
    assert fast.alert.starts_at.tzinfo is UTC
    assert type(fast.alert.labels) is MappingProxyType


@pytest.mark.parametrize(
    "row",
    [
        _changed(0, ""),
        _changed(4, "loud"),
        _changed(5, ["firing"]),
        _changed(6, 1.5),
        _changed(6, True),
        _changed(7, "2026"),
        _changed(8, ["a"]),
        _changed(12, "100"),
        _changed(6, 10**18),
        _GOOD_ROW[:14],
    ],
    ids=[
        "empty-fingerprint",
        "unknown-severity",
        "unhashable-status",
        "float-start",
        "bool-start",
        "text-end",
        "list-labels",
        "text-offset",
        "start-out-of-range",
        "short-row",
    ],
)
def test_the_shortcut_leaves_odd_rows_to_the_checked_path(row: list[object]) -> None:
    assert _from_plain_row("alerts", row) is None
    value = orjson.dumps({"v": 1, "t": "alerts", "a": [_GOOD_ROW, row]})
    try:
        expected: object = [_from_row("alerts", _GOOD_ROW), _from_row("alerts", row)]
    except (TypeError, ValueError, KeyError, OverflowError) as exc:
        expected = f"alert 1: {exc}"
    try:
        got: object = decode_batch(value)
    except WireError as exc:
        got = str(exc)
    assert got == expected


def test_rows_packed_by_the_router_path_match_encode_alerts() -> None:
    items = _items([alert(f"fp{i}", "svc", i, labels={"pad": "x" * 200}) for i in range(30)])
    rows = [
        encode_row(i.alert, i.origin.partition, i.origin.offset, i.origin.timestamp_ms,
                   i.origin.index)
        for i in items
    ]
    assert list(pack_rows("alerts", rows, 2048)) == list(encode_alerts("alerts", items, 2048))
