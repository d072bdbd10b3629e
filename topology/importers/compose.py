"""Import a docker-compose file (Compose Specification).

Every entry under ``services`` becomes a service. Edges come from
``depends_on`` (list form, or mapping form with conditions) and legacy
``links`` (``db`` or ``db:alias``). ``container_name``, ``hostname`` and
network ``aliases`` become aliases, since alerts from container metrics
carry those names. The kind is guessed from the image (postgres -> database,
redis -> cache, kafka -> queue, nginx -> gateway; see :data:`IMAGE_KINDS`).

With ``infer_env_links`` the environment is read too, because most real
dependencies are never declared in ``depends_on``: a value that names
another service's host becomes an edge. A value counts when it is a URL
(``http://cart:8080``, ``redis://redis-cart:6379/0``), a ``host:port``
(``orders-db:5432``, also in comma-separated lists such as Kafka broker
lists), or a bare host name under a key that says it is an address
(``*_HOST``, ``*_ADDR``, ``*_URL``, ``*_ENDPOINT``, ``*_SERVER``, ...).
``${VAR:-default}`` uses its default. Only names of services in the same
file (or their aliases) count, so ordinary values never become edges.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from topology.importers.draft import Draft
from topology.model import describe
from topology.safe_yaml import load_yaml

_IMAGE_WORDS: dict[str, str] = {
    "database": "postgres mysql mariadb mongo cassandra scylla cockroach couchdb clickhouse "
    "neo4j influxdb timescale elasticsearch opensearch spanner dynamodb minio sqlserver mssql "
    "oracle",
    "cache": "redis memcached valkey keydb dragonfly",
    "queue": "kafka redpanda rabbitmq nats activemq pulsar nsq pubsub",
    "gateway": "nginx envoy traefik haproxy kong caddy istio gateway",
}
IMAGE_KINDS: tuple[tuple[str, str], ...] = tuple(
    (word, kind) for kind, words in _IMAGE_WORDS.items() for word in words.split()
)
"""Substring of the image name (without registry and tag) -> kind; first match wins."""

_ADDRESS_KEY = re.compile(
    r"(HOST|HOSTNAME|HOSTS|ADDR|ADDRESS|ADDRESSES|URL|URLS|URI|ENDPOINT|ENDPOINTS|SERVER|"
    r"SERVERS|BROKER|BROKERS|BOOTSTRAP_SERVERS|DSN|UPSTREAM|SERVICE_ADDR|TARGET)$",
    re.IGNORECASE,
)
_INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-?]([^}]*))?\}")
_URL = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]*:)+//(?:[^@/\s]*@)?(\[[^\]]*\]|[^:/?#\s,]+)")
_HOST_PORT = re.compile(r"^(?:[^@/\s]*@)?([A-Za-z0-9][A-Za-z0-9_.-]*):([0-9]{1,5})(?:/.*)?$")
_BARE_HOST = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def import_compose(texts: Iterable[tuple[str, str]], *, infer_env_links: bool = False) -> Draft:
    """Build a draft from compose files; later files add to earlier ones (like overrides)."""
    pairs = list(texts)
    draft = Draft(source=", ".join(name for name, _ in pairs) or "<compose>")
    entries: list[tuple[str, str, Mapping[str, Any]]] = []
    for source, text in pairs:
        document = load_yaml(text, source)
        services = document.get("services") if isinstance(document, Mapping) else None
        if not isinstance(services, Mapping):
            draft.warn(f"{source}: no 'services' mapping; nothing imported from it")
            continue
        if isinstance(document, Mapping) and isinstance(document.get("name"), str):
            draft.name = draft.name or document["name"]
        for name, spec in services.items():
            where = f"{source}: service {name!r}"
            if not isinstance(name, str):
                draft.warn(f"{where}: the name is not a string; skipped")
                continue
            entries.append((name, where, spec if isinstance(spec, Mapping) else {}))
    for name, where, spec in entries:
        _add_service(name, where, spec, draft)
    hosts = _host_table(draft)
    for name, where, spec in entries:
        for target in _declared(spec, where, draft):
            _link(draft, name, target, hosts, where)
        if infer_env_links:
            for key, value in _environment(spec, where, draft):
                for host in _hosts_in(key, value):
                    callee = hosts.get(host)
                    if callee is not None and callee != name:
                        draft.depend(name, callee)
    return draft


def _add_service(name: str, where: str, spec: Mapping[str, Any], draft: Draft) -> None:
    service = draft.service(name, where)
    image = spec.get("image")
    if isinstance(image, str):
        service.kind = kind_of_image(image)
    labels = spec.get("labels")
    team = _label(labels, ("team", "owner", "com.correlator.team"))
    if team:
        service.team = team
    for key in ("container_name", "hostname"):
        value = spec.get(key)
        if isinstance(value, str) and value.strip() and value != name:
            service.aliases.append(value)
    networks = spec.get("networks")
    if isinstance(networks, Mapping):
        for settings in networks.values():
            if isinstance(settings, Mapping):
                service.aliases += [a for a in _as_list(settings.get("aliases")) if a != name]


def kind_of_image(image: str) -> str:
    """Guess a topology kind from an image reference such as ``bitnami/redis:7.2``."""
    base = image.rsplit("/", 1)[-1].split("@", 1)[0].split(":", 1)[0].lower()
    for needle, kind in IMAGE_KINDS:
        if needle in base:
            return kind
    return "service"


def _label(labels: object, keys: tuple[str, ...]) -> str | None:
    pairs: dict[str, str] = {}
    if isinstance(labels, Mapping):
        pairs = {str(k): str(v) for k, v in labels.items() if v is not None}
    elif isinstance(labels, list):
        pairs = dict(item.split("=", 1) for item in labels if isinstance(item, str) and "=" in item)
    for key in keys:
        if pairs.get(key, "").strip():
            return pairs[key].strip()
    return None


def _as_list(value: object) -> list[str]:
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str) and v.strip()]
    return []


def _declared(spec: Mapping[str, Any], where: str, draft: Draft) -> list[str]:
    """``depends_on`` (list or mapping form) and ``links`` targets, as written."""
    targets: list[str] = []
    depends = spec.get("depends_on")
    if isinstance(depends, list | dict):  # list form, or mapping form with conditions
        targets += [t for t in depends if isinstance(t, str)]
    elif depends is not None:
        draft.warn(f"{where}: depends_on must be a list or a mapping, got {describe(depends)}")
    for link in _as_list(spec.get("links")):
        targets.append(link.split(":", 1)[0])
    return targets


def _link(draft: Draft, caller: str, target: str, hosts: Mapping[str, str], where: str) -> None:
    callee = hosts.get(target)
    if callee is None:
        draft.warn(f"{where}: depends on {target!r}, which is not a service in the input")
        draft.service(target, f"{where}: depends on {target!r}")
        callee = target
    draft.depend(caller, callee)


def _host_table(draft: Draft) -> dict[str, str]:
    """Every name a service answers to on the compose network -> its service name."""
    hosts: dict[str, str] = {}
    for service in draft.services.values():
        for alias in service.aliases:
            hosts.setdefault(alias, service.id)
    for service in draft.services.values():
        hosts[service.id] = service.id  # a service's own name always wins
    return hosts


def _environment(spec: Mapping[str, Any], where: str, draft: Draft) -> list[tuple[str, str]]:
    env = spec.get("environment")
    pairs: list[tuple[str, str]] = []
    if isinstance(env, Mapping):
        pairs = [(str(k), str(v)) for k, v in env.items() if v is not None]
    elif isinstance(env, list):
        for item in env:
            if isinstance(item, str) and "=" in item:
                key, value = item.split("=", 1)
                pairs.append((key, value))
    elif env is not None:
        draft.warn(f"{where}: environment must be a list or a mapping, got {describe(env)}")
    return [(key.strip(), _interpolate(value)) for key, value in pairs]


def _interpolate(value: str) -> str:
    """``${VAR:-default}`` -> ``default``; an unset variable without default -> nothing."""
    return _INTERPOLATION.sub(lambda m: m.group(2) or "", value)


def _hosts_in(key: str, value: str) -> list[str]:
    """Host names a value points at (see the module docstring for what counts)."""
    found: list[str] = []
    address_key = bool(_ADDRESS_KEY.search(key))
    for part in re.split(r"[,\s;]+", value.strip()):
        if not part:
            continue
        url = _URL.match(part)
        if url:
            found.append(url.group(1).strip("[]"))
            continue
        host_port = _HOST_PORT.match(part)
        if host_port:
            found.append(host_port.group(1))
        elif address_key and _BARE_HOST.match(part):
            found.append(part)
    return found
