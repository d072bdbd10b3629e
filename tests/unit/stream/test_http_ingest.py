"""The ingest endpoint's decisions, with the Kafka producer replaced by a stub.

Integration tests cover the happy paths against a real broker; here the broker is made
unavailable on purpose, which a shared test broker cannot be.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from aiokafka.errors import KafkaConnectionError

from correlator.stream.settings import load_settings
from correlator.stream.worker import INGEST_ENDPOINTS, CorrelatorWorker

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "codecs"
AM = "/api/v1/alerts/alertmanager"


class _Request:
    def __init__(self, body: bytes) -> None:
        self._body = body
        self.headers = {"Content-Length": str(len(body))}

    async def read(self) -> bytes:
        return self._body


class _Producer:
    def __init__(self, fail: bool) -> None:
        self.fail = fail
        self.sent: list[tuple[str, bytes]] = []

    async def send(self, topic: str, record: Any, **_: Any) -> asyncio.Future[object]:
        if self.fail:
            raise KafkaConnectionError("broker down")
        self.sent.append((topic, record.value))
        fut: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        fut.set_result(None)
        return fut


@pytest.fixture
def worker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CorrelatorWorker:
    monkeypatch.chdir(tmp_path)  # defaults only, whatever configs/ holds
    settings = load_settings(None, web={"max_body_bytes": 4096})
    return CorrelatorWorker(settings, topology=None, data_dir=str(tmp_path))


@pytest.mark.parametrize(
    ("fail", "body", "status", "error"),
    [
        (False, (FIXTURES / "alertmanager_v4_firing_resolved.json").read_bytes(), 200, None),
        (
            True,
            (FIXTURES / "alertmanager_v4_firing_resolved.json").read_bytes(),
            503,
            "kafka_unavailable",
        ),
        (True, b"{", 400, "invalid_json"),
        (False, b"[" + b" " * 5000 + b"]", 413, "too_large"),
    ],
    ids=["accepted", "kafka-down", "bad-json-before-kafka", "too-large"],
)
def test_ingest_answers(
    worker: CorrelatorWorker, fail: bool, body: bytes, status: int, error: str | None
) -> None:
    producer = _Producer(fail)
    worker._producer = producer  # type: ignore[assignment]
    got_status, got = asyncio.run(worker.handle_ingest(AM, INGEST_ENDPOINTS[AM], _Request(body)))  # type: ignore[arg-type]
    assert got_status == status
    assert got.get("error") == error
    assert producer.sent == ([(worker.settings.topics.alerts, body)] if status == 200 else [])
