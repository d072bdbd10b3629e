"""``topology publish`` against the real local broker: compacted topic, readable record."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType

from correlator.stream.topology_publish import (
    _find_policy,
    publish_topology,
    topology_record,
)
from tests.integration.conftest import TopicFactory
from topology import load_topology, loads_topology
from topology.cli import main

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "topology"


def _read_all(bootstrap: str, topic: str, expected: int) -> list[tuple[bytes, bytes]]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    try:
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        consumer.seek_to_beginning(partition)
        records: list[tuple[bytes, bytes]] = []
        deadline = time.monotonic() + 20
        while len(records) < expected and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                records += [(r.key, r.value) for r in batch]
        return records
    finally:
        consumer.close()


def _cleanup_policy(admin: KafkaAdminClient, topic: str) -> str | None:
    described = admin.describe_configs(
        [ConfigResource(ConfigResourceType.TOPIC, topic, {"cleanup.policy": None})],
        config_filter="all",
    )
    return _find_policy(described)


def test_publish_creates_a_compacted_topic_and_the_record_loads_back(
    kafka_bootstrap: str, kafka_admin: KafkaAdminClient
) -> None:
    topic = f"test-topology-publish-{uuid.uuid4().hex[:10]}"
    topology = load_topology(FIXTURES / "shop.yaml")
    try:
        done = publish_topology(topology, bootstrap=kafka_bootstrap, topic=topic)
        assert done.created_topic and done.warning is None
        assert (done.key, done.version, done.partition) == ("mini-shop", topology.version, 0)
        assert _cleanup_policy(kafka_admin, topic) == "compact"
        again = publish_topology(topology, bootstrap=kafka_bootstrap, topic=topic)
        assert not again.created_topic and again.offset == done.offset + 1
        records = _read_all(kafka_bootstrap, topic, 2)
        assert [key for key, _ in records] == [b"mini-shop", b"mini-shop"]
        for _, value in records:
            assert loads_topology(value, source="kafka").version == topology.version
        assert records[0] == topology_record(topology)
    finally:
        kafka_admin.delete_topics([topic], timeout_ms=15000)


def test_existing_uncompacted_topic_is_used_with_a_warning(
    kafka_bootstrap: str, unique_topic: TopicFactory
) -> None:
    topic = unique_topic(1)  # the fixture creates it with the default (delete) policy
    topology = load_topology(FIXTURES / "sock-shop.json")
    done = publish_topology(topology, bootstrap=kafka_bootstrap, topic=topic)
    assert not done.created_topic
    assert done.warning is not None and "not compact" in done.warning
    assert done.key == (topology.name or "default")
    ((_, value),) = _read_all(kafka_bootstrap, topic, 1)
    assert loads_topology(value).version == topology.version


def test_cli_publish(
    kafka_bootstrap: str,
    unique_topic: TopicFactory,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    topic = unique_topic(1)
    source = tmp_path / "t.yaml"
    source.write_text(
        "services:\n  web: {depends_on: [db]}\n  db: {kind: database}\n", encoding="utf-8"
    )
    assert main(["publish", str(source), "--bootstrap", kafka_bootstrap, "--topic", topic]) == 0
    out = capsys.readouterr().out
    version = load_topology(source).version
    assert out.startswith(f"published {version} as key 'default' to {topic}[0]@0")
    ((key, value),) = _read_all(kafka_bootstrap, topic, 1)
    assert key == b"default" and loads_topology(value).version == version


def test_cli_refuses_an_invalid_file_before_touching_kafka(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "bad.yaml"
    source.write_text("services:\n  web: {depends_on: [nope]}\n", encoding="utf-8")
    # An address nothing listens on: the command must fail on validation, not on Kafka.
    assert main(["publish", str(source), "--bootstrap", "127.0.0.1:1"]) == 1
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "names no service" in err


def test_cli_unreachable_broker_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    shop = str(FIXTURES / "shop.yaml")
    assert main(["publish", shop, "--bootstrap", "127.0.0.1:1", "--timeout", "3"]) == 1
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and err.startswith("topology publish: error: ")
