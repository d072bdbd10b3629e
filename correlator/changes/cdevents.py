"""CDEvents service events (``dev.cdevents.service.*``) as changes.

Accepted types: ``dev.cdevents.service.<predicate>.<major>.<minor>.<patch>``
with predicate ``deployed`` or ``upgraded`` (kind ``deploy``), ``rolledback``
(``rollback``), ``removed`` (``deploy``: taking a service away is a release
too) or ``published`` (``config``: exposing a service changes routing, not
code). Other CDEvents (pipelines, incidents...) are rejected by name.

Mapping: id = ``context.id``; time = ``context.timestamp`` (required);
service = ``subject.id``, also tried as its last ``/`` segment and as the
package name of ``subject.content.artifactId`` (a package URL such as
``pkg:oci/checkout-api@sha256%3Aabc?...``); version = ``customData.version``
if given, else the package URL's version (percent-decoded); environment =
``subject.content.environment.id``; author and link = ``customData.author``
and ``customData.link`` when ``customData`` is an object.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

from correlator.changes.model import Change, ChangeKind
from correlator.codecs.fields import Problem, describe, item, opt_str, req_str, req_time, snip
from correlator.codecs.result import RejectReason

__all__ = ["decode_cdevent", "looks_cdevent", "package_name_and_version"]

SOURCE = "cdevents"
_TYPE = re.compile(r"^dev\.cdevents\.([a-z]+)\.([a-z]+)\.(\d+)\.(\d+)\.(\d+)(?:-[0-9A-Za-z.-]+)?$")
_VERBS = {"rolledback": "rolled back"}
_PREDICATES = {
    "deployed": ChangeKind.DEPLOY,
    "upgraded": ChangeKind.DEPLOY,
    "rolledback": ChangeKind.ROLLBACK,
    "removed": ChangeKind.DEPLOY,
    "published": ChangeKind.CONFIG,
}


def looks_cdevent(value: dict[Any, Any]) -> bool:
    """A CDEvent has a ``context`` object and a ``subject``."""
    return type(value.get("context")) is dict and "subject" in value


def package_name_and_version(purl: str) -> tuple[str | None, str | None]:
    """Name and version of a package URL (``pkg:type/namespace/name@version?q#s``).

    Lenient on purpose: anything without ``pkg:`` gives ``(None, None)``.
    """
    if not purl.startswith("pkg:"):
        return None, None
    body = purl[4:].split("#", 1)[0].split("?", 1)[0]
    path, _, version = body.partition("@")
    name = unquote(path.rstrip("/").rsplit("/", 1)[-1]) if "/" in path else None
    return (name or None), (unquote(version) or None)


def _obj(value: object, where: str) -> dict[str, Any]:
    if type(value) is not dict:
        raise Problem(
            RejectReason.INVALID_FIELD, f"{where}: expected an object, got {describe(value)}"
        )
    return value


def _kind(event_type: str) -> tuple[ChangeKind, str]:
    match = _TYPE.match(event_type)
    if match is None:
        raise Problem(
            RejectReason.INVALID_FIELD,
            f"context.type: not a CDEvents type (dev.cdevents.<subject>.<predicate>.<version>), "
            f"got {snip(event_type)}",
        )
    subject, predicate = match.group(1), match.group(2)
    kind = _PREDICATES.get(predicate) if subject == "service" else None
    if kind is None:
        raise Problem(
            RejectReason.INVALID_FIELD,
            f"context.type: {subject}.{predicate} is not a service change; accepted: "
            "service.deployed, service.upgraded, service.rolledback, service.removed, "
            "service.published",
        )
    return kind, predicate


def decode_cdevent(value: dict[str, Any]) -> Change:
    """Decode one CDEvents service event into a change."""
    context = _obj(item(value, "context", ""), "context")
    kind, predicate = _kind(req_str(context, "type", "context"))
    event_id = req_str(context, "id", "context", non_empty=True)
    at = req_time(context, "timestamp", "context")
    subject = _obj(item(value, "subject", ""), "subject")
    subject_id = req_str(subject, "id", "subject", non_empty=True)
    content_value = subject.get("content")
    content = {} if content_value is None else _obj(content_value, "subject.content")
    artifact = opt_str(content, "artifactId", "subject.content")
    environment = None
    if content.get("environment") is not None:
        env = _obj(content["environment"], "subject.content.environment")
        environment = opt_str(env, "id", "subject.content.environment")
    custom = value.get("customData")
    extras = custom if type(custom) is dict else {}
    package, purl_version = package_name_and_version(artifact) if artifact else (None, None)
    custom_version = extras.get("version")
    version = custom_version if type(custom_version) is str and custom_version else purl_version
    alternatives = [subject_id.rsplit("/", 1)[-1]] if "/" in subject_id else []
    if package:
        alternatives.append(package)
    summary = f"{subject_id} {_VERBS.get(predicate, predicate)}"
    summary += f" in {environment}" if environment else ""
    summary += f" ({artifact})" if artifact else ""
    return Change(
        id=event_id,
        service=subject_id,
        kind=kind,
        at=at,
        version=version,
        author=_text(extras.get("author")),
        link=_text(extras.get("link")),
        summary=summary,
        environment=environment,
        source=SOURCE,
        alt_services=tuple(dict.fromkeys(a for a in alternatives if a and a != subject_id)),
    )


def _text(value: object) -> str | None:
    return value if type(value) is str and value else None
