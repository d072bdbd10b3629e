"""Prometheus text exposition of the small in-house registry."""

from __future__ import annotations

import pytest

from correlator.stream.metrics import Registry


def test_counters_render_sorted_series_with_escaped_labels() -> None:
    r = Registry()
    c = r.counter("x_total", "Things.", ["reason"])
    c.inc(2, "b")
    c.inc(1, 'a "quoted"\\ \n line')
    assert r.render() == (
        "# HELP x_total Things.\n"
        "# TYPE x_total counter\n"
        'x_total{reason="a \\"quoted\\"\\\\ \\n line"} 1\n'
        'x_total{reason="b"} 2\n'
    )


def test_histograms_are_cumulative_with_inf_sum_and_count() -> None:
    r = Registry()
    h = r.histogram("lat_seconds", "Latency.", buckets=[0.1, 1.0])
    for value in (0.05, 0.1, 0.5, 7.0):
        h.observe(value)
    assert r.render().splitlines()[2:] == [
        'lat_seconds_bucket{le="0.1"} 2',
        'lat_seconds_bucket{le="1"} 3',
        'lat_seconds_bucket{le="+Inf"} 4',
        "lat_seconds_sum 7.65",
        "lat_seconds_count 4",
    ]
    assert h.count() == 4


def test_gauges_can_be_computed_at_scrape_time_and_typed_as_counters() -> None:
    r = Registry()
    box = {"n": 1.0}
    r.gauge("open", "Open things.", source=lambda: {(): box["n"]})
    r.gauge("seen_total", "Seen.", source=lambda: {(): 5.0}, kind="counter")
    box["n"] = 3.0
    text = r.render()
    assert "# TYPE open gauge\nopen 3\n" in text
    assert "# TYPE seen_total counter\nseen_total 5\n" in text


@pytest.mark.parametrize(
    "action",
    ["negative", "labels", "duplicate", "kind", "buckets"],
    ids=["negative-inc", "wrong-label-count", "duplicate-name", "bad-kind", "empty-buckets"],
)
def test_misuse_is_refused(action: str) -> None:
    r = Registry()
    c = r.counter("c_total", "C.", ["a"])
    with pytest.raises(ValueError):
        if action == "negative":
            c.inc(-1, "x")
        elif action == "labels":
            c.inc(1)
        elif action == "duplicate":
            r.counter("c_total", "again")
        elif action == "kind":
            r.gauge("g", "G.", kind="summary")
        else:
            r.histogram("h", "H.", buckets=[])
