"""Error budgets and the deploy gate: let reliability gate velocity.

SLOs come from the topology (``Service.slo``). :class:`BudgetLedger` turns
correlated incidents into budget spend (rules in :mod:`.ledger`),
:func:`recognise_burn_alert` reads Sloth, Pyrra and Grafana SLO burn-rate
alerts, and :class:`GateBook` keeps every service's gate ``open``,
``caution`` or ``closed`` (rules in :mod:`.gate`). All pure: time is event
time, passed in.
"""

from correlator.budget.arithmetic import (
    burn_rate,
    error_budget_seconds,
    overlap_seconds,
    remaining_fraction,
)
from correlator.budget.burn import BurnSignal, BurnSource, BurnSpeed, recognise_burn_alert
from correlator.budget.config import DEFAULT_SEVERITY_WEIGHTS, GateConfig, gate_config_from_mapping
from correlator.budget.gate import GATE_STATE_KIND, GateBook, GateReason, GateState
from correlator.budget.ledger import BudgetLedger, BudgetStatus, Impairment

__all__ = [
    "DEFAULT_SEVERITY_WEIGHTS",
    "GATE_STATE_KIND",
    "BudgetLedger",
    "BudgetStatus",
    "BurnSignal",
    "BurnSource",
    "BurnSpeed",
    "GateBook",
    "GateConfig",
    "GateReason",
    "GateState",
    "Impairment",
    "burn_rate",
    "error_budget_seconds",
    "gate_config_from_mapping",
    "overlap_seconds",
    "recognise_burn_alert",
    "remaining_fraction",
]
