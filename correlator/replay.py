"""Offline replay: JSON Lines of alerts in, JSON Lines of incident events out.

Replay drives the very same engine as the Kafka path, one input line at a
time, advancing event time after each line; so the incidents it writes are
the reference the streaming path is tested against.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from correlator.codecs import DecodeOptions, Rejection, decode
from correlator.config import EngineConfig
from correlator.engine import Engine, NoticeKind
from correlator.incident import IncidentEvent
from topology import Topology

EventSink = Callable[[IncidentEvent], None]
RejectSink = Callable[[dict[str, Any]], None]


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

    @property
    def compression(self) -> float:
        """1 - incidents / unique alerts (how much less there is to look at)."""
        return 1.0 - self.incidents / self.unique_alerts if self.unique_alerts else 0.0

    def summary(self) -> str:
        return (
            f"records read: {self.records}, alerts: {self.alerts}, duplicates: {self.duplicates}, "
            f"late: {self.late}, rejects: {self.rejects}, incidents: {self.incidents}, "
            f"events: {self.events}, compression: {self.compression:.3f}"
        )


@dataclass(slots=True)
class ReplayResult:
    events: list[dict[str, Any]] = field(default_factory=list)
    rejects: list[dict[str, Any]] = field(default_factory=list)
    stats: ReplayStats = field(default_factory=ReplayStats)


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


def replay_lines(
    lines: Iterable[bytes],
    topology: Topology,
    config: EngineConfig | None = None,
    *,
    on_event: EventSink | None = None,
    on_reject: RejectSink | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> ReplayResult:
    """Replay JSON Lines through a fresh engine.

    With ``on_event``/``on_reject`` the output streams to the callbacks and
    the result keeps only the statistics; without them it is collected.
    """
    cfg = config or EngineConfig()
    engine = Engine(topology, cfg)
    options = decode_options(cfg)
    result = ReplayResult()
    stats = result.stats
    final_status: dict[str, str] = {}
    unique: set[str] = set()

    def emit(events: list[IncidentEvent]) -> None:
        for event in events:
            stats.events += 1
            final_status[event.id] = event.status.value
            if on_event is not None:
                on_event(event)
            else:
                result.events.append(event.to_dict())

    def reject(record: dict[str, Any]) -> None:
        stats.rejects += 1
        if on_reject is not None:
            on_reject(record)
        else:
            result.rejects.append(record)

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
                for notice in engine.ingest(alert):
                    if notice.kind is NoticeKind.FUTURE:
                        reject(reject_record(line_no, "future", notice.reason, raw))
            emit(engine.advance())
        if on_progress is not None:
            on_progress(line_no)
    emit(engine.flush())
    stats.duplicates = engine.stats.duplicates
    stats.late = engine.stats.late
    stats.unique_alerts = len(unique)
    stats.incidents = sum(1 for s in final_status.values() if s != "merged")
    return result
