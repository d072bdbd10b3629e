"""The change value type: one deploy, config change, flag flip or rollback.

Changes are what an on-call person asks about first ("what changed?"), so
they are first-class values next to alerts: frozen, time-zone aware, and
identified by a deterministic id, so that a change delivered twice (Kafka
at-least-once, a CD system retrying a webhook) is recognised as one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from correlator.model import require_utc

__all__ = ["Change", "ChangeKind", "change_id"]


class ChangeKind(StrEnum):
    """What kind of change it was; the ranking weighs kinds differently."""

    DEPLOY = "deploy"
    CONFIG = "config"
    FLAG = "flag"
    ROLLBACK = "rollback"


def change_id(source: str, service: str, kind: str, at: datetime, version: str | None) -> str:
    """A deterministic id for a change whose sender gave none.

    ``chg-`` and 16 hex digits of a BLAKE2b hash over the fields that make a
    change distinct, so identical re-deliveries collapse and different
    changes (even on one service at one instant) rarely collide.
    """
    digest = hashlib.blake2b(digest_size=8)
    for part in (source, service, kind, at.isoformat(), version or ""):
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\x1f")
    return "chg-" + digest.hexdigest()


@dataclass(frozen=True, slots=True)
class Change:
    """One change to a running service, normalised from any supported format.

    ``service`` is the name the sender used; it is mapped onto the topology
    (aliases, case) when the change is observed. ``alt_services`` are other
    names the record offered (a CDEvents subject id *and* an artifact name),
    tried in order when ``service`` does not resolve.
    """

    id: str
    service: str
    kind: ChangeKind
    at: datetime
    version: str | None = None
    author: str | None = None
    link: str | None = None
    summary: str = ""
    environment: str | None = None
    source: str = "canonical"
    alt_services: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError("change id must not be empty")
        if not self.service:
            raise ValueError("change service must not be empty")
        object.__setattr__(self, "kind", ChangeKind(self.kind))
        object.__setattr__(self, "at", require_utc(self.at, "change time"))
        alternatives: object = self.alt_services  # typed a tuple; lists are accepted too
        if isinstance(alternatives, list):
            object.__setattr__(self, "alt_services", tuple(alternatives))

    @property
    def names(self) -> tuple[str, ...]:
        """Every service name the change carries, most specific first, without repeats."""
        seen: dict[str, None] = {self.service: None}
        for name in self.alt_services:
            seen.setdefault(name, None)
        return tuple(seen)
