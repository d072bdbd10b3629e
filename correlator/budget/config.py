"""Settings of error budgets and the deploy gate (the ``gate:`` section).

Frozen and validated once, like every Correlator config; the YAML loader is
strict about unknown keys, because a misspelt threshold that silently keeps
its default is how a gate quietly stops protecting anything.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import timedelta
from types import MappingProxyType
from typing import Any

from correlator.config import format_duration, parse_duration, strict_section
from correlator.errors import ConfigError
from correlator.model import Severity

__all__ = ["DEFAULT_SEVERITY_WEIGHTS", "GateConfig", "gate_config_from_mapping"]

#: How much of a service's budget one second of an incident of each severity
#: spends: a critical incident is counted as a full outage, an error one as
#: half the requests failing, a warning as a tenth; info never spends budget.
DEFAULT_SEVERITY_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {"critical": 1.0, "error": 0.5, "warning": 0.1, "info": 0.0}
)
_SEVERITIES = tuple(s.value for s in Severity)


@dataclass(frozen=True, slots=True)
class GateConfig:
    """Thresholds of budgets, priority and the deploy gate."""

    #: Open incidents of these severities close the gate of every service they
    #: touch (root cause or blast radius).
    close_severities: tuple[str, ...] = ("critical",)
    #: The gate turns ``caution`` when less than this share of the budget is left.
    caution_budget_below: float = 0.25
    #: An incident on a service with less than this share left gets priority "raised".
    raise_priority_below: float = 0.1
    #: Computed fast burn: burn rate over BOTH the last 1 h and the last 5 min at
    #: least this (Google SRE Workbook: 14.4 spends 2 % of a 30-day budget in 1 h).
    fast_burn_rate: float = 14.4
    #: A firing burn-rate alert counts for this long after it was last seen
    #: (a lost resolve must not close a gate forever).
    burn_alert_ttl: timedelta = timedelta(hours=1)
    #: Budget seconds spent per incident second, by incident severity.
    severity_weights: Mapping[str, float] = field(default_factory=lambda: DEFAULT_SEVERITY_WEIGHTS)

    def __post_init__(self) -> None:
        severities: object = self.close_severities
        if isinstance(severities, list):
            object.__setattr__(self, "close_severities", tuple(severities))
        for name in self.close_severities:
            if name not in _SEVERITIES:
                raise ConfigError(
                    f"gate.close_severities: {name!r} is not one of {', '.join(_SEVERITIES)}"
                )
        for name in ("caution_budget_below", "raise_priority_below"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                raise ConfigError(f"gate.{name} must be a fraction between 0 and 1, got {value!r}")
        rate = self.fast_burn_rate
        if (
            isinstance(rate, bool)
            or not isinstance(rate, int | float)
            or not (math.isfinite(rate) and rate > 0)
        ):
            raise ConfigError(f"gate.fast_burn_rate must be a positive number, got {rate!r}")
        if self.burn_alert_ttl <= timedelta(0):
            raise ConfigError("gate.burn_alert_ttl must be positive")
        weights = dict(DEFAULT_SEVERITY_WEIGHTS)
        for name, weight in dict(self.severity_weights).items():
            if name not in _SEVERITIES:
                raise ConfigError(
                    f"gate.severity_weights: {name!r} is not one of {', '.join(_SEVERITIES)}"
                )
            if (
                isinstance(weight, bool)
                or not isinstance(weight, int | float)
                or not (0 <= weight <= 1)
            ):
                raise ConfigError(
                    f"gate.severity_weights.{name} must be between 0 and 1, got {weight!r}"
                )
            weights[name] = float(weight)
        object.__setattr__(self, "severity_weights", MappingProxyType(weights))

    def weight(self, severity: str) -> float:
        """Budget seconds per incident second at this severity (0 for unknown words)."""
        return self.severity_weights.get(severity, 0.0)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, timedelta):
                value = format_duration(value)
            elif isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, Mapping):
                value = dict(value)
            out[f.name] = value
        return out


_KNOWN = frozenset(f.name for f in fields(GateConfig))
_FRACTIONS = ("caution_budget_below", "raise_priority_below", "fast_burn_rate")


def gate_config_from_mapping(data: object, *, source: str = "<config>") -> GateConfig:
    """Build a :class:`GateConfig` from the parsed ``gate:`` section, strictly."""
    checked = strict_section(data, section="gate", known=_KNOWN, source=source)
    if checked is None:
        return GateConfig()
    kwargs: dict[str, Any] = {}
    for key, value in checked.items():
        what = f"{source}: gate.{key}"
        if key == "burn_alert_ttl":
            kwargs[key] = parse_duration(value, what)
        elif key == "close_severities":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{what}: expected a list of severities")
            kwargs[key] = tuple(value)
        elif key == "severity_weights":
            if not isinstance(value, dict):
                raise ConfigError(f"{what}: expected a mapping of severity to weight")
            kwargs[key] = dict(value)
        elif key in _FRACTIONS:
            kwargs[key] = value
    try:
        return GateConfig(**kwargs)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None
