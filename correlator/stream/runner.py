"""Second stage, without Kafka: one engine per repartition partition, plus its bookkeeping.

A :class:`PartitionRunner` owns the engine of one partition and knows which input offset
its state covers (``next_offset``). That pair is what a snapshot stores, so recovery is
"restore the snapshot, then feed every record from ``next_offset`` on": records below it
are already folded into the state and are skipped, which keeps at-least-once redelivery
from double-counting.

Event time normally moves only with the alerts. When input pauses, incidents would stay
open forever, so :meth:`PartitionRunner.idle_tick` advances event time by the *wall time
elapsed since the last input*, never to the absolute wall clock: the input may be a
historical replay whose timestamps are years old.

The engine's output depends only on the order of ingests, so calling ``advance`` once per
batch instead of once per record gives the same incidents as the offline replay.

With several partitions, :class:`LinkStage` runs the cross-domain linker
(:mod:`correlator.linking`) over the engines' events in the worker process (see the package
docstring for when it is active and why).

An exception from the engine is a bug, never bad input; it is still contained per alert
(the alert is dead-lettered with reason ``engine_error``), because one poison alert must
not stop correlation for everything behind it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson

from correlator.config import EngineConfig
from correlator.engine import AlertNotice, Engine, NoticeKind
from correlator.errors import SnapshotError
from correlator.incident import IncidentEvent
from correlator.linking import IncidentLinker
from correlator.model import Alert
from correlator.stream.wire import WireAlert, WireError, decode_batch
from topology import Topology

__all__ = [
    "LINKER_SNAPSHOT_KEY",
    "SNAPSHOT_RECORD_FORMAT",
    "BatchOutcome",
    "LinkStage",
    "PartitionRunner",
    "SnapshotHeader",
    "pack_snapshot",
    "unpack_snapshot",
]

SNAPSHOT_RECORD_FORMAT = 1
#: Snapshots-topic key of the linker state (partitions use their number as key).
LINKER_SNAPSHOT_KEY = b"linker"


@dataclass(frozen=True, slots=True, kw_only=True)
class SnapshotHeader:
    """What a snapshot covers: records of ``topic``/``partition`` below ``next_offset``."""

    topic: str
    partition: int
    next_offset: int
    topology_version: str
    taken_at_ms: int
    #: Newest (offset, index) ingested per input "topic/partition" (see PartitionRunner).
    origins: dict[str, tuple[int, int]] = field(default_factory=dict)


def pack_snapshot(header: SnapshotHeader, engine_state: bytes) -> bytes:
    """A snapshot record value: one JSON header line, then the engine's own bytes."""
    head = orjson.dumps(
        {
            "format": SNAPSHOT_RECORD_FORMAT,
            "topic": header.topic,
            "partition": header.partition,
            "next_offset": header.next_offset,
            "topology_version": header.topology_version,
            "taken_at_ms": header.taken_at_ms,
            "origins": {k: list(v) for k, v in sorted(header.origins.items())},
        }
    )
    return head + b"\n" + engine_state


def unpack_snapshot(value: bytes) -> tuple[SnapshotHeader, bytes]:
    """Split a snapshot record; raises :class:`SnapshotError` if it is not one."""
    head, sep, body = value.partition(b"\n")
    if not sep:
        raise SnapshotError("snapshot record has no header line")
    try:
        doc = orjson.loads(head)
        if doc.get("format") != SNAPSHOT_RECORD_FORMAT:
            raise SnapshotError(f"unsupported snapshot record format {doc.get('format')!r}")
        header = SnapshotHeader(
            topic=str(doc["topic"]),
            partition=int(doc["partition"]),
            next_offset=int(doc["next_offset"]),
            topology_version=str(doc["topology_version"]),
            taken_at_ms=int(doc["taken_at_ms"]),
            origins={
                str(k): (int(v[0]), int(v[1])) for k, v in dict(doc.get("origins", {})).items()
            },
        )
    except (orjson.JSONDecodeError, AttributeError, KeyError, TypeError, ValueError) as exc:
        raise SnapshotError(f"bad snapshot header: {exc}") from None
    return header, body


@dataclass(slots=True)
class BatchOutcome:
    """What one batch did to one partition's engine."""

    events: list[IncidentEvent] = field(default_factory=list)
    notices: list[tuple[AlertNotice, WireAlert]] = field(default_factory=list)
    #: (offset, error text) of repartition records that could not be read.
    bad_records: list[tuple[int, str]] = field(default_factory=list)
    alerts: int = 0
    skipped_records: int = 0
    #: Alerts the first stage sent again (after its own restart) that were already ingested.
    skipped_alerts: int = 0
    #: Kafka timestamps (ms) of the raw input records behind the ingested alerts.
    origin_timestamps_ms: list[int] = field(default_factory=list)
    #: Alerts the engine raised on (a bug): dead-lettered so the stream keeps flowing.
    engine_errors: list[tuple[WireAlert, str]] = field(default_factory=list)
    #: Set when ``advance`` raised; its events are lost for this batch (a bug as well).
    advance_error: str | None = None
    #: Alerts the engine accepted (not future, no engine error), in ingest order; the
    #: enrichment stage reads them for burn-rate signals.
    ingested: list[Alert] = field(default_factory=list)


class PartitionRunner:
    """The engine of one repartition partition and the input offset its state covers."""

    def __init__(
        self, topic: str, partition: int, topology: Topology, config: EngineConfig, *, now: float
    ) -> None:
        self.topic = topic
        self.partition = partition
        self.engine = Engine(topology, config)
        #: First offset not yet folded into the state.
        self.next_offset = 0
        #: Offset covered by the last snapshot written (-1: none).
        self.snapshot_offset = -1
        self.changed_since_snapshot = False
        #: Newest (input offset, index) ingested per input "topic/partition". The first
        #: stage re-routes records after a crash (at-least-once); positions at or below
        #: this are duplicates of alerts already in the state and are skipped.
        self.origins: dict[str, tuple[int, int]] = {}
        #: Where each future-dated alert the engine holds came from, so that a later
        #: rejection dead-letters its own record (lost on restart: the letter then
        #: names the record that judged it).
        self._held: dict[str, list[WireAlert]] = {}
        self._last_input_wall = now
        self._anchor = self.engine.watermark
        #: When the last snapshot was taken (the caller's clock) and how long it took.
        self._snapshot_at: float | None = None
        self._snapshot_cost_s = 0.0

    def checkpoint_due(self, *, now: float, interval_s: float, max_share: float) -> bool:
        """Is a periodic checkpoint due? A changed state waits ``interval_s`` after the last
        snapshot, stretched so that snapshots take at most ``max_share`` of the time (a big
        state is snapshotted less often); an unchanged one only acknowledges input: always."""
        if not self.changed_since_snapshot or self._snapshot_at is None:
            return True
        return now - self._snapshot_at >= max(interval_s, self._snapshot_cost_s / max_share)

    def restore(self, value: bytes, *, now: float) -> SnapshotHeader:
        """Load a snapshot record; raises :class:`SnapshotError` when it does not fit."""
        header, state = unpack_snapshot(value)
        if header.topic != self.topic or header.partition != self.partition:
            raise SnapshotError(
                f"snapshot is for {header.topic}[{header.partition}], "
                f"not {self.topic}[{self.partition}]"
            )
        self.engine.restore(state)
        self.origins = dict(header.origins)
        self.next_offset = header.next_offset
        self.snapshot_offset = header.next_offset
        self.changed_since_snapshot = False
        self._last_input_wall = now
        self._anchor = self.engine.watermark
        return header

    def process(self, records: Sequence[tuple[int, bytes | None]], *, now: float) -> BatchOutcome:
        """Fold a batch of ``(offset, repartition record value)`` into the engine."""
        out = BatchOutcome()
        ingested = False
        for offset, value in records:
            if offset < self.next_offset:
                out.skipped_records += 1
                continue
            self.next_offset = offset + 1
            self.changed_since_snapshot = True
            try:
                items = decode_batch(value or b"")
            except WireError as exc:
                out.bad_records.append((offset, str(exc)))
                continue
            for item in items:
                origin = item.origin
                key = f"{origin.topic}/{origin.partition}"
                position = origin.position
                seen = self.origins.get(key)
                if seen is not None and position <= seen:
                    out.skipped_alerts += 1
                    continue
                self.origins[key] = position
                out.alerts += 1
                ingested = True
                if item.origin.timestamp_ms is not None:
                    out.origin_timestamps_ms.append(item.origin.timestamp_ms)
                try:
                    notices = self.engine.ingest(item.alert)
                except Exception as exc:  # an engine bug must not stop the stream
                    out.engine_errors.append((item, f"{type(exc).__name__}: {exc}"))
                    continue
                accepted = True
                for notice in notices:
                    source = item
                    if notice.kind is NoticeKind.HELD:
                        self._held.setdefault(notice.alert.fingerprint, []).append(item)
                    elif notice.kind is NoticeKind.FUTURE:
                        waiting = self._held.get(notice.alert.fingerprint)
                        if waiting:
                            source = waiting.pop(0)
                            if not waiting:
                                del self._held[notice.alert.fingerprint]
                    if notice.kind in (NoticeKind.HELD, NoticeKind.FUTURE):
                        accepted = accepted and notice.alert is not item.alert
                    out.notices.append((notice, source))
                if accepted:
                    out.ingested.append(item.alert)
        if self._held:
            still = self.engine.held_fingerprints()
            self._held = {fp: items for fp, items in self._held.items() if fp in still}
        if ingested or out.bad_records:
            try:
                out.events = self.engine.advance()
            except Exception as exc:
                out.advance_error = f"{type(exc).__name__}: {exc}"
            self._last_input_wall = now
            self._anchor = self.engine.watermark
        return out

    def idle_tick(
        self, *, now: float, idle_after_s: float, time_scale: float = 1.0
    ) -> list[IncidentEvent]:
        """With no input for ``idle_after_s``, move event time on by the wall time elapsed.

        ``time_scale`` multiplies the elapsed wall time; 1.0 (the default) is the honest
        setting for live input, larger values only make replays and demos finish sooner.
        """
        idle = now - self._last_input_wall
        if self._anchor is None or idle < idle_after_s:
            return []
        before = self.engine.clock
        events = self.engine.advance(self._anchor + timedelta(seconds=idle * time_scale))
        if events or self.engine.clock != before:
            self.changed_since_snapshot = True
        return events

    def take_snapshot(self, *, now_ms: int, clock: Callable[[], float] = time.monotonic) -> bytes:
        started = clock()
        header = SnapshotHeader(
            topic=self.topic,
            partition=self.partition,
            next_offset=self.next_offset,
            topology_version=self.engine.topology.version,
            taken_at_ms=now_ms,
            origins=dict(self.origins),
        )
        value = pack_snapshot(header, self.engine.snapshot())
        finished = clock()
        self._snapshot_at, self._snapshot_cost_s = finished, finished - started
        return value

    def mark_snapshotted(self, next_offset: int) -> None:
        self.snapshot_offset = next_offset
        if next_offset == self.next_offset:
            self.changed_since_snapshot = False

    def open_incidents(self) -> list[dict[str, Any]]:
        """Current state of open (not resolved, not merged) incidents, as published JSON."""
        return [
            event.to_dict()
            for event in self.engine.incidents()
            if event.status.value not in ("resolved", "merged") and event.version > 0
        ]


def future_notices(outcome: BatchOutcome) -> list[tuple[AlertNotice, WireAlert]]:
    return [(n, item) for n, item in outcome.notices if n.kind is NoticeKind.FUTURE]


class LinkStage:
    """The cross-domain linker of a worker that owns every repartition partition.

    The linker must see the incidents of *all* engines, so it links only while this
    process owns every partition (:attr:`active`); otherwise events pass through
    unchanged. Its state is recoverable two ways: a snapshot under
    :data:`LINKER_SNAPSHOT_KEY`, written with the engines' snapshots, keeps the versions
    already published; and :meth:`activate` then feeds every engine's current incidents,
    so components the snapshot missed (it may be older or newer than an engine's) are
    caught up, while re-delivered ones are skipped by version.
    """

    def __init__(self, topology: Topology, config: EngineConfig, partitions: int) -> None:
        self.partitions = partitions
        self._config = config
        self._topology = topology
        self.linker = IncidentLinker(topology, config)
        self.active = False
        self.changed = False

    def owns_all(self, partitions: Sequence[int] | Mapping[int, object]) -> bool:
        return set(partitions) == set(range(self.partitions))

    def set_topology(self, topology: Topology) -> None:
        self._topology = topology
        self.linker.set_topology(topology)

    def activate(
        self, runners: Mapping[int, PartitionRunner], snapshot: bytes | None
    ) -> tuple[list[tuple[int, list[IncidentEvent]]], str | None]:
        """Start linking: restore ``snapshot`` (if usable), then catch up from the engines.

        Returns the events to publish per partition, and why the snapshot was refused.
        """
        self.linker = IncidentLinker(self._topology, self._config)
        problem: str | None = None
        if snapshot is not None:
            try:
                doc = orjson.loads(snapshot)
                if not isinstance(doc, dict):
                    raise SnapshotError("linker snapshot is not an object")
                self.linker.restore(doc)
            except (orjson.JSONDecodeError, SnapshotError) as exc:
                problem = str(exc)
                self.linker = IncidentLinker(self._topology, self._config)
        out: list[tuple[int, list[IncidentEvent]]] = []
        for partition in sorted(runners):
            engine = runners[partition].engine
            current = [e for e in engine.incidents() if e.version > 0]
            out.append((partition, self.linker.feed(partition, current, engine.clock)))
        self.active = True
        self.changed = True
        return out, problem

    def deactivate(self) -> None:
        self.active = False

    def link(
        self, partition: int, events: list[IncidentEvent], clock: datetime | None
    ) -> list[IncidentEvent]:
        """One engine step through the linker (unchanged while inactive)."""
        if not self.active:
            return events
        if events:
            self.changed = True
        return self.linker.feed(partition, events, clock)

    def take_snapshot(self) -> bytes:
        return orjson.dumps(self.linker.snapshot())
