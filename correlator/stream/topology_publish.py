"""Publish a validated topology to the compacted ``topology`` topic.

Every worker follows that topic and hot-swaps its topology when a new record
arrives (see :mod:`correlator.stream.worker`), so publishing is how a
topology change is deployed. The record key is the topology's name (or
``"default"``): compaction then keeps the latest version per name, and a
worker starting later reads just that. The value is node-link JSON, the
format the workers load fastest.

The topic is created when missing, with the settings the worker's own topic
set-up uses (one partition, ``cleanup.policy=compact``, 16 MiB records), so
publishing before the first worker starts gives the same topic. An existing
topic is never altered; if it is not compacted the result says so.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import ConfigResource, ConfigResourceType
from kafka.errors import KafkaError

from correlator.errors import CorrelatorError
from topology import Topology

__all__ = [
    "DEFAULT_KEY",
    "DEFAULT_TOPIC",
    "MAX_MESSAGE_BYTES",
    "PublishError",
    "Published",
    "ensure_topology_topic",
    "publish_topology",
    "topology_record",
]

DEFAULT_TOPIC = "topology"
DEFAULT_KEY = "default"
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
"""Largest topology record; matches the topic's ``max.message.bytes``."""

_TOPIC_EXISTS = 36


class PublishError(CorrelatorError):
    """The topology could not be published (broker unreachable, record too large, ...)."""


@dataclass(frozen=True, slots=True)
class Published:
    """Where the record went, and anything the operator should know."""

    topic: str
    partition: int
    offset: int
    key: str
    version: str
    size: int
    created_topic: bool
    warning: str | None = None


def topology_record(topology: Topology) -> tuple[bytes, bytes]:
    """The record key (name or ``default``) and value (node-link JSON) for a topology."""
    key = (topology.name or DEFAULT_KEY).encode("utf-8")
    return key, orjson.dumps(topology.to_node_link())


def ensure_topology_topic(admin: KafkaAdminClient, topic: str) -> tuple[bool, str | None]:
    """Create ``topic`` compacted if missing; return (created, warning about an existing one)."""
    if topic in set(admin.list_topics()):
        return False, _compaction_warning(admin, topic)
    response = admin.create_topics(
        {
            topic: {
                "num_partitions": 1,
                "replication_factor": 1,
                "configs": {
                    "cleanup.policy": "compact",
                    "max.message.bytes": str(MAX_MESSAGE_BYTES),
                },
            }
        },
        timeout_ms=15_000,
        raise_errors=False,
    )
    for entry in response.get("topics", []):
        code = entry.get("error_code", 0)
        if code == _TOPIC_EXISTS:  # another publisher was faster
            return False, _compaction_warning(admin, topic)
        if code != 0:
            raise PublishError(
                f"cannot create topic {topic}: {entry.get('error_message') or f'error {code}'}"
            )
    admin.wait_for_topics([topic], timeout_ms=15_000)
    return True, None


def _compaction_warning(admin: KafkaAdminClient, topic: str) -> str | None:
    try:
        described = admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic, {"cleanup.policy": None})],
            config_filter="all",
        )
    except (KafkaError, TypeError, ValueError):  # old brokers, other client versions
        return None
    policy = _find_policy(described)
    if policy is None or "compact" in policy:
        return None
    return (
        f"topic {topic} exists with cleanup.policy={policy}, not compact: old topology "
        "versions are kept until retention deletes them, and the latest may be deleted too"
    )


def _find_policy(described: Any) -> str | None:
    """Dig ``cleanup.policy`` out of describe_configs' nested answer (shape varies)."""
    if isinstance(described, Mapping):
        if "cleanup.policy" in described:
            value = described["cleanup.policy"]
            if isinstance(value, Mapping):
                value = value.get("value", value.get("config_value"))
            return str(value) if value is not None else None
        for inner in described.values():
            found = _find_policy(inner)
            if found is not None:
                return found
    elif isinstance(described, list | tuple):
        for inner in described:
            found = _find_policy(inner)
            if found is not None:
                return found
    return None


def _bounded(client: type, timeout_s: float) -> dict[str, int]:
    """Cap the client's bootstrap wait at ``timeout_s`` where the client version has the knob.

    kafka-python 3 waits up to 30 s for an unreachable bootstrap server by default;
    kafka-python 2 has no such setting and rejects unknown ones.
    """
    defaults = getattr(client, "DEFAULT_CONFIG", {})
    if "bootstrap_timeout_ms" in defaults:
        return {"bootstrap_timeout_ms": int(timeout_s * 1000)}
    return {}


def publish_topology(
    topology: Topology,
    *,
    bootstrap: str = "127.0.0.1:9092",
    topic: str = DEFAULT_TOPIC,
    timeout_s: float = 30.0,
    client_config: Mapping[str, Any] | None = None,
) -> Published:
    """Send ``topology`` as one record, creating the compacted topic if needed.

    ``client_config`` adds kafka-python settings (security, SASL) to both the
    admin client and the producer. Waits until the broker acknowledges.

    Raises:
        PublishError: the broker is unreachable, refuses the topic or the
            record, or does not answer within ``timeout_s``.
    """
    key, value = topology_record(topology)
    if len(value) > MAX_MESSAGE_BYTES:
        raise PublishError(
            f"the topology is {len(value)} bytes as node-link JSON, more than the "
            f"{MAX_MESSAGE_BYTES}-byte record limit of the topology topic"
        )
    config: dict[str, Any] = {"bootstrap_servers": bootstrap, **(client_config or {})}
    deadline = time.monotonic() + timeout_s
    try:
        admin = KafkaAdminClient(
            client_id="correlator-topology-publish",
            request_timeout_ms=int(timeout_s * 1000),
            **_bounded(KafkaAdminClient, timeout_s),
            **config,
        )
    except KafkaError as exc:
        raise PublishError(f"cannot reach Kafka at {bootstrap}: {exc}") from None
    try:
        created, warning = ensure_topology_topic(admin, topic)
    except KafkaError as exc:
        raise PublishError(f"cannot set up topic {topic} at {bootstrap}: {exc}") from None
    finally:
        admin.close()
    try:
        producer = KafkaProducer(
            client_id="correlator-topology-publish",
            acks="all",
            max_request_size=MAX_MESSAGE_BYTES + 1024,
            request_timeout_ms=int(max(1.0, deadline - time.monotonic()) * 1000),
            **_bounded(KafkaProducer, max(1.0, deadline - time.monotonic())),
            **config,
        )
    except KafkaError as exc:
        raise PublishError(f"cannot reach Kafka at {bootstrap}: {exc}") from None
    try:
        future = producer.send(topic, key=key, value=value)
        metadata = future.get(timeout=max(1.0, deadline - time.monotonic()))
    except KafkaError as exc:
        raise PublishError(f"publishing to {topic} at {bootstrap} failed: {exc}") from None
    finally:
        producer.close(timeout=5)
    return Published(
        topic=topic,
        partition=int(metadata.partition),
        offset=int(metadata.offset),
        key=key.decode("utf-8"),
        version=topology.version,
        size=len(value),
        created_topic=created,
        warning=warning,
    )
