"""Change correlation: link incidents to the deploys and config changes behind them.

Changes arrive as canonical change records, CDEvents service events or
PagerDuty change events (:func:`decode_change`, never raises). A
:class:`ChangeLog` keeps them per topology service; :func:`rank_suspects`
ranks the ones near an incident (see :mod:`.suspects` for the exact rule
and weights). :class:`correlator.enrich.Enricher` wires it into incident
events as ``suspect_changes``.
"""

from correlator.changes.canonical import decode_canonical_change, encode_change
from correlator.changes.config import ChangesConfig, changes_config_from_mapping
from correlator.changes.decoder import (
    CHANGE_FORMATS,
    decode_change,
    decode_change_value,
    detect_change_format,
)
from correlator.changes.model import Change, ChangeKind, change_id
from correlator.changes.scope import scope_from_event
from correlator.changes.store import ChangeLog, resolve_change_service
from correlator.changes.suspects import (
    IncidentScope,
    Relation,
    ResolvedChange,
    Suspect,
    rank_suspects,
)

__all__ = [
    "CHANGE_FORMATS",
    "Change",
    "ChangeKind",
    "ChangeLog",
    "ChangesConfig",
    "IncidentScope",
    "Relation",
    "ResolvedChange",
    "Suspect",
    "change_id",
    "changes_config_from_mapping",
    "decode_canonical_change",
    "decode_change",
    "decode_change_value",
    "detect_change_format",
    "encode_change",
    "rank_suspects",
    "resolve_change_service",
    "scope_from_event",
]
