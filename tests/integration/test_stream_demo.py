"""`correlator demo` runs end to end on the test broker and cleans up after itself."""

from __future__ import annotations

import pytest
from kafka import KafkaAdminClient

from correlator.stream.demo import DEMO_ALERTS, run_demo
from tests.integration.stream_fixtures import free_port

pytestmark = pytest.mark.integration


@pytest.mark.timeout(120)
def test_the_demo_shows_incidents_and_removes_its_topics(
    kafka_bootstrap: str, kafka_admin: KafkaAdminClient, capsys: pytest.CaptureFixture[str]
) -> None:
    before = {t for t in kafka_admin.list_topics() if t.startswith("demo-")}
    code = run_demo(bootstrap=kafka_bootstrap, rate=500.0, web_port=free_port())
    out = capsys.readouterr().out
    assert code == 0, out
    records = sum(1 for line in DEMO_ALERTS.read_bytes().splitlines() if line.strip())
    summary = [line for line in out.splitlines() if line.startswith(f"{records} alert records ->")]
    assert summary, out[-2000:]
    incidents = int(summary[0].split("->")[2].split()[0])
    assert 0 < incidents < records, "the storm collapses into fewer incidents than records"
    assert "root cause:" in out and "CREATED" in out
    after = {t for t in kafka_admin.list_topics() if t.startswith("demo-")}
    assert after <= before, f"demo topics left behind: {sorted(after - before)}"
