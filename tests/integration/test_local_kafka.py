"""The local Kafka broker really works: it answers, makes topics, carries messages, restarts."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic

from correlator.stream import local_kafka
from tests.integration.conftest import SaslEndpoint, TopicFactory

pytestmark = pytest.mark.integration


def _config_for(bootstrap: str) -> local_kafka.LocalKafkaConfig:
    port = local_kafka.parse_bootstrap(bootstrap)
    return local_kafka.LocalKafkaConfig(port=port, controller_port=port + 1)


def _consume(bootstrap: str, topic: str, expected: int, timeout_s: float = 20.0) -> list[bytes]:
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"g-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    values: list[bytes] = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(values) < expected and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                values.extend(r.value for r in records)
    finally:
        consumer.close()
    return values


def test_status_reports_the_broker_as_up(kafka_bootstrap: str) -> None:
    report = local_kafka.status(_config_for(kafka_bootstrap))
    assert report.answering
    assert report.bootstrap == kafka_bootstrap
    assert report.cluster_id
    assert local_kafka.main(["status", "--bootstrap", kafka_bootstrap]) == local_kafka.EXIT_OK


@pytest.mark.parametrize("partitions", [1, 3, 8], ids=["one", "three", "eight"])
def test_topics_are_created_with_the_requested_partitions(
    unique_topic: TopicFactory, kafka_admin: KafkaAdminClient, partitions: int
) -> None:
    topic = unique_topic(partitions)
    (described,) = kafka_admin.describe_topics([topic])
    assert described["error_code"] == 0
    indexes = sorted(p["partition_index"] for p in described["partitions"])
    assert indexes == list(range(partitions))
    assert all(p["leader_id"] == 1 for p in described["partitions"])


def test_messages_produced_with_kafka_python_are_consumed_back_in_order(
    kafka_bootstrap: str, unique_topic: TopicFactory
) -> None:
    topic = unique_topic(1)
    sent = [f"alert-{i}-{uuid.uuid4().hex[:6]}".encode() for i in range(50)]
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    try:
        for value in sent:
            producer.send(topic, key=b"svc", value=value)
        producer.flush(timeout=15)
    finally:
        producer.close()
    assert _consume(kafka_bootstrap, topic, len(sent)) == sent


def test_up_is_idempotent_and_fast_when_the_broker_already_answers(kafka_bootstrap: str) -> None:
    started = time.monotonic()
    info = local_kafka.up(_config_for(kafka_bootstrap))
    elapsed = time.monotonic() - started
    assert info.already_running
    assert info.bootstrap == kafka_bootstrap
    assert elapsed < 2.0
    assert local_kafka.main(["up", "--bootstrap", kafka_bootstrap]) == local_kafka.EXIT_OK


def test_sasl_listener_accepts_the_configured_user(
    kafka_sasl: SaslEndpoint, unique_topic: TopicFactory, kafka_bootstrap: str
) -> None:
    topic = unique_topic(1)
    producer = KafkaProducer(
        bootstrap_servers=kafka_sasl.bootstrap,
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="PLAIN",
        sasl_plain_username=kafka_sasl.username,
        sasl_plain_password=kafka_sasl.password,
    )
    try:
        producer.send(topic, value=b"via-sasl").get(timeout=15)
    finally:
        producer.close()
    assert _consume(kafka_bootstrap, topic, 1) == [b"via-sasl"]


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind((local_kafka.LOOPBACK, 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[local_kafka.LocalKafkaConfig]:
    """A second broker on free ports with its own state dir, always stopped afterwards."""
    port, controller, sasl = _free_ports(3)
    config = local_kafka.LocalKafkaConfig(
        port=port,
        controller_port=controller,
        sasl_port=sasl,
        state_dir=tmp_path / "kafka",
        timeout_s=90,
    )
    try:
        yield config
    finally:
        local_kafka.down(config)


def test_broker_lifecycle_up_down_restart_keeps_topics(
    own_broker: local_kafka.LocalKafkaConfig,
) -> None:
    config = own_broker
    assert not local_kafka.status(config).answering

    first = local_kafka.up(config)
    assert not first.already_running
    assert first.pid is not None
    assert local_kafka.status(config).pid == first.pid
    assert (config.data_dir / "meta.properties").is_file()

    admin = KafkaAdminClient(bootstrap_servers=config.bootstrap)
    topic = f"lifecycle-{uuid.uuid4().hex[:8]}"
    try:
        admin.create_topics([NewTopic(topic, 2, 1)], wait_for_metadata=True)
    finally:
        admin.close()

    assert local_kafka.down(config)
    stopped = local_kafka.status(config)
    assert not stopped.answering
    assert stopped.pid is None
    assert not config.pid_file.exists()
    assert (
        local_kafka.main(
            ["status", "--bootstrap", config.bootstrap, "--data-dir", str(config.run_dir)]
        )
        == local_kafka.EXIT_NOT_RUNNING
    )

    second = local_kafka.up(config)
    assert not second.already_running
    assert second.pid != first.pid
    admin = KafkaAdminClient(bootstrap_servers=config.bootstrap)
    try:
        assert topic in admin.list_topics()
    finally:
        admin.close()
