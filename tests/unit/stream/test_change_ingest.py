"""``POST /api/v1/changes``, ``GET /api/v1/gate/{service}`` and the ``changes:``/``gate:``
settings, with the Kafka producer replaced by the stub of the alert ingest tests."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from correlator.enrich import Enricher
from correlator.errors import ConfigError
from correlator.stream.enrichment import EnrichmentFeed
from correlator.stream.settings import load_settings
from correlator.stream.worker import CorrelatorWorker
from tests.unit.stream.test_http_ingest import _Producer, _Request
from topology import Service, Topology

CHANGES = Path(__file__).resolve().parents[2] / "fixtures" / "changes"
DEPLOY = (CHANGES / "canonical_deploy.json").read_bytes()
TOPO = Topology.from_services(
    [Service(id="web", depends_on=("checkout",)), Service(id="checkout", aliases=("checkout-svc",))]
)


@pytest.fixture
def worker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CorrelatorWorker:
    monkeypatch.chdir(tmp_path)  # defaults only, whatever configs/ holds
    settings = load_settings(None, web={"max_body_bytes": 4096}, topics={"changes": "chg"})
    return CorrelatorWorker(settings, topology=TOPO, data_dir=str(tmp_path))


@pytest.mark.parametrize(
    ("fail", "body", "status", "error"),
    [
        (False, DEPLOY, 202, None),
        (True, DEPLOY, 503, "kafka_unavailable"),
        (
            True,
            (CHANGES / "malformed" / "invalid_field--canonical_bad_kind.json").read_bytes(),
            400,
            "invalid_field",
        ),
        (False, b"{" + b" " * 5000 + b"}", 413, "too_large"),
    ],
    ids=["accepted", "kafka-down", "bad-kind-before-kafka", "too-large"],
)
def test_change_ingest_answers(
    worker: CorrelatorWorker, fail: bool, body: bytes, status: int, error: str | None
) -> None:
    producer = _Producer(fail)
    worker._producer = producer  # type: ignore[assignment]
    got_status, got = asyncio.run(worker.handle_change_ingest(_Request(body)))  # type: ignore[arg-type]
    assert (got_status, got.get("error")) == (status, error)
    assert producer.sent == ([("chg", body)] if status == 202 else [])
    if status == 202:
        assert (got["change_id"], got["service"]) == ("deploy-812", "checkout-svc")


def _with_feed(worker: CorrelatorWorker) -> None:
    worker._feeds[0] = EnrichmentFeed(Enricher(TOPO))


@pytest.mark.parametrize(
    ("feeds", "service", "status", "answer"),
    [
        (False, "web", 503, "not_ready"),
        (True, "web", 200, "open"),
        (True, "checkout-svc", 200, "open"),
        (True, "no-such-service", 404, "unknown_service"),
    ],
    ids=["no-partitions", "known", "alias", "unknown"],
)
def test_gate_decision(
    worker: CorrelatorWorker, feeds: bool, service: str, status: int, answer: str
) -> None:
    if feeds:
        _with_feed(worker)
    got_status, body = worker.gate_decision(service)
    assert got_status == status
    assert body.get("state", body.get("error")) == answer


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"changes": {"lookback": "forever"}}, "changes"),
        ({"gate": {"bogus": 1}}, "bogus"),
        ({"topics": {"deploy_gate": "bad name!"}}, "deploy_gate"),
    ],
    ids=["bad-lookback", "unknown-gate-key", "bad-topic-name"],
)
def test_sections_are_strict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, overrides: dict[str, Any], problem: str
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=problem):
        load_settings(None, **overrides)


def test_sections_reach_the_configs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(None, changes={"max_suspects": 2}, gate={"caution_budget_below": 0.5})
    assert settings.changes_config().max_suspects == 2
    assert settings.gate_config().caution_budget_below == 0.5
    assert (settings.topics.changes, settings.topics.deploy_gate) == ("changes", "deploy-gate")
