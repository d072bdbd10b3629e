"""Thin aiokafka helpers for what faust agents are not meant for.

- Output producer: outputs of a batch are sent together and awaited together before
  the batch's input is acknowledged (at-least-once), with idempotence on so retries
  never reorder the repartition stream.
- Compacted-topic reads: the latest snapshot of a partition, read to the end of the
  topic at the moment of asking, outside any consumer group.
- Topology follower: every worker must see every topology update, so the topology
  topic is read by a group-less consumer rather than shared through the group.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError, MessageSizeTooLargeError

from correlator.stream.envelope import OutputRecord
from correlator.stream.settings import KafkaSettings

__all__ = [
    "KafkaError",
    "OutputProducer",
    "TopicFollower",
    "TopicRecord",
    "read_latest",
    "snapshot_size_hint",
]

log = logging.getLogger("correlator.stream.kafka")

#: Largest record the worker writes (snapshots); topics created by admin.py allow it.
MAX_REQUEST_BYTES = 64 * 1024 * 1024
#: Per-partition producer batch; must stay below the topics' max.message.bytes (1 MB default).
BATCH_BYTES = 512 * 1024


@dataclass(frozen=True, slots=True)
class TopicRecord:
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    #: Kafka record timestamp (ms), when the broker gave one.
    timestamp_ms: int | None = None


def snapshot_size_hint(exc: BaseException, topic: str) -> str:
    """What to do about a snapshot the broker refused for its size (else nothing)."""
    if not isinstance(exc, MessageSizeTooLargeError):
        return ""
    return (
        f"; the snapshot is larger than topic {topic} accepts: raise its max.message.bytes "
        f"(Correlator creates it with {MAX_REQUEST_BYTES} bytes) or lower engine."
        "member_retention; until then input stays unacknowledged"
    )


class OutputProducer:
    """An aiokafka producer with the settings' security, started lazily on first use."""

    def __init__(
        self,
        kafka: KafkaSettings,
        *,
        name: str,
        compression: str | None = None,
        linger_ms: int = 5,
    ) -> None:
        self._kafka = kafka
        self._name = name
        self._compression = compression
        self._linger_ms = linger_ms
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()

    async def _get(self) -> AIOKafkaProducer:
        if self._producer is None:
            async with self._lock:
                if self._producer is None:
                    producer = AIOKafkaProducer(
                        client_id=f"{self._kafka.client_id}-{self._name}",
                        acks="all",
                        enable_idempotence=True,
                        linger_ms=self._linger_ms,
                        # aiokafka keeps one request in flight per partition (ordering), so
                        # throughput is batch size / round trip: batch generously.
                        max_batch_size=BATCH_BYTES,
                        max_request_size=MAX_REQUEST_BYTES,
                        compression_type=self._compression,
                        request_timeout_ms=30_000,
                        **self._kafka.aiokafka_config(),
                    )
                    await producer.start()
                    self._producer = producer
        return self._producer

    async def send(
        self, topic: str, record: OutputRecord, *, partition: int | None = None
    ) -> asyncio.Future[object]:
        """Queue one record; the returned future resolves when the broker has it."""
        producer = await self._get()
        fut: asyncio.Future[object] = await producer.send(
            topic,
            record.value,
            key=record.key,
            partition=partition,
            headers=record.headers or None,
        )
        return fut

    async def send_all(
        self, topic: str, records: Iterable[OutputRecord]
    ) -> list[asyncio.Future[object]]:
        return [await self.send(topic, record) for record in records]

    async def reset(self) -> None:
        """Drop the producer after a failed send; the next send starts a fresh one.

        An idempotent producer whose batch failed (say, a record larger than the
        topic accepts) keeps failing every later send with OutOfOrderSequenceNumber:
        a new producer id is the only way back. Whatever was still queued is dropped;
        callers resend what they have not seen acknowledged.
        """
        if self._producer is not None:
            producer, self._producer = self._producer, None
            try:
                await producer.stop()
            except KafkaError as exc:
                log.warning("%s producer did not stop cleanly: %s", self._name, exc)

    async def stop(self) -> None:
        if self._producer is not None:
            producer, self._producer = self._producer, None
            try:
                await producer.flush()
            finally:
                await producer.stop()


def _consumer(kafka: KafkaSettings, name: str) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        client_id=f"{kafka.client_id}-{name}",
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_bytes=MAX_REQUEST_BYTES,
        max_partition_fetch_bytes=MAX_REQUEST_BYTES,
        **kafka.aiokafka_config(),
    )


async def _partitions(
    consumer: AIOKafkaConsumer, topic: str, timeout_s: float
) -> list[TopicPartition]:
    """Partitions of ``topic``. A group-less consumer tracks no topic metadata by itself, so
    ask the client to track this one (the call the aiokafka producer makes before sending)."""
    try:
        parts = await asyncio.wait_for(consumer._client._wait_on_metadata(topic), timeout_s)
    except (KafkaError, TimeoutError) as exc:
        raise KafkaError(f"topic {topic} is not available: {exc!r}") from None
    return [TopicPartition(topic, p) for p in sorted(parts)]


async def read_latest(
    kafka: KafkaSettings, topic: str, keys: Iterable[bytes], *, timeout_s: float = 30.0
) -> dict[bytes, bytes]:
    """The newest non-tombstone value of each key in ``keys``, reading the topic to its end."""
    wanted = set(keys)
    found: dict[bytes, bytes] = {}
    consumer = _consumer(kafka, "snapshot-reader")
    await consumer.start()
    try:
        tps = await _partitions(consumer, topic, timeout_s)
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        remaining = {tp for tp in tps if ends[tp] > 0}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while remaining:
            if loop.time() >= deadline:
                raise KafkaError(f"timed out reading {topic} to its end")
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for record in records:
                    if record.key in wanted:
                        if record.value is None:
                            found.pop(record.key, None)
                        else:
                            found[record.key] = record.value
            for tp in list(remaining):
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
    finally:
        await consumer.stop()
    return found


class TopicFollower:
    """Reads every partition of a topic outside any consumer group.

    ``backlog()`` returns what the topic held when the follower started (empty when
    starting from the end); ``poll()`` then returns whatever arrived since.
    """

    def __init__(self, kafka: KafkaSettings, topic: str, *, name: str = "follower") -> None:
        self._kafka = kafka
        self._topic = topic
        self._consumer = _consumer(kafka, name)
        self._tps: list[TopicPartition] = []

    async def start(self, *, from_beginning: bool, timeout_s: float = 30.0) -> None:
        await self._consumer.start()
        try:
            self._tps = await _partitions(self._consumer, self._topic, timeout_s)
            self._consumer.assign(self._tps)
            if from_beginning:
                await self._consumer.seek_to_beginning(*self._tps)
            else:
                await self._consumer.seek_to_end(*self._tps)
        except BaseException:
            await self._consumer.stop()
            raise

    async def backlog(self, *, timeout_s: float = 30.0) -> list[TopicRecord]:
        ends = await self._consumer.end_offsets(self._tps)
        out: list[TopicRecord] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            pending = [tp for tp in self._tps if await self._consumer.position(tp) < ends[tp]]
            if not pending:
                return out
            if loop.time() >= deadline:
                raise KafkaError(f"timed out reading the backlog of {self._topic}")
            out.extend(await self.poll(timeout_ms=500))

    async def poll(self, *, timeout_ms: int = 1000) -> list[TopicRecord]:
        batches = await self._consumer.getmany(timeout_ms=timeout_ms)
        out: list[TopicRecord] = []
        for tp in sorted(batches, key=lambda t: t.partition):
            for record in batches[tp]:
                out.append(
                    TopicRecord(
                        tp.partition, record.offset, record.key, record.value, record.timestamp
                    )
                )
        return out

    async def stop(self) -> None:
        await self._consumer.stop()
