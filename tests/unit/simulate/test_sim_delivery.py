"""Alertmanager dispatch emulation: group_wait, group_interval, repeat_interval, resolves."""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest

from correlator.model import Severity
from correlator.simulate.delivery import Notification, dispatch
from correlator.simulate.faults import Episode
from correlator.simulate.labels import SimAlert
from correlator.simulate.scenarios import Knobs

KNOBS = Knobs(group_wait_s=30.0, group_interval_s=300.0, repeat_interval_s=600.0,
              arrival_jitter_s=0.0, group_by=("alertname",))
S = 1000


def sim_alert(fp: str, episodes: list[tuple[int, int]], delay_s: int = 0,
              name: str = "HighErrorRate") -> SimAlert:
    return SimAlert(
        fingerprint=fp, group="g", service="api", label_service="api", name=name,
        severity=Severity.ERROR, summary="", labels={"alertname": name, "service": "api"},
        episodes=tuple(Episode(a * S, b * S) for a, b in episodes), delay_ms=delay_s * S,
        is_root=False,
    )


def timeline(notes: list[Notification]) -> list[tuple[int, str, tuple[tuple[str, bool], ...]]]:
    """(send second, reason, ((fp, resolved), ...)) per notification."""
    return [
        (n.send_ms // S, n.reason, tuple((e.alert.fingerprint, e.resolved) for e in n.entries))
        for n in notes
    ]


@dataclass(frozen=True)
class Case:
    name: str
    alerts: list[SimAlert]
    expected: list[tuple[int, str, tuple[tuple[str, bool], ...]]]


CASES = [
    Case(
        "first notification after group_wait, resolve at next interval tick",
        [sim_alert("a", [(0, 200)])],
        [(30, "first notification", (("a", False),)),
         (330, "all alerts resolved", (("a", True),))],
    ),
    Case(
        "for: delay shifts arrival",
        [sim_alert("a", [(0, 200)], delay_s=60)],
        [(90, "first notification", (("a", False),)),
         (390, "all alerts resolved", (("a", True),))],
    ),
    Case(
        "resolved before for: elapsed is never sent",
        [sim_alert("a", [(0, 50)], delay_s=60)],
        [],
    ),
    Case(
        "long alert is re-sent once repeat_interval has passed",
        [sim_alert("a", [(0, 1000)])],
        [(30, "first notification", (("a", False),)),
         (630, "repeat interval elapsed", (("a", False),)),
         (1230, "all alerts resolved", (("a", True),))],
    ),
    Case(
        "second alert joins at the next interval and the payload re-sends the first",
        [sim_alert("a", [(0, 900)]), sim_alert("b", [(100, 900)])],
        [(30, "first notification", (("a", False),)),
         (330, "new alerts added", (("a", False), ("b", False))),
         (930, "all alerts resolved", (("a", True), ("b", True)))],
    ),
    Case(
        "different group keys are dispatched independently",
        [sim_alert("a", [(0, 200)], name="X"), sim_alert("b", [(10, 200)], name="Y")],
        [(30, "first notification", (("a", False),)),
         (40, "first notification", (("b", False),)),
         (330, "all alerts resolved", (("a", True),)),
         (340, "all alerts resolved", (("b", True),))],
    ),
    Case(
        "a flap between ticks is invisible; a flap across ticks re-fires",
        [sim_alert("a", [(0, 100), (120, 200), (700, 800)])],
        [(30, "first notification", (("a", False),)),
         (330, "all alerts resolved", (("a", True),)),
         (730, "new alerts added", (("a", False),)),
         (1030, "all alerts resolved", (("a", True),))],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_dispatch(case: Case) -> None:
    # Resolve lag (next rule evaluation) is random in [0, 15) s; it never crosses a tick here.
    assert timeline(dispatch(case.alerts, random.Random(0), KNOBS)) == case.expected


def test_jitter_reorders_nothing_beyond_its_bound() -> None:
    knobs = Knobs(group_by=("alertname",), arrival_jitter_s=4.0)
    alerts = [sim_alert(f"a{i}", [(i, 2000)], name=f"R{i}") for i in range(20)]
    notes = dispatch(alerts, random.Random(1), knobs)
    sends = [n.send_ms for n in notes]
    assert sends == sorted(sends)
    firsts = [n for n in notes if n.reason == "first notification"]
    assert all(0 <= n.send_ms - (int(n.entries[0].alert.fingerprint[1:]) + 30) * S < 4 * S
               for n in firsts)
