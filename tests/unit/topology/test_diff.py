"""``topology diff``: services, edges, attributes, and the correlation domains touched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.unit.topology.support import FIXTURES
from topology import Topology, loads_topology
from topology.cli import main
from topology.diff import DomainImpact, component_domains, diff_topologies

BASE = """\
services:
  web: {depends_on: [cart, catalog], team: storefront}
  cart: {depends_on: [redis]}
  catalog: {depends_on: [catalog-db]}
  redis: {kind: cache}
  catalog-db: {kind: database}
  orders: {depends_on: [events]}
  events: {kind: queue}
  mailer: {depends_on: [events]}
"""


def _diff(new_text: str, old_text: str = BASE) -> dict[str, object]:
    return diff_topologies(loads_topology(old_text), loads_topology(new_text)).to_dict()


def test_identical_topologies_have_no_diff() -> None:
    old, new = loads_topology(BASE), loads_topology(BASE.replace("  redis", "  redis"))
    result = diff_topologies(old, new)
    assert result.empty and result.domains == () and result.old_version == result.new_version


def test_order_and_spelling_do_not_matter() -> None:
    listed = (FIXTURES / "shop.yaml").read_text(encoding="utf-8")
    mapped = (FIXTURES / "shop_mapping.yaml").read_text(encoding="utf-8")
    assert diff_topologies(loads_topology(listed), loads_topology(mapped)).empty


@pytest.mark.parametrize(
    ("new_text", "key", "expected"),
    [
        pytest.param(
            BASE + "  search: {depends_on: [catalog]}\n",
            "services_added",
            ["search"],
            id="service-added",
        ),
        pytest.param(
            BASE.replace("  mailer: {depends_on: [events]}\n", ""),
            "services_removed",
            ["mailer"],
            id="service-removed",
        ),
        pytest.param(
            BASE.replace("depends_on: [redis]", "depends_on: [redis, catalog]"),
            "edges_added",
            [["cart", "catalog"]],
            id="edge-added",
        ),
        pytest.param(
            BASE.replace("[cart, catalog]", "[cart]"),
            "edges_removed",
            [["web", "catalog"]],
            id="edge-removed",
        ),
        pytest.param(
            BASE.replace("team: storefront", "team: shop, criticality: high"),
            "services_changed",
            [
                {
                    "service": "web",
                    "changes": {
                        "team": {"before": "storefront", "after": "shop"},
                        "criticality": {"before": None, "after": "high"},
                    },
                }
            ],
            id="attributes-changed",
        ),
        pytest.param(
            BASE.replace("{kind: cache}", "{kind: cache, aliases: [redis-cart]}"),
            "services_changed",
            [{"service": "redis", "changes": {"aliases": {"before": [], "after": ["redis-cart"]}}}],
            id="alias-added",
        ),
        pytest.param(
            BASE.replace("{kind: queue}", "{kind: queue, slo: {objective: 99.9}}"),
            "services_changed",
            [
                {
                    "service": "events",
                    "changes": {
                        "slo": {
                            "before": None,
                            "after": {
                                "objective": 99.9,
                                "window": "28d",
                                "severities": ["critical", "error"],
                            },
                        }
                    },
                }
            ],
            id="slo-added",
        ),
    ],
)
def test_changes(new_text: str, key: str, expected: object) -> None:
    assert _diff(new_text)[key] == expected


@pytest.mark.parametrize(
    ("new_text", "expected"),
    [
        pytest.param(
            BASE.replace("team: storefront", "team: shop"),
            [DomainImpact("cart", 5, ("cart",), "changed")],
            id="attribute-change-in-one-domain",
        ),
        pytest.param(
            BASE.replace("depends_on: [redis]", "depends_on: [redis, events]"),
            [DomainImpact("cart", 8, ("cart", "events"), "merged")],
            id="new-edge-merges",
        ),
        pytest.param(
            BASE.replace("[cart, catalog]", "[cart]"),
            [
                DomainImpact("cart", 3, ("cart",), "split"),
                DomainImpact("catalog", 2, ("cart",), "split"),
            ],
            id="removed-edge-splits",
        ),
        pytest.param(
            BASE + "  batch: {}\n",
            [DomainImpact("batch", 1, (), "new")],
            id="new-isolated-service",
        ),
        pytest.param(
            BASE.replace("  orders: {depends_on: [events]}\n", "")
            .replace("  events: {kind: queue}\n", "")
            .replace("  mailer: {depends_on: [events]}\n", ""),
            [DomainImpact("events", 0, ("events",), "removed")],
            id="domain-removed",
        ),
    ],
)
def test_domains_affected(new_text: str, expected: list[DomainImpact]) -> None:
    old, new = loads_topology(BASE), loads_topology(new_text)
    assert list(diff_topologies(old, new).domains) == expected


def test_custom_domain_function_is_used() -> None:
    old = loads_topology(BASE)
    new = loads_topology(BASE.replace("team: storefront", "team: shop"))

    def one_per_service(topology: Topology) -> dict[str, str]:
        return {sid: sid for sid in topology}

    impacts = diff_topologies(old, new, one_per_service).domains
    assert [d.name for d in impacts] == ["web"]
    assert component_domains(old)["mailer"] == "events"


def _write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_cli_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = _write(tmp_path, "old.yaml", BASE)
    new = _write(
        tmp_path,
        "new.yaml",
        BASE.replace("depends_on: [redis]", "depends_on: [redis, events]") + "  search:\n",
    )
    assert main(["diff", old, new]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"--- {old} (8 services, 6 dependencies, version sha256:")
    assert out[2:] == [
        "services added (1):",
        "  + search",
        "dependencies added (1):",
        "  + cart -> events",
        "correlation domains affected (2):",
        "  cart (8 services): merged from cart, events",
        "  search (1 service): new",
    ]


def test_cli_json_and_exit_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = _write(tmp_path, "old.yaml", BASE)
    new = _write(tmp_path, "new.json", json.dumps(loads_topology(BASE).to_node_link()))
    assert main(["diff", old, new, "--json", "--exit-code"]) == 0
    assert json.loads(capsys.readouterr().out)["edges_added"] == []
    changed = _write(tmp_path, "changed.yaml", BASE.replace("[cart, catalog]", "[cart]"))
    assert main(["diff", old, changed, "--json", "--exit-code"]) == 3
    document = json.loads(capsys.readouterr().out)
    assert document["edges_removed"] == [["web", "catalog"]]
    assert {d["change"] for d in document["domains_affected"]} == {"split"}


def test_cli_uses_the_router_split_for_big_components(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    chain = "services:\n" + "".join(
        f"  s{i:02d}: {{depends_on: [s{i + 1:02d}]}}\n" for i in range(11)
    )
    chain += "  s11:\n"
    old = _write(tmp_path, "old.yaml", chain)
    new = _write(tmp_path, "new.yaml", chain.replace("  s11:\n", "  s11: {team: x}\n"))
    assert main(["diff", old, new, "--json", "--max-domain-size", "4"]) == 0
    domains = json.loads(capsys.readouterr().out)["domains_affected"]
    assert len(domains) == 1 and domains[0]["size"] <= 4 and domains[0]["change"] == "changed"


def test_cli_broken_input_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = _write(tmp_path, "old.yaml", BASE)
    broken = _write(tmp_path, "broken.yaml", "services:\n  a: {depends_on: [b]}\n")
    assert main(["diff", old, broken]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("topology diff: error: ") and "'b'" in err[0]
