"""First stage, without Kafka: raw input records in, routed alerts and dead letters out.

Each raw record is decoded once; a rejected record becomes a dead letter carrying its
original bytes; every decoded alert is sent to the repartition partition that owns its
correlation domain (see :mod:`correlator.stream.domains`). The router keeps the input
order within each target partition, which is what makes a one-partition deployment see
alerts in exactly the order a replay of the same input would.

Nothing in :meth:`Router.route` raises for any input: a record that trips an unexpected
error is dead-lettered with reason ``internal_error`` instead, because an exception in a
faust agent silently stops its offset commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from correlator.codecs import DecodeOptions, Rejection, decode
from correlator.config import EngineConfig
from correlator.domains import AlertRouter, DomainMap
from correlator.replay import decode_options
from correlator.stream.envelope import DeadLetter, OutputRecord, dead_letter
from correlator.stream.wire import encode_row, pack_rows
from topology import Topology

__all__ = ["RawRecord", "RouteResult", "Router"]


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One consumed input record, independent of the client library that read it."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int | None
    key: bytes | None
    value: bytes | None


@dataclass(slots=True)
class RouteResult:
    """What one batch of raw records turns into."""

    #: (repartition partition, record value), in input order per partition.
    routed: list[tuple[int, bytes]] = field(default_factory=list)
    dead_letters: list[OutputRecord] = field(default_factory=list)
    records: int = 0
    alerts: int = 0
    #: reason -> count, for metrics.
    rejects: dict[str, int] = field(default_factory=dict)
    #: wire format -> decoded records, for metrics.
    formats: dict[str, int] = field(default_factory=dict)


class Router:
    """Decodes raw records and assigns their alerts to repartition partitions."""

    def __init__(
        self,
        topology: Topology,
        config: EngineConfig,
        *,
        partitions: int,
        max_domain_size: int,
        domain_seed: int = 42,
        max_record_bytes: int = 262_144,
    ) -> None:
        self._config = config
        self._options: DecodeOptions = decode_options(config)
        self._partitions = partitions
        self._max_domain_size = max_domain_size
        self._seed = domain_seed
        self._max_record_bytes = max_record_bytes
        self._alerts = self._alert_router(topology)

    def _alert_router(self, topology: Topology) -> AlertRouter:
        # The same routing the offline replay uses with several partitions.
        return AlertRouter(
            topology,
            self._config.service_label_keys,
            partitions=self._partitions,
            max_domain_size=self._max_domain_size,
            domain_seed=self._seed,
        )

    @property
    def domains(self) -> DomainMap:
        return self._alerts.domains

    def set_topology(self, topology: Topology) -> None:
        """Recompute the domain map for a new topology (all-or-nothing swap)."""
        self._alerts = self._alert_router(topology)

    def partition_of(self, domain: str) -> int:
        return self._alerts.partition_of_domain(domain)

    def route(self, records: Sequence[RawRecord]) -> RouteResult:
        result = RouteResult()
        by_partition: dict[int, list[bytes]] = {}
        topic = records[0].topic if records else ""
        for record in records:
            result.records += 1
            try:
                self._route_one(record, result, by_partition)
            except Exception as exc:  # a bug, never bad input: keep the stream moving
                self._reject(
                    record,
                    "internal_error",
                    f"{type(exc).__name__}: {str(exc)[:200]}",
                    result,
                )
        for partition in sorted(by_partition):
            for value in pack_rows(topic, by_partition[partition], self._max_record_bytes):
                result.routed.append((partition, value))
        return result

    def _route_one(
        self, record: RawRecord, result: RouteResult, by_partition: dict[int, list[bytes]]
    ) -> None:
        if record.value is None:
            self._reject(record, "empty", "record has no value (tombstone)", result)
            return
        received = (
            datetime.fromtimestamp(record.timestamp_ms / 1000, UTC)
            if record.timestamp_ms is not None and record.timestamp_ms >= 0
            else None
        )
        decoded = decode(record.value, self._options, received_at=received)
        if isinstance(decoded, Rejection):
            self._reject(record, decoded.reason.value, decoded.detail, result)
            return
        result.formats[decoded.format] = result.formats.get(decoded.format, 0) + 1
        for index, alert in enumerate(decoded.alerts):
            # one owner for every domain: nothing to look up
            partition = 0 if self._partitions == 1 else self._alerts.partition(alert)
            row = encode_row(alert, record.partition, record.offset, record.timestamp_ms, index)
            by_partition.setdefault(partition, []).append(row)
            result.alerts += 1

    def _reject(self, record: RawRecord, reason: str, detail: str, result: RouteResult) -> None:
        result.rejects[reason] = result.rejects.get(reason, 0) + 1
        letter = DeadLetter(
            reason=reason,
            detail=detail,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            timestamp_ms=record.timestamp_ms,
        )
        result.dead_letters.append(dead_letter(letter, record.value or b"", record.key))
