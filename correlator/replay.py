"""Offline replay: JSON Lines of alerts in, JSON Lines of incident events out.

Replay drives the very same engine as the Kafka path, one input line at a
time, advancing event time after each line; so the incidents it writes are
the reference the streaming path is tested against.

With ``partitions`` > 1 the replay reproduces a partitioned deployment: each
alert goes to the engine of its correlation domain's partition, routed exactly
as the stream's first stage routes it (:class:`correlator.domains.AlertRouter`),
and the engines' events pass through the cross-domain linker
(:class:`correlator.linking.IncidentLinker`) before enrichment, as in the
worker. One partition (the default) is the plain single engine, no linker.

Every event then goes through the enrichment stage (:class:`Enricher`):
suspect changes, SLO context and priority are added to each event dict, and
the deploy gate is kept. Changes (``changes=``, e.g. from ``--changes``) are
merged in by event time: after each input line, every change whose time is
at or before the engine's clock is observed before that line's events are
enriched; at the end of the input, all remaining ones are.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from correlator.changes import Change, decode_change
from correlator.codecs import DecodeOptions, Rejection, decode
from correlator.config import EngineConfig
from correlator.domains import AlertRouter
from correlator.engine import AlertNotice, Engine, NoticeKind
from correlator.enrich import Enricher
from correlator.errors import CorrelatorError
from correlator.incident import IncidentEvent
from correlator.linking import IncidentLinker
from correlator.model import Alert
from topology import Topology

EventSink = Callable[[IncidentEvent], None]
RejectSink = Callable[[dict[str, Any]], None]
RecordSink = Callable[[dict[str, Any]], None]


@dataclass(slots=True)
class ReplayStats:
    records: int = 0
    alerts: int = 0
    duplicates: int = 0
    rejects: int = 0
    late: int = 0
    events: int = 0
    incidents: int = 0
    unique_alerts: int = 0
    changes: int = 0
    gate_events: int = 0

    @property
    def compression(self) -> float:
        """1 - incidents / unique alerts (how much less there is to look at)."""
        return 1.0 - self.incidents / self.unique_alerts if self.unique_alerts else 0.0

    def summary(self) -> str:
        text = (
            f"records read: {self.records}, alerts: {self.alerts}, duplicates: {self.duplicates}, "
            f"late: {self.late}, rejects: {self.rejects}, incidents: {self.incidents}, "
            f"events: {self.events}, compression: {self.compression:.3f}"
        )
        if self.changes or self.gate_events:
            text += f", changes: {self.changes}, gate changes: {self.gate_events}"
        return text


@dataclass(slots=True)
class ReplayResult:
    events: list[dict[str, Any]] = field(default_factory=list)
    rejects: list[dict[str, Any]] = field(default_factory=list)
    stats: ReplayStats = field(default_factory=ReplayStats)
    gate_events: list[dict[str, Any]] = field(default_factory=list)
    enricher: Enricher | None = None


def decode_options(config: EngineConfig) -> DecodeOptions:
    return DecodeOptions(
        max_bytes=config.max_payload_bytes,
        max_depth=config.max_payload_depth,
        service_label_keys=config.service_label_keys,
    )


def reject_record(line_no: int, reason: str, detail: str, raw: bytes) -> dict[str, Any]:
    """A rejects-file entry; keeps the original bytes (as text when they are UTF-8)."""
    record: dict[str, Any] = {"line": line_no, "reason": reason, "detail": detail}
    try:
        record["raw"] = raw.decode("utf-8")
    except UnicodeDecodeError:
        record["raw_base64"] = base64.b64encode(raw).decode("ascii")
    return record


def decode_change_lines(
    lines: Iterable[bytes], options: DecodeOptions | None = None
) -> tuple[list[Change], list[dict[str, Any]]]:
    """Decode a JSON Lines file of changes (any supported change format).

    Returns the changes in file order and a rejects-file entry (with
    ``"input": "changes"``) for every line that is not a change.
    """
    opts = options or DecodeOptions()
    changes: list[Change] = []
    rejects: list[dict[str, Any]] = []
    for line_no, line in enumerate(lines, start=1):
        raw = line.rstrip(b"\r\n")
        if not raw.strip():
            continue
        decoded = decode_change(raw, opts)
        if isinstance(decoded, Rejection):
            record = reject_record(line_no, decoded.reason.value, decoded.detail, raw)
            rejects.append({"input": "changes", **record})
        else:
            changes.append(decoded)
    return changes, rejects


def replay_lines(
    lines: Iterable[bytes],
    topology: Topology,
    config: EngineConfig | None = None,
    *,
    on_event: EventSink | None = None,
    on_reject: RejectSink | None = None,
    on_progress: Callable[[int], None] | None = None,
    changes: Iterable[Change] = (),
    enricher: Enricher | None = None,
    on_record: RecordSink | None = None,
    on_gate_event: RecordSink | None = None,
    partitions: int = 1,
    max_domain_size: int = 200,
    domain_seed: int = 42,
    link: bool = True,
) -> ReplayResult:
    """Replay JSON Lines through a fresh engine and the enrichment stage.

    With ``on_event`` (the engine's :class:`IncidentEvent`), ``on_record``
    (the enriched event dict), ``on_reject`` or ``on_gate_event`` the output
    streams to the callbacks and the result keeps only the statistics;
    without them it is collected (``events`` holds enriched dicts). Pass an
    ``enricher`` to configure the stage (thresholds, budget seeds) or to read
    the gate afterwards; the result carries the one used.

    ``partitions``, ``max_domain_size`` and ``domain_seed`` are the worker's
    ``topics.repartition_partitions``, ``stream.max_domain_size`` and
    ``stream.domain_seed``; ``link=False`` leaves out the linker (to measure it).
    """
    cfg = config or EngineConfig()
    engine = (
        _Partitioned(
            topology,
            cfg,
            partitions=partitions,
            max_domain_size=max_domain_size,
            domain_seed=domain_seed,
            link=link,
        )
        if partitions != 1
        else Engine(topology, cfg)
    )
    options = decode_options(cfg)
    stage = enricher if enricher is not None else Enricher(topology)
    result = ReplayResult(enricher=stage)
    stats = result.stats
    final_status: dict[str, str] = {}
    unique: set[str] = set()
    pending = sorted(changes, key=lambda c: (c.at, c.id))
    stats.changes = len(pending)
    next_change = 0

    def observe_changes(until: datetime | None) -> None:
        nonlocal next_change
        while next_change < len(pending) and (until is None or pending[next_change].at <= until):
            stage.observe_change(pending[next_change])
            next_change += 1

    def emit(events: list[IncidentEvent], *, final: bool = False) -> None:
        clock = engine.clock
        observe_changes(None if final else clock)
        if clock is not None:
            stage.advance(clock)
        for event in events:
            stats.events += 1
            final_status[event.id] = event.status.value
            record = stage.enrich(event)
            if on_event is not None:
                on_event(event)
            if on_record is not None:
                on_record(record)
            if on_event is None and on_record is None:
                result.events.append(record)
        for gate_event in stage.gate_events():
            stats.gate_events += 1
            if on_gate_event is not None:
                on_gate_event(gate_event)
            else:
                result.gate_events.append(gate_event)

    def reject(record: dict[str, Any]) -> None:
        stats.rejects += 1
        if on_reject is not None:
            on_reject(record)
        else:
            result.rejects.append(record)

    held: dict[str, list[tuple[int, bytes]]] = {}  # fingerprint -> (line, raw) of held alerts
    for line_no, line in enumerate(lines, start=1):
        raw = line.rstrip(b"\r\n")
        if not raw.strip():
            continue
        stats.records += 1
        decoded = decode(raw, options)
        if isinstance(decoded, Rejection):
            reject(reject_record(line_no, decoded.reason.value, decoded.detail, raw))
        else:
            for alert in decoded.alerts:
                stats.alerts += 1
                unique.add(alert.fingerprint)
                accepted = True
                for notice in engine.ingest(alert):
                    if notice.kind is NoticeKind.HELD:
                        # Remember where it came from: if it is rejected later, the
                        # rejects file gets its own line, not the one that judged it.
                        held.setdefault(notice.alert.fingerprint, []).append((line_no, raw))
                    elif notice.kind is NoticeKind.FUTURE:
                        origins = held.get(notice.alert.fingerprint)
                        where = origins.pop(0) if origins else (line_no, raw)
                        reject(reject_record(where[0], "future", notice.reason, where[1]))
                    else:
                        continue
                    if notice.alert is alert:
                        accepted = False
                if accepted:
                    stage.observe_alert(alert)
            emit(engine.advance())
        if on_progress is not None:
            on_progress(line_no)
    emit(engine.flush(), final=True)
    if isinstance(engine, _Partitioned):
        stats.duplicates = sum(e.stats.duplicates for e in engine.engines)
        stats.late = sum(e.stats.late for e in engine.engines)
    else:
        stats.duplicates = engine.stats.duplicates
        stats.late = engine.stats.late
    stats.unique_alerts = len(unique)
    stats.incidents = sum(1 for s in final_status.values() if s != "merged")
    return result


class _Partitioned:
    """One engine per partition behind the domain router, then the linker.

    Offers the three engine calls the replay loop makes (``ingest``, ``advance``,
    ``flush``) and ``clock`` (the newest of the engines' clocks). ``advance`` steps only
    the engines that ingested since the last step, in partition order, as the worker's
    correlate stage does per batch.
    """

    def __init__(
        self,
        topology: Topology,
        config: EngineConfig,
        *,
        partitions: int,
        max_domain_size: int,
        domain_seed: int,
        link: bool,
    ) -> None:
        if partitions < 1:
            raise CorrelatorError(f"partitions must be at least 1, got {partitions}")
        if max_domain_size < 1:
            raise CorrelatorError(f"max domain size must be at least 1, got {max_domain_size}")
        self.router = AlertRouter(
            topology,
            config.service_label_keys,
            partitions=partitions,
            max_domain_size=max_domain_size,
            domain_seed=domain_seed,
        )
        self.engines = [Engine(topology, config) for _ in range(partitions)]
        self.linker = IncidentLinker(topology, config) if link else None
        self._stepped: set[int] = set()

    @property
    def clock(self) -> datetime | None:
        clocks = [c for e in self.engines if (c := e.clock) is not None]
        return max(clocks) if clocks else None

    def ingest(self, alert: Alert) -> list[AlertNotice]:
        partition = self.router.partition(alert)
        self._stepped.add(partition)
        return self.engines[partition].ingest(alert)

    def advance(self) -> list[IncidentEvent]:
        stepped, self._stepped = sorted(self._stepped), set()
        return [e for p in stepped for e in self._link(p, self.engines[p].advance())]

    def flush(self) -> list[IncidentEvent]:
        out = self.advance()
        for partition, engine in enumerate(self.engines):
            out.extend(self._link(partition, engine.flush()))
        return out

    def _link(self, partition: int, events: list[IncidentEvent]) -> list[IncidentEvent]:
        if self.linker is None:
            return events
        return self.linker.feed(partition, events, self.engines[partition].clock)
