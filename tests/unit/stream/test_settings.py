"""Worker settings: YAML + environment, one security config for every client, no leaked secrets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from correlator.errors import ConfigError
from correlator.stream.settings import load_settings

SECRET = "s3cr3t-Pa55"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in list(os.environ):
        if key.startswith("CORRELATOR_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)  # no configs/worker.yaml here


def _yaml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "worker.yaml"
    path.write_text(text)
    return path


def test_defaults_match_the_documented_ones() -> None:
    s = load_settings()
    assert s.kafka.bootstrap_servers == "127.0.0.1:9092"
    assert (s.topics.alerts, s.topics.incidents, s.topics.dlq, s.topics.topology) == (
        "alerts",
        "incidents",
        "alerts.dlq",
        "topology",
    )
    assert (s.topics.alerts_partitions, s.topics.repartition_partitions) == (1, 1)
    assert (s.web.host, s.web.port) == ("127.0.0.1", 6066)
    assert s.repartition_topic == "correlator-alerts-by-domain"
    assert s.snapshots_topic == "correlator-snapshots"
    assert s.engine_config().hold.total_seconds() == 30


def test_environment_beats_yaml_and_overrides_beat_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _yaml(
        tmp_path,
        "app_id: from-yaml\ntopics:\n  alerts: a-yaml\n  incidents: i-yaml\nengine:\n  hold: 5s\n",
    )
    monkeypatch.setenv("CORRELATOR_TOPICS__ALERTS", "a-env")
    monkeypatch.setenv("CORRELATOR_STREAM__BATCH_SIZE", "77")
    s = load_settings(path, app_id="from-cli")
    assert s.app_id == "from-cli"
    assert s.topics.alerts == "a-env"
    assert s.topics.incidents == "i-yaml"
    assert s.stream.batch_size == 77
    assert s.engine_config().hold.total_seconds() == 5


@pytest.mark.parametrize(
    ("env", "yaml_text", "expected"),
    [
        ({"CORRELATOR_KAFKA_BOOTSTRAP": "127.0.0.1:9999"}, "", "127.0.0.1:9999"),
        (
            {"CORRELATOR_KAFKA_BOOTSTRAP": "127.0.0.1:9999"},
            "kafka: {bootstrap_servers: 'h:1'}",
            "127.0.0.1:9999",
        ),
        (
            {
                "CORRELATOR_KAFKA_BOOTSTRAP": "127.0.0.1:9999",
                "CORRELATOR_KAFKA__BOOTSTRAP_SERVERS": "k1:9092,k2:9092",
            },
            "",
            "k1:9092,k2:9092",
        ),
    ],
    ids=["fallback-over-default", "fallback-over-yaml", "nested-variable-wins"],
)
def test_the_test_harness_bootstrap_variable_is_a_fallback(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    yaml_text: str,
    expected: str,
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert load_settings(_yaml(tmp_path, yaml_text)).kafka.bootstrap_servers == expected


def test_sasl_settings_reach_both_client_libraries_and_the_secret_never_prints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CORRELATOR_KAFKA__SASL_PASSWORD", SECRET)
    path = _yaml(
        tmp_path,
        "kafka:\n  security_protocol: sasl_plaintext\n  sasl_mechanism: scram-sha-512\n"
        "  sasl_username: svc-correlator\n",
    )
    s = load_settings(path)
    assert s.kafka.kafka_python_config() == {
        "bootstrap_servers": ["127.0.0.1:9092"],
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "svc-correlator",
        "sasl_plain_password": SECRET,
    }
    aio = s.kafka.aiokafka_config()
    assert (aio["sasl_mechanism"], aio["sasl_plain_password"]) == ("SCRAM-SHA-512", SECRET)
    for text in (repr(s), str(s), s.model_dump_json(), str(s.kafka.describe())):
        assert SECRET not in text


@pytest.mark.parametrize(
    ("yaml_text", "fragment"),
    [
        (
            "kafka:\n  security_protocol: SASL_SSL\n  sasl_username: u\n  sasl_password: " + SECRET,
            "needs sasl_mechanism",
        ),
        (
            "kafka:\n  security_protocol: SASL_PLAINTEXT\n  sasl_mechanism: PLAIN\n"
            "  sasl_password: " + SECRET,
            "sasl_username and sasl_password",
        ),
        ("kafka:\n  sasl_mechanism: PLAIN\n  sasl_password: " + SECRET, "use SASL_PLAINTEXT"),
        ("kafka:\n  sasl_mechanism: GSSAPI\n  sasl_password: " + SECRET, "kafka.sasl_mechanism"),
        ("kafka:\n  bootstrap_servers: 'nohost'\n  sasl_password: " + SECRET, "not host:port"),
        ("topics:\n  alerts: 'has space'", "not a valid Kafka topic name"),
        ("topcs:\n  alerts: x", "topcs: unknown setting"),
        ("stream:\n  batch_size: 0", "stream.batch_size"),
        ("engine:\n  holdd: 5s", "unknown engine setting(s) holdd"),
        ("[1, 2]", "expected a mapping"),
        ("a: [", "invalid YAML"),
    ],
    ids=[
        "sasl-no-mechanism",
        "sasl-no-user",
        "mechanism-without-sasl",
        "bad-mechanism",
        "bad-bootstrap",
        "bad-topic",
        "unknown-section",
        "out-of-range",
        "bad-engine-key",
        "not-a-mapping",
        "broken-yaml",
    ],
)
def test_bad_settings_name_the_problem_and_never_echo_a_secret(
    tmp_path: Path, yaml_text: str, fragment: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(_yaml(tmp_path, yaml_text))
    assert fragment in str(info.value)
    assert SECRET not in str(info.value)


def test_a_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config"):
        load_settings(tmp_path / "nope.yaml")


def test_the_shipped_worker_config_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    repo = Path(__file__).resolve().parents[3]
    monkeypatch.chdir(repo)
    s = load_settings(repo / "configs" / "worker.yaml")
    assert s.kafka.security_protocol == "PLAINTEXT"
    assert s.engine_config() is not None


@pytest.mark.parametrize(
    ("kafka", "hint"),
    [
        ({}, False),
        ({"security_protocol": "SSL"}, False),
        (
            {"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "PLAIN",
             "sasl_username": "u", "sasl_password": "canary-secret"},
            True,
        ),
    ],
    ids=["plaintext", "ssl", "sasl"],
)
def test_unreachable_message_names_refused_credentials_only_with_sasl(
    tmp_path: Path, kafka: dict[str, str], hint: bool
) -> None:
    """kafka-python reports refused SASL credentials as a bootstrap timeout."""
    import yaml

    path = tmp_path / "worker.yaml"
    path.write_text(yaml.safe_dump({"kafka": {"bootstrap_servers": "127.0.0.1:1", **kafka}}))
    settings = load_settings(path)
    text = settings.kafka.unreachable("KafkaTimeoutError: Unable to bootstrap")
    assert text.startswith("cannot reach Kafka at 127.0.0.1:1: KafkaTimeoutError")
    assert ("check the SASL username and password" in text) is hint
    assert "canary-secret" not in text
