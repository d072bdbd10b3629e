"""The worker's producer wrapper on the real broker: recovering from a refused record."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import pytest
from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaError as KafkaPythonError

from correlator.stream.envelope import OutputRecord
from correlator.stream.kafka_io import KafkaError, OutputProducer, read_latest, snapshot_size_hint
from correlator.stream.settings import KafkaSettings

pytestmark = pytest.mark.integration


def test_a_producer_reset_recovers_after_a_record_too_large(
    kafka_bootstrap: str, kafka_admin: KafkaAdminClient
) -> None:
    """A snapshot larger than its topic allows used to wedge the idempotent producer:
    every later snapshot failed with OutOfOrderSequenceNumber, so input was never
    acknowledged again. After ``reset`` the next (smaller) record goes through."""
    topic = f"test-kafka-io-small-{uuid.uuid4().hex[:10]}"
    kafka_admin.create_topics(
        [NewTopic(topic, 1, 1, topic_configs={"max.message.bytes": "4096"})],
        timeout_ms=15000,
        wait_for_metadata=True,
    )
    producer = OutputProducer(KafkaSettings(bootstrap_servers=kafka_bootstrap), name="test")

    async def scenario() -> tuple[str, bytes | None]:
        try:
            # A first record gives the broker this producer's sequence to follow.
            await (await producer.send(topic, OutputRecord(b"k", b"first", [])))
            with pytest.raises(KafkaError) as refused:
                await (await producer.send(topic, OutputRecord(b"k", b"x" * 200_000, [])))
            hint = snapshot_size_hint(refused.value, topic)
            await producer.reset()
            await (await producer.send(topic, OutputRecord(b"k", b"small", [])))
        finally:
            await producer.stop()
        latest = await read_latest(
            KafkaSettings(bootstrap_servers=kafka_bootstrap), topic, [b"k"], timeout_s=15
        )
        return hint, latest.get(b"k")

    try:
        hint, value = asyncio.run(scenario())
    finally:
        with contextlib.suppress(KafkaPythonError):
            kafka_admin.delete_topics([topic], timeout_ms=15000)
    assert "max.message.bytes" in hint and topic in hint
    assert value == b"small"
