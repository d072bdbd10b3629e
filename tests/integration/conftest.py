"""Fixtures that connect integration tests to the real local Kafka broker.

The broker is started by ``tests/run.sh`` (``python3 -m correlator.stream.local_kafka up``).
When it is not there the fixtures FAIL rather than skip: an integration suite that silently
skips in CI would report green while testing nothing.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaError

from correlator.stream import local_kafka

READY_WAIT_S = 10.0

TopicFactory = Callable[..., str]


def _fail_no_broker(bootstrap: str, why: str) -> None:
    pytest.fail(
        f"No Kafka broker answers at {bootstrap} ({why}). Integration tests need the real broker: "
        "run them with `tests/run.sh`, which starts and stops it, or start it yourself with "
        f"`python3 -m correlator.stream.local_kafka up --bootstrap {bootstrap}` "
        f"(address from env {local_kafka.ENV_BOOTSTRAP}, default 127.0.0.1:9092).",
        pytrace=False,
    )


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    """``127.0.0.1:PORT`` of a broker that answers Metadata; fails the test when there is none."""
    bootstrap = os.environ.get(local_kafka.ENV_BOOTSTRAP, "127.0.0.1:9092")
    try:
        port = local_kafka.parse_bootstrap(bootstrap)
    except local_kafka.LocalKafkaError as exc:
        pytest.fail(str(exc), pytrace=False)
    deadline = time.monotonic() + READY_WAIT_S
    while local_kafka.probe(port, timeout_s=1.0) is None:
        if time.monotonic() >= deadline:
            _fail_no_broker(bootstrap, f"waited {READY_WAIT_S:.0f} s for a Metadata answer")
        time.sleep(0.25)
    return f"{local_kafka.LOOPBACK}:{port}"


@pytest.fixture(scope="session")
def kafka_admin(kafka_bootstrap: str) -> Iterator[KafkaAdminClient]:
    """One kafka-python admin client shared by the session."""
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap, client_id="correlator-tests")
    yield admin
    admin.close()


@pytest.fixture
def unique_topic(
    request: pytest.FixtureRequest, kafka_admin: KafkaAdminClient
) -> Iterator[TopicFactory]:
    """Factory ``unique_topic(partitions=1, prefix="") -> name`` creating a fresh topic per call.

    Names carry the test's name (readable in broker logs) plus a random suffix, so tests never
    see each other's records. Topics are deleted after the test, best effort.
    """
    created: list[str] = []
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", request.node.name).strip("-")[:80]

    def make(partitions: int = 1, *, prefix: str = "") -> str:
        if partitions < 1:
            raise ValueError(f"a topic needs at least one partition, got {partitions}")
        head = f"{prefix}-" if prefix else ""
        name = f"test-{head}{base}-{uuid.uuid4().hex[:10]}"
        kafka_admin.create_topics(
            [NewTopic(name, num_partitions=partitions, replication_factor=1)],
            timeout_ms=15000,
            wait_for_metadata=True,
        )
        created.append(name)
        return name

    yield make
    if created:
        # Cleanup only: names are unique, so a leftover topic harms no other test.
        with contextlib.suppress(KafkaError):
            kafka_admin.delete_topics(created, timeout_ms=15000)


@dataclass(frozen=True)
class SaslEndpoint:
    """Where the broker's SASL_PLAINTEXT (PLAIN) listener is, and a valid test user."""

    bootstrap: str
    username: str
    password: str


@pytest.fixture(scope="session")
def kafka_sasl(kafka_bootstrap: str) -> SaslEndpoint:
    """The SASL/PLAIN listener tests/run.sh opens (env CORRELATOR_KAFKA_SASL_PORT, default 9094)."""
    port = int(os.environ.get(local_kafka.ENV_SASL_PORT, "9094"))
    try:
        with socket.create_connection((local_kafka.LOOPBACK, port), timeout=2.0):
            pass
    except OSError as exc:
        _fail_no_broker(f"{local_kafka.LOOPBACK}:{port}", f"SASL listener: {exc}")
    users_env = os.environ.get(local_kafka.ENV_SASL_USERS)
    users = (
        local_kafka.parse_sasl_users(users_env.split(","))
        if users_env
        else local_kafka.DEFAULT_SASL_USERS
    )
    name, secret = users[0]
    return SaslEndpoint(f"{local_kafka.LOOPBACK}:{port}", name, secret)
