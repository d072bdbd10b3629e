"""``correlator gate``: exit codes and output, from a state file and over HTTP (loopback)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from correlator.budget import GateBook
from correlator.cli import main
from tests.unit.budget.builders import incident
from topology import SLO, Service, Topology

TOPO = Topology.from_services([
    Service(id="web", depends_on=("checkout",)),
    Service(id="checkout", aliases=("checkout-svc",), slo=SLO(99.9)),
    Service(id="payments"),
])


@pytest.fixture
def state_file(tmp_path: Path) -> Path:
    book = GateBook(TOPO)
    book.ledger.seed("checkout", 0.1)
    book.observe_incident(incident("I", root="payments", services=["payments"], opened=0))
    path = tmp_path / "gate.json"
    path.write_text(json.dumps(book.state_document()))
    return path


@pytest.mark.parametrize(
    ("service", "code", "state", "stderr"),
    [
        ("web", 0, "open", ""),
        ("checkout-svc", 0, "caution", "warning: gate for checkout is at caution"),
        ("Payments", 1, "closed", "gate for payments is closed: critical incident I is open"),
    ],
    ids=["open", "caution by alias", "closed case-insensitive"],
)
def test_state_file_decisions(state_file: Path, capsys: pytest.CaptureFixture[str],
                              service: str, code: int, state: str, stderr: str) -> None:
    assert main(["gate", service, "--state", str(state_file)]) == code
    out = capsys.readouterr()
    assert json.loads(out.out)["state"] == state
    assert stderr in out.err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read gate state"),
        ("not json", "gate state is not JSON"),
        ('{"services": {}}', "not a gate state file"),
    ],
    ids=["missing file", "not json", "wrong kind"],
)
def test_state_file_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                  content: str | None, message: str) -> None:
    path = tmp_path / "gate.json"
    if content is not None:
        path.write_text(content)
    assert main(["gate", "web", "--state", str(path)]) == 2
    assert message in capsys.readouterr().err


def test_unknown_service_exits_2(state_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gate", "nope", "--state", str(state_file)]) == 2
    assert "unknown service 'nope'" in capsys.readouterr().err


class _Handler(BaseHTTPRequestHandler):
    answers: dict[str, tuple[int, bytes]] = {}

    def do_GET(self) -> None:
        status, body = self.answers.get(self.path, (404, b'{"error": "unknown service"}'))
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def worker() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("path", "answer", "code", "message"),
    [
        ("/api/v1/gate/web", (200, b'{"service": "web", "state": "open", "reasons": []}'), 0, ""),
        ("/api/v1/gate/web", (200, b'{"service": "web", "state": "closed", "reasons": '
                              b'[{"code": "incident_open", "message": "m"}]}'), 1, "closed: m"),
        ("/api/v1/gate/web", (200, b'{"state": "maybe"}'), 2, "unknown state 'maybe'"),
        ("/api/v1/gate/web", (200, b"<html>"), 2, "answer is not JSON"),
        ("/api/v1/gate/web", (503, b"{}"), 2, "answered HTTP 503"),
        ("/other", (200, b"{}"), 2, "unknown service 'web' (HTTP 404"),
    ],
    ids=["open", "closed", "bad state", "not json", "server error", "404"],
)
def test_http_decisions(worker: str, capsys: pytest.CaptureFixture[str], path: str,
                        answer: tuple[int, bytes], code: int, message: str) -> None:
    _Handler.answers = {path: answer}
    assert main(["gate", "web", "--url", worker]) == code
    assert message in capsys.readouterr().err


def test_unreachable_worker_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    server = HTTPServer(("127.0.0.1", 0), _Handler)
    port = server.server_address[1]
    server.server_close()  # nothing listens there now
    assert main(["gate", "web", "--url", f"http://127.0.0.1:{port}", "--timeout", "2"]) == 2
    assert "cannot reach the gate" in capsys.readouterr().err
