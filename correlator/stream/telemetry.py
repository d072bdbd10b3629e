"""The worker's metric set, named once so dashboards and tests agree on the names.

Counters that the engine already keeps durably (alerts, duplicates, late alerts,
incidents opened/resolved/merged) are read from the engines' own statistics, which
travel in snapshots, so they survive restarts and partition moves instead of resetting
with the process. Everything else is counted by this worker since it started.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from correlator.engine import EngineStats
from correlator.stream.metrics import LabelValues, Registry

__all__ = ["WorkerMetrics"]

LATENCY_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_INCIDENT_KINDS = ("open", "updated", "resolved", "merged")


class WorkerMetrics:
    """All series exposed on ``GET /metrics``."""

    def __init__(
        self,
        engine_stats: Callable[[], Iterable[EngineStats]],
        open_incidents: Callable[[], int],
        consumer_lag: Callable[[], dict[LabelValues, float]],
        ready: Callable[[], bool],
    ) -> None:
        self._engine_stats = engine_stats
        r = self.registry = Registry()
        self.records_in = r.counter(
            "correlator_records_in_total", "Raw input records consumed.", ["topic"]
        )
        self.alerts_decoded = r.counter(
            "correlator_alerts_decoded_total",
            "Alerts decoded from raw records, by wire format.",
            ["format"],
        )
        self.rejects = r.counter(
            "correlator_rejected_records_total",
            "Records sent to the dead-letter topic, by reason.",
            ["reason"],
        )
        self.dlq_records = r.counter(
            "correlator_dlq_records_total", "Records written to the dead-letter topic."
        )
        self.http_requests = r.counter(
            "correlator_http_ingest_requests_total",
            "Alert ingest HTTP requests, by endpoint and status.",
            ["endpoint", "code"],
        )
        self.incident_events = r.counter(
            "correlator_incident_events_total", "Incident events published, by status.", ["status"]
        )
        self.topology_reloads = r.counter(
            "correlator_topology_reloads_total", "Topology updates seen, by result.", ["result"]
        )
        self.redelivered = r.counter(
            "correlator_redelivered_skipped_total",
            "Records or alerts skipped because the engine state already covers them.",
            ["kind"],
        )
        self.snapshots = r.counter(
            "correlator_snapshots_total", "Engine snapshots written, by result.", ["result"]
        )
        self.restores = r.counter(
            "correlator_snapshot_restores_total",
            "Partition engines restored, by outcome.",
            ["outcome"],
        )
        self.internal_errors = r.counter(
            "correlator_internal_errors_total",
            "Unexpected errors caught in the pipeline.",
            ["stage"],
        )
        self.batch_latency = r.histogram(
            "correlator_processing_latency_seconds",
            "Seconds from an input record's Kafka timestamp until its alerts reached an engine.",
            buckets=LATENCY_BUCKETS,
        )
        self.batch_size = r.histogram(
            "correlator_batch_records",
            "Records per processed batch, by stage.",
            ["stage"],
            buckets=(1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000),
        )
        for stat, name, help_text in _ENGINE_COUNTERS:
            r.gauge(name, help_text, source=self._stat_source(stat), kind="counter")
        r.gauge(
            "correlator_open_incidents",
            "Incidents currently open on this worker.",
            source=lambda: {(): float(open_incidents())},
        )
        r.gauge(
            "correlator_compression_ratio",
            "1 - incidents opened / distinct alerts ingested (higher: fewer things to look at).",
            source=self._compression,
        )
        r.gauge(
            "correlator_consumer_lag",
            "Records not yet consumed, by topic.",
            ["topic"],
            source=consumer_lag,
        )
        r.gauge(
            "correlator_ready",
            "1 when the worker has its topology and partitions.",
            source=lambda: {(): 1.0 if ready() else 0.0},
        )
        for kind in _INCIDENT_KINDS:
            self.incident_events.inc(0, kind)

    def _stat(self, name: str) -> dict[LabelValues, float]:
        return {(): float(sum(getattr(s, name) for s in self._engine_stats()))}

    def _stat_source(self, name: str) -> Callable[[], dict[LabelValues, float]]:
        return lambda: self._stat(name)

    def _compression(self) -> dict[LabelValues, float]:
        stats = list(self._engine_stats())
        distinct = sum(s.alerts - s.duplicates for s in stats)
        opened = sum(s.incidents_opened for s in stats)
        return {(): 1.0 - opened / distinct if distinct > 0 else 0.0}

    def render(self) -> str:
        return self.registry.render()


#: Engine statistics published as Prometheus counters: (stat, metric name, help).
_ENGINE_COUNTERS = (
    (
        "alerts",
        "correlator_engine_alerts_total",
        "Alerts ingested by the engines of this worker's partitions.",
    ),
    (
        "duplicates",
        "correlator_engine_duplicates_total",
        "Duplicate alerts (re-sends) folded into known ones.",
    ),
    ("late", "correlator_engine_late_alerts_total", "Alerts that arrived behind the watermark."),
    (
        "future",
        "correlator_engine_future_alerts_total",
        "Alerts rejected for future timestamps (held, then not confirmed).",
    ),
    ("incidents_opened", "correlator_engine_incidents_opened_total", "Incidents opened."),
    ("incidents_resolved", "correlator_engine_incidents_resolved_total", "Incidents resolved."),
    (
        "incidents_merged",
        "correlator_engine_incidents_merged_total",
        "Incidents merged into another.",
    ),
    (
        "shed",
        "correlator_engine_alerts_shed_total",
        "Settled alerts dropped from open incidents' alert lists (engine.member_retention).",
    ),
)
