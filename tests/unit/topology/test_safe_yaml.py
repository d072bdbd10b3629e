"""Hostile or odd YAML never escapes as anything but a TopologyError."""

from __future__ import annotations

import time

import pytest
import yaml

from tests.unit.topology.support import FIXTURES
from topology import TopologyError, load_topology, loads_topology, safe_yaml
from topology.safe_yaml import MAX_NESTING, load_yaml


def _alias_bomb(levels: int) -> str:
    """Each level is a list of nine references to the level below: 9**levels leaves."""
    lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x]"]
    for level in range(1, levels + 1):
        refs = ", ".join([f"*l{level - 1}"] * 9)
        lines.append(f"l{level}: &l{level} [{refs}]")
    return "\n".join(lines) + f"\nservices:\n  - id: a\n    depends_on: *l{levels}\n"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        pytest.param(
            "a: " + "[" * 50_000 + "]" * 50_000, "nested more than 64 levels", id="deep-flow"
        ),
        pytest.param(
            "services:\n" + "".join("  " * i + "-\n" for i in range(1, 200)),
            "nested more than 64 levels",
            id="deep-block",
        ),
        pytest.param(
            '{"a": ' + "[" * 50_000 + "]" * 50_000 + "}", "nested too deeply", id="deep-json"
        ),
        pytest.param(_alias_bomb(9), "depends_on[0] must be a string, got list", id="alias-bomb"),
        pytest.param("services: &s [*s]", "services[0]: expected a mapping", id="self-reference"),
        pytest.param("services:\n  - id: 2024-13-45\n", "cannot read a value", id="bad-date"),
        pytest.param("services:\n  - id: 2024-01-02\n", "got date", id="date-id"),
        pytest.param("services: {a: {}, a: {}}", "line 1: duplicate key 'a'", id="flow-duplicate"),
        pytest.param("services: *nowhere", "found undefined alias", id="undefined-alias"),
        pytest.param("a: &x 1\nb: &x 2\nservices: []", "duplicate anchor", id="duplicate-anchor"),
        pytest.param(
            "services: []\n---\nservices: []\n", "found another document", id="two-documents"
        ),
        pytest.param(
            "services: !!python/name:os.system",
            "could not determine a constructor",
            id="python-tag",
        ),
        pytest.param("services: [\udc80]", "lone surrogate at index 11", id="surrogate"),
    ],
)
def test_hostile_input_is_a_clean_error(text: str, problem: str) -> None:
    start = time.perf_counter()
    with pytest.raises(TopologyError) as caught:
        loads_topology(text, source="evil")
    assert time.perf_counter() - start < 5
    assert any(problem in p for p in caught.value.problems), caught.value.problems
    assert all(len(p) < 400 for p in caught.value.problems)


def test_every_duplicate_key_is_reported_in_file_order() -> None:
    text = "services:\n  a:\n  b:\n  a:\n  b: {team: x, team: y}\n"
    with pytest.raises(TopologyError) as caught:
        loads_topology(text, source="dup.yaml")
    assert caught.value.problems == (
        "dup.yaml: line 4: duplicate key 'a' (first used on line 2)",
        "dup.yaml: line 5: duplicate key 'b' (first used on line 3)",
        "dup.yaml: line 5: duplicate key 'team' (first used on line 5)",
    )


def test_nesting_limit_is_generous_for_real_files() -> None:
    nested = "a: " + "[" * (MAX_NESTING - 1) + "]" * (MAX_NESTING - 1)
    assert isinstance(load_yaml(nested, "ok"), dict)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("a: 1\nb: [x, {c: true}]\n", id="plain"),
        pytest.param("base: &b {kind: cache}\nr: {<<: *b, team: t}\n", id="merge-key"),
        pytest.param("a: &x [1, 2]\nb: *x\n", id="alias"),
        pytest.param("a: !!str 404\nb: '2024-01-02'\nc: 2024-01-02\n", id="tags"),
        pytest.param("# only a comment\n", id="empty"),
    ],
)
def test_same_values_as_safe_load(text: str) -> None:
    assert load_yaml(text, "t") == yaml.safe_load(text)


def test_pure_python_loader_gives_the_same_result(monkeypatch: pytest.MonkeyPatch) -> None:
    fast = load_topology(FIXTURES / "shop_mapping.yaml")
    monkeypatch.setattr(safe_yaml, "_SafeLoader", yaml.SafeLoader)
    slow = load_topology(FIXTURES / "shop_mapping.yaml")
    assert slow.version == fast.version
    with pytest.raises(TopologyError, match="nested more than"):
        loads_topology("a: " + "[" * 5000 + "]" * 5000)
