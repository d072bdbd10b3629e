"""Engine configuration: a frozen, validated value object.

Loading is strict in the Alertmanager tradition: an unknown key is an error
that names the key and the file, because a misspelt setting that is silently
ignored is how correlation quietly degrades in production.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from correlator.errors import ConfigError

DEFAULT_SERVICE_LABEL_KEYS = ("service", "service.name", "service_name", "app", "job")

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_MAX_CONFIG_BYTES = 1_048_576


def parse_duration(value: object, what: str) -> timedelta:
    """Parse ``"90s"``, ``"5m"``, ``"1.5h"`` or a number of seconds."""
    if isinstance(value, bool):
        raise ConfigError(f"{what}: expected a duration like '5m', got {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (match := _DURATION.match(value)):
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    else:
        raise ConfigError(f"{what}: expected a duration like '30s', '5m' or '2h', got {value!r}")
    if seconds < 0:
        raise ConfigError(f"{what}: must not be negative, got {value!r}")
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    seconds = value.total_seconds()
    for unit in ("d", "h", "m", "s"):
        size = _UNIT_SECONDS[unit]
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """Every knob of the correlation engine, with production-sane defaults.

    Durations are in event time: the engine never reads a wall clock.
    """

    #: Session gap: an incident accepts related alerts while the time since its
    #: last related alert is at most this.
    gap: timedelta = timedelta(minutes=5)
    #: Hard cap on an incident's lifetime (from its first alert) for accepting
    #: new alerts; the next related alert opens a new, linked incident.
    max_lifetime: timedelta = timedelta(hours=6)
    #: Largest start-time difference between an alert and the alert that
    #: explains it through the topology (a fault propagates along a call edge
    #: within seconds; this bounds detection delays). Same-service alerts use
    #: ``gap`` instead.
    link_window: timedelta = timedelta(minutes=3)
    #: How much LATER than a symptom's alert the explaining (cause) alert may
    #: start: root-cause rules often carry long ``for:`` clauses, so a
    #: database alert can start minutes after the errors it causes upstream.
    cause_lag: timedelta = timedelta(minutes=5)
    #: Fallback links, used only when an alert has no explainer and no
    #: same-service peer: a service within max_hops in any direction (a
    #: missing or sibling edge), or any service for one outside the topology,
    #: whose alert started at most this far apart. 0 disables them (the
    #: default: on our simulated storms they merged more concurrent faults
    #: than they repaired missing edges; see docs/quality.md).
    proximity_window: timedelta = timedelta(0)
    #: Time-only links for alerts of services the topology does not know:
    #: such an alert, with no same-service peer, joins the incident of the
    #: known service's alert that started closest in time, at most this far
    #: apart. 0 disables it.
    unknown_window: timedelta = timedelta(seconds=30)
    #: Delay before an incident is first emitted, so that the root cause's
    #: alert can arrive (Alertmanager's ``group_wait``).
    hold: timedelta = timedelta(seconds=30)
    #: How far behind the newest event time an alert may be before it counts
    #: as late. The watermark is ``max event time - allowed_lateness``.
    allowed_lateness: timedelta = timedelta(seconds=30)
    #: Pure duplicate re-sends (count changes only) are published at most once
    #: per this much event time per incident, and always at the end of a replay.
    count_update_interval: timedelta = timedelta(seconds=60)
    #: Any other change to an incident already published (new members, a moved
    #: link, a new root cause) is published at most once per this much event time
    #: per incident, like Alertmanager's ``group_interval``: an incident of
    #: thousands of members growing in a storm is republished a few times, not
    #: once per batch. Opening, resolving, reopening and merging are published at
    #: once, and a replay always ends with every incident's final state. 0
    #: publishes every change at the next ``advance``.
    update_interval: timedelta = timedelta(seconds=5)
    #: An incident with no activity (new alert, re-send or resolve) for this
    #: long is resolved by timeout.
    inactivity_timeout: timedelta = timedelta(hours=24)
    #: A resolved incident stays reopenable for this long: a member alert that
    #: fires again within it reopens the incident instead of starting a new one.
    reopen_window: timedelta = timedelta(minutes=15)
    #: An incident accepts new alerts until it holds this many; the next related
    #: alert opens a new incident linked by ``previous_incident``, as after
    #: ``max_lifetime``. An incident of thousands of alerts has long stopped being
    #: read alert by alert; the cap bounds the work and memory one incident costs in
    #: a sustained storm (its members can then resolve, and it can close and be
    #: forgotten, instead of growing for ``max_lifetime``).
    max_members: int = 10_000
    #: A member alert that resolved this long before the incident's newest firing
    #: alert is shed: dropped from the incident's alert list (counted in
    #: ``stats.shed_alerts``) and from memory, while the services, severity and
    #: root-cause ranking keep what it contributed. Without it, an incident that
    #: keeps receiving alerts holds every alert it ever had for ``max_lifetime``,
    #: so a sustained storm grows memory without bound. It must exceed every link
    #: window, so that a shed alert could never have been linked again. 0 keeps
    #: every member.
    member_retention: timedelta = timedelta(hours=1)
    #: Topology hops within which two services are related.
    max_hops: int = 2
    #: Firing->resolved transitions after which a fingerprint is marked flapping.
    flap_threshold: int = 3
    #: How many ranked root-cause candidates each incident publishes.
    max_candidates: int = 5
    #: Label keys, in order, whose value names the service of an alert.
    service_label_keys: tuple[str, ...] = DEFAULT_SERVICE_LABEL_KEYS
    #: Payload limits applied by the codecs before and while parsing.
    max_payload_bytes: int = 1_048_576
    max_payload_depth: int = 64
    #: An alert stamped further than this ahead of the newest event time seen is
    #: held until a second alert confirms the jump (a quiet spell ended), else
    #: rejected as future-dated, so one bad clock cannot close every window.
    max_future_skew: timedelta = timedelta(hours=1)
    #: How deep (in topology hops) root-cause ranking looks for the services
    #: a candidate explains.
    rank_max_hops: int = 5
    #: How long fingerprints of closed incidents are remembered, so that late
    #: re-sends of already-closed alerts are recognised as duplicates.
    closed_retention: timedelta = timedelta(hours=1)

    def __post_init__(self) -> None:
        positive = ("gap", "max_lifetime", "max_future_skew", "link_window", "cause_lag")
        for name in positive:
            if getattr(self, name) <= timedelta(0):
                raise ConfigError(f"engine.{name} must be positive")
        if self.max_lifetime < self.gap:
            raise ConfigError("engine.max_lifetime must be at least engine.gap")
        if not 0 <= self.max_hops <= 6:
            raise ConfigError(f"engine.max_hops must be between 0 and 6, got {self.max_hops}")
        if not 1 <= self.rank_max_hops <= 12:
            raise ConfigError("engine.rank_max_hops must be between 1 and 12")
        if self.flap_threshold < 1:
            raise ConfigError("engine.flap_threshold must be at least 1")
        if self.max_members < 2:
            raise ConfigError("engine.max_members must be at least 2")
        if self.member_retention and self.member_retention < self.widest_link_window():
            raise ConfigError(
                "engine.member_retention must be 0 (keep every member) or at least the widest "
                f"link window ({format_duration(self.widest_link_window())}: gap, link_window, "
                "cause_lag, proximity_window, unknown_window)"
            )
        if not 1 <= self.max_candidates <= 50:
            raise ConfigError("engine.max_candidates must be between 1 and 50")
        if not self.service_label_keys or not all(self.service_label_keys):
            raise ConfigError("engine.service_label_keys must be a non-empty list of label names")
        if self.max_payload_bytes < 1024:
            raise ConfigError("engine.max_payload_bytes must be at least 1024")
        if not 2 <= self.max_payload_depth <= 512:
            raise ConfigError("engine.max_payload_depth must be between 2 and 512")

    def widest_link_window(self) -> timedelta:
        """How far apart in time two alerts may be and still be linked, by any rule."""
        return max(
            self.gap, self.link_window, self.cause_lag, self.proximity_window, self.unknown_window
        )

    def with_overrides(self, **changes: Any) -> EngineConfig:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, timedelta):
                value = format_duration(value)
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out


_DURATION_FIELDS = {f.name for f in fields(EngineConfig) if f.type in ("timedelta", timedelta)}
_INT_FIELDS = {
    "max_hops",
    "max_members",
    "flap_threshold",
    "max_candidates",
    "max_payload_bytes",
    "max_payload_depth",
    "rank_max_hops",
}
_KNOWN = {f.name for f in fields(EngineConfig)}


def strict_section(
    data: object, *, section: str, known: Iterable[str], source: str
) -> dict[str, Any] | None:
    """Check one config section: a mapping (or absent) with no unknown keys."""
    if data is None:
        return None
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: {section} must be a mapping, got {type(data).__name__}")
    allowed = set(known)
    unknown = sorted(set(map(str, data)) - allowed)
    if unknown:
        raise ConfigError(
            f"{source}: unknown {section} setting(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(sorted(allowed))}"
        )
    return data


def parse_int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{what}: expected an integer, got {value!r}")
    return value


def engine_config_from_mapping(data: object, *, source: str = "<config>") -> EngineConfig:
    """Build an :class:`EngineConfig` from a parsed mapping, strictly."""
    checked = strict_section(data, section="engine", known=_KNOWN, source=source)
    if checked is None:
        return EngineConfig()
    data = checked
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        what = f"{source}: engine.{key}"
        if key in _DURATION_FIELDS:
            kwargs[key] = parse_duration(value, what)
        elif key in _INT_FIELDS:
            kwargs[key] = parse_int(value, what)
        elif key == "service_label_keys":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{what}: expected a list of label names")
            kwargs[key] = tuple(value)
    try:
        return EngineConfig(**kwargs)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None


def read_config_document(path: str | Path) -> dict[str, Any]:
    """Read a YAML config file into its top-level mapping ({} for an empty file).

    Size is checked before parsing and YAML is only ever loaded safely.
    """
    p = Path(path)
    try:
        if p.stat().st_size > _MAX_CONFIG_BYTES:
            raise ConfigError(f"{p}: config file is larger than {_MAX_CONFIG_BYTES} bytes")
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read config: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{p}: config is not valid UTF-8") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: invalid YAML: {str(exc).splitlines()[0]}") from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise ConfigError(f"{p}: expected a mapping at the top level")
    return doc


def load_engine_config(path: str | Path) -> EngineConfig:
    """Load ``configs/engine.yaml``-style files: a top-level ``engine:`` mapping.

    Other top-level sections (``kafka:``, ``changes:``...) belong to other
    stages and are ignored here, but the ``engine`` section itself is strict.
    """
    doc = read_config_document(path)
    return engine_config_from_mapping(doc.get("engine"), source=str(path))
