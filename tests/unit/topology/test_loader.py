"""Loading: every accepted spelling of a topology, and every kind of broken file.

A broken file must give one TopologyError whose problems each name the file,
the entry and what is wrong, never another exception.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from tests.unit.topology.support import BROKEN, FIXTURES
from topology import Service, Topology, TopologyError, load_topology, loads_topology

SHOP_FILES = ["shop.yaml", "shop_mapping.yaml", "shop_links.json", "shop_edges.json"]
REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("name", SHOP_FILES, ids=SHOP_FILES)
def test_good_files_load_the_same_shop(name: str) -> None:
    topology = load_topology(FIXTURES / name)
    assert topology.source == str(FIXTURES / name)
    assert topology.name == "mini-shop"
    assert list(topology) == [
        "cart",
        "catalog",
        "catalog-db",
        "events",
        "gateway",
        "mailer",
        "orders",
        "redis-cart",
        "web",
    ]
    assert topology.dependencies("web") == {"cart", "catalog"}
    assert topology.dependents("events") == {"mailer", "orders"}
    web = topology.service("web")
    assert (web.kind, web.team, web.tier, web.criticality) == (
        "service",
        "storefront",
        "frontend",
        "high",
    )
    assert sorted(web.aliases) == ["Web-Deployment", "web-svc"]
    assert topology.service("catalog-db").kind == "database"
    assert topology.dependency_count == 7


def test_every_spelling_has_one_version() -> None:
    versions = {load_topology(FIXTURES / name).version for name in SHOP_FILES}
    assert len(versions) == 1
    (version,) = versions
    assert version.startswith("sha256:") and len(version) == len("sha256:") + 16


@pytest.mark.parametrize(
    ("name", "services", "edges", "probe", "callers"),
    [
        pytest.param(
            "online-boutique.json",
            11,
            15,
            "productcatalogservice",
            {"checkoutservice", "frontend", "recommendationservice"},
            id="boutique",
        ),
        pytest.param(
            "sock-shop.json", 15, 16, "rabbitmq", {"queue-master", "shipping"}, id="sock-shop"
        ),
    ],
)
def test_shared_samples(
    name: str, services: int, edges: int, probe: str, callers: set[str]
) -> None:
    topology = load_topology(FIXTURES / name)
    assert (len(topology), topology.dependency_count) == (services, edges)
    assert topology.dependents(probe) == callers
    assert topology.name == name.removesuffix(".json")


def test_sample_config_is_valid_and_realistic() -> None:
    topology = load_topology(REPO / "configs" / "topology.yaml")
    kinds = [s.kind for s in topology.services.values()]
    assert 20 <= len(topology) <= 28
    assert kinds.count("gateway") >= 1 and kinds.count("database") >= 3
    assert kinds.count("cache") >= 2 and kinds.count("queue") >= 1
    queue = next(s.id for s in topology.services.values() if s.kind == "queue")
    assert len(topology.dependents(queue)) >= 2
    assert topology.resolve("checkout-svc") == "checkout"
    assert all(s.team and s.criticality for s in topology.services.values())


@pytest.mark.parametrize(
    ("name", "entry", "problem"),
    [
        pytest.param(
            "unknown_top_key.yaml",
            "top level",
            "unknown key 'owner'; allowed keys: name, services, version",
            id="unknown-top-key",
        ),
        pytest.param(
            "unknown_service_key.yaml",
            "service 'web' (services[0])",
            "unknown key 'depend_on' (did you mean 'depends_on'?); allowed keys: aliases",
            id="unknown-service-key",
        ),
        pytest.param(
            "unknown_mapping_key.yaml",
            "service 'web'",
            "unknown key 'owner'; allowed keys: aliases, criticality, depends_on, kind, slo",
            id="unknown-mapping-key",
        ),
        pytest.param(
            "dangling_ref.yaml",
            "service 'web' (services[0])",
            "depends_on 'payments' names no service",
            id="dangling-ref",
        ),
        pytest.param(
            "alias_ref.yaml",
            "service 'web' (services[0])",
            "'cart-svc' names no service in this topology; it is an alias of 'cart'",
            id="dependency-on-alias",
        ),
        pytest.param(
            "duplicate_id.yaml",
            "service 'web' (services[2])",
            "duplicate id 'web' (already defined by service 'web' (services[0]))",
            id="duplicate-id",
        ),
        pytest.param(
            "duplicate_key.yaml",
            "line 5",
            "duplicate key 'cart' (first used on line 4)",
            id="duplicate-mapping-key",
        ),
        pytest.param(
            "self_dependency.yaml",
            "service 'web' (services[0])",
            "depends_on 'web': a service cannot depend on itself",
            id="self-dependency",
        ),
        pytest.param(
            "alias_is_id.yaml",
            "service 'web' (services[0])",
            "alias 'cart' collides with the id of service 'cart'",
            id="alias-is-an-id",
        ),
        pytest.param(
            "alias_shared.yaml",
            "service 'mobile' (services[1])",
            "alias 'frontend' is already an alias of service 'web'",
            id="alias-shared",
        ),
        pytest.param(
            "bad_kind.yaml",
            "service 'postgres' (services[0])",
            "kind must be one of service, database, cache, queue, gateway; got 'db'",
            id="bad-kind",
        ),
        pytest.param(
            "bad_criticality.yaml",
            "service 'web' (services[0])",
            "criticality must be one of critical, high, medium, low; got 'urgent'",
            id="bad-criticality",
        ),
        pytest.param(
            "wrong_types.yaml",
            "service 'web' (services[0])",
            "depends_on must be a list of strings, got 'cart'",
            id="deps-not-a-list",
        ),
        pytest.param(
            "wrong_types.yaml",
            "service 'cart' (services[1])",
            "aliases[1] must be a string, got int 42",
            id="alias-not-a-string",
        ),
        pytest.param(
            "wrong_types.yaml",
            "services[2]",
            "id must be a string, got int 404",
            id="id-not-a-string",
        ),
        pytest.param(
            "wrong_types.yaml",
            "service 'api' (services[3])",
            "team must be a non-empty string, got list",
            id="team-not-a-string",
        ),
        pytest.param(
            "services_not_list.yaml",
            "top level",
            "services must be a list of service entries or a mapping",
            id="services-str",
        ),
        pytest.param(
            "entry_not_mapping.yaml",
            "services[1]",
            "expected a mapping with at least an 'id' key, got 'cart'",
            id="entry-str",
        ),
        pytest.param(
            "bad_version.yaml", "top level", "version must be 1, got int 2", id="bad-version"
        ),
        pytest.param("not_yaml.yaml", "not valid YAML", "line 4", id="not-yaml"),
        pytest.param("broken.json", "not valid JSON", "line 3, column 2", id="not-json"),
        pytest.param("empty.yaml", "", "file is empty", id="empty-file"),
        pytest.param("comments_only.yaml", "", "file is empty", id="comments-only"),
        pytest.param("top_level_list.yaml", "top level", "expected a mapping", id="top-list"),
        pytest.param(
            "not_a_topology.yaml",
            "top level",
            "not a topology: expected a 'services' key",
            id="not-a-topology",
        ),
        pytest.param("undirected.json", "top level", "directed is false", id="undirected"),
        pytest.param(
            "dangling_link.json",
            "links[1] ('web' -> 'payments')",
            "target 'payments' names no node",
            id="dangling-link",
        ),
        pytest.param(
            "self_link.json",
            "edges[0] ('web' -> 'web')",
            "a service cannot depend on itself",
            id="self-link",
        ),
        pytest.param(
            "bad_node.json", "node 'web' (nodes[0])", "kind must be one of", id="node-bad-kind"
        ),
        pytest.param(
            "bad_node.json", "nodes[1]", "id must be a string, got int 7", id="node-int-id"
        ),
        pytest.param("bad_node.json", "nodes[2]", "id must be a string, got null", id="node-no-id"),
        pytest.param(
            "links_and_edges.json",
            "top level",
            "has both 'links' and 'edges'",
            id="links-and-edges",
        ),
    ],
)
def test_broken_file_names_file_entry_and_problem(name: str, entry: str, problem: str) -> None:
    path = BROKEN / name
    with pytest.raises(TopologyError) as caught:
        load_topology(path)
    error = caught.value
    assert error.source == str(path)
    assert all(p.startswith(f"{path}: ") for p in error.problems), error.problems
    matching = [p for p in error.problems if f"{path}: {entry}" in p and problem in p]
    assert len(matching) == 1, error.problems
    assert str(error) == "\n".join(error.problems)


def test_all_problems_are_reported_together() -> None:
    with pytest.raises(TopologyError) as caught:
        load_topology(BROKEN / "many_problems.yaml")
    problems = caught.value.problems
    expected = [
        "kind must be one of",
        "unknown key 'colour'",
        "duplicate id 'cart'",
        "depends_on 'search' names no service",
    ]
    assert len(problems) == len(expected)
    for fragment in expected:
        assert any(fragment in p for p in problems), fragment


@pytest.mark.parametrize(
    ("make_path", "problem"),
    [
        pytest.param(lambda tmp: tmp / "missing.yaml", "file not found", id="missing"),
        pytest.param(lambda tmp: tmp, "is a directory", id="directory"),
    ],
)
def test_unreadable_paths(make_path: object, problem: str, tmp_path: Path) -> None:
    path = make_path(tmp_path)  # type: ignore[operator]
    with pytest.raises(TopologyError) as caught:
        load_topology(path)
    assert caught.value.problems == (f"{path}: {problem}" + _suffix(problem),)


def _suffix(problem: str) -> str:
    return ", not a file" if problem == "is a directory" else ""


def test_size_is_limited_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("services:\n" + "  - id: x\n" * 100, encoding="utf-8")
    with pytest.raises(TopologyError, match=r"too large: more than 500 bytes"):
        load_topology(path, max_bytes=500)
    with pytest.raises(TopologyError, match="duplicate id 'x'"):  # under the limit: parsed
        load_topology(path, max_bytes=10_000)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        pytest.param(
            b"\xff\xfeservices: []", "not UTF-8 text (invalid byte at offset 0)", id="not-utf8"
        ),
        pytest.param("x" * 101, "too large", id="too-large-str"),
        pytest.param(b"x" * 101, "too large", id="too-large-bytes"),
        pytest.param("   \n\t\n", "file is empty", id="whitespace"),
        pytest.param("services: [a, b", "not valid YAML", id="unclosed"),
        pytest.param("a: 1\n---\nb: 2\n", "not valid YAML", id="two-documents"),
        pytest.param("services:\n\t- id: x\n", "not valid YAML", id="tab-indent"),
        pytest.param("!!python/object:os.system {}", "not valid YAML", id="unsafe-tag"),
        pytest.param("42", "top level: expected a mapping", id="scalar"),
        pytest.param('{"nodes": {"a": 1}}', "nodes must be a list", id="nodes-not-list"),
        pytest.param('{"nodes": [], "links": {}}', "links must be a list", id="links-not-list"),
        pytest.param(
            '{"directed": "yes", "nodes": []}', "directed must be true", id="directed-str"
        ),
        pytest.param(
            '{"nodes": [{"id": "a"}], "links": [{"source": "a"}]}',
            "needs 'source' and 'target'",
            id="link-half",
        ),
        pytest.param(
            '{"nodes": [{"id": "a"}], "links": [["a", "b"]]}', "expected an object", id="link-list"
        ),
        pytest.param('{"nodes": ["a"]}', "nodes[0]: expected an object", id="node-str"),
        pytest.param(
            "services:\n  a: [b]\n",
            "service 'a': expected a mapping of fields",
            id="mapping-entry-list",
        ),
        pytest.param(
            "services:\n  a: {id: a}\n", "service 'a': unknown key 'id'", id="mapping-entry-id"
        ),
        pytest.param(
            "services:\n  404: {}\n", "id must be a string, got int 404", id="mapping-int-key"
        ),
        pytest.param(
            "name: [x]\nservices: []\n", "top level: name must be a non-empty string", id="bad-name"
        ),
        pytest.param("version: true\nservices: []\n", "version must be 1", id="bool-version"),
        pytest.param(
            "services:\n  - {depends_on: [b]}\n", "services[0]: missing required key", id="no-id"
        ),
        pytest.param(
            "services:\n  - {id: a, aliases: [a]}\n",
            "repeats the service's own id",
            id="alias-own-id",
        ),
        pytest.param(
            "services:\n  - {id: a, aliases: [x, x]}\n",
            "alias 'x' is listed twice",
            id="alias-twice",
        ),
        pytest.param(
            "services:\n  - {id: a, depends_on: [b, b]}\n  - {id: b}\n",
            "depends_on 'b' is listed twice",
            id="dependency-twice",
        ),
        pytest.param("version: 1\n", "missing required key 'services'", id="no-services"),
    ],
)
def test_loads_rejects(text: str | bytes, problem: str) -> None:
    with pytest.raises(TopologyError) as caught:
        loads_topology(text, source="kafka:topologies/0@17", max_bytes=100)
    assert any(problem in p for p in caught.value.problems), caught.value.problems
    assert all(p.startswith("kafka:topologies/0@17: ") for p in caught.value.problems)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(b"services:\n  - id: a\n", id="bytes"),
        pytest.param(b"\xef\xbb\xbfservices:\n  - id: a\n", id="bytes-with-bom"),
        pytest.param("\ufeffservices: {a: }\n", id="str-with-bom"),
        pytest.param('{"services": [{"id": "a"}]}', id="project-format-as-json"),
        pytest.param("{services: [{id: a}]}", id="yaml-flow-mapping"),
        pytest.param('{"nodes": [{"id": "a", "kind": null, "aliases": null}]}', id="nulls"),
    ],
)
def test_loads_accepts(text: str | bytes) -> None:
    topology = loads_topology(text)
    assert list(topology) == ["a"]
    assert topology.source == "<string>"
    assert topology.service("a") == Service(id="a")


def test_loads_matches_load(tmp_path: Path) -> None:
    data = (FIXTURES / "shop.yaml").read_bytes()
    assert loads_topology(data).version == load_topology(FIXTURES / "shop.yaml").version


def test_accepts_pathlike_and_str() -> None:
    as_str = load_topology(os.fspath(FIXTURES / "shop.yaml"))
    as_path = load_topology(FIXTURES / "shop.yaml")
    assert as_str.version == as_path.version and as_str.source == as_path.source


@pytest.mark.parametrize("name", [*SHOP_FILES, "online-boutique.json", "sock-shop.json"])
def test_exports_load_back_to_the_same_version(name: str) -> None:
    original = load_topology(FIXTURES / name)
    from_yaml = loads_topology(yaml.safe_dump(original.to_yaml_dict()))
    from_json = loads_topology(json.dumps(original.to_node_link()))
    assert from_yaml.version == from_json.version == original.version
    assert from_yaml.name == from_json.name == original.name
    assert isinstance(from_yaml, Topology)
