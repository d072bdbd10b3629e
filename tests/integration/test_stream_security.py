"""One security block drives every client: a worker and `correlator produce` over SASL/PLAIN."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration import stream_fixtures
from tests.integration.conftest import SaslEndpoint
from tests.integration.stream_fixtures import (
    REPO,
    StreamSetup,
    WorkerProcess,
    cloud_events,
    read_topic,
    simulate_storm,
    wait_for,
)

pytestmark = pytest.mark.integration
stream_setup = stream_fixtures.stream_setup
start_worker = stream_fixtures.start_worker


def _sasl(endpoint: SaslEndpoint, startup_timeout_s: float = 15) -> dict[str, object]:
    return {
        "bootstrap_servers": endpoint.bootstrap,
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "PLAIN",
        "sasl_username": endpoint.username,
        "startup_timeout_s": startup_timeout_s,
    }


@pytest.mark.timeout(90)
def test_worker_and_producer_authenticate_and_the_password_never_reaches_the_logs(
    stream_setup: StreamSetup,
    start_worker: Callable[..., WorkerProcess],
    kafka_sasl: SaslEndpoint,
    tmp_path: Path,
) -> None:
    lines, topo_path = simulate_storm(tmp_path, seed=2, duration_min=20)
    secret_env = {"CORRELATOR_KAFKA__SASL_PASSWORD": kafka_sasl.password}
    config, port = stream_setup.write_config("sasl", kafka=_sasl(kafka_sasl))
    worker = WorkerProcess(config, port, tmp_path / "sasl.log", topology=topo_path, env=secret_env)
    try:
        worker.wait_ready()
        storm = tmp_path / "storm.jsonl"
        storm.write_bytes(b"\n".join(lines) + b"\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith("CORRELATOR_")}
        produced = subprocess.run(
            [
                sys.executable,
                "-m",
                "correlator.cli",
                "produce",
                str(storm),
                "--config",
                str(config),
                "--topic",
                stream_setup.alerts,
            ],
            check=False,
            cwd=REPO,
            env={**env, **secret_env},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert produced.returncode == 0, produced.stderr
        assert f"produced {len(lines)} record(s)" in produced.stderr
        wait_for(
            lambda: cloud_events(read_topic(stream_setup.bootstrap, stream_setup.incidents)),
            40,
            "incidents from a worker that reads and writes over SASL",
        )
    finally:
        worker.stop()
    assert kafka_sasl.password not in worker.log.read_text(errors="replace")
    assert kafka_sasl.password not in produced.stderr + produced.stdout


@pytest.mark.timeout(60)
def test_a_wrong_password_fails_start_up_with_a_clear_error(
    stream_setup: StreamSetup, kafka_sasl: SaslEndpoint, tmp_path: Path
) -> None:
    wrong = "definitely-not-" + kafka_sasl.password
    config, port = stream_setup.write_config("badauth", kafka=_sasl(kafka_sasl, 4))
    worker = WorkerProcess(
        config, port, tmp_path / "badauth.log", env={"CORRELATOR_KAFKA__SASL_PASSWORD": wrong}
    )
    try:
        code = worker.proc.wait(timeout=50)
    finally:
        worker.stop()
    log = worker.log.read_text(errors="replace")
    assert code != 0
    assert "correlator: error:" in log and "cannot reach Kafka" in log, log[-2000:]
    assert "Traceback" not in log
    assert wrong not in log
