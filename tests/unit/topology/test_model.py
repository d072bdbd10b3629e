"""Service is a frozen value that cannot hold a meaningless kind or id."""

from __future__ import annotations

import dataclasses
import pickle
from typing import Any

import pytest

from topology import SERVICE_KINDS, Service, TopologyError


def test_defaults() -> None:
    service = Service(id="cart")
    assert (service.kind, service.team, service.tier, service.criticality) == (
        "service",
        None,
        None,
        None,
    )
    assert service.aliases == () and service.depends_on == ()


def test_kinds_are_the_documented_five() -> None:
    assert SERVICE_KINDS == ("service", "database", "cache", "queue", "gateway")
    for kind in SERVICE_KINDS:
        assert Service(id="x", kind=kind).kind == kind


def test_is_frozen_and_hashable() -> None:
    service = Service(id="cart", depends_on=("redis",))
    with pytest.raises(dataclasses.FrozenInstanceError):
        service.id = "other"  # type: ignore[misc]
    assert {service: 1}[Service(id="cart", depends_on=("redis",))] == 1


def test_lists_are_frozen_to_tuples() -> None:
    service = Service(id="cart", aliases=["cart-svc"], depends_on=["redis"])  # type: ignore[arg-type]
    assert service.aliases == ("cart-svc",)
    assert service.depends_on == ("redis",)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        pytest.param({"id": ""}, "id must not be empty", id="empty-id"),
        pytest.param({"id": " cart"}, "leading or trailing whitespace", id="padded-id"),
        pytest.param({"id": 7}, "id must be a string, got int 7", id="int-id"),
        pytest.param({"id": "x", "kind": "db"}, "kind must be one of", id="bad-kind"),
        pytest.param({"id": "x", "kind": ["db"]}, "kind must be one of", id="unhashable-kind"),
        pytest.param(
            {"id": "x", "criticality": "urgent"}, "criticality must be one of", id="bad-criticality"
        ),
        pytest.param({"id": "x", "team": ""}, "team must be a non-empty string", id="empty-team"),
        pytest.param({"id": "x", "tier": 3}, "tier must be a non-empty string", id="int-tier"),
        pytest.param({"id": "x", "aliases": ("",)}, "aliases[0] must not be empty", id="alias"),
        pytest.param({"id": "x", "depends_on": "y"}, "depends_on must be a tuple", id="str-deps"),
        pytest.param({"id": "x", "depends_on": ("y", 2)}, "depends_on[1] must be", id="int-dep"),
    ],
)
def test_rejects_bad_values(fields: dict[str, object], expected: str) -> None:
    with pytest.raises(TopologyError) as caught:
        Service(**fields)  # type: ignore[arg-type]
    assert len(caught.value.problems) == 1
    assert expected in caught.value.problems[0]
    assert isinstance(caught.value, ValueError)


def test_reports_every_bad_field_at_once() -> None:
    with pytest.raises(TopologyError) as caught:
        Service(id="x", kind="db", criticality="urgent", team="")
    assert [p.split(": ")[2].split()[0] for p in caught.value.problems] == [
        "kind",
        "team",
        "criticality",
    ]


@pytest.mark.parametrize(
    ("problems", "expected"),
    [
        pytest.param(["f: a", "f: b"], ("f: a", "f: b"), id="list"),
        pytest.param("f: one problem", ("f: one problem",), id="plain-message"),
        pytest.param("f: a\nf: b", ("f: a", "f: b"), id="message-lines"),
        pytest.param([], ("here: invalid topology",), id="nothing-said"),
    ],
)
def test_topology_error_problems(problems: Any, expected: tuple[str, ...]) -> None:
    error = TopologyError(problems, source="here")
    assert error.problems == expected
    assert str(error) == "\n".join(expected)


def test_topology_error_survives_pickling() -> None:
    error = TopologyError(["f: a", "f: b"], source="f")
    copy = pickle.loads(pickle.dumps(error))
    assert (type(copy), copy.problems, copy.source) == (TopologyError, error.problems, "f")
