"""The local broker's generated config and its no-broker behaviour, without starting Kafka."""

from __future__ import annotations

import base64
import socket
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from correlator.stream import local_kafka
from correlator.stream.local_kafka import LocalKafkaConfig, LocalKafkaError

MAVEN_NS = {"m": "http://maven.apache.org/POM/4.0.0"}


def _props(config: LocalKafkaConfig) -> dict[str, str]:
    lines = local_kafka.server_properties(config).splitlines()
    pairs = [line.split("=", 1) for line in lines if line and not line.startswith("#")]
    keys = [key for key, _ in pairs]
    assert len(keys) == len(set(keys)), "a property is set twice"
    return dict(pairs)


def _listener_hosts_and_ports(value: str) -> list[tuple[str, str, int]]:
    out = []
    for item in value.split(","):
        name, rest = item.split("://")
        host, port = rest.rsplit(":", 1)
        out.append((name, host, int(port)))
    return out


@pytest.fixture
def plain(tmp_path: Path) -> LocalKafkaConfig:
    return LocalKafkaConfig(port=19092, controller_port=19093, state_dir=tmp_path / "st")


@pytest.fixture
def with_sasl(tmp_path: Path) -> LocalKafkaConfig:
    return LocalKafkaConfig(
        port=19092,
        controller_port=19093,
        sasl_port=19094,
        sasl_users=(("alice", "s3cret"), ("bob", "hunter2")),
        state_dir=tmp_path / "st",
    )


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("process.roles", "broker,controller"),
        ("node.id", "1"),
        ("controller.quorum.voters", "1@127.0.0.1:19093"),
        ("controller.listener.names", "CONTROLLER"),
        ("inter.broker.listener.name", "PLAINTEXT"),
        ("advertised.listeners", "PLAINTEXT://127.0.0.1:19092"),
        ("listener.security.protocol.map", "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"),
        ("offsets.topic.replication.factor", "1"),
        ("transaction.state.log.replication.factor", "1"),
        ("transaction.state.log.min.isr", "1"),
        ("share.coordinator.state.topic.replication.factor", "1"),
        ("share.coordinator.state.topic.min.isr", "1"),
        ("default.replication.factor", "1"),
        ("group.initial.rebalance.delay.ms", "0"),
        ("num.partitions", "1"),
        ("auto.create.topics.enable", "true"),
    ],
    ids=str,
)
def test_single_node_properties(plain: LocalKafkaConfig, key: str, expected: str) -> None:
    assert _props(plain)[key] == expected


def test_all_listeners_bind_loopback_only(with_sasl: LocalKafkaConfig) -> None:
    listeners = _listener_hosts_and_ports(_props(with_sasl)["listeners"])
    assert listeners == [
        ("PLAINTEXT", "127.0.0.1", 19092),
        ("CONTROLLER", "127.0.0.1", 19093),
        ("SASL_PLAINTEXT", "127.0.0.1", 19094),
    ]


def test_controller_listener_is_never_advertised(with_sasl: LocalKafkaConfig) -> None:
    advertised = _listener_hosts_and_ports(_props(with_sasl)["advertised.listeners"])
    assert [name for name, _, _ in advertised] == ["PLAINTEXT", "SASL_PLAINTEXT"]
    assert all(host == "127.0.0.1" for _, host, _ in advertised)


def test_log_dirs_live_in_the_state_dir(plain: LocalKafkaConfig) -> None:
    assert Path(_props(plain)["log.dirs"]) == plain.run_dir / "data"


def test_every_replication_factor_and_min_isr_is_one(plain: LocalKafkaConfig) -> None:
    props = _props(plain)
    sized = {k: v for k, v in props.items() if k.endswith((".replication.factor", ".min.isr"))}
    assert len(sized) >= 5
    assert set(sized.values()) == {"1"}


def test_sasl_listener_declares_plain_and_every_user(with_sasl: LocalKafkaConfig) -> None:
    props = _props(with_sasl)
    assert props["sasl.enabled.mechanisms"] == "PLAIN"
    assert "SASL_PLAINTEXT:SASL_PLAINTEXT" in props["listener.security.protocol.map"].split(",")
    jaas = props["listener.name.sasl_plaintext.plain.sasl.jaas.config"]
    assert jaas.startswith("org.apache.kafka.common.security.plain.PlainLoginModule required ")
    assert jaas.endswith(";")
    assert 'user_alice="s3cret"' in jaas
    assert 'user_bob="hunter2"' in jaas


def test_no_sasl_settings_without_a_sasl_port(plain: LocalKafkaConfig) -> None:
    assert not any("sasl" in key for key in _props(plain))


def test_default_config_uses_the_documented_ports_and_dirs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv(local_kafka.ENV_CACHE, raising=False)
    config = LocalKafkaConfig()
    assert (config.host, config.port, config.controller_port) == ("127.0.0.1", 9092, 9093)
    assert config.bootstrap == "127.0.0.1:9092"
    assert config.libs_dir == tmp_path / ".cache/correlator/kafka" / config.version / "libs"
    assert config.run_dir == tmp_path / ".cache/correlator/kafka-run/9092"
    assert config.version.startswith("4.")


def test_cache_root_follows_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(local_kafka.ENV_CACHE, str(tmp_path / "jars"))
    assert LocalKafkaConfig(version="4.1.0").libs_dir == tmp_path / "jars/4.1.0/libs"


def test_maven_pom_pulls_kafka_and_a_matching_slf4j_provider() -> None:
    root = ET.fromstring(local_kafka.maven_pom("4.0.2"))
    assert root.findtext("m:packaging", namespaces=MAVEN_NS) == "pom"
    deps = {
        (
            d.findtext("m:groupId", namespaces=MAVEN_NS),
            d.findtext("m:artifactId", namespaces=MAVEN_NS),
        ): d.findtext("m:version", namespaces=MAVEN_NS)
        for d in root.iterfind("m:dependencies/m:dependency", MAVEN_NS)
    }
    assert deps == {
        ("org.apache.kafka", "kafka_2.13"): "4.0.2",
        ("org.slf4j", "slf4j-simple"): local_kafka.SLF4J_SIMPLE_VERSION,
    }


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"port": 9092, "controller_port": 9092}, "must differ"),
        ({"port": 9092, "controller_port": 9093, "sasl_port": 9093}, "must differ"),
        ({"port": 0}, "out of range"),
        ({"port": 70000, "controller_port": 70001}, "out of range"),
        ({"version": "3.7.0"}, "not supported"),
        ({"version": "latest"}, "not supported"),
        ({"timeout_s": 0}, "positive"),
        ({"sasl_port": 9094, "sasl_users": ()}, "at least one user"),
        ({"sasl_users": (("bad name", "pw"),)}, "may only use"),
        ({"sasl_users": (("ok", 'has"quote'),)}, "password"),
    ],
    ids=[
        "controller-equals-broker",
        "sasl-equals-controller",
        "port-zero",
        "port-too-big",
        "old-version",
        "non-numeric-version",
        "zero-timeout",
        "sasl-without-users",
        "user-with-space",
        "password-with-quote",
    ],
)
def test_invalid_configs_are_refused_with_a_reason(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(LocalKafkaError, match=message):
        LocalKafkaConfig(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "port"),
    [("127.0.0.1:9092", 9092), ("localhost:19092", 19092), (" 127.0.0.1:1 ", 1)],
    ids=["loopback", "localhost", "padded"],
)
def test_parse_bootstrap_accepts_loopback(text: str, port: int) -> None:
    assert local_kafka.parse_bootstrap(text) == port


@pytest.mark.parametrize(
    "text",
    ["10.0.0.5:9092", "kafka:9092", "127.0.0.1", "127.0.0.1:http"],
    ids=["remote-ip", "remote-name", "no-port", "named-port"],
)
def test_parse_bootstrap_refuses_anything_else(text: str) -> None:
    with pytest.raises(LocalKafkaError):
        local_kafka.parse_bootstrap(text)


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        (["a:b"], (("a", "b"),)),
        (["a:b", "c:d:e"], (("a", "b"), ("c", "d:e"))),
    ],
    ids=["one", "password-with-colon"],
)
def test_parse_sasl_users(items: list[str], expected: tuple[tuple[str, str], ...]) -> None:
    assert local_kafka.parse_sasl_users(items) == expected


@pytest.mark.parametrize(
    "item", ["nopassword", ":pw", "user:"], ids=["no-colon", "no-user", "no-pw"]
)
def test_parse_sasl_users_refuses_malformed(item: str) -> None:
    with pytest.raises(LocalKafkaError, match="USER:PASSWORD"):
        local_kafka.parse_sasl_users([item])


def test_cluster_ids_are_kafka_uuids() -> None:
    ids = [local_kafka.new_cluster_id() for _ in range(300)]
    assert len(set(ids)) == len(ids)
    for cid in ids:
        assert len(cid) == 22
        assert not cid.startswith("-")
        assert len(base64.urlsafe_b64decode(cid + "==")) == 16


# --------------------------------------------------------------------------- no broker


@pytest.fixture
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def silent_listener() -> Iterator[int]:
    """A port that accepts TCP connections but never speaks Kafka."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]


def test_probe_finds_nothing_on_a_closed_port(free_port: int) -> None:
    assert local_kafka.probe(free_port, timeout_s=0.5) is None


def test_probe_does_not_mistake_a_silent_server_for_kafka(silent_listener: int) -> None:
    assert local_kafka.probe(silent_listener, timeout_s=0.3) is None


def test_status_exits_3_when_nothing_answers(
    free_port: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["status", "--bootstrap", f"127.0.0.1:{free_port}", "--data-dir", str(tmp_path)]
    assert local_kafka.main(argv) == local_kafka.EXIT_NOT_RUNNING
    assert f"127.0.0.1:{free_port}" in capsys.readouterr().out


def test_down_without_a_broker_succeeds_and_says_so(
    free_port: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = LocalKafkaConfig(port=free_port, controller_port=free_port + 1, state_dir=tmp_path)
    assert local_kafka.down(config) is False
    argv = ["down", "--bootstrap", config.bootstrap, "--data-dir", str(tmp_path)]
    assert local_kafka.main(argv) == local_kafka.EXIT_OK
    assert "nothing to stop" in capsys.readouterr().err


def test_down_removes_a_stale_pid_file(free_port: int, tmp_path: Path) -> None:
    config = LocalKafkaConfig(port=free_port, controller_port=free_port + 1, state_dir=tmp_path)
    config.pid_file.write_text("999999999\n")
    assert local_kafka.down(config) is False
    assert not config.pid_file.exists()


def test_up_refuses_a_port_held_by_something_else(
    silent_listener: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["up", "--bootstrap", f"127.0.0.1:{silent_listener}", "--data-dir", str(tmp_path)]
    assert local_kafka.main(argv) == local_kafka.EXIT_ERROR
    err = capsys.readouterr().err
    assert "are taken by another program" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "argv",
    [
        ["status", "--bootstrap", "example.com:9092"],
        ["up", "--version", "2.8.0"],
        ["up", "--sasl-port", "9094", "--sasl-user", "nopassword"],
    ],
    ids=["remote-bootstrap", "old-version", "malformed-sasl-user"],
)
def test_bad_command_lines_exit_1_with_a_message(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert local_kafka.main(argv) == local_kafka.EXIT_ERROR
    err = capsys.readouterr().err
    assert err.startswith("correlator kafka: error: ")
    assert "Traceback" not in err


def test_unknown_action_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert local_kafka.main(["restart"]) == 2
    assert "invalid choice" in capsys.readouterr().err
