"""Importers on realistic sample files, round trips, merges, and the ``import`` command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from topology import Topology, TopologyError, load_topology, loads_topology
from topology.cli import main
from topology.export import to_nodelink_text
from topology.importers import ImportOptions, import_files, import_texts
from topology.importers.compose import kind_of_image
from topology.importers.otel import parse_exposition

SAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "importers"
BACKSTAGE = [
    str(SAMPLES / "backstage" / "catalog-info.yaml"),
    str(SAMPLES / "backstage" / "payments" / "catalog-info.yaml"),
]
COMPOSE = [str(SAMPLES / "compose" / "docker-compose.yml")]
OTEL = [str(SAMPLES / "otel" / "service_graph.prom")]
SCRAPES = [str(SAMPLES / "otel" / "scrape_1.prom"), str(SAMPLES / "otel" / "scrape_2.prom")]
NODELINK = [str(SAMPLES / "nodelink" / "payments.json")]


def _edges(topology: Topology) -> set[tuple[str, str]]:
    return {(a, b) for a in topology for b in topology.dependencies(a)}


# -- Backstage ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def backstage() -> Topology:
    return import_files("backstage", BACKSTAGE).topology


@pytest.mark.parametrize(
    ("edge", "why"),
    [
        pytest.param(("storefront-web", "cart"), "component:default/cart", id="full-ref"),
        pytest.param(("storefront-web", "catalog"), "component:catalog", id="no-namespace"),
        pytest.param(("catalog", "catalog-db"), "Resource:catalog-db", id="kind-case"),
        pytest.param(("storefront-web", "search"), "consumesApis search-api", id="api"),
        pytest.param(("search", "catalog"), "consumesApis catalog-api", id="api-2"),
        pytest.param(("catalog", "product-images"), "dependencyOf on the resource", id="reverse"),
        pytest.param(("checkout", "cart"), "ref across files", id="across-files"),
        pytest.param(("checkout", "fraud-check"), "placeholder", id="placeholder"),
        pytest.param(("mailer", "order-events"), "resource:order-events", id="resource"),
        pytest.param(("edge-gateway", "storefront-web"), "flow list", id="flow"),
    ],
)
def test_backstage_edges(backstage: Topology, edge: tuple[str, str], why: str) -> None:
    assert edge in _edges(backstage), why


def test_backstage_exact_graph(backstage: Topology) -> None:
    assert len(_edges(backstage)) == 13
    assert "search-api" not in backstage and "storefront" not in backstage  # API, System
    assert "web-platform" not in backstage  # Group


@pytest.mark.parametrize(
    ("service", "field", "value"),
    [
        pytest.param("catalog-db", "kind", "database", id="database"),
        pytest.param("redis-cart", "kind", "cache", id="cache"),
        pytest.param("order-events", "kind", "queue", id="kafka-topic"),
        pytest.param("product-images", "kind", "database", id="s3-bucket"),
        pytest.param("edge-gateway", "kind", "gateway", id="gateway"),
        pytest.param("storefront-web", "kind", "service", id="website"),
        pytest.param("cart", "team", "basket-team", id="owner-group-ref"),
        pytest.param("search", "team", "web-platform", id="owner-from-system"),
        pytest.param("cart", "tier", "storefront", id="system-to-tier"),
        pytest.param("cart", "aliases", ("cart-svc",), id="kubernetes-id"),
        pytest.param("edge-gateway", "aliases", ("edge",), id="kubernetes-id-2"),
        pytest.param("fraud-check", "team", None, id="placeholder"),
    ],
)
def test_backstage_attributes(backstage: Topology, service: str, field: str, value: object) -> None:
    assert getattr(backstage.service(service), field) == value


def test_backstage_warnings() -> None:
    warnings = import_files("backstage", BACKSTAGE).warnings
    assert any("Location 'storefront-extras' is not followed" in w for w in warnings)
    assert any("'component:default/fraud-check' names no entity" in w for w in warnings)


@pytest.mark.parametrize(
    ("text", "warning"),
    [
        pytest.param("kind: Component\nspec: {}\n", "needs kind and metadata.name", id="no-name"),
        pytest.param("- a\n", "not an entity", id="list"),
        pytest.param(
            "kind: Widget\nmetadata: {name: w}\n", "unknown entity kind", id="unknown-kind"
        ),
        pytest.param(
            "kind: Component\nmetadata: {name: a}\nspec: {consumesApis: [nope]}\n",
            "which no component provides",
            id="api-without-provider",
        ),
    ],
)
def test_backstage_odd_documents_warn(text: str, warning: str) -> None:
    assert any(warning in w for w in import_texts("backstage", [("c.yaml", text)]).warnings)


def test_backstage_bad_yaml_is_an_error() -> None:
    with pytest.raises(TopologyError, match=r"c\.yaml: line 3: duplicate key 'kind'"):
        import_texts("backstage", [("c.yaml", "---\nkind: A\nkind: B\n")])


# -- docker compose ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose_plain() -> Topology:
    return import_files("compose", COMPOSE).topology


@pytest.fixture(scope="module")
def compose_env() -> Topology:
    return import_files("compose", COMPOSE, ImportOptions(infer_env_links=True)).topology


def test_compose_declared_edges(compose_plain: Topology) -> None:
    assert _edges(compose_plain) == {
        ("edge", "frontend"),  # list form
        ("frontend", "cart"),  # mapping form
        ("frontend", "catalog"),
        ("catalog", "catalog-db"),
        ("checkout", "orders-db"),
        ("checkout", "kafka"),
        ("checkout", "cart"),  # links
        ("mailer", "kafka"),
    }


@pytest.mark.parametrize(
    ("edge", "value"),
    [
        pytest.param(
            ("frontend", "checkout"), 'CHECKOUT_ENDPOINT: "checkout:5050"', id="host-port"
        ),
        pytest.param(("frontend", "redis-cart"), "redis://redis-cart:6379/1", id="redis-url"),
        pytest.param(("cart", "redis-cart"), "- REDIS_ADDR=redis-cart:6379", id="list-form"),
        pytest.param(
            ("catalog", "catalog-db"), "postgres://u:${PW}@catalog-db:5432", id="userinfo"
        ),
        pytest.param(("catalog", "search"), "SEARCH_HOST: search", id="bare-host-key"),
        pytest.param(("checkout", "orders-db"), "${ORDERS_DB_HOST:-orders-db}", id="default"),
        pytest.param(("mailer", "mailhog"), "SMTP_HOST: mailhog", id="smtp"),
        pytest.param(("frontend", "otel-collector"), "anchor <<: *common-env", id="merge-key"),
    ],
)
def test_compose_env_links(compose_env: Topology, edge: tuple[str, str], value: str) -> None:
    assert edge in _edges(compose_env), value


def test_compose_env_links_ignore_other_values(compose_env: Topology) -> None:
    edges = _edges(compose_env)
    assert not any(a == b for a, b in edges)  # kafka's own voters string names itself
    assert ("catalog-db", "catalog") not in edges  # POSTGRES_USER: catalog is not an address
    assert len(edges) == 14


@pytest.mark.parametrize(
    ("service", "field", "value"),
    [
        pytest.param("edge", "kind", "gateway", id="nginx"),
        pytest.param("redis-cart", "kind", "cache", id="redis"),
        pytest.param("orders-db", "kind", "database", id="bitnami-postgresql"),
        pytest.param("kafka", "kind", "queue", id="kafka"),
        pytest.param("frontend", "kind", "service", id="build"),
        pytest.param("frontend", "team", "storefront", id="team-label"),
        pytest.param("edge", "aliases", ("shop-edge",), id="container-name"),
        pytest.param("cart", "aliases", ("cart-svc", "cartservice"), id="hostname-network-alias"),
    ],
)
def test_compose_attributes(
    compose_plain: Topology, service: str, field: str, value: object
) -> None:
    assert getattr(compose_plain.service(service), field) == value


@pytest.mark.parametrize(
    ("image", "kind"),
    [
        pytest.param("postgres:16", "database", id="postgres"),
        pytest.param("docker.io/bitnami/redis:7.2@sha256:abc", "cache", id="digest"),
        pytest.param("confluentinc/cp-kafka:7.6.0", "queue", id="cp-kafka"),
        pytest.param("envoyproxy/envoy:v1.30", "gateway", id="envoy"),
        pytest.param("registry:5000/team/app:1.0", "service", id="registry-port"),
    ],
)
def test_kind_of_image(image: str, kind: str) -> None:
    assert kind_of_image(image) == kind


def test_compose_unknown_depends_on_becomes_placeholder() -> None:
    text = "services:\n  web:\n    depends_on: [db]\n"
    imported = import_texts("compose", [("c.yml", text)])
    assert _edges(imported.topology) == {("web", "db")}
    assert any("'db', which is not a service in the input" in w for w in imported.warnings)


def test_compose_alias_colliding_with_a_service_name_is_dropped() -> None:
    text = "services:\n  web:\n    container_name: api\n  api:\n    image: nginx\n"
    imported = import_texts("compose", [("c.yml", text)])
    assert imported.topology.service("web").aliases == ()
    assert any("alias 'api' is the name of another service" in w for w in imported.warnings)


# -- OpenTelemetry service graph --------------------------------------------------------------


def test_otel_edges_and_kinds() -> None:
    imported = import_files("otel", OTEL, ImportOptions(min_count=10))
    topology = imported.topology
    assert _edges(topology) == {
        ("edge-gateway", "frontend"),
        ("frontend", "cart"),
        ("frontend", "catalog"),
        ("frontend", "checkout"),
        ("checkout", "cart"),
        ("checkout", "payments"),
        ("checkout", "orders-db"),
        ("checkout", "mailer"),
        ("cart", "redis-cart"),
        ("catalog", "catalog-db"),
        ("payments", "stripe-api"),
    }
    assert "user" not in topology and "recommendations" not in topology
    assert topology.service("orders-db").kind == "database"
    assert topology.service("redis-cart").kind == "cache"  # database connection, Redis name
    assert any("virtual client 'user'" in w for w in imported.warnings)
    assert any("messaging system" in w for w in imported.warnings)


@pytest.mark.parametrize(
    ("min_count", "has_low_edge"),
    [pytest.param(1.0, True, id="default"), pytest.param(4.0, False, id="four")],
)
def test_otel_min_count(min_count: float, has_low_edge: bool) -> None:
    topology = import_files("otel", OTEL, ImportOptions(min_count=min_count)).topology
    assert (("recommendations", "catalog") in _edges(topology)) is has_low_edge


def test_otel_series_are_summed_per_edge() -> None:
    stats = parse_exposition([("m", (SAMPLES / "otel" / "service_graph.prom").read_text())])
    assert stats[("catalog", "catalog-db")].count == 39876
    assert stats[("catalog", "catalog-db")].rate is None


def test_otel_rate_from_two_scrapes() -> None:
    texts = [(p, Path(p).read_text(encoding="utf-8")) for p in SCRAPES]
    stats = parse_exposition(texts)
    assert stats[("frontend", "cart")].rate == pytest.approx(3000 / 300)
    assert stats[("cart", "redis-cart")].rate == pytest.approx(900 / 300)  # counter reset
    assert stats[("admin", "catalog")].rate == pytest.approx(3 / 300)
    topology = import_files("otel", SCRAPES, ImportOptions(min_rate=1.0)).topology
    assert "admin" not in topology and ("frontend", "catalog") in _edges(topology)


def test_otel_min_rate_without_timestamps_is_an_error() -> None:
    with pytest.raises(TopologyError, match="--min-rate needs two timestamped samples"):
        import_files("otel", OTEL, ImportOptions(min_rate=0.5))


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        pytest.param(
            'traces_service_graph_request_total{client="a"} 3',
            "needs 'client' and 'server'",
            id="no-server",
        ),
        pytest.param(
            'traces_service_graph_request_total{client="a",server="b"} x',
            "not a number",
            id="value",
        ),
        pytest.param(
            'traces_service_graph_request_total{client="a",server="b"} -1',
            "cannot be -1",
            id="negative",
        ),
        pytest.param(
            'traces_service_graph_request_total{client="a" server="b"} 1',
            "malformed labels",
            id="labels",
        ),
        pytest.param("traces_service_graph_request_total{", "not a Prometheus sample", id="cut"),
    ],
)
def test_otel_bad_lines(line: str, problem: str) -> None:
    with pytest.raises(TopologyError) as caught:
        parse_exposition([("m.prom", f"# TYPE x counter\n{line}\n")])
    assert caught.value.problems[0].startswith("m.prom: line 2: ") and problem in str(caught.value)


def test_otel_label_escapes() -> None:
    text = 'traces_service_graph_request_total{client="a\\"b",server="c\\\\d"} 2\n'
    assert list(parse_exposition([("m", text)])) == [('a"b', "c\\d")]


# -- node-link -------------------------------------------------------------------------------


def test_nodelink_import_keeps_attributes_and_slo() -> None:
    topology = import_files("nodelink", NODELINK).topology
    assert topology.name == "payments-platform"
    checkout = topology.service("checkout")
    assert checkout.aliases == ("checkout-svc",) and checkout.slo is not None
    assert checkout.slo.objective == 99.9
    assert topology.version == load_topology(NODELINK[0]).version


def test_nodelink_rejects_yaml() -> None:
    with pytest.raises(TopologyError, match="not node-link JSON"):
        import_texts("nodelink", [("t.yaml", "services: {}\n")])


# -- round trips ---------------------------------------------------------------------------------

ALL = [
    pytest.param("backstage", BACKSTAGE, ImportOptions(), id="backstage"),
    pytest.param("compose", COMPOSE, ImportOptions(infer_env_links=True), id="compose"),
    pytest.param("otel", OTEL, ImportOptions(), id="otel"),
    pytest.param("nodelink", NODELINK, ImportOptions(), id="nodelink"),
]


@pytest.mark.parametrize(("source", "paths", "options"), ALL)
def test_round_trip_through_node_link_keeps_the_version(
    source: str, paths: list[str], options: ImportOptions, tmp_path: Path
) -> None:
    first = import_files(source, paths, options).topology
    exported = tmp_path / "exported.json"
    exported.write_text(to_nodelink_text(first), encoding="utf-8")
    again = import_files("nodelink", [str(exported)]).topology
    assert again.version == first.version
    assert again.to_node_link() == first.to_node_link()


@pytest.mark.parametrize(("source", "paths", "options"), ALL)
def test_cli_import_writes_yaml_that_loads_to_the_same_version(
    source: str,
    paths: list[str],
    options: ImportOptions,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    flags = ["--infer-env-links"] if options.infer_env_links else []
    assert main(["import", "--from", source, *paths, *flags]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# Imported with `topology import --from ")
    expected = import_files(source, paths, options).topology.version
    assert loads_topology(out).version == expected
    target = tmp_path / "imported.yaml"
    assert main(["import", "--from", source, *paths, *flags, "--output", str(target)]) == 0
    assert capsys.readouterr().out == ""
    assert target.read_text(encoding="utf-8") == out


# -- merge -----------------------------------------------------------------------------------

EXISTING = """\
# Hand-maintained: kinds and criticality checked by the SRE team.
version: 1
services:
  - id: storefront-web
    criticality: critical     # revenue
    aliases: [web]
    depends_on: [cart]
  - id: cart
    team: basket
    slo: {objective: 99.95, window: 7d}
  - id: redis-cart
    kind: cache
  - id: legacy-reporting      # not in any catalog, must stay
    depends_on: [cart]
"""


def test_merge_keeps_hand_work_and_adds_what_is_new(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    existing = tmp_path / "topology.yaml"
    existing.write_text(EXISTING, encoding="utf-8")
    assert main(["import", "--from", "backstage", *BACKSTAGE, "--merge", str(existing)]) == 0
    captured = capsys.readouterr()
    merged = loads_topology(captured.out)
    assert existing.read_text(encoding="utf-8") == EXISTING  # stdout only, file untouched
    text = captured.out
    assert "# Hand-maintained" in text and "# revenue" in text and "# not in any catalog" in text
    cart = merged.service("cart")
    assert cart.team == "basket"  # written: kept, difference reported
    assert cart.tier == "storefront"  # unset: filled from the import
    assert cart.slo is not None and cart.slo.window_seconds == 7 * 86400
    assert merged.service("storefront-web").criticality == "critical"
    assert merged.service("storefront-web").aliases == ("web",)
    assert "legacy-reporting" in merged
    imported = import_files("backstage", BACKSTAGE).topology
    assert _edges(imported) <= _edges(merged)
    assert set(imported) <= set(merged)
    assert "cart: team 'basket' kept (import says 'basket-team')" in captured.err
    assert "merged: 10 services added" in captured.err


def test_merge_matches_imported_names_by_alias(tmp_path: Path) -> None:
    existing = tmp_path / "t.yaml"
    existing.write_text(
        "services:\n  - id: shop-front\n    aliases: [storefront-web]\n", encoding="utf-8"
    )
    output = tmp_path / "out.yaml"
    args = ["import", "--from", "backstage", *BACKSTAGE, "--merge", str(existing)]
    assert main([*args, "--output", str(output)]) == 0
    merged = load_topology(output)
    assert "storefront-web" not in merged
    assert {"cart", "catalog", "search"} <= merged.dependencies("shop-front")


def test_merge_into_node_link(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    existing = tmp_path / "t.json"
    existing.write_text(
        json.dumps({"nodes": [{"id": "cart", "owner": "x"}], "links": []}), encoding="utf-8"
    )
    assert main(["import", "--from", "compose", *COMPOSE, "--merge", str(existing)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["nodes"][0] == {"id": "cart", "owner": "x"}  # unknown attribute kept, no aliases
    assert loads_topology(json.dumps(out)).dependencies("checkout") == {
        "cart",
        "kafka",
        "orders-db",
    }


# -- command-line errors ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        pytest.param(["import", "--from", "compose", "{missing}"], "file not found", id="missing"),
        pytest.param(
            ["import", "--from", "backstage", *COMPOSE, "--infer-env-links"],
            "--infer-env-links only applies to --from compose",
            id="env-flag",
        ),
        pytest.param(
            ["import", "--from", "compose", *COMPOSE, "--min-count", "3"],
            "--min-count only applies to --from otel",
            id="count-flag",
        ),
        pytest.param(
            ["import", "--from", "otel", *OTEL, "--min-rate", "1"],
            "--min-rate needs two timestamped samples",
            id="rate",
        ),
        pytest.param(["import", "--from", "nodelink", *COMPOSE], "not node-link JSON", id="format"),
    ],
)
def test_cli_import_errors(
    argv: list[str], reason: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([a.format(missing=tmp_path / "none.yml") for a in argv]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    errors = [line for line in captured.err.splitlines() if ": error: " in line]
    assert len(errors) == 1 and reason in errors[0] and "Traceback" not in captured.err
