"""Import OpenTelemetry / Tempo service-graph metrics (Prometheus text format).

The collector's ``servicegraph`` connector and Tempo's metrics-generator
count requests between services in a counter::

    traces_service_graph_request_total{client="checkout",server="cart"} 1234

Each ``client -> server`` pair with enough requests becomes an edge (the
client depends on the server). Any metric whose name ends in
``service_graph_request_total`` is read (collectors may add a prefix);
series that differ in other labels (instance, namespace) are summed.

The value is a counter, that is a count of requests since the collector
started, not a rate. A single scrape therefore gives counts, and the filter
is ``min_count``. A rate needs two samples of each series with timestamps
(two scrapes, or one file holding both): then ``min_rate`` (requests per
second between the first and last sample, counter resets handled as
Prometheus does) may be used instead; asking for it without timestamps is
an error rather than a silent guess.

Labels used besides ``client`` and ``server``: ``connection_type="database"``
makes the server a ``database`` (a ``cache`` when its name says Redis,
Memcached or the like); ``connection_type="virtual_node"`` with the
client ``user`` (the name Tempo and the collector give an uninstrumented
caller) is not a service, so such edges are dropped; a virtual *server* (an
uninstrumented dependency named after ``peer.service`` or ``db.name``) is
kept, because alerts often name exactly those. ``messaging_system`` edges
(producer -> consumer through a queue) are kept as reported, with a warning:
the queue itself is not in the metrics.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import pairwise

from topology.errors import TopologyError
from topology.importers.compose import kind_of_image
from topology.importers.draft import Draft

METRIC_SUFFIX = "service_graph_request_total"
VIRTUAL_CLIENT = "user"

_SAMPLE = re.compile(
    r"^(?P<name>[A-Za-z_:][A-Za-z0-9_:]*)"
    r"(?:\{(?P<labels>.*)\})?"
    r"\s+(?P<value>\S+)"
    r"(?:\s+(?P<ts>-?[0-9]+))?\s*$"
)
_LABEL = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)')
_UNESCAPE = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}


@dataclass
class _Series:
    labels: tuple[tuple[str, str], ...]
    samples: list[tuple[int | None, float]] = field(default_factory=list)

    def count(self) -> float:
        """The latest sample: the newest timestamp, else the last one read."""
        return sorted(self.samples, key=lambda s: s[0] or 0)[-1][1]

    def rate(self) -> float | None:
        """Requests per second between the first and last timestamped sample."""
        timed = sorted((t, v) for t, v in self.samples if t is not None)
        if len(timed) < 2 or timed[-1][0] == timed[0][0]:
            return None
        increase = 0.0
        for (_, before), (_, after) in pairwise(timed):
            increase += after - before if after >= before else after  # a reset starts at 0
        return increase / ((timed[-1][0] - timed[0][0]) / 1000.0)


@dataclass(frozen=True, slots=True)
class EdgeStats:
    """What the metrics say about one ``client -> server`` pair."""

    count: float
    rate: float | None
    connection_types: tuple[str, ...]


def parse_exposition(texts: Iterable[tuple[str, str]]) -> dict[tuple[str, str], EdgeStats]:
    """Read service-graph counters from Prometheus text files into per-edge statistics.

    Raises:
        TopologyError: a malformed sample line of a service-graph metric, or a
            series without ``client`` and ``server`` labels.
    """
    series: dict[tuple[tuple[str, str], ...], _Series] = {}
    problems: list[str] = []
    for source, text in texts:
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            match = _SAMPLE.match(line)
            if match is None or not match.group("name").endswith(METRIC_SUFFIX):
                if match is None and METRIC_SUFFIX in line.split("{", 1)[0]:
                    problems.append(f"{source}: line {number}: not a Prometheus sample: {raw!r}")
                continue
            sample = _sample(match, f"{source}: line {number}", problems)
            if sample is None:
                continue
            labels, timestamp, value = sample
            series.setdefault(labels, _Series(labels)).samples.append((timestamp, value))
    if problems:
        raise TopologyError(problems, source=problems[0].split(":", 1)[0])
    return _per_edge(series.values())


def _sample(
    match: re.Match[str], where: str, problems: list[str]
) -> tuple[tuple[tuple[str, str], ...], int | None, float] | None:
    labels = _labels(match.group("labels") or "")
    if labels is None:
        problems.append(f"{where}: malformed labels {{{match.group('labels')}}}")
        return None
    found = dict(labels)
    if not found.get("client") or not found.get("server"):
        problems.append(f"{where}: a service-graph sample needs 'client' and 'server' labels")
        return None
    try:
        value = float(match.group("value"))
    except ValueError:
        problems.append(f"{where}: value {match.group('value')!r} is not a number")
        return None
    if math.isnan(value) or value < 0:
        problems.append(f"{where}: a request counter cannot be {match.group('value')}")
        return None
    timestamp = int(match.group("ts")) if match.group("ts") else None
    return tuple(sorted(labels)), timestamp, value


def _labels(text: str) -> list[tuple[str, str]] | None:
    pairs: list[tuple[str, str]] = []
    position = 0
    text = text.strip()
    while position < len(text):
        match = _LABEL.match(text, position)
        if match is None:
            return None
        value = re.sub(r"\\[\\\"n]", lambda m: _UNESCAPE[m.group(0)], match.group(2))
        pairs.append((match.group(1), value))
        position = match.end()
    return pairs


def _per_edge(all_series: Iterable[_Series]) -> dict[tuple[str, str], EdgeStats]:
    grouped: dict[tuple[str, str], list[_Series]] = {}
    for item in all_series:
        labels = dict(item.labels)
        grouped.setdefault((labels["client"], labels["server"]), []).append(item)
    stats: dict[tuple[str, str], EdgeStats] = {}
    for edge in sorted(grouped):
        members = grouped[edge]
        rates = [s.rate() for s in members]
        stats[edge] = EdgeStats(
            count=sum(s.count() for s in members),
            rate=None if any(r is None for r in rates) else sum(r for r in rates if r is not None),
            connection_types=tuple(
                sorted({dict(s.labels).get("connection_type", "") for s in members})
            ),
        )
    return stats


def import_otel(
    texts: Iterable[tuple[str, str]],
    *,
    min_count: float = 1.0,
    min_rate: float | None = None,
) -> Draft:
    """Build a draft from service-graph metrics; see the module docstring for the filters."""
    pairs = list(texts)
    source = ", ".join(name for name, _ in pairs) or "<otel>"
    stats = parse_exposition(pairs)
    draft = Draft(source=source)
    if min_rate is not None:
        untimed = [edge for edge, s in stats.items() if s.rate is None]
        if untimed:
            a, b = untimed[0]
            raise TopologyError(
                [
                    f"{source}: --min-rate needs two timestamped samples of every series "
                    f"(two scrapes); {len(untimed)} edge(s) have none, e.g. {a} -> {b}; "
                    "use --min-count to filter on the request count instead"
                ],
                source=source,
            )
    dropped_virtual = below = messaging = 0
    for (client, server), edge in stats.items():
        if "virtual_node" in edge.connection_types and client == VIRTUAL_CLIENT:
            dropped_virtual += 1
            continue
        rate = edge.rate if edge.rate is not None else 0.0
        if edge.count < min_count or (min_rate is not None and rate < min_rate):
            below += 1
            continue
        where = f"{source}: {client} -> {server}"
        draft.service(client, where)
        callee = draft.service(server, where)
        if "database" in edge.connection_types:
            # Tempo calls every db.system a database; a Redis is a cache to Correlator.
            callee.kind = "cache" if kind_of_image(server) == "cache" else "database"
        if "messaging_system" in edge.connection_types:
            messaging += 1
        draft.depend(client, server)
    if dropped_virtual:
        draft.warn(f"{source}: dropped {dropped_virtual} edge(s) from the virtual client 'user'")
    if below:
        threshold = f"rate {min_rate}/s" if min_rate is not None else f"count {min_count:g}"
        draft.warn(f"{source}: dropped {below} edge(s) below the {threshold} threshold")
    if messaging:
        draft.warn(
            f"{source}: kept {messaging} producer -> consumer edge(s) through a messaging "
            "system; the queue itself is not in the metrics, review them"
        )
    return draft
