"""The change log (resolution, de-duplication, time queries, retention) and its config."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from correlator.changes import Change, ChangeKind, ChangeLog, ChangesConfig
from correlator.changes.config import changes_config_from_mapping
from correlator.enrich import load_enrichment_config
from correlator.errors import ConfigError
from topology import Service, Topology

T0 = datetime(2026, 9, 1, 10, 0, tzinfo=UTC)
TOPO = Topology.from_services([
    Service(id="checkout", aliases=("checkout-svc",), depends_on=("payments",)),
    Service(id="payments"),
])


def make(cid: str, service: str, minutes: float, alts: tuple[str, ...] = ()) -> Change:
    return Change(id=cid, service=service, kind=ChangeKind.DEPLOY,
                  at=T0 + timedelta(minutes=minutes), alt_services=alts)


@pytest.mark.parametrize(
    ("service", "alts", "key"),
    [
        ("checkout", (), "checkout"),
        ("checkout-svc", (), "checkout"),
        ("CHECKOUT", (), "checkout"),
        ("shop/checkout", ("checkout-svc",), "checkout"),
        ("billing", (), "billing"),
    ],
    ids=["id", "alias", "case-insensitive", "alternative name", "unknown keeps raw name"],
)
def test_changes_resolve_through_the_topology(service: str, alts: tuple[str, ...],
                                              key: str) -> None:
    log = ChangeLog(TOPO, timedelta(hours=1))
    resolved = log.add(make("a", service, 0, alts))
    assert resolved is not None and resolved.service == key


def test_duplicate_ids_are_kept_once() -> None:
    log = ChangeLog(TOPO, timedelta(hours=1))
    assert log.add(make("a", "checkout", 0)) is not None
    assert log.add(make("a", "checkout", 5)) is None
    assert len(log) == 1


def test_between_is_inclusive_and_time_ordered() -> None:
    log = ChangeLog(TOPO, timedelta(hours=1))
    for cid, service, minutes in (("c3", "payments", 3), ("c1", "checkout", 1),
                                  ("c0", "checkout", 0), ("c9", "checkout", 9)):
        log.add(make(cid, service, minutes))
    found = log.between(["checkout", "payments", "nothing"], T0, T0 + timedelta(minutes=3))
    assert [r.change.id for r in found] == ["c0", "c1", "c3"]


def test_prune_forgets_changes_older_than_retention() -> None:
    log = ChangeLog(TOPO, timedelta(minutes=30))
    log.add(make("old", "checkout", 0))
    log.add(make("new", "checkout", 20))
    assert log.prune(T0 + timedelta(minutes=40)) == 1
    assert [c.id for c in log.changes()] == ["new"]
    assert log.add(make("old", "checkout", 0)) is not None  # forgotten ids may come back


def test_set_topology_re_resolves() -> None:
    log = ChangeLog(TOPO, timedelta(hours=1))
    log.add(make("a", "billing-svc", 0))
    renamed = Topology.from_services([Service(id="billing", aliases=("billing-svc",))])
    log.set_topology(renamed)
    assert [r.service for r in log.between(["billing"], T0, T0)] == ["billing"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"lookback": "1h", "typo": 1}, "unknown changes setting(s) typo"),
        ({"lookback": "soon"}, "changes.lookback: expected a duration"),
        ({"max_suspects": 0}, "max_suspects must be between 1 and 50"),
        ({"dependency_hops": True}, "changes.dependency_hops: expected an integer"),
        ({"retention": "10m"}, "retention must be at least changes.lookback"),
        ({"half_life": 0}, "changes.half_life must be positive"),
        (["lookback"], "changes must be a mapping"),
    ],
    ids=["unknown key", "bad duration", "max_suspects zero", "bool hops", "retention short",
         "zero half-life", "not a mapping"],
)
def test_config_is_strict(data: object, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        changes_config_from_mapping(data, source="cfg.yaml")


def test_config_values_and_file_loader(tmp_path: Path) -> None:
    path = tmp_path / "engine.yaml"
    path.write_text("engine: {gap: 5m}\nchanges:\n  lookback: 2h\n  grace: 0s\n  retention: 1d\n"
                    "gate:\n  caution_budget_below: 0.3\n  close_severities: [critical, error]\n")
    changes, gate = load_enrichment_config(str(path))
    assert changes == ChangesConfig(lookback=timedelta(hours=2), grace=timedelta(0),
                                    retention=timedelta(days=1))
    assert gate.caution_budget_below == 0.3
    assert gate.close_severities == ("critical", "error")
    assert changes.to_dict()["lookback"] == "2h"
