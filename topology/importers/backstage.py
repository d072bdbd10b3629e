"""Import a Backstage software catalog (``catalog-info.yaml`` files).

Each file holds one or more entity documents. What becomes what:

* ``Component`` -> a service (``spec.type`` ``gateway``/``api-gateway``/``proxy``
  -> kind ``gateway``); ``Resource`` -> a data store or queue by ``spec.type``
  (see :data:`RESOURCE_KINDS`; other resource types stay ``service``).
* Edges: ``spec.dependsOn`` (this entity depends on the referenced one),
  ``spec.dependencyOf`` (the reverse), and ``spec.consumesApis`` resolved
  through the components that list the API in ``spec.providesApis``.
* ``spec.owner`` -> ``team`` (the group's name, without kind and namespace);
  ``spec.system`` -> ``tier``: the topology has no "system" field, and the
  system is the grouping Backstage users look for. A component without an
  owner takes its system's owner.
* ``metadata.annotations["backstage.io/kubernetes-id"]`` -> an alias, because
  Kubernetes-sourced alerts carry that name.

Entity references are ``[kind:][namespace/]name``; the service id is the
name (the namespace is only used to find the entity). ``API``, ``System``,
``Group``, ``User``, ``Domain``, ``Location`` and ``Template`` entities are
not services; Locations are not followed (pass the files they point to).
A reference to an entity the input does not contain becomes a placeholder
service, with a warning, so a catalog split over many repositories still
imports its edges.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from topology.importers.draft import Draft
from topology.model import describe
from topology.safe_yaml import load_yaml_documents

RESOURCE_KINDS: dict[str, str] = {
    **dict.fromkeys(
        ("database", "db", "postgres", "postgresql", "mysql", "mongodb", "rds", "sql-database"),
        "database",
    ),
    **dict.fromkeys(("s3-bucket", "bucket", "storage", "blob-storage"), "database"),
    **dict.fromkeys(("cache", "redis", "memcached", "elasticache"), "cache"),
    **dict.fromkeys(
        ("queue", "topic", "kafka-topic", "message-queue", "sqs", "pubsub", "stream", "kafka"),
        "queue",
    ),
}
"""Resource ``spec.type`` (lower case) -> topology kind."""

_GATEWAY_TYPES = frozenset({"gateway", "api-gateway", "proxy", "ingress"})
_SERVICE_KINDS = frozenset({"component", "resource"})
_IGNORED_KINDS = frozenset({"api", "system", "group", "user", "domain", "location", "template"})
KUBERNETES_ID = "backstage.io/kubernetes-id"


@dataclass(frozen=True, slots=True)
class _Ref:
    kind: str | None
    namespace: str
    name: str


@dataclass
class _Entity:
    kind: str  # lower case
    ref: _Ref
    doc: Mapping[str, Any]
    where: str

    @property
    def spec(self) -> Mapping[str, Any]:
        spec = self.doc.get("spec")
        return spec if isinstance(spec, Mapping) else {}


def parse_ref(text: str, default_namespace: str = "default") -> _Ref:
    """Split ``[kind:][namespace/]name`` (kind lower-cased; Backstage compares it so)."""
    kind: str | None = None
    rest = text.strip()
    if ":" in rest:
        kind, rest = rest.split(":", 1)
        kind = kind.strip().lower() or None
    namespace = default_namespace
    if "/" in rest:
        namespace, rest = rest.split("/", 1)
    return _Ref(kind, namespace.strip() or default_namespace, rest.strip())


def import_backstage(texts: Iterable[tuple[str, str]]) -> Draft:
    """Build a draft from ``(source name, file text)`` pairs of catalog files."""
    pairs = list(texts)
    draft = Draft(source=", ".join(name for name, _ in pairs) or "<backstage>")
    entities: list[_Entity] = []
    for source, text in pairs:
        for index, doc in enumerate(load_yaml_documents(text, source)):
            entity = _entity(doc, f"{source}: document {index + 1}", draft)
            if entity is not None:
                entities.append(entity)
    index_ = _Index(entities, draft)
    for entity in entities:
        if entity.kind in _SERVICE_KINDS:
            _add_service(entity, index_, draft)
    for entity in entities:
        if entity.kind in _SERVICE_KINDS:
            _add_edges(entity, index_, draft)
    return draft


def _entity(doc: object, where: str, draft: Draft) -> _Entity | None:
    if not isinstance(doc, Mapping):
        draft.warn(f"{where}: not an entity (expected a mapping, got {describe(doc)}); skipped")
        return None
    kind, metadata = doc.get("kind"), doc.get("metadata")
    name = metadata.get("name") if isinstance(metadata, Mapping) else None
    if not isinstance(kind, str) or not isinstance(name, str) or not name.strip():
        draft.warn(f"{where}: not an entity (needs kind and metadata.name); skipped")
        return None
    namespace = metadata.get("namespace") if isinstance(metadata, Mapping) else None
    ref = _Ref(kind.lower(), namespace if isinstance(namespace, str) else "default", name.strip())
    lowered = kind.lower()
    if lowered not in _SERVICE_KINDS and lowered not in _IGNORED_KINDS:
        draft.warn(f"{where}: {kind} {name!r}: unknown entity kind; skipped")
    elif lowered == "location":
        draft.warn(f"{where}: Location {name!r} is not followed; pass the files it points to")
    return _Entity(lowered, ref, doc, f"{where} ({kind} {name!r})")


class _Index:
    """Entities by reference, and API name -> the components that provide it."""

    def __init__(self, entities: list[_Entity], draft: Draft) -> None:
        self.by_ref: dict[tuple[str, str, str], _Entity] = {}
        self.by_name: dict[str, list[_Entity]] = {}
        self.providers: dict[tuple[str, str], list[str]] = {}
        for entity in entities:
            key = (entity.kind, entity.ref.namespace, entity.ref.name)
            if key in self.by_ref:
                draft.warn(f"{entity.where}: defined twice; the first definition is used")
                continue
            self.by_ref[key] = entity
            self.by_name.setdefault(entity.ref.name, []).append(entity)
        for entity in entities:
            if entity.kind != "component":
                continue
            for text in _strings(entity.spec.get("providesApis")):
                ref = parse_ref(text, entity.ref.namespace)
                self.providers.setdefault((ref.namespace, ref.name), []).append(entity.ref.name)

    def find(self, ref: _Ref) -> _Entity | None:
        if ref.kind is not None:
            return self.by_ref.get((ref.kind, ref.namespace, ref.name))
        found = [e for e in self.by_name.get(ref.name, []) if e.kind in _SERVICE_KINDS]
        return found[0] if len(found) == 1 else None

    def system(self, ref_text: str, namespace: str) -> _Entity | None:
        ref = parse_ref(ref_text, namespace)
        return self.by_ref.get(("system", ref.namespace, ref.name))


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str) and v.strip()]
    return []


def _text(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _owner_name(value: object, namespace: str) -> str | None:
    text = _text(value)
    return parse_ref(text, namespace).name if text else None


def _add_service(entity: _Entity, index: _Index, draft: Draft) -> None:
    service = draft.service(entity.ref.name, entity.where)
    if service.origin != entity.where:
        draft.warn(f"{entity.where}: the name is also used by {service.origin}; merged")
    spec = entity.spec
    kind_text = (_text(spec.get("type")) or "").lower()
    if entity.kind == "resource":
        service.kind = RESOURCE_KINDS.get(kind_text, "service")
    elif kind_text in _GATEWAY_TYPES:
        service.kind = "gateway"
    namespace = entity.ref.namespace
    system_text = _text(spec.get("system"))
    system = index.system(system_text, namespace) if system_text else None
    service.team = _owner_name(spec.get("owner"), namespace) or (
        _owner_name(system.spec.get("owner"), namespace) if system else None
    )
    if system_text:
        service.tier = parse_ref(system_text, namespace).name
    metadata = entity.doc.get("metadata")
    annotations = metadata.get("annotations") if isinstance(metadata, Mapping) else None
    if isinstance(annotations, Mapping):
        alias = _text(annotations.get(KUBERNETES_ID))
        if alias and alias != entity.ref.name:
            service.aliases.append(alias)


def _add_edges(entity: _Entity, index: _Index, draft: Draft) -> None:
    me = entity.ref.name
    spec = entity.spec
    for text in _strings(spec.get("dependsOn")):
        target = _target(text, entity, index, draft)
        if target is not None:
            draft.depend(me, target)
    for text in _strings(spec.get("dependencyOf")):
        source = _target(text, entity, index, draft)
        if source is not None:
            draft.depend(source, me)
    for text in _strings(spec.get("consumesApis")):
        ref = parse_ref(text, entity.ref.namespace)
        providers = index.providers.get((ref.namespace, ref.name), [])
        if not providers:
            draft.warn(f"{entity.where}: consumes API {text!r}, which no component provides")
        for provider in providers:
            if provider != me:
                draft.depend(me, provider)


def _target(text: str, entity: _Entity, index: _Index, draft: Draft) -> str | None:
    ref = parse_ref(text, entity.ref.namespace)
    if not ref.name:
        draft.warn(f"{entity.where}: empty entity reference {text!r}; skipped")
        return None
    if ref.kind is not None and ref.kind not in _SERVICE_KINDS:
        draft.warn(f"{entity.where}: reference {text!r} is not a component or resource; skipped")
        return None
    found = index.find(ref)
    if found is not None:
        return found.ref.name
    placeholder = draft.service(ref.name, f"{entity.where}: reference {text!r}")
    if placeholder.origin.endswith(f"reference {text!r}") and ref.kind == "resource":
        placeholder.kind = RESOURCE_KINDS.get(ref.name.rsplit("-", 1)[-1], "service")
    draft.warn(
        f"{entity.where}: {text!r} names no entity in the input; added {ref.name!r} as a "
        "placeholder service"
    )
    return ref.name
