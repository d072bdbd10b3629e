"""A tiny Prometheus registry: counters, gauges and histograms, rendered as text format 0.0.4.

Why not prometheus_client: the worker needs a dozen series, one process, no multiprocess
mode, and an exposition that tests can assert on; forty lines of code are easier to
audit than a dependency. Label values come from small closed sets (reject reasons,
incident statuses, topic names), never from alert content, so cardinality stays low.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

__all__ = ["DEFAULT_LATENCY_BUCKETS", "Counter", "Gauge", "Histogram", "Registry"]

DEFAULT_LATENCY_BUCKETS: tuple[float, ...] = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
)

LabelValues = tuple[str, ...]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _format_value(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def _labels(names: Sequence[str], values: Sequence[str], extra: str = "") -> str:
    parts = [f'{n}="{_escape(v)}"' for n, v in zip(names, values, strict=True)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


@dataclass(slots=True)
class _Metric:
    name: str
    help: str
    label_names: tuple[str, ...] = ()

    def _key(self, labels: Sequence[str]) -> LabelValues:
        if not labels and not self.label_names:
            return ()
        if len(labels) != len(self.label_names):
            raise ValueError(
                f"{self.name} takes labels {self.label_names}, got {len(labels)} value(s)"
            )
        return tuple(str(v) for v in labels)


@dataclass(slots=True)
class Counter(_Metric):
    values: dict[LabelValues, float] = field(default_factory=dict)

    def inc(self, amount: float = 1.0, *labels: str) -> None:
        if amount < 0:
            raise ValueError("a counter only goes up")
        key = self._key(labels)
        self.values[key] = self.values.get(key, 0.0) + amount

    def get(self, *labels: str) -> float:
        return self.values.get(self._key(labels), 0.0)

    def render(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} counter"
        for key in sorted(self.values):
            yield f"{self.name}{_labels(self.label_names, key)} {_format_value(self.values[key])}"


@dataclass(slots=True)
class Gauge(_Metric):
    """A gauge set directly, or computed at scrape time by ``source``.

    ``kind="counter"`` exposes a computed value that only goes up (a total kept
    elsewhere, e.g. in engine state) with the counter type.
    """

    values: dict[LabelValues, float] = field(default_factory=dict)
    source: Callable[[], dict[LabelValues, float]] | None = None
    kind: str = "gauge"

    def set(self, value: float, *labels: str) -> None:
        self.values[self._key(labels)] = float(value)

    def get(self, *labels: str) -> float:
        current = self.source() if self.source is not None else self.values
        return current.get(self._key(labels), 0.0)

    def render(self) -> Iterable[str]:
        current = self.source() if self.source is not None else self.values
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} {self.kind}"
        for key in sorted(current):
            yield f"{self.name}{_labels(self.label_names, key)} {_format_value(current[key])}"


@dataclass(slots=True)
class Histogram(_Metric):
    buckets: tuple[float, ...] = DEFAULT_LATENCY_BUCKETS
    counts: dict[LabelValues, list[int]] = field(default_factory=dict)
    sums: dict[LabelValues, float] = field(default_factory=dict)

    def observe(self, value: float, *labels: str) -> None:
        key = self._key(labels)
        counts = self.counts.get(key)
        if counts is None:
            counts = self.counts[key] = [0] * (len(self.buckets) + 1)
            self.sums[key] = 0.0
        counts[bisect.bisect_left(self.buckets, value)] += 1
        self.sums[key] += value

    def count(self, *labels: str) -> int:
        return sum(self.counts.get(self._key(labels), ()))

    def render(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} histogram"
        for key in sorted(self.counts):
            cumulative = 0
            for bound, n in zip((*self.buckets, math.inf), self.counts[key], strict=True):
                cumulative += n
                le = f'le="{_format_value(bound)}"'
                yield f"{self.name}_bucket{_labels(self.label_names, key, le)} {cumulative}"
            base = _labels(self.label_names, key)
            yield f"{self.name}_sum{base} {_format_value(self.sums[key])}"
            yield f"{self.name}_count{base} {cumulative}"


_M = TypeVar("_M", Counter, Gauge, Histogram)


class Registry:
    """Holds metrics by name and renders them in registration order."""

    def __init__(self) -> None:
        self._metrics: dict[str, Counter | Gauge | Histogram] = {}

    def _add(self, metric: _M) -> _M:
        if metric.name in self._metrics:
            raise ValueError(f"metric {metric.name} is already registered")
        self._metrics[metric.name] = metric
        return metric

    def counter(self, name: str, help: str, labels: Sequence[str] = ()) -> Counter:
        return self._add(Counter(name, help, tuple(labels)))

    def gauge(
        self,
        name: str,
        help: str,
        labels: Sequence[str] = (),
        source: Callable[[], dict[LabelValues, float]] | None = None,
        kind: str = "gauge",
    ) -> Gauge:
        if kind not in ("gauge", "counter"):
            raise ValueError(f"kind must be gauge or counter, got {kind!r}")
        if kind == "counter" and source is None:
            raise ValueError("a computed counter needs a source")
        return self._add(Gauge(name, help, tuple(labels), source=source, kind=kind))

    def histogram(
        self,
        name: str,
        help: str,
        labels: Sequence[str] = (),
        buckets: Sequence[float] = DEFAULT_LATENCY_BUCKETS,
    ) -> Histogram:
        ordered = tuple(sorted(buckets))
        if not ordered or len(set(ordered)) != len(ordered):
            raise ValueError("histogram buckets must be distinct and non-empty")
        return self._add(Histogram(name, help, tuple(labels), buckets=ordered))

    def render(self) -> str:
        lines: list[str] = []
        for metric in self._metrics.values():
            lines.extend(metric.render())
        return "\n".join(lines) + "\n"
