"""Worker settings: one validated, frozen object from a YAML file and environment variables.

Precedence, highest first: explicit overrides (the command line), environment variables
(``CORRELATOR_`` prefix, ``__`` between nested names, e.g. ``CORRELATOR_KAFKA__SASL_PASSWORD``),
the YAML file (``configs/worker.yaml``), then the defaults below. ``CORRELATOR_KAFKA_BOOTSTRAP``
(the variable the test harness and ``correlator kafka`` use) is honoured as a fallback for
``kafka.bootstrap_servers``.

The same security settings feed every client the project uses (faust/aiokafka and
kafka-python), so a SASL or TLS cluster is configured once. Secrets are ``SecretStr``: they
print as ``**********`` in reprs, logs and error messages, and only the client-config
builders below ever unwrap them.
"""

from __future__ import annotations

import os
import re
import ssl
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic import model_validator as _model_validator
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from correlator.budget import GateConfig, gate_config_from_mapping
from correlator.changes import ChangesConfig, changes_config_from_mapping
from correlator.config import EngineConfig, engine_config_from_mapping, read_config_document
from correlator.errors import ConfigError

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "KafkaSettings",
    "StreamSettings",
    "TopicSettings",
    "WebSettings",
    "WorkerSettings",
    "load_settings",
]

DEFAULT_CONFIG_PATH = Path("configs/worker.yaml")
ENV_PREFIX = "CORRELATOR_"
ENV_BOOTSTRAP_FALLBACK = "CORRELATOR_KAFKA_BOOTSTRAP"
_TOPIC_RE = re.compile(r"^[A-Za-z0-9._-]{1,249}$")
_APP_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,200}$")

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]

_yaml_data: ContextVar[Mapping[str, Any] | None] = ContextVar(
    "correlator_worker_yaml", default=None
)


def _upper(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KafkaSettings(_Section):
    """How to reach the cluster; shared by faust, aiokafka and kafka-python clients."""

    bootstrap_servers: str = "127.0.0.1:9092"
    client_id: str = "correlator"
    security_protocol: SecurityProtocol = "PLAINTEXT"
    sasl_mechanism: SaslMechanism | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: Path | None = None
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None
    ssl_password: SecretStr | None = None
    #: Consumer-group session timeout; a crashed worker's partitions move after this long.
    session_timeout_s: float = Field(default=10.0, gt=0, le=300)
    heartbeat_interval_s: float = Field(default=2.0, gt=0, le=60)
    #: How long start-up waits for the cluster before giving up with an error.
    startup_timeout_s: float = Field(default=60.0, gt=0)

    _normalise_protocol = field_validator("security_protocol", mode="before")(_upper)
    _normalise_mechanism = field_validator("sasl_mechanism", mode="before")(_upper)

    @field_validator("bootstrap_servers")
    @classmethod
    def _check_bootstrap(cls, value: str) -> str:
        servers = [s.strip() for s in value.split(",") if s.strip()]
        if not servers:
            raise ValueError("needs at least one host:port")
        for server in servers:
            host, sep, port = server.rpartition(":")
            if not sep or not host or not port.isdigit():
                raise ValueError(f"{server!r} is not host:port")
        return ",".join(servers)

    @_model_validator(mode="after")
    def _check_security(self) -> KafkaSettings:
        sasl = self.security_protocol.startswith("SASL_")
        if sasl:
            if self.sasl_mechanism is None:
                raise ValueError(f"security_protocol {self.security_protocol} needs sasl_mechanism")
            if not self.sasl_username or self.sasl_password is None:
                raise ValueError("SASL needs sasl_username and sasl_password")
        elif self.sasl_mechanism is not None:
            raise ValueError(
                f"sasl_mechanism is set but security_protocol is {self.security_protocol}; "
                "use SASL_PLAINTEXT or SASL_SSL"
            )
        if (self.ssl_certfile is None) != (self.ssl_keyfile is None):
            raise ValueError("ssl_certfile and ssl_keyfile go together")
        return self

    @property
    def servers(self) -> list[str]:
        return self.bootstrap_servers.split(",")

    @property
    def uses_ssl(self) -> bool:
        return self.security_protocol in ("SSL", "SASL_SSL")

    def unreachable(self, detail: object) -> str:
        """The one-line error for a client that could not bootstrap.

        kafka-python reports refused SASL credentials as a bootstrap timeout
        ("Unable to bootstrap"), indistinguishable from a dead broker, so with SASL
        configured the message names both causes instead of only the misleading one.
        """
        text = f"cannot reach Kafka at {self.bootstrap_servers}: {detail}"
        if self.security_protocol.startswith("SASL_"):
            text += (
                f" (with {self.security_protocol}/{self.sasl_mechanism} this is also what "
                "refused credentials look like: check the SASL username and password)"
            )
        return text

    def kafka_python_config(self) -> dict[str, Any]:
        """Keyword arguments for kafka-python clients (secrets unwrapped here only)."""
        config: dict[str, Any] = {
            "bootstrap_servers": self.servers,
            "security_protocol": self.security_protocol,
        }
        if self.sasl_mechanism is not None:
            config["sasl_mechanism"] = self.sasl_mechanism
            config["sasl_plain_username"] = self.sasl_username
            assert self.sasl_password is not None
            config["sasl_plain_password"] = self.sasl_password.get_secret_value()
        if self.uses_ssl:
            if self.ssl_cafile is not None:
                config["ssl_cafile"] = str(self.ssl_cafile)
            if self.ssl_certfile is not None:
                config["ssl_certfile"] = str(self.ssl_certfile)
                config["ssl_keyfile"] = str(self.ssl_keyfile)
            if self.ssl_password is not None:
                config["ssl_password"] = self.ssl_password.get_secret_value()
        return config

    def aiokafka_config(self) -> dict[str, Any]:
        """Keyword arguments for aiokafka clients (secrets unwrapped here only)."""
        config: dict[str, Any] = {
            "bootstrap_servers": self.servers,
            "security_protocol": self.security_protocol,
        }
        if self.sasl_mechanism is not None:
            config["sasl_mechanism"] = self.sasl_mechanism
            config["sasl_plain_username"] = self.sasl_username
            assert self.sasl_password is not None
            config["sasl_plain_password"] = self.sasl_password.get_secret_value()
        if self.uses_ssl:
            config["ssl_context"] = self.ssl_context()
        return config

    def ssl_context(self) -> ssl.SSLContext | None:
        """An ``ssl.SSLContext`` for TLS listeners, or None for plaintext ones."""
        if not self.uses_ssl:
            return None
        context = ssl.create_default_context(
            cafile=str(self.ssl_cafile) if self.ssl_cafile is not None else None
        )
        if self.ssl_certfile is not None:
            context.load_cert_chain(
                str(self.ssl_certfile),
                str(self.ssl_keyfile),
                self.ssl_password.get_secret_value() if self.ssl_password is not None else None,
            )
        return context

    def describe(self) -> dict[str, Any]:
        """A log-safe summary: which security is used, never a secret."""
        return {
            "bootstrap_servers": self.bootstrap_servers,
            "security_protocol": self.security_protocol,
            "sasl_mechanism": self.sasl_mechanism,
            "sasl_username": self.sasl_username,
            "sasl_password": "**********" if self.sasl_password is not None else None,
            "ssl_cafile": str(self.ssl_cafile) if self.ssl_cafile else None,
        }


def _check_topic(value: str | None) -> str | None:
    if value is not None and not _TOPIC_RE.match(value):
        raise ValueError(f"{value!r} is not a valid Kafka topic name (A-Z a-z 0-9 . _ -)")
    return value


class TopicSettings(_Section):
    """Topic names and partition counts; created idempotently at start-up."""

    alerts: str = "alerts"
    incidents: str = "incidents"
    dlq: str = "alerts.dlq"
    topology: str = "topology"
    #: Raw change records (deploys, config changes) in any supported change format.
    changes: str = "changes"
    #: Compacted topic of deploy gate state changes, key = service.
    deploy_gate: str = "deploy-gate"
    #: Internal topic carrying decoded alerts keyed by correlation domain.
    #: Default: ``<app_id>-alerts-by-domain``.
    repartition: str | None = None
    #: Compacted topic of engine snapshots keyed by partition. Default: ``<app_id>-snapshots``.
    snapshots: str | None = None
    alerts_partitions: int = Field(default=1, ge=1, le=10_000)
    repartition_partitions: int = Field(default=1, ge=1, le=10_000)
    incidents_partitions: int = Field(default=1, ge=1, le=10_000)
    dlq_partitions: int = Field(default=1, ge=1, le=10_000)
    replication_factor: int = Field(default=1, ge=1, le=32)
    #: Create missing topics at start-up (existing ones are left alone).
    create: bool = True

    _names = field_validator(
        "alerts",
        "incidents",
        "dlq",
        "topology",
        "changes",
        "deploy_gate",
        "repartition",
        "snapshots",
    )(_check_topic)


class StreamSettings(_Section):
    """Batching, timers and partitioning of the streaming pipeline."""

    #: Records per batch taken from a topic (the unit of decode/ingest/advance/produce).
    batch_size: int = Field(default=1000, ge=1, le=100_000)
    #: Longest wait for a batch to fill before processing what is there.
    batch_within_s: float = Field(default=0.05, gt=0, le=10)
    #: With no input for this long, event time advances by the wall time since the last input.
    idle_advance_after_s: float = Field(default=5.0, gt=0)
    #: Event seconds advanced per idle wall second. Keep 1.0 for live input; a larger value
    #: only makes the tail of a historical replay (or a demo, or a test) close sooner.
    idle_time_scale: float = Field(default=1.0, gt=0, le=86_400)
    #: How often the idle check runs.
    idle_check_interval_s: float = Field(default=1.0, gt=0)
    #: How often each partition's engine state is snapshotted to the snapshots topic.
    snapshot_interval_s: float = Field(default=10.0, gt=0)
    #: Largest share of the worker's time that periodic snapshots may take. A snapshot
    #: serialises the whole engine state and blocks the event loop while it does, so
    #: when a partition's last one took ``d`` seconds, the next periodic one waits at
    #: least ``d / snapshot_max_share`` (and never less than ``snapshot_interval_s``).
    #: Rebalances and shutdown always snapshot. A longer wait means more input to
    #: re-read after a crash, never lost input.
    snapshot_max_share: float = Field(default=0.05, gt=0, le=1)
    #: Largest correlation domain; bigger topology components are split by community detection.
    max_domain_size: int = Field(default=200, ge=1)
    #: Seed of the community detection, so that every worker computes the same domains.
    domain_seed: int = 42
    #: Upper bound for one internal repartition record (several alerts travel together).
    #: Up to 2 x batch_size of them may sit in a stream buffer, so keep it modest.
    max_repartition_record_bytes: int = Field(default=65_536, ge=4096, le=8_388_608)
    #: Largest incident event record; bigger incidents publish a cut member list (see
    #: ``alerts_truncated``). Keep it below the incidents topic's ``max.message.bytes``.
    max_event_bytes: int = Field(default=900_000, ge=16_384, le=67_108_864)
    #: CloudEvents ``source`` attribute of published incidents.
    event_source: str = "/correlator"

    @field_validator("event_source")
    @classmethod
    def _non_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value


class WebSettings(_Section):
    """The worker's HTTP endpoints (health, metrics, incidents, alert ingest)."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=6066, ge=0, le=65535)
    #: Largest accepted alert body (HTTP 413 above).
    max_body_bytes: int = Field(default=1_048_576, ge=1024, le=67_108_864)
    #: How long an ingest request waits for Kafka to acknowledge before answering 503.
    produce_timeout_s: float = Field(default=5.0, gt=0, le=120)


class WorkerSettings(BaseSettings):
    """Everything a ``correlator worker`` needs; see the module docstring for precedence."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
        case_sensitive=False,
    )

    #: Consumer group id and faust app id; workers with the same id share the work.
    app_id: str = "correlator"
    kafka: KafkaSettings = KafkaSettings()
    topics: TopicSettings = TopicSettings()
    stream: StreamSettings = StreamSettings()
    web: WebSettings = WebSettings()
    #: Topology file used at start-up when ``--topology`` is not given; without either the
    #: worker waits for the latest topology on the topology topic.
    topology_file: Path | None = None
    #: Engine settings (same keys as the ``engine:`` section of configs/engine.yaml).
    engine: dict[str, Any] | None = None
    #: Change correlation settings (the ``changes:`` section, as for ``correlator replay``).
    changes: dict[str, Any] | None = None
    #: Deploy gate settings (the ``gate:`` section, as for ``correlator replay``).
    gate: dict[str, Any] | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    _normalise_level = field_validator("log_level", mode="before")(_upper)

    @field_validator("app_id")
    @classmethod
    def _check_app_id(cls, value: str) -> str:
        if not _APP_ID_RE.match(value):
            raise ValueError(f"{value!r} may only use A-Z a-z 0-9 . _ -")
        return value

    @field_validator("engine", "changes", "gate", mode="after")
    @classmethod
    def _check_section(
        cls, value: dict[str, Any] | None, info: ValidationInfo
    ) -> dict[str, Any] | None:
        """Each core section is validated by the same strict parser the core uses."""
        name = str(info.field_name)
        try:
            _SECTION_PARSERS[name](value, source=name)
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        fallback: dict[str, Any] = {}
        bootstrap = os.environ.get(ENV_BOOTSTRAP_FALLBACK)
        if bootstrap:
            fallback = {"kafka": {"bootstrap_servers": bootstrap}}
        return (
            init_settings,
            env_settings,
            InitSettingsSource(settings_cls, init_kwargs=fallback),
            InitSettingsSource(settings_cls, init_kwargs=dict(_yaml_data.get() or {})),
        )

    # -- derived values ---------------------------------------------------------------

    @property
    def repartition_topic(self) -> str:
        return self.topics.repartition or f"{self.app_id}-alerts-by-domain"

    @property
    def snapshots_topic(self) -> str:
        return self.topics.snapshots or f"{self.app_id}-snapshots"

    def engine_config(self) -> EngineConfig:
        return engine_config_from_mapping(self.engine, source="engine")

    def changes_config(self) -> ChangesConfig:
        return changes_config_from_mapping(self.changes, source="changes")

    def gate_config(self) -> GateConfig:
        return gate_config_from_mapping(self.gate, source="gate")


def _read_yaml(path: Path) -> dict[str, Any]:
    return {str(k): v for k, v in read_config_document(path).items()}


def format_validation_error(exc: ValidationError, source: str) -> str:
    """One line per problem, naming the setting; input values are never echoed (secrets)."""
    lines = []
    for error in exc.errors(include_input=False, include_url=False):
        where = ".".join(str(part) for part in error["loc"]) or "(top level)"
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown setting"
        lines.append(f"{source}: {where}: {message}")
    return "; ".join(lines)


def load_settings(path: str | Path | None = None, **overrides: Any) -> WorkerSettings:
    """Load worker settings from ``path`` (or configs/worker.yaml when present) and the env.

    Raises:
        ConfigError: the file is unreadable or invalid, or a value is wrong; the message
            names the setting and never contains a secret.
    """
    if path is not None:
        yaml_path: Path | None = Path(path)
    elif DEFAULT_CONFIG_PATH.is_file():
        yaml_path = DEFAULT_CONFIG_PATH
    else:
        yaml_path = None
    data = _read_yaml(yaml_path) if yaml_path is not None else {}
    source = str(yaml_path) if yaml_path is not None else "settings"
    token = _yaml_data.set(data)
    try:
        return WorkerSettings(**overrides)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, source)) from None
    finally:
        _yaml_data.reset(token)


_SECTION_PARSERS: dict[str, Callable[..., object]] = {
    "engine": engine_config_from_mapping,
    "changes": changes_config_from_mapping,
    "gate": gate_config_from_mapping,
}
