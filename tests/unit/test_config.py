"""Engine configuration: strict loading, durations, validation (named cases)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from correlator.config import (
    EngineConfig,
    engine_config_from_mapping,
    format_duration,
    load_engine_config,
    parse_duration,
)
from correlator.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]

DURATIONS = [
    ("seconds suffix", "30s", timedelta(seconds=30)),
    ("minutes", "5m", timedelta(minutes=5)),
    ("fractional hours", "1.5h", timedelta(minutes=90)),
    ("days", "1d", timedelta(days=1)),
    ("milliseconds", "250ms", timedelta(milliseconds=250)),
    ("bare number is seconds", 90, timedelta(seconds=90)),
]


@pytest.mark.parametrize(("name", "text", "expected"), DURATIONS, ids=[d[0] for d in DURATIONS])
def test_parse_duration(name: str, text: object, expected: timedelta) -> None:
    assert parse_duration(text, "x") == expected


BAD_DURATIONS = [("word", "soon"), ("bool", True), ("negative", -5), ("unknown unit", "5y")]


@pytest.mark.parametrize(("name", "value"), BAD_DURATIONS, ids=[d[0] for d in BAD_DURATIONS])
def test_bad_duration_names_the_setting(name: str, value: object) -> None:
    with pytest.raises(ConfigError, match=r"engine\.gap"):
        parse_duration(value, "engine.gap")


def test_format_duration_round_trips() -> None:
    for value in (
        timedelta(seconds=30),
        timedelta(minutes=5),
        timedelta(hours=6),
        timedelta(days=1),
    ):
        assert parse_duration(format_duration(value), "x") == value


BAD_SECTIONS = [
    ("unknown key", {"gapp": "5m"}, "unknown engine setting"),
    ("not a mapping", ["gap"], "must be a mapping"),
    ("int as string", {"max_hops": "2"}, "expected an integer"),
    ("bool as int", {"max_hops": True}, "expected an integer"),
    ("hops out of range", {"max_hops": 9}, "max_hops"),
    ("zero gap", {"gap": "0s"}, "gap must be positive"),
    ("lifetime below gap", {"gap": "10m", "max_lifetime": "5m"}, "max_lifetime"),
    ("label keys not a list", {"service_label_keys": "service"}, "list of label names"),
    ("empty label keys", {"service_label_keys": []}, "service_label_keys"),
    ("tiny payload limit", {"max_payload_bytes": 10}, "max_payload_bytes"),
]


@pytest.mark.parametrize(
    ("name", "data", "message"), BAD_SECTIONS, ids=[c[0] for c in BAD_SECTIONS]
)
def test_engine_section_is_strict(name: str, data: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as err:
        engine_config_from_mapping(data, source="cfg.yaml")
    assert "cfg.yaml" in str(err.value)


def test_shipped_engine_yaml_equals_the_defaults() -> None:
    assert load_engine_config(REPO / "configs" / "engine.yaml") == EngineConfig()


def test_to_dict_loads_back() -> None:
    cfg = EngineConfig().with_overrides(gap=timedelta(minutes=7), max_hops=3)
    assert engine_config_from_mapping(cfg.to_dict()) == cfg


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("invalid yaml", "engine: [", "invalid YAML"),
        ("top level list", "- 1\n", "mapping at the top level"),
        ("unknown engine key", "engine:\n  holdd: 5s\n", "unknown engine setting"),
    ],
    ids=["invalid yaml", "top level list", "unknown engine key"],
)
def test_bad_files(tmp_path: Path, name: str, text: str, message: str) -> None:
    path = tmp_path / "engine.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_engine_config(path)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config"):
        load_engine_config(tmp_path / "absent.yaml")


def test_other_sections_are_left_to_their_stages(tmp_path: Path) -> None:
    path = tmp_path / "engine.yaml"
    path.write_text("engine:\n  gap: 4m\nkafka:\n  bootstrap: 127.0.0.1:9092\n")
    assert load_engine_config(path).gap == timedelta(minutes=4)
