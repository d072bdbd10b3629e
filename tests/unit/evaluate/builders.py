"""Hand-made truth and incident events for the evaluation tests."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

# Two cascades and one noise alert:
#   A (root db):    a1 a2 a3
#   B (root api2):  b1 b2
#   N (noise on x): n1
TRUTH: dict[str, Any] = {
    "seed": 0,
    "scenario": "hand-made",
    "alerts": {"a1": "A", "a2": "A", "a3": "A", "b1": "B", "b2": "B", "n1": "N"},
    "groups": {
        "A": {"kind": "cascade", "root": "db", "root_fingerprints": ["a1"]},
        "B": {"kind": "cascade", "root": "api2", "root_fingerprints": ["b1"]},
        "N": {"kind": "noise", "root": "x", "root_fingerprints": ["n1"]},
    },
    "records": 12,
}


def incident(
    incident_id: str,
    fingerprints: Sequence[str],
    *,
    version: int = 1,
    status: str = "open",
    candidates: Sequence[str] = (),
    opened_at: str = "2026-09-01T10:00:00.000Z",
    first_emitted_at: str = "2026-09-01T10:01:00.000Z",
    starts: Sequence[str] | None = None,
) -> dict[str, Any]:
    """An incident event in the published schema, with only what scoring reads filled in."""
    starts = starts or ["2026-09-01T10:00:00.000Z"] * len(fingerprints)
    return {
        "schema_version": 1,
        "id": incident_id,
        "version": version,
        "status": status,
        "merged_into": None,
        "previous_incident": None,
        "opened_at": opened_at,
        "updated_at": opened_at,
        "resolved_at": None,
        "first_emitted_at": first_emitted_at,
        "severity": "critical",
        "title": incident_id,
        "root_cause": ({"service": candidates[0], "fingerprint": None, "score": 1.0}
                       if candidates else None),
        "candidates": [{"service": s, "score": 1.0 / (i + 1), "evidence": {}}
                       for i, s in enumerate(candidates)],
        "alerts": [
            {"fingerprint": fp, "service": "svc", "known_service": True, "name": "X",
             "severity": "warning", "status": "firing", "starts_at": start, "ends_at": None,
             "count": 1, "flapping": False, "late": False,
             "joined": {"reason": "first", "via": None, "hops": None, "path": None}}
            for fp, start in zip(fingerprints, starts, strict=True)
        ],
        "services": [],
        "unknown_services": [],
        "topology_version": "sha256:0",
        "stats": {"records": 1},
    }
