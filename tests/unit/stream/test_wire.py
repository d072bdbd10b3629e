"""The internal repartition record: exact round trip, bounded records, order kept."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from correlator.model import Alert
from correlator.stream.wire import Origin, WireAlert, WireError, decode_batch, encode_alerts
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
