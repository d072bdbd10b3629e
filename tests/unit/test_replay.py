"""`correlator replay`: rejects, determinism, summary, exit codes."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import orjson

from correlator.cli import main
from correlator.replay import replay_lines
from tests.helpers import T0

REPO = Path(__file__).resolve().parents[2]
TOPOLOGY = REPO / "tests" / "golden" / "shop.yaml"


def canonical(fp: str, service: str, seconds: int, status: str = "firing") -> bytes:
    start = T0.replace(second=seconds % 60, minute=seconds // 60)
    return orjson.dumps(
        {
            "fingerprint": fp,
            "service": service,
            "name": "HighErrorRate",
            "severity": "error",
            "status": status,
            "starts_at": start.isoformat().replace("+00:00", "Z"),
            "labels": {"service": service},
        }
    )


LINES = [
    canonical("db1", "orders-db", 0),
    b"{not json",
    b"",
    b"\xff\xfe garbage",
    canonical("co1", "checkout", 30),
    b'{"hello": "world"}',
    canonical("co1", "checkout", 30),
]


def test_rejects_carry_line_reason_and_original_bytes() -> None:
    from topology import load_topology

    result = replay_lines(LINES, load_topology(TOPOLOGY))
    assert [(r["line"], r["reason"]) for r in result.rejects] == [
        (2, "invalid_json"),
        (4, "invalid_utf8"),
        (6, "unknown_format"),
    ]
    assert result.rejects[0]["raw"] == "{not json"
    assert "raw_base64" in result.rejects[1]
    assert result.stats.records == 6 and result.stats.alerts == 3
    assert result.stats.duplicates == 1 and result.stats.incidents == 1


def _at(fp: str, service: str, offset_s: int) -> bytes:
    start = T0 + timedelta(seconds=offset_s)
    return orjson.dumps(
        {"fingerprint": fp, "service": service, "name": "HighErrorRate",
         "starts_at": start.isoformat().replace("+00:00", "Z")}
    )


def test_a_rejected_future_alert_carries_its_own_line() -> None:
    """The bad clock is judged by the lines after it; the reject names its own line."""
    from topology import load_topology

    lines = [
        _at("db1", "orders-db", 0),
        _at("x1", "orders-db", 24 * 3600),
        _at("co1", "checkout", 10),
        _at("co2", "checkout", 20),
        _at("rp1", "reports", 30),
    ]
    result = replay_lines(lines, load_topology(TOPOLOGY))
    assert [(r["line"], r["reason"]) for r in result.rejects] == [(2, "future")]
    assert orjson.loads(result.rejects[0]["raw"])["fingerprint"] == "x1"
    assert result.stats.incidents == 1


def test_a_quiet_spell_longer_than_the_future_skew_loses_nothing() -> None:
    """A day of history with hours between alerts: every alert reaches an incident."""
    from topology import load_topology

    lines = [_at(f"a{i}", "orders-db", i * 3 * 3600) for i in range(6)]
    result = replay_lines(lines, load_topology(TOPOLOGY))
    assert result.rejects == []
    members = {
        m["fingerprint"] for e in result.events if e["status"] != "merged" for m in e["alerts"]
    }
    assert members == {f"a{i}" for i in range(6)}
    assert result.stats.incidents == 6


def test_cli_replay_is_byte_identical_and_summarises(tmp_path: Path) -> None:
    src = tmp_path / "alerts.jsonl"
    src.write_bytes(b"\n".join(LINES) + b"\n")
    outs = []
    for n in range(2):
        out = tmp_path / f"out{n}.jsonl"
        rejects = tmp_path / f"rejects{n}.jsonl"
        code = main(
            [
                "replay",
                "--topology",
                str(TOPOLOGY),
                "--input",
                str(src),
                "--output",
                str(out),
                "--rejects",
                str(rejects),
                "-q",
            ]
        )
        assert code == 0
        outs.append(out.read_bytes())
        assert len(rejects.read_bytes().splitlines()) == 3
    assert outs[0] == outs[1] and outs[0]
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "correlator.cli",
            "replay",
            "--topology",
            str(TOPOLOGY),
            "--input",
            str(src),
            "--output",
            str(tmp_path / "o.jsonl"),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    assert proc.returncode == 0
    assert "records read: 6" in proc.stderr and "rejects: 3" in proc.stderr


def test_cli_errors_are_one_line_without_traceback(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "correlator.cli",
            "replay",
            "--topology",
            str(tmp_path / "missing.yaml"),
            "--input",
            "-",
        ],
        capture_output=True,
        text=True,
        check=False,
        input="",
    )
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and "missing.yaml" in proc.stderr
