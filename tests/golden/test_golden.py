"""Golden scenarios: small storms on a small shop, expected incidents checked by hand.

Each ``scenarios/*.yaml`` lists alerts in arrival order (``at``/``end`` are
seconds after a fixed start) and the expected final incidents. The runner
writes them as canonical JSON alert lines and goes through the public replay
path, codecs included.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from correlator.replay import replay_lines
from tests.helpers import T0
from topology import load_topology

HERE = Path(__file__).parent
SCENARIOS = sorted((HERE / "scenarios").glob("*.yaml"))
SHOP = load_topology(HERE / "shop.yaml")


def _iso(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def _line(spec: dict[str, Any]) -> bytes:
    record = {
        "fingerprint": spec["fp"],
        "service": spec["service"],
        "name": spec["name"],
        "severity": spec.get("severity", "warning"),
        "status": spec.get("status", "firing"),
        "starts_at": _iso(spec["at"]),
        "ends_at": _iso(spec["end"]) if "end" in spec else None,
        "labels": {"alertname": spec["name"], "service": spec["service"]},
    }
    return orjson.dumps(record)


def _final(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    last: dict[str, dict[str, Any]] = {}
    for e in events:
        last[e["id"]] = e
    return [e for e in last.values() if e["status"] != "merged"]


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_golden(path: Path) -> None:
    scenario = yaml.safe_load(path.read_text())
    result = replay_lines([_line(a) for a in scenario["alerts"]], SHOP)
    assert result.rejects == []
    final = {frozenset(a["fingerprint"] for a in e["alerts"]): e for e in _final(result.events)}
    expected = {frozenset(x["alerts"]): x for x in scenario["expected"]}
    assert set(final) == set(expected), "grouping differs"
    for members, want in expected.items():
        got = final[members]
        assert got["root_cause"]["service"] == want["root"]
        if "status" in want:
            assert got["status"] == want["status"]
        counts = {a["fingerprint"]: a["count"] for a in got["alerts"]}
        for fp, n in want.get("counts", {}).items():
            assert counts[fp] == n
        flapping = sorted(a["fingerprint"] for a in got["alerts"] if a["flapping"])
        assert flapping == sorted(want.get("flapping", []))
        assert got["unknown_services"] == want.get("unknown", [])
        assert got["topology_version"] == SHOP.version
