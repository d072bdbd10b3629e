"""Scripted edits keep what they do not change and never write an invalid file."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.topology.support import FIXTURES
from topology import TopologyError, load_topology, loads_topology
from topology import edit as ops
from topology.cli import main
from topology.document import Document, open_document

COMMENTED = """\
# Shop topology. Owned by the platform team; edit with `topology` commands.
version: 1
name: shop
services:
  # The front door.
  - id: gateway
    kind: gateway
    depends_on: [web]   # all traffic goes through web
  - id: web
    team: storefront
    aliases: [web-svc]
    depends_on:
      - cart
      - catalog
  - id: cart
    depends_on: [redis-cart]
  - id: catalog   # read-only catalogue
  - id: redis-cart
    kind: cache
"""

MAPPING = """\
# mapping style
services:
  web: {depends_on: [cart]}   # inline entry
  cart:
  mailer:
    depends_on: [cart]
"""

FORMATS = {
    "list": ("t.yaml", COMMENTED),
    "mapping": ("t.yaml", MAPPING),
    "nodelink": ("t.json", (FIXTURES / "shop_edges.json").read_text(encoding="utf-8")),
}


@pytest.fixture(params=sorted(FORMATS), ids=sorted(FORMATS))
def any_file(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    name, text = FORMATS[request.param]
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _edges(path: Path) -> set[tuple[str, str]]:
    topology = load_topology(path)
    return {(a, b) for a in topology for b in topology.dependencies(a)}


Op = Callable[[Document], ops.EditResult]


@pytest.mark.parametrize(
    ("operation", "added", "removed"),
    [
        pytest.param(
            lambda d: ops.add_dependency(d, "cart", "web"),
            {("cart", "web")},
            set(),
            id="add-dependency",
        ),
        pytest.param(
            lambda d: ops.remove_dependency(d, "web", "cart"),
            set(),
            {("web", "cart")},
            id="remove-dependency",
        ),
    ],
)
def test_dependency_edits_change_exactly_one_edge(
    any_file: Path, operation: Op, added: set[tuple[str, str]], removed: set[tuple[str, str]]
) -> None:
    before = _edges(any_file)
    done = ops.edit_file(str(any_file), operation)
    assert done.result.changed
    assert _edges(any_file) == (before | added) - removed
    assert done.topology.version == load_topology(any_file).version


def test_add_service_writes_every_field(any_file: Path) -> None:
    ops.edit_file(
        str(any_file),
        lambda d: ops.add_service(
            d,
            "search",
            kind="service",
            team="discovery",
            tier="backend",
            criticality="high",
            aliases=["search-svc"],
            depends_on=["cart"],
        ),
    )
    service = load_topology(any_file).service("search")
    assert (service.team, service.tier, service.criticality) == ("discovery", "backend", "high")
    assert service.aliases == ("search-svc",) and service.depends_on == ("cart",)


def test_alias_add_and_remove(any_file: Path) -> None:
    ops.edit_file(str(any_file), lambda d: ops.set_alias(d, "cart", "cart-deployment"))
    assert "cart-deployment" in load_topology(any_file).service("cart").aliases
    ops.edit_file(str(any_file), lambda d: ops.set_alias(d, "cart", "cart-deployment", remove=True))
    assert "cart-deployment" not in load_topology(any_file).service("cart").aliases


def test_comments_order_and_style_survive(tmp_path: Path) -> None:
    path = tmp_path / "shop.yaml"
    path.write_text(COMMENTED, encoding="utf-8")
    ops.edit_file(str(path), lambda d: ops.add_dependency(d, "cart", "catalog"))
    ops.edit_file(str(path), lambda d: ops.add_dependency(d, "web", "redis-cart"))
    ops.edit_file(str(path), lambda d: ops.add_service(d, "search", depends_on=["catalog"]))
    text = path.read_text(encoding="utf-8")
    for comment in (
        "# Shop topology. Owned by the platform team",
        "# The front door.",
        "# all traffic goes through web",
        "# read-only catalogue",
    ):
        assert comment in text
    assert "depends_on: [redis-cart, catalog]" in text  # flow style kept, appended
    assert "      - redis-cart\n" in text  # block style kept
    ids = [line.split("id: ")[1].split()[0] for line in text.splitlines() if "- id: " in line]
    assert ids == ["gateway", "web", "cart", "catalog", "redis-cart", "search"]


def test_mapping_style_null_entry_becomes_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(MAPPING, encoding="utf-8")
    ops.edit_file(str(path), lambda d: ops.add_dependency(d, "cart", "mailer"))
    text = path.read_text(encoding="utf-8")
    assert "# inline entry" in text and "# mapping style" in text
    assert load_topology(path).dependencies("cart") == {"mailer"}


def test_aliases_resolve_to_ids(tmp_path: Path) -> None:
    path = tmp_path / "shop.yaml"
    path.write_text(COMMENTED, encoding="utf-8")
    done = ops.edit_file(str(path), lambda d: ops.add_dependency(d, "redis-cart", "web-svc"))
    assert done.result.message == "added dependency redis-cart -> web"
    assert "depends_on: [web]" in path.read_text(encoding="utf-8").split("id: redis-cart")[1]


@pytest.mark.parametrize(
    ("operation", "message"),
    [
        pytest.param(
            lambda d: ops.add_dependency(d, "web", "cart"),
            "unchanged: web already depends on cart",
            id="edge-present",
        ),
        pytest.param(
            lambda d: ops.remove_dependency(d, "cart", "web"),
            "unchanged: cart does not depend on web",
            id="edge-absent",
        ),
        pytest.param(
            lambda d: ops.set_alias(d, "web", "web-svc"),
            "unchanged: web-svc is already an alias of web",
            id="alias-present",
        ),
        pytest.param(
            lambda d: ops.set_alias(d, "web", "nope", remove=True),
            "unchanged: web has no alias nope",
            id="alias-absent",
        ),
    ],
)
def test_repeated_edits_are_no_ops(tmp_path: Path, operation: Op, message: str) -> None:
    path = tmp_path / "shop.yaml"
    path.write_text(COMMENTED, encoding="utf-8")
    done = ops.edit_file(str(path), operation)
    assert (done.result.changed, done.result.message) == (False, message)
    assert path.read_text(encoding="utf-8") == COMMENTED


@pytest.mark.parametrize(
    ("operation", "reason"),
    [
        pytest.param(
            lambda d: ops.add_dependency(d, "web", "nope"),
            "unknown service 'nope'",
            id="unknown-callee",
        ),
        pytest.param(
            lambda d: ops.add_dependency(d, "carts", "web"),
            "unknown service 'carts'; did you mean 'cart'",
            id="typo-suggests",
        ),
        pytest.param(
            lambda d: ops.add_dependency(d, "web", "web-svc"),
            "a service cannot depend on itself",
            id="self-via-alias",
        ),
        pytest.param(
            lambda d: ops.add_service(d, "cart"),
            "service 'cart' already exists",
            id="duplicate-service",
        ),
        pytest.param(
            lambda d: ops.add_service(d, "search", depends_on=["nope"]),
            "unknown service 'nope'",
            id="new-service-dangling",
        ),
        pytest.param(
            lambda d: ops.add_service(d, "web-svc"),
            "alias 'web-svc' collides with the id",
            id="id-is-an-alias",
        ),
        pytest.param(
            lambda d: ops.set_alias(d, "cart", "catalog"),
            "alias 'catalog' collides with the id",
            id="alias-is-an-id",
        ),
        pytest.param(
            lambda d: ops.set_alias(d, "cart", "web-svc"),
            "is already an alias of service 'web'",
            id="alias-taken",
        ),
        pytest.param(
            lambda d: ops.set_alias(d, "cart", " padded"),
            "leading or trailing whitespace",
            id="alias-padded",
        ),
        pytest.param(
            lambda d: ops.remove_service(d, "cart"),
            "refusing to remove 'cart': it has 1 dependent (web)",
            id="has-dependents",
        ),
    ],
)
def test_refuses_and_leaves_the_file_alone(tmp_path: Path, operation: Op, reason: str) -> None:
    path = tmp_path / "shop.yaml"
    path.write_text(COMMENTED, encoding="utf-8")
    with pytest.raises(TopologyError) as caught:
        ops.edit_file(str(path), operation)
    assert any(reason in p for p in caught.value.problems), caught.value.problems
    assert path.read_text(encoding="utf-8") == COMMENTED
    assert os.listdir(tmp_path) == ["shop.yaml"]  # no temporary file left behind


def test_remove_service_force_removes_incoming_edges(any_file: Path) -> None:
    before = load_topology(any_file)
    callers = sorted(before.dependents("cart"))
    done = ops.edit_file(str(any_file), lambda d: ops.remove_service(d, "cart", force=True))
    after = load_topology(any_file)
    assert "cart" not in after and callers
    assert all("cart" not in after.dependencies(c) for c in callers)
    assert done.result.message.startswith("removed service cart")


def test_remove_leaf_service_without_force(tmp_path: Path) -> None:
    path = tmp_path / "shop.yaml"
    path.write_text(COMMENTED, encoding="utf-8")
    ops.edit_file(str(path), lambda d: ops.remove_service(d, "gateway"))
    text = path.read_text(encoding="utf-8")
    assert "gateway" not in load_topology(path)
    assert "# Shop topology." in text


def test_node_link_keeps_unknown_attributes(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    shutil.copy(FIXTURES / "shop_edges.json", path)
    ops.edit_file(str(path), lambda d: ops.add_dependency(d, "mailer", "cart"))
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["source"].startswith("hand-written test fixture")
    assert {"from": "mailer", "to": "cart"} in data["edges"]
    assert any(node.get("tech") == "rabbitmq" for node in data["nodes"])


def test_edit_keeps_file_permissions(tmp_path: Path) -> None:
    path = tmp_path / "shop.yaml"
    path.write_text(COMMENTED, encoding="utf-8")
    path.chmod(0o640)
    ops.edit_file(str(path), lambda d: ops.add_dependency(d, "cart", "catalog"))
    assert path.stat().st_mode & 0o777 == 0o640


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        pytest.param("services: [\n", "not valid YAML", id="syntax"),
        pytest.param("- a\n- b\n", "cannot edit", id="top-level-list"),
        pytest.param("name: x\n", "cannot edit", id="no-services"),
        pytest.param("a: 1\na: 2\nservices: {}\n", "duplicate key 'a'", id="duplicate-key"),
    ],
)
def test_unparseable_files_are_refused(tmp_path: Path, text: str, problem: str) -> None:
    with pytest.raises(TopologyError) as caught:
        open_document(text, "x.yaml")
    assert problem in caught.value.problems[0]


# -- command line -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "out"),
    [
        pytest.param(
            ["add-dependency", "{f}", "cart", "catalog"],
            "added dependency cart -> catalog",
            id="add-dependency",
        ),
        pytest.param(
            ["remove-dependency", "{f}", "web", "catalog"],
            "removed dependency web -> catalog",
            id="remove-dependency",
        ),
        pytest.param(
            [
                "add-service",
                "{f}",
                "search",
                "--kind",
                "service",
                "--team",
                "d",
                "--alias",
                "s1",
                "--alias",
                "s2",
                "--depends-on",
                "catalog",
            ],
            "added service search depending on catalog",
            id="add-service",
        ),
        pytest.param(
            ["remove-service", "{f}", "cart", "--force"],
            "removed service cart and 1 dependency on it",
            id="remove-service-force",
        ),
        pytest.param(
            ["alias", "{f}", "cart", "cart-svc"], "added alias cart-svc to cart", id="alias"
        ),
        pytest.param(
            ["alias", "{f}", "web", "web-svc", "--remove"],
            "removed alias web-svc of web",
            id="alias-remove",
        ),
    ],
)
def test_cli_edits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], out: str
) -> None:
    path = tmp_path / "shop.yaml"
    path.write_text(COMMENTED, encoding="utf-8")
    assert main([a.format(f=path) for a in argv]) == 0
    captured = capsys.readouterr()
    version = load_topology(path).version
    assert captured.out == f"{path}: {out} (version {version})\n"
    assert "# The front door." in path.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        pytest.param(
            ["add-dependency", "{f}", "cart", "nope"], "unknown service 'nope'", id="unknown"
        ),
        pytest.param(
            ["remove-service", "{f}", "cart"], "refusing to remove 'cart'", id="dependents"
        ),
        pytest.param(["alias", "{f}", "cart", "web"], "result would be invalid", id="invalid"),
        pytest.param(["add-dependency", "{missing}", "a", "b"], "file not found", id="missing"),
    ],
)
def test_cli_edit_errors_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], reason: str
) -> None:
    path = tmp_path / "shop.yaml"
    path.write_text(COMMENTED, encoding="utf-8")
    assert main([a.format(f=path, missing=tmp_path / "no.yaml") for a in argv]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and reason in lines[0] and lines[0].startswith(f"topology {argv[0]}: ")
    assert path.read_text(encoding="utf-8") == COMMENTED


# -- property: edits agree with a plain set of edges ------------------------------------------

NAMES = ["a", "b", "c", "d", "e"]
EDGE = st.tuples(st.sampled_from(NAMES), st.sampled_from(NAMES)).filter(lambda e: e[0] != e[1])


@given(st.lists(st.tuples(st.booleans(), EDGE), max_size=25), st.sampled_from(["yaml", "json"]))
@settings(max_examples=60, deadline=None)
def test_edit_sequences_match_a_set_model(
    steps: list[tuple[bool, tuple[str, str]]], fmt: str
) -> None:
    if fmt == "yaml":
        text = "# keep me\nservices:\n" + "".join(f"  - id: {n}\n" for n in NAMES)
    else:
        text = json.dumps({"nodes": [{"id": n} for n in NAMES], "links": []})
    model: set[tuple[str, str]] = set()
    for add, (a, b) in steps:
        document = open_document(text, "mem")
        if add:
            ops.add_dependency(document, a, b)
            model.add((a, b))
        else:
            ops.remove_dependency(document, a, b)
            model.discard((a, b))
        text = document.dump()
    topology = loads_topology(text)
    assert {(a, b) for a in topology for b in topology.dependencies(a)} == model
    if fmt == "yaml":
        assert text.startswith("# keep me\n")
