"""Recognise SLO burn-rate alerts from the tools that generate them.

A burn-rate alert is the SLO system's own verdict, so it is taken as direct
evidence, before any budget Correlator computes itself:

* **Sloth**: labels ``sloth_service``, ``sloth_slo`` and ``sloth_severity``;
  ``page`` is a fast burn, ``ticket`` a slow one (other values: not a burn
  alert). The service is ``sloth_service``.
* **Grafana SLO**: label ``grafana_slo_uuid``; ``grafana_slo_severity``
  ``critical`` is a fast burn, ``warning`` a slow one. The SLO is named by
  ``grafana_slo_name`` if present, else the uuid.
* **Pyrra**: a ``slo`` label on an alert named ``ErrorBudgetBurn`` or carrying
  Pyrra's ``long``/``short`` window labels (a bare ``slo`` label is too
  common to trust). Severity ``critical`` is a fast burn, anything else slow.

For Grafana and Pyrra the service is the alert's own service.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from correlator.model import Alert, Severity

__all__ = ["BurnSignal", "BurnSource", "BurnSpeed", "recognise_burn_alert"]


class BurnSpeed(StrEnum):
    FAST = "fast"
    SLOW = "slow"


class BurnSource(StrEnum):
    SLOTH = "sloth"
    GRAFANA_SLO = "grafana_slo"
    PYRRA = "pyrra"


@dataclass(frozen=True, slots=True)
class BurnSignal:
    """What a burn-rate alert says: which SLO of which service burns, and how fast."""

    service: str  # as the alert names it; resolve through the topology
    slo: str
    speed: BurnSpeed
    source: BurnSource
    fingerprint: str
    firing: bool


_SLOTH_SPEED = {"page": BurnSpeed.FAST, "ticket": BurnSpeed.SLOW}
_GRAFANA_SPEED = {"critical": BurnSpeed.FAST, "warning": BurnSpeed.SLOW}


def recognise_burn_alert(alert: Alert) -> BurnSignal | None:
    """The burn signal an alert carries, or None for an ordinary alert."""
    labels = alert.labels
    sloth = labels.get("sloth_severity")
    if sloth is not None and (speed := _SLOTH_SPEED.get(sloth.lower())) is not None:
        service = labels.get("sloth_service") or alert.service
        slo = labels.get("sloth_slo") or labels.get("sloth_id") or alert.name
        return BurnSignal(service, slo, speed, BurnSource.SLOTH, alert.fingerprint,
                          alert.is_firing)
    uuid = labels.get("grafana_slo_uuid")
    if uuid:
        grafana = (labels.get("grafana_slo_severity") or "").lower()
        speed_g = _GRAFANA_SPEED.get(grafana)
        if speed_g is None:
            return None
        slo = labels.get("grafana_slo_name") or uuid
        return BurnSignal(alert.service, slo, speed_g, BurnSource.GRAFANA_SLO,
                          alert.fingerprint, alert.is_firing)
    pyrra = labels.get("slo")
    if pyrra and (alert.name == "ErrorBudgetBurn" or ("long" in labels and "short" in labels)):
        speed_p = BurnSpeed.FAST if alert.severity is Severity.CRITICAL else BurnSpeed.SLOW
        return BurnSignal(alert.service, pyrra, speed_p, BurnSource.PYRRA, alert.fingerprint,
                          alert.is_firing)
    return None
