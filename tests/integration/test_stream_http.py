"""The worker's HTTP side: health, metrics, and alert ingest into Kafka."""

from __future__ import annotations

from collections.abc import Callable

import orjson
import pytest

from tests.integration import stream_fixtures
from tests.integration.stream_fixtures import (
    REPO,
    StreamSetup,
    WorkerProcess,
    cloud_events,
    read_topic,
    wait_for,
)

pytestmark = pytest.mark.integration
stream_setup = stream_fixtures.stream_setup
start_worker = stream_fixtures.start_worker

CODEC_FIXTURES = REPO / "tests" / "fixtures" / "codecs"
AM_BODY = (CODEC_FIXTURES / "alertmanager_v4_firing_resolved.json").read_bytes()
PAGERDUTY_BODY = (CODEC_FIXTURES / "pagerduty_trigger.json").read_bytes()
TOPOLOGY = REPO / "configs" / "topology.yaml"
AM_PATH = "/api/v1/alerts/alertmanager"
GENERIC_PATH = "/api/v1/alerts"
BODY_LIMIT = 8192


@pytest.fixture
def worker(start_worker: Callable[..., WorkerProcess]) -> WorkerProcess:
    proc = start_worker("http", topology=TOPOLOGY, web={"max_body_bytes": BODY_LIMIT})
    proc.wait_ready()
    return proc


@pytest.mark.timeout(60)
def test_alertmanager_webhook_is_accepted_written_to_kafka_and_correlated(
    stream_setup: StreamSetup, worker: WorkerProcess
) -> None:
    status, body = worker.post(AM_PATH, AM_BODY)
    assert status == 200, body
    assert body["status"] == "accepted"
    assert body["format"] == "alertmanager"
    assert body["alerts"] == len(orjson.loads(AM_BODY)["alerts"])

    records = wait_for(
        lambda: read_topic(stream_setup.bootstrap, stream_setup.alerts),
        15,
        "the webhook body on the alerts topic",
    )
    assert [r.value for r in records] == [AM_BODY], "the raw body is written unchanged"
    sent = {a["fingerprint"] for a in orjson.loads(AM_BODY)["alerts"]}

    def correlated() -> set[str]:
        events = cloud_events(read_topic(stream_setup.bootstrap, stream_setup.incidents))
        return {a["fingerprint"] for e in events for a in e["data"]["alerts"]}

    wait_for(lambda: sent <= correlated(), 30, "incidents holding every alert of the webhook")
    assert (
        worker.metric(
            "correlator_http_ingest_requests_total", f'{{endpoint="{AM_PATH}",code="200"}}'
        )
        == 1
    )


@pytest.mark.parametrize(
    ("path", "body", "status", "error"),
    [
        (AM_PATH, b'{"version": "4", "alerts": [', 400, "invalid_json"),
        (AM_PATH, b"", 400, "empty"),
        (AM_PATH, b'{"version": "4", "status": "firing"}', 400, "missing_field"),
        (AM_PATH, PAGERDUTY_BODY, 400, "wrong_format"),
        (GENERIC_PATH, b'{"hello": "world"}', 400, "unknown_format"),
        (AM_PATH, b"[" + b" " * BODY_LIMIT + b"]", 413, "too_large"),
    ],
    ids=[
        "truncated-json",
        "empty-body",
        "no-alerts",
        "pagerduty-at-am-endpoint",
        "unknown",
        "too-large",
    ],
)
@pytest.mark.timeout(60)
def test_bad_bodies_are_refused_with_a_reason_and_never_reach_kafka(
    stream_setup: StreamSetup,
    worker: WorkerProcess,
    path: str,
    body: bytes,
    status: int,
    error: str,
) -> None:
    got_status, got = worker.post(path, body)
    assert got_status == status, got
    assert isinstance(got, dict) and got["error"] == error, got
    if status == 400:
        assert got["detail"], "a 400 says what is wrong"
    assert read_topic(stream_setup.bootstrap, stream_setup.alerts, idle_ms=300) == []


@pytest.mark.timeout(60)
def test_generic_endpoint_accepts_any_supported_format_and_health_endpoints_answer(
    stream_setup: StreamSetup, worker: WorkerProcess
) -> None:
    status, body = worker.post(GENERIC_PATH, PAGERDUTY_BODY)
    assert (status, body["format"]) == (202, "pagerduty")
    assert worker.get("/livez")[0] == 200
    ready_status, ready = worker.get("/readyz")
    assert ready_status == 200 and orjson.loads(ready)["ready"] is True
    metrics_status, metrics = worker.get("/metrics")
    assert metrics_status == 200
    text = metrics.decode()
    for name in (
        "correlator_records_in_total",
        "correlator_rejected_records_total",
        "correlator_incident_events_total",
        "correlator_open_incidents",
        "correlator_compression_ratio",
        "correlator_processing_latency_seconds_bucket",
        "correlator_engine_late_alerts_total",
        "correlator_engine_duplicates_total",
        "correlator_engine_alerts_shed_total",
    ):
        assert f"# TYPE {name.removesuffix('_bucket')}" in text or name in text, name
    # faust's debug views that would expose internals are switched off
    for debug in ("/router/", "/table/", "/graph/", "/stats/"):
        assert worker.get(debug)[0] == 404, debug
