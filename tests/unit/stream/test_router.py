"""First stage without Kafka: decode, dead-letter, route by domain, keep order."""

from __future__ import annotations

import orjson
import pytest

from correlator.config import EngineConfig
from correlator.stream import router as router_module
from correlator.stream.domains import partition_for
from correlator.stream.envelope import H_REASON, H_SOURCE_OFFSET
from correlator.stream.router import RawRecord, Router
from correlator.stream.wire import decode_batch
from tests.helpers import topo

TOPOLOGY = topo({"web": ["api"], "api": ["db"], "batch": ["queue"]})


def _canonical(service: str, minute: int, name: str = "Down") -> bytes:
    return orjson.dumps(
        {"service": service, "name": name, "starts_at": f"2026-09-01T10:{minute:02d}:00Z"}
    )


def _records(values: list[bytes | None]) -> list[RawRecord]:
    return [RawRecord("alerts", 0, i, 1_790_000_000_000 + i, None, v) for i, v in enumerate(values)]


def _router(partitions: int) -> Router:
    return Router(TOPOLOGY, EngineConfig(), partitions=partitions, max_domain_size=10)


def test_alerts_go_to_the_partition_of_their_domain_in_input_order() -> None:
    values: list[bytes | None] = [
        _canonical("web", 1),
        _canonical("batch", 2),
        _canonical("db", 3),
        _canonical("queue", 4),
        _canonical("mystery-svc", 5),
    ]
    result = _router(4).route(_records(values))
    assert (result.records, result.alerts, result.dead_letters) == (5, 5, [])
    seen: dict[int, list[str]] = {}
    for partition, value in result.routed:
        seen.setdefault(partition, []).extend(item.alert.service for item in decode_batch(value))
    domains = {"web": "api", "db": "api", "batch": "batch", "queue": "batch"}
    for service, domain in domains.items():
        assert service in seen[partition_for(domain, 4)]
    assert seen[partition_for("api", 4)].index("web") < seen[partition_for("api", 4)].index("db")
    assert sum(len(v) for v in seen.values()) == 5


def test_with_one_partition_the_routed_order_is_the_input_order() -> None:
    services = ["web", "batch", "db", "queue", "api", "web"]
    result = _router(1).route(_records([_canonical(s, i) for i, s in enumerate(services)]))
    routed = [item for _, value in result.routed for item in decode_batch(value)]
    assert [item.alert.service for item in routed] == services
    assert [item.origin.offset for item in routed] == list(range(len(services)))


def test_bad_records_become_dead_letters_and_good_ones_around_them_flow() -> None:
    values: list[bytes | None] = [_canonical("web", 1), b"{broken", None, b"", _canonical("db", 2)]
    result = _router(1).route(_records(values))
    assert result.alerts == 2
    letters = [
        (dict(d.headers)[H_REASON], dict(d.headers)[H_SOURCE_OFFSET], d.value)
        for d in result.dead_letters
    ]
    assert letters == [
        (b"invalid_json", b"1", b"{broken"),
        (b"empty", b"2", b""),
        (b"empty", b"3", b""),
    ]
    assert result.rejects == {"invalid_json": 1, "empty": 2}


def test_an_unexpected_error_dead_letters_the_record_instead_of_raising(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def explode(*_: object, **__: object) -> object:
        raise RuntimeError("codec bug")

    monkeypatch.setattr(router_module, "decode", explode)
    result = _router(1).route(_records([_canonical("web", 1)]))
    assert result.rejects == {"internal_error": 1}
    assert dict(result.dead_letters[0].headers)[H_REASON] == b"internal_error"


def test_a_topology_swap_changes_the_domains() -> None:
    r = _router(1)
    assert r.domains.domain_for("batch", known=True) == "batch"
    r.set_topology(topo({"batch": ["api"], "api": []}))
    assert r.domains.domain_for("batch", known=True) == "api"


@pytest.mark.parametrize("partitions", [1, 3], ids=["one-partition-no-lookup", "three"])
def test_routed_rows_carry_each_alert_and_its_origin(partitions: int) -> None:
    services = ["web", "batch", "mystery-svc", "db"]
    router = _router(partitions)
    result = router.route(_records([_canonical(s, i) for i, s in enumerate(services)]))
    routed = {
        item.alert.service: (partition, item.origin)
        for partition, value in result.routed
        for item in decode_batch(value)
    }
    assert sorted(routed) == sorted(services)
    for offset, service in enumerate(services):
        partition, origin = routed[service]
        assert (origin.topic, origin.offset, origin.index) == ("alerts", offset, 0)
        assert origin.timestamp_ms == 1_790_000_000_000 + offset
        domain = router.domains.domain_for(service, known=service in TOPOLOGY)
        assert partition == partition_for(domain, partitions)
