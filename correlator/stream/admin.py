"""Topic set-up: every topic the worker uses, created idempotently before it starts.

Creating topics explicitly (instead of relying on broker auto-creation) is what makes the
configured partition counts and the compaction of the topology and snapshot topics real.
An existing topic is never altered: if it has fewer partitions than configured, the
worker says so and runs with what is there.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kafka import KafkaAdminClient
from kafka.errors import KafkaError

from correlator.errors import CorrelatorError
from correlator.stream.settings import WorkerSettings

__all__ = ["KafkaUnavailable", "TopicSpec", "ensure_topics", "topic_specs"]

log = logging.getLogger("correlator.stream.admin")

#: Snapshots of a large engine can exceed Kafka's 1 MB default record limit.
SNAPSHOT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024
_TOPIC_EXISTS = 36


class KafkaUnavailable(CorrelatorError):
    """The cluster could not be reached or refused an administrative request."""


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    partitions: int
    configs: Mapping[str, str]


def topic_specs(settings: WorkerSettings) -> list[TopicSpec]:
    """The topics a worker with these settings reads and writes."""
    t = settings.topics
    compacted = {"cleanup.policy": "compact"}
    return [
        TopicSpec(t.alerts, t.alerts_partitions, {}),
        TopicSpec(t.incidents, t.incidents_partitions, {}),
        TopicSpec(t.dlq, t.dlq_partitions, {}),
        TopicSpec(t.topology, 1, {**compacted, "max.message.bytes": str(16 * 1024 * 1024)}),
        TopicSpec(t.changes, 1, {}),
        TopicSpec(t.deploy_gate, 1, compacted),
        TopicSpec(settings.repartition_topic, t.repartition_partitions, {}),
        TopicSpec(
            settings.snapshots_topic,
            1,
            {
                **compacted,
                "max.message.bytes": str(SNAPSHOT_MAX_MESSAGE_BYTES),
                "min.cleanable.dirty.ratio": "0.1",
                "segment.ms": "600000",
            },
        ),
    ]


def admin_client(settings: WorkerSettings, timeout_s: float | None = None) -> KafkaAdminClient:
    """A kafka-python admin client, retrying until the cluster answers or time runs out."""
    deadline = time.monotonic() + (
        timeout_s if timeout_s is not None else settings.kafka.startup_timeout_s
    )
    last: Exception | None = None
    while True:
        remaining = max(1.0, deadline - time.monotonic())
        try:
            return KafkaAdminClient(
                client_id=f"{settings.kafka.client_id}-admin",
                request_timeout_ms=15_000,
                bootstrap_timeout_ms=int(min(remaining, 10.0) * 1000),
                **settings.kafka.kafka_python_config(),
            )
        except KafkaError as exc:
            last = exc
        if time.monotonic() >= deadline:
            raise KafkaUnavailable(
                f"cannot reach Kafka at {settings.kafka.bootstrap_servers} "
                f"({settings.kafka.security_protocol}): {last}"
            )
        time.sleep(1.0)


def ensure_topics(settings: WorkerSettings, *, timeout_s: float | None = None) -> list[str]:
    """Create the missing topics; return the names created. Idempotent."""
    specs = topic_specs(settings)
    admin = admin_client(settings, timeout_s)
    try:
        return _ensure(admin, specs, settings.topics.replication_factor)
    except KafkaError as exc:
        raise KafkaUnavailable(f"topic set-up failed: {exc}") from None
    finally:
        admin.close()


def _ensure(admin: KafkaAdminClient, specs: list[TopicSpec], replication: int) -> list[str]:
    existing = set(admin.list_topics())
    wanted: dict[str, dict[str, Any]] = {}
    for spec in specs:
        if spec.name in existing:
            continue
        wanted[spec.name] = {
            "num_partitions": spec.partitions,
            "replication_factor": replication,
            "configs": dict(spec.configs),
        }
    created: list[str] = []
    if wanted:
        response = admin.create_topics(wanted, timeout_ms=15_000, raise_errors=False)
        for topic in response.get("topics", []):
            code = topic.get("error_code", 0)
            if code == 0:
                created.append(topic["name"])
            elif code != _TOPIC_EXISTS:
                raise KafkaUnavailable(
                    f"cannot create topic {topic['name']}: {topic.get('error_message') or code}"
                )
        if created:
            admin.wait_for_topics(created, timeout_ms=15_000)
            log.info("created topics: %s", ", ".join(sorted(created)))
    described = {
        t["name"]: len(t.get("partitions") or ())
        for t in admin.describe_topics([s.name for s in specs])
    }
    for spec in specs:
        have = described.get(spec.name, 0)
        if have and have < spec.partitions:
            log.warning(
                "topic %s has %d partition(s), fewer than the configured %d; "
                "running with %d (partitions are never changed automatically)",
                spec.name,
                have,
                spec.partitions,
                have,
            )
    return sorted(created)
