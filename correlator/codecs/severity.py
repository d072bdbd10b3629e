"""Severity normalisation: many senders' vocabularies onto four levels.

Prometheus rules, Sloth (``page``/``ticket``), PagerDuty and priority-style
labels (``p1``..``p5``) all end up here. Unknown or absent values become
``warning``: an alert whose urgency we cannot read should neither page as
critical nor vanish as info.
"""

from __future__ import annotations

from correlator.model import Severity

__all__ = ["DEFAULT_SEVERITY", "normalise_severity"]

DEFAULT_SEVERITY = Severity.WARNING

_ALIASES: dict[str, Severity] = {
    **dict.fromkeys(("critical", "crit", "page", "p1"), Severity.CRITICAL),
    **dict.fromkeys(("error", "high", "major", "p2"), Severity.ERROR),
    **dict.fromkeys(("warning", "warn", "ticket", "minor", "medium", "p3"), Severity.WARNING),
    **dict.fromkeys(("info", "low", "none", "p4", "p5"), Severity.INFO),
}


def normalise_severity(value: str | None) -> Severity:
    """Map a sender's severity word (any case, surrounding blanks) to a :class:`Severity`."""
    if not value:
        return DEFAULT_SEVERITY
    found = _ALIASES.get(value)
    if found is None:
        found = _ALIASES.get(value.strip().lower(), DEFAULT_SEVERITY)
    return found
