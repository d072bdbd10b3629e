"""Run a real single-node Apache Kafka 4.x broker (KRaft) on 127.0.0.1 for tests and the demo.

Why this exists: the tests and the demo need a real broker, the machines that run them have
no Docker engine and cannot fetch the Kafka release tarball, but they have Java 17, Maven and
Maven Central. So the broker's runtime classpath is resolved from Maven Central once into a
cache outside the git tree, and the broker runs as a detached JVM that outlives this process.

Layout on disk (all overridable):

- jar cache: ``$CORRELATOR_KAFKA_CACHE/<version>/libs`` (default root
  ``~/.cache/correlator/kafka``), completed by a marker file so an interrupted download is
  redone, never half-used;
- state dir: ``~/.cache/correlator/kafka-run/<port>/`` with ``server.properties``, the ``data``
  log dir (formatted once), ``broker.pid``, ``broker.json`` (version, ports) and ``broker.log``.

Readiness is a raw ApiVersions + Metadata exchange on the PLAINTEXT port: the broker is ready
when its Metadata response lists at least one broker. Doing it by hand keeps the probe fast,
silent and free of client-library logging.

Command line: ``correlator kafka up|down|status`` (or ``python3 -m correlator.stream.local_kafka``).
Exit codes: 0 success, 1 error, 3 ``status`` found no broker answering.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import fcntl
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from correlator.errors import CorrelatorError

LOOPBACK = "127.0.0.1"
DEFAULT_PORT = 9092
DEFAULT_CONTROLLER_PORT = 9093
# Newest 4.0.x on Maven Central; faust-streaming's own CI runs a 4.0 KRaft broker.
DEFAULT_VERSION = "4.0.2"
DEFAULT_TIMEOUT_S = 60.0
STOP_GRACE_S = 30.0
# For tests only: the local broker is loopback-bound and throwaway.
DEFAULT_SASL_USERS: tuple[tuple[str, str], ...] = (("correlator", "correlator-secret"),)

ENV_BOOTSTRAP = "CORRELATOR_KAFKA_BOOTSTRAP"
ENV_CACHE = "CORRELATOR_KAFKA_CACHE"
ENV_SASL_PORT = "CORRELATOR_KAFKA_SASL_PORT"
ENV_SASL_USERS = "CORRELATOR_KAFKA_SASL_USERS"

# Every Kafka 4.0-4.4 POM pins slf4j-api 1.7.36; the provider must share its major version.
SLF4J_SIMPLE_VERSION = "1.7.36"
DEPENDENCY_PLUGIN_VERSION = "3.8.1"
JVM_HEAP = "-Xmx512m"

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_NOT_RUNNING = 3

_MARKER = ".resolved"
_VERSION_RE = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")
_SASL_NAME_RE = re.compile(r"^[A-Za-z0-9._-]+$")
_SASL_SECRET_RE = re.compile(r'^[^\s"\\;]+$')


class LocalKafkaError(CorrelatorError):
    """The local broker could not be prepared, started or stopped; the message says why."""


def _default_cache_root() -> Path:
    env = os.environ.get(ENV_CACHE)
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "correlator" / "kafka"


@dataclass(frozen=True)
class LocalKafkaConfig:
    """Where and how the local broker runs. The host is always loopback (see :attr:`host`)."""

    port: int = DEFAULT_PORT
    controller_port: int = DEFAULT_CONTROLLER_PORT
    version: str = DEFAULT_VERSION
    cache_root: Path = field(default_factory=_default_cache_root)
    state_dir: Path | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S
    sasl_port: int | None = None
    sasl_users: tuple[tuple[str, str], ...] = DEFAULT_SASL_USERS

    def __post_init__(self) -> None:
        ports = [self.port, self.controller_port]
        if self.sasl_port is not None:
            ports.append(self.sasl_port)
        for p in ports:
            if not 1 <= p <= 65535:
                raise LocalKafkaError(f"port {p} is out of range 1..65535")
        if len(set(ports)) != len(ports):
            raise LocalKafkaError(f"broker, controller and SASL ports must differ, got {ports}")
        m = _VERSION_RE.match(self.version)
        if m is None or (int(m.group(1)), int(m.group(2))) < (3, 9):
            raise LocalKafkaError(
                f"Kafka version {self.version!r} is not supported: use a 4.x release such as "
                f"{DEFAULT_VERSION} (3.9.x also runs KRaft combined mode)"
            )
        if self.timeout_s <= 0:
            raise LocalKafkaError(f"timeout must be positive, got {self.timeout_s}")
        if self.sasl_port is not None and not self.sasl_users:
            raise LocalKafkaError("a SASL port needs at least one user")
        for name, secret in self.sasl_users:
            if not _SASL_NAME_RE.match(name):
                raise LocalKafkaError(f"SASL user name {name!r} may only use A-Z a-z 0-9 . _ -")
            if not _SASL_SECRET_RE.match(secret):
                raise LocalKafkaError(
                    f"SASL password of {name!r} must be non-empty without spaces, quotes, "
                    "backslashes or semicolons"
                )

    @property
    def host(self) -> str:
        return LOOPBACK

    @property
    def bootstrap(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    @property
    def sasl_bootstrap(self) -> str | None:
        return None if self.sasl_port is None else f"{LOOPBACK}:{self.sasl_port}"

    @property
    def version_dir(self) -> Path:
        return self.cache_root / self.version

    @property
    def libs_dir(self) -> Path:
        return self.version_dir / "libs"

    @property
    def run_dir(self) -> Path:
        if self.state_dir is not None:
            return self.state_dir
        return Path.home() / ".cache" / "correlator" / "kafka-run" / str(self.port)

    @property
    def data_dir(self) -> Path:
        return self.run_dir / "data"

    @property
    def properties_file(self) -> Path:
        return self.run_dir / "server.properties"

    @property
    def pid_file(self) -> Path:
        return self.run_dir / "broker.pid"

    @property
    def info_file(self) -> Path:
        return self.run_dir / "broker.json"

    @property
    def log_file(self) -> Path:
        return self.run_dir / "broker.log"


@dataclass(frozen=True)
class BrokerInfo:
    """The outcome of :func:`up`."""

    bootstrap: str
    version: str | None
    pid: int | None
    already_running: bool
    startup_s: float
    state_dir: Path
    log_file: Path
    sasl_bootstrap: str | None = None


@dataclass(frozen=True)
class BrokerStatus:
    """What :func:`status` found at the configured address."""

    bootstrap: str
    answering: bool
    pid: int | None
    version: str | None
    cluster_id: str | None
    state_dir: Path


@dataclass(frozen=True)
class ProbeResult:
    """A broker's answer to Metadata: enough to say it is ready and which cluster it is."""

    broker_count: int
    cluster_id: str | None


# --------------------------------------------------------------------------- config files


def server_properties(config: LocalKafkaConfig) -> str:
    """Render ``server.properties`` for a single combined broker+controller node on loopback."""
    plain = f"PLAINTEXT://{LOOPBACK}:{config.port}"
    controller = f"CONTROLLER://{LOOPBACK}:{config.controller_port}"
    listeners = [plain, controller]
    advertised = [plain]
    protocols = ["CONTROLLER:PLAINTEXT", "PLAINTEXT:PLAINTEXT"]
    if config.sasl_port is not None:
        sasl = f"SASL_PLAINTEXT://{LOOPBACK}:{config.sasl_port}"
        listeners.append(sasl)
        advertised.append(sasl)
        protocols.append("SASL_PLAINTEXT:SASL_PLAINTEXT")
    props: list[tuple[str, str]] = [
        ("process.roles", "broker,controller"),
        ("node.id", "1"),
        ("controller.quorum.voters", f"1@{LOOPBACK}:{config.controller_port}"),
        ("listeners", ",".join(listeners)),
        ("advertised.listeners", ",".join(advertised)),
        ("listener.security.protocol.map", ",".join(protocols)),
        ("controller.listener.names", "CONTROLLER"),
        ("inter.broker.listener.name", "PLAINTEXT"),
        ("log.dirs", str(config.data_dir)),
        ("num.partitions", "1"),
        ("auto.create.topics.enable", "true"),
        ("default.replication.factor", "1"),
        ("min.insync.replicas", "1"),
        ("offsets.topic.replication.factor", "1"),
        ("offsets.topic.num.partitions", "1"),
        ("transaction.state.log.replication.factor", "1"),
        ("transaction.state.log.min.isr", "1"),
        ("transaction.state.log.num.partitions", "1"),
        ("share.coordinator.state.topic.replication.factor", "1"),
        ("share.coordinator.state.topic.min.isr", "1"),
        ("share.coordinator.state.topic.num.partitions", "1"),
        ("group.initial.rebalance.delay.ms", "0"),
        # A restarted combined node cannot re-register until its old broker session expires
        # (default 9 s); a shorter session makes `down` + `up` several seconds faster.
        ("broker.heartbeat.interval.ms", "1000"),
        ("broker.session.timeout.ms", "4000"),
        ("log.segment.bytes", str(16 * 1024 * 1024)),
        ("log.retention.hours", "24"),
        ("num.network.threads", "2"),
        ("num.io.threads", "4"),
    ]
    if config.sasl_port is not None:
        users = " ".join(f'user_{name}="{secret}"' for name, secret in config.sasl_users)
        first_name, first_secret = config.sasl_users[0]
        jaas = (
            "org.apache.kafka.common.security.plain.PlainLoginModule required "
            f'username="{first_name}" password="{first_secret}" {users};'
        )
        props += [
            ("sasl.enabled.mechanisms", "PLAIN"),
            ("listener.name.sasl_plaintext.plain.sasl.jaas.config", jaas),
        ]
    header = "# Generated by correlator.stream.local_kafka; rewritten on every `up`.\n"
    return header + "".join(f"{key}={value}\n" for key, value in props)


def maven_pom(version: str) -> str:
    """A pom whose only job is to pull Kafka's broker runtime classpath plus a log provider."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0"
         xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
         xsi:schemaLocation="http://maven.apache.org/POM/4.0.0 https://maven.apache.org/xsd/maven-4.0.0.xsd">
  <modelVersion>4.0.0</modelVersion>
  <groupId>io.correlator.local</groupId>
  <artifactId>local-kafka-runtime</artifactId>
  <version>{version}</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>{version}</version>
    </dependency>
    <dependency>
      <groupId>org.slf4j</groupId>
      <artifactId>slf4j-simple</artifactId>
      <version>{SLF4J_SIMPLE_VERSION}</version>
    </dependency>
  </dependencies>
  <build>
    <pluginManagement>
      <plugins>
        <plugin>
          <groupId>org.apache.maven.plugins</groupId>
          <artifactId>maven-dependency-plugin</artifactId>
          <version>{DEPENDENCY_PLUGIN_VERSION}</version>
        </plugin>
      </plugins>
    </pluginManagement>
  </build>
</project>
"""


# --------------------------------------------------------------------------- wire probe


def _frame(api_key: int, api_version: int, correlation_id: int, body: bytes) -> bytes:
    client = b"correlator-local-kafka"
    header = struct.pack(">hhih", api_key, api_version, correlation_id, len(client)) + client
    payload = header + body
    return struct.pack(">i", len(payload)) + payload


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < n:
        chunk = sock.recv(n - len(chunks))
        if not chunk:
            raise ConnectionError("broker closed the connection")
        chunks += chunk
    return bytes(chunks)


def _exchange(sock: socket.socket, api_key: int, api_version: int, cid: int, body: bytes) -> bytes:
    sock.sendall(_frame(api_key, api_version, cid, body))
    (size,) = struct.unpack(">i", _recv_exact(sock, 4))
    response = _recv_exact(sock, size)
    (got_cid,) = struct.unpack_from(">i", response, 0)
    if got_cid != cid:
        raise ConnectionError(f"correlation id mismatch ({got_cid} != {cid})")
    return response[4:]


def _metadata_version(api_versions_body: bytes) -> int:
    """Pick a non-flexible Metadata version (4..8) that the broker accepts."""
    (error_code, count) = struct.unpack_from(">hi", api_versions_body, 0)
    if error_code != 0:
        raise ConnectionError(f"ApiVersions error code {error_code}")
    offset = 6
    for _ in range(count):
        key, low, high = struct.unpack_from(">hhh", api_versions_body, offset)
        offset += 6
        if key == 3:
            chosen = min(int(high), 8)
            if chosen < max(low, 4):
                raise ConnectionError(f"broker supports only Metadata v{low}..v{high}")
            return chosen
    raise ConnectionError("broker does not list the Metadata API")


def _read_string(buf: bytes, offset: int) -> tuple[str | None, int]:
    (length,) = struct.unpack_from(">h", buf, offset)
    offset += 2
    if length < 0:
        return None, offset
    return buf[offset : offset + length].decode("utf-8"), offset + length


def probe(port: int, timeout_s: float = 2.0) -> ProbeResult | None:
    """Ask 127.0.0.1:``port`` for cluster metadata; ``None`` unless a ready Kafka broker answers."""
    try:
        with socket.create_connection((LOOPBACK, port), timeout=timeout_s) as sock:
            sock.settimeout(timeout_s)
            versions = _exchange(sock, 18, 0, 1, b"")
            md_version = _metadata_version(versions)
            # Empty topic list (not null): we want brokers and cluster id only.
            body = struct.pack(">ib", 0, 0)
            if md_version >= 8:
                body += struct.pack(">bb", 0, 0)
            md = _exchange(sock, 3, md_version, 2, body)
    except (OSError, ConnectionError, struct.error):
        return None
    try:
        offset = 4  # throttle_time_ms (v3+)
        (broker_count,) = struct.unpack_from(">i", md, offset)
        offset += 4
        for _ in range(broker_count):
            offset += 4  # node id
            _host, offset = _read_string(md, offset)
            offset += 4  # port
            _rack, offset = _read_string(md, offset)
        cluster_id, offset = _read_string(md, offset)
    except (struct.error, UnicodeDecodeError):
        return None
    if broker_count < 1:
        return None
    return ProbeResult(broker_count=broker_count, cluster_id=cluster_id)


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return True
    return False


# --------------------------------------------------------------------------- helpers


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Serialise concurrent `up`/`down` runs on the same cache or state dir."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _require_tool(name: str, hint: str) -> str:
    if name == "java":
        java_home = os.environ.get("JAVA_HOME")
        if java_home and (Path(java_home) / "bin" / "java").is_file():
            return str(Path(java_home) / "bin" / "java")
    found = shutil.which(name)
    if found is None:
        raise LocalKafkaError(f"`{name}` is not on PATH; {hint}")
    return found


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no broker log)"
    return "\n".join(text.splitlines()[-lines:]) or "(the broker log is empty)"


def _process_state(pid: int) -> str | None:
    """Linux process state letter, '' when /proc is unavailable, None when the pid is gone."""
    with contextlib.suppress(ChildProcessError, OSError):
        done, _status = os.waitpid(pid, os.WNOHANG)  # reap it if it is our own child
        if done == pid:
            return None
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return ""
        return ""
    try:
        stat = (proc / str(pid) / "stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def _alive(pid: int) -> bool:
    state = _process_state(pid)
    return state is not None and state not in {"Z", "X"}


def _is_our_broker(pid: int, config: LocalKafkaConfig) -> bool:
    """True when ``pid`` is a live JVM running kafka.Kafka on this state dir's properties."""
    if not _alive(pid):
        return False
    cmdline = Path("/proc") / str(pid) / "cmdline"
    if not cmdline.parent.parent.is_dir():
        return True  # no /proc: trust the pid file
    try:
        args = cmdline.read_bytes().split(b"\0")
    except OSError:
        return False
    return b"kafka.Kafka" in args and str(config.properties_file).encode() in args


def _read_pid(config: LocalKafkaConfig) -> int | None:
    try:
        return int(config.pid_file.read_text().strip())
    except (OSError, ValueError):
        return None


def _read_info(config: LocalKafkaConfig) -> dict[str, object]:
    try:
        loaded = json.loads(config.info_file.read_text())
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _running_pid(config: LocalKafkaConfig) -> int | None:
    pid = _read_pid(config)
    if pid is not None and _is_our_broker(pid, config):
        return pid
    return None


def new_cluster_id() -> str:
    """A Kafka cluster id: 16 random bytes, URL-safe base64 without padding.

    Same format as ``kafka.tools.StorageTool random-uuid``; made here to save a JVM start.
    """
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode("ascii").rstrip("=")
        if not text.startswith("-"):
            return text


# --------------------------------------------------------------------------- steps


def _jars_complete(config: LocalKafkaConfig) -> bool:
    marker = config.libs_dir / _MARKER
    try:
        names = marker.read_text().split()
    except OSError:
        return False
    return bool(names) and all((config.libs_dir / name).is_file() for name in names)


def _check_slf4j(libs: Path) -> None:
    def majors(prefix: str) -> set[str]:
        pattern = re.compile(rf"^{prefix}-(\d+)\.")
        return {m.group(1) for p in libs.iterdir() if (m := pattern.match(p.name))}

    api, impl = majors("slf4j-api"), majors("slf4j-simple")
    if not api or api != impl:
        raise LocalKafkaError(
            f"slf4j-api major {sorted(api)} does not match slf4j-simple major {sorted(impl)} "
            f"in {libs}; update SLF4J_SIMPLE_VERSION in local_kafka.py"
        )


def resolve_jars(config: LocalKafkaConfig) -> Path:
    """Make sure the broker's runtime jars are in the cache; download them once with Maven."""
    if _jars_complete(config):
        return config.libs_dir
    with _locked(config.version_dir / ".lock"):
        if _jars_complete(config):
            return config.libs_dir
        mvn = _require_tool("mvn", "install Maven 3.8+ to fetch the Kafka jars")
        _say(
            f"resolving Kafka {config.version} jars from Maven Central (first run only) "
            f"into {config.libs_dir} ..."
        )
        started = time.monotonic()
        pom = config.version_dir / "pom.xml"
        pom.write_text(maven_pom(config.version), encoding="utf-8")
        staging = config.version_dir / f"libs.partial-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        cmd = [
            mvn,
            "-q",
            "-B",
            "-f",
            str(pom),
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={staging}",
        ]
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            shutil.rmtree(staging, ignore_errors=True)
            output = "\n".join((result.stdout + result.stderr).splitlines()[-30:])
            raise LocalKafkaError(
                f"Maven could not resolve org.apache.kafka:kafka_2.13:{config.version} "
                f"(exit {result.returncode}). Is the version on Maven Central and is the "
                f"network up?\n{output}"
            )
        names = sorted(p.name for p in staging.glob("*.jar"))
        if not any(n.startswith("kafka_2.13-") for n in names):
            shutil.rmtree(staging, ignore_errors=True)
            raise LocalKafkaError(f"Maven ran but no kafka_2.13 jar appeared in {staging}")
        _check_slf4j(staging)
        (staging / _MARKER).write_text("\n".join(names) + "\n", encoding="utf-8")
        shutil.rmtree(config.libs_dir, ignore_errors=True)
        staging.rename(config.libs_dir)
        _say(f"resolved {len(names)} jars in {time.monotonic() - started:.1f} s")
    return config.libs_dir


def _classpath(config: LocalKafkaConfig) -> str:
    return str(config.libs_dir / "*")


def _jvm_args(config: LocalKafkaConfig) -> list[str]:
    return [
        JVM_HEAP,
        "-Djava.awt.headless=true",
        f"-XX:ErrorFile={config.run_dir / 'hs_err_pid%p.log'}",
        "-Dorg.slf4j.simpleLogger.showDateTime=true",
        "-Dorg.slf4j.simpleLogger.dateTimeFormat=yyyy-MM-dd'T'HH:mm:ss.SSSZ",
        "-cp",
        _classpath(config),
    ]


def _write_private(path: Path, text: str) -> None:
    """Write a file readable by the owner only (it may hold SASL test passwords)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def _format_storage(config: LocalKafkaConfig, java: str) -> bool:
    """Format the data dir once (KRaft needs a cluster id on disk); True if it did so now."""
    if (config.data_dir / "meta.properties").is_file():
        return False
    config.data_dir.mkdir(parents=True, exist_ok=True)
    cluster_id = new_cluster_id()
    _say(f"formatting KRaft storage in {config.data_dir} (cluster id {cluster_id})")
    cmd = [
        java,
        *_jvm_args(config),
        "kafka.tools.StorageTool",
        "format",
        "-t",
        cluster_id,
        "-c",
        str(config.properties_file),
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        output = "\n".join((result.stdout + result.stderr).splitlines()[-30:])
        raise LocalKafkaError(
            f"formatting Kafka storage failed (exit {result.returncode}):\n{output}"
        )
    return True


def _check_data_version(config: LocalKafkaConfig) -> None:
    formatted = _read_info(config).get("formatted_version")
    if (config.data_dir / "meta.properties").is_file() and formatted not in (None, config.version):
        raise LocalKafkaError(
            f"{config.data_dir} was formatted by Kafka {formatted}, not {config.version}; "
            f"remove that directory (its topics are lost) or pass --data-dir for a fresh one"
        )


def _spawn(config: LocalKafkaConfig, java: str) -> int:
    if config.log_file.exists():
        config.log_file.replace(config.log_file.with_suffix(".log.1"))
    argv = [java, *_jvm_args(config), "kafka.Kafka", str(config.properties_file)]
    log_fd = os.open(config.log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        pid = os.posix_spawn(
            java,
            argv,
            dict(os.environ),
            file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_DUP2, log_fd, 1),
                (os.POSIX_SPAWN_DUP2, log_fd, 2),
            ],
            setsid=True,
        )
    finally:
        os.close(log_fd)
    return pid


def _stop_pid(pid: int, grace_s: float) -> bool:
    """SIGTERM (controlled shutdown), then SIGKILL after ``grace_s``; True if it had to kill."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        if not _alive(pid):
            return False
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    while _alive(pid):
        time.sleep(0.05)
    return True


# --------------------------------------------------------------------------- public API


def up(config: LocalKafkaConfig) -> BrokerInfo:
    """Start the broker unless one already answers; return once it serves Metadata."""
    started = time.monotonic()
    with _locked(config.run_dir / ".lock"):
        if probe(config.port) is not None:
            pid = _running_pid(config)
            version = _read_info(config).get("version") if pid is not None else None
            _say(f"a Kafka broker already answers at {config.bootstrap}; nothing to start")
            return BrokerInfo(
                bootstrap=config.bootstrap,
                version=str(version) if version is not None else None,
                pid=pid,
                already_running=True,
                startup_s=time.monotonic() - started,
                state_dir=config.run_dir,
                log_file=config.log_file,
                sasl_bootstrap=config.sasl_bootstrap,
            )
        pid = _running_pid(config)
        if pid is None:
            busy = [
                p
                for p in (config.port, config.controller_port, config.sasl_port)
                if p is not None and _port_in_use(p)
            ]
            if busy:
                raise LocalKafkaError(
                    f"port(s) {', '.join(map(str, busy))} on {LOOPBACK} are taken by another "
                    "program that is not a ready Kafka broker; choose other ports"
                )
            java = _require_tool("java", "install a Java 17+ runtime (openjdk-17-jre-headless)")
            resolve_jars(config)
            config.run_dir.mkdir(parents=True, exist_ok=True)
            _check_data_version(config)
            _write_private(config.properties_file, server_properties(config))
            previous = _read_info(config).get("formatted_version")
            formatted_now = _format_storage(config, java)
            _say(f"starting Kafka {config.version} on {config.bootstrap} (log: {config.log_file})")
            pid = _spawn(config, java)
            config.pid_file.write_text(f"{pid}\n", encoding="utf-8")
            info = {
                "version": config.version,
                "formatted_version": config.version if formatted_now else previous,
                "bootstrap": config.bootstrap,
                "controller_port": config.controller_port,
                "sasl_bootstrap": config.sasl_bootstrap,
                "pid": pid,
            }
            config.info_file.write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
        else:
            _say(f"broker pid {pid} is starting; waiting for it")
        _wait_ready(config, pid)
    elapsed = time.monotonic() - started
    _say(f"Kafka {config.version} ready at {config.bootstrap} (pid {pid}) after {elapsed:.1f} s")
    return BrokerInfo(
        bootstrap=config.bootstrap,
        version=config.version,
        pid=pid,
        already_running=False,
        startup_s=elapsed,
        state_dir=config.run_dir,
        log_file=config.log_file,
        sasl_bootstrap=config.sasl_bootstrap,
    )


def _wait_ready(config: LocalKafkaConfig, pid: int) -> None:
    """Poll Metadata until the broker answers; the timeout covers the JVM only, not downloads."""
    deadline = time.monotonic() + config.timeout_s
    while True:
        if probe(config.port, timeout_s=1.0) is not None:
            return
        if not _alive(pid):
            config.pid_file.unlink(missing_ok=True)
            raise LocalKafkaError(
                f"the Kafka broker (pid {pid}) exited during start-up. "
                f"Last lines of {config.log_file}:\n{_tail(config.log_file)}"
            )
        if time.monotonic() >= deadline:
            _stop_pid(pid, grace_s=5.0)
            config.pid_file.unlink(missing_ok=True)
            raise LocalKafkaError(
                f"the Kafka broker did not answer at {config.bootstrap} within "
                f"{config.timeout_s:g} s; stopped it. Last lines of {config.log_file}:\n"
                f"{_tail(config.log_file)}"
            )
        time.sleep(0.2)


def down(config: LocalKafkaConfig) -> bool:
    """Stop the broker this state dir started; True if one was stopped.

    Raises when a broker answers on the port but was not started from this state dir:
    stopping someone else's process is not ours to do.
    """
    with _locked(config.run_dir / ".lock"):
        pid = _read_pid(config)
        if pid is None or not _is_our_broker(pid, config):
            config.pid_file.unlink(missing_ok=True)
            if probe(config.port) is not None:
                raise LocalKafkaError(
                    f"a Kafka broker answers at {config.bootstrap} but it was not started "
                    f"from {config.run_dir}; not stopping it"
                )
            _say(f"no local Kafka broker is running for {config.bootstrap}; nothing to stop")
            return False
        _say(f"stopping Kafka broker pid {pid} (controlled shutdown) ...")
        started = time.monotonic()
        killed = _stop_pid(pid, STOP_GRACE_S)
        config.pid_file.unlink(missing_ok=True)
        how = "killed after the grace period" if killed else "stopped"
        _say(f"Kafka broker pid {pid} {how} in {time.monotonic() - started:.1f} s")
        return True


def status(config: LocalKafkaConfig) -> BrokerStatus:
    """Report whether a broker answers at the configured address, and which one if it is ours."""
    answer = probe(config.port)
    pid = _running_pid(config)
    version = _read_info(config).get("version") if pid is not None else None
    return BrokerStatus(
        bootstrap=config.bootstrap,
        answering=answer is not None,
        pid=pid,
        version=str(version) if version is not None else None,
        cluster_id=answer.cluster_id if answer is not None else None,
        state_dir=config.run_dir,
    )


# --------------------------------------------------------------------------- command line


def parse_bootstrap(text: str) -> int:
    """Return the port of a loopback ``host:port``; other hosts are refused."""
    host, sep, port_text = text.strip().rpartition(":")
    if not sep or host not in {LOOPBACK, "localhost"}:
        raise LocalKafkaError(
            f"bootstrap {text!r} must be {LOOPBACK}:PORT: the local broker binds loopback only"
        )
    try:
        port = int(port_text)
    except ValueError:
        raise LocalKafkaError(f"bootstrap {text!r} has no numeric port") from None
    return port


def parse_sasl_users(items: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """Parse ``USER:PASSWORD`` items (from --sasl-user or comma-separated env)."""
    users: list[tuple[str, str]] = []
    for item in items:
        name, sep, secret = item.partition(":")
        if not sep or not name or not secret:
            raise LocalKafkaError(f"SASL user {item!r} must look like USER:PASSWORD")
        users.append((name, secret))
    return tuple(users)


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="correlator kafka",
        description="Run a real single-node Kafka (KRaft) broker on 127.0.0.1 for tests and demos.",
    )
    parser.add_argument("action", choices=["up", "down", "status"])
    parser.add_argument(
        "--bootstrap",
        default=os.environ.get(ENV_BOOTSTRAP, f"{LOOPBACK}:{DEFAULT_PORT}"),
        help=f"127.0.0.1:PORT of the PLAINTEXT listener (env {ENV_BOOTSTRAP}; default %(default)s)",
    )
    parser.add_argument(
        "--controller-port",
        type=int,
        default=None,
        help="KRaft controller port (default: broker port + 1, i.e. 9093)",
    )
    parser.add_argument("--version", default=DEFAULT_VERSION, help="Kafka version (%(default)s)")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="state dir for config, data, pid and log (default ~/.cache/correlator/kafka-run/PORT)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        help="seconds to wait for the broker to answer (%(default)s)",
    )
    parser.add_argument(
        "--sasl-port",
        type=int,
        default=None,
        help=f"also open a SASL_PLAINTEXT (PLAIN) listener on this port (env {ENV_SASL_PORT})",
    )
    parser.add_argument(
        "--sasl-user",
        action="append",
        default=None,
        metavar="USER:PASSWORD",
        help=f"SASL/PLAIN user, repeatable (env {ENV_SASL_USERS}=u:p,u2:p2; "
        "default correlator:correlator-secret, for tests only)",
    )
    return parser


def _config_from_args(args: argparse.Namespace) -> LocalKafkaConfig:
    port = parse_bootstrap(args.bootstrap)
    sasl_port = args.sasl_port
    if sasl_port is None and os.environ.get(ENV_SASL_PORT):
        try:
            sasl_port = int(os.environ[ENV_SASL_PORT])
        except ValueError:
            raise LocalKafkaError(f"{ENV_SASL_PORT} must be a port number") from None
    if args.sasl_user:
        users = parse_sasl_users(args.sasl_user)
    elif os.environ.get(ENV_SASL_USERS):
        users = parse_sasl_users(os.environ[ENV_SASL_USERS].split(","))
    else:
        users = DEFAULT_SASL_USERS
    return LocalKafkaConfig(
        port=port,
        controller_port=args.controller_port if args.controller_port is not None else port + 1,
        version=args.version,
        state_dir=args.data_dir.expanduser().resolve() if args.data_dir is not None else None,
        timeout_s=args.timeout,
        sasl_port=sasl_port,
        sasl_users=users,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """``correlator kafka up|down|status``; returns the process exit code."""
    try:
        args = _build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse already printed usage or help
        return exc.code if isinstance(exc.code, int) else EXIT_ERROR
    try:
        config = _config_from_args(args)
        if args.action == "up":
            info = up(config)
            extra = f", SASL/PLAIN at {info.sasl_bootstrap}" if info.sasl_bootstrap else ""
            state = "already running" if info.already_running else "started"
            print(f"kafka {state}: {info.bootstrap} (pid {info.pid or '?'}){extra}")
            return EXIT_OK
        if args.action == "down":
            down(config)
            return EXIT_OK
        report = status(config)
    except LocalKafkaError as exc:
        print(f"correlator kafka: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("correlator kafka: interrupted", file=sys.stderr)
        return 130
    if report.answering:
        print(
            f"kafka up: {report.bootstrap} pid={report.pid or 'unknown (not started here)'} "
            f"version={report.version or 'unknown'} cluster_id={report.cluster_id}"
        )
        return EXIT_OK
    print(f"kafka down: nothing answers at {report.bootstrap}")
    return EXIT_NOT_RUNNING


if __name__ == "__main__":
    raise SystemExit(main())
