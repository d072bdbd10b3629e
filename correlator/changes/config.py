"""Settings of change correlation (the ``changes:`` section), strict like the engine's.

The numbers here shape which changes an incident names and in what order,
so they live in one frozen, validated value; the YAML loader rejects
unknown keys with the list of allowed ones.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import timedelta
from typing import Any

from correlator.config import (
    format_duration,
    parse_duration,
    parse_int,
    read_config_document,
    strict_section,
)
from correlator.errors import ConfigError

__all__ = ["ChangesConfig", "changes_config_from_mapping", "read_config_document"]


@dataclass(frozen=True, slots=True)
class ChangesConfig:
    """How suspect changes are found and ranked. Durations are in event time."""

    #: How far before an incident's first alert a change is still a suspect.
    lookback: timedelta = timedelta(minutes=60)
    #: Changes up to this long AFTER the first alert still count as "before":
    #: CD systems report a deploy when the rollout finishes, after the first
    #: new pods already serve traffic, and clocks differ between systems.
    grace: timedelta = timedelta(minutes=1)
    #: Proximity weight halves for every this much time between change and first alert.
    half_life: timedelta = timedelta(minutes=20)
    #: Dependencies of the root-cause service within this many hops are searched too.
    dependency_hops: int = 1
    #: Suspects published per incident.
    max_suspects: int = 5
    #: How long observed changes are kept (in event time) for incidents to refer to.
    retention: timedelta = timedelta(hours=24)

    def __post_init__(self) -> None:
        for name in ("lookback", "half_life", "retention"):
            if getattr(self, name) <= timedelta(0):
                raise ConfigError(f"changes.{name} must be positive")
        if self.grace < timedelta(0):
            raise ConfigError("changes.grace must not be negative")
        if self.retention < self.lookback:
            raise ConfigError("changes.retention must be at least changes.lookback")
        if type(self.dependency_hops) is not int or not 0 <= self.dependency_hops <= 6:
            raise ConfigError(
                f"changes.dependency_hops must be between 0 and 6, got {self.dependency_hops!r}"
            )
        if type(self.max_suspects) is not int or not 1 <= self.max_suspects <= 50:
            raise ConfigError(
                f"changes.max_suspects must be between 1 and 50, got {self.max_suspects!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        return {
            f.name: format_duration(v) if isinstance(v := getattr(self, f.name), timedelta) else v
            for f in fields(self)
        }


_DURATIONS = ("lookback", "grace", "half_life", "retention")
_INTS = ("dependency_hops", "max_suspects")
_KNOWN = frozenset(f.name for f in fields(ChangesConfig))


def changes_config_from_mapping(data: object, *, source: str = "<config>") -> ChangesConfig:
    """Build a :class:`ChangesConfig` from the parsed ``changes:`` section, strictly."""
    checked = strict_section(data, section="changes", known=_KNOWN, source=source)
    if checked is None:
        return ChangesConfig()
    kwargs: dict[str, Any] = {}
    for key, value in checked.items():
        what = f"{source}: changes.{key}"
        if key in _DURATIONS:
            kwargs[key] = parse_duration(value, what)
        elif key in _INTS:
            kwargs[key] = parse_int(value, what)
    try:
        return ChangesConfig(**kwargs)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None
