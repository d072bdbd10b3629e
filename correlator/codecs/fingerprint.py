"""Alert identities when the sender gives none.

:func:`alert_fingerprint` is the Prometheus/Alertmanager label-set
fingerprint: FNV-1a 64 over the label names in byte order, each name and
value followed by the separator byte ``0xff``, printed as 16 lowercase hex
digits. Using the same function means an alert we fingerprint ourselves gets
the identity Alertmanager would give the same label set.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from functools import lru_cache

__all__ = ["alert_fingerprint", "derived_dedup_key", "pagerduty_fingerprint"]

_FNV_OFFSET = 14695981039346656037
_FNV_PRIME = 1099511628211
_MASK = (1 << 64) - 1
_SEPARATOR = 0xFF


def alert_fingerprint(labels: Mapping[str, str]) -> str:
    """16 lowercase hex digits identifying a label set, as Alertmanager computes it."""
    return _fingerprint_items(tuple(sorted(labels.items())))


@lru_cache(maxsize=8192)
def _fingerprint_items(items: tuple[tuple[str, str], ...]) -> str:
    # Cached because senders re-send the same label sets at every group interval.
    h = _FNV_OFFSET
    for name, value in items:
        for part in (name, value):
            for byte in part.encode("utf-8", "surrogatepass"):
                h = ((h ^ byte) * _FNV_PRIME) & _MASK
            h = ((h ^ _SEPARATOR) * _FNV_PRIME) & _MASK
    return f"{h:016x}"


def _short_hash(*parts: str) -> str:
    digest = hashlib.blake2b(digest_size=8)
    for part in parts:
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\x1f")
    return digest.hexdigest()


def pagerduty_fingerprint(dedup_key: str) -> str:
    """Identity of a PagerDuty alert: a 16-hex hash of ``("pagerduty", dedup_key)``.

    PagerDuty's own identity is the dedup key; hashing it keeps fingerprints
    uniformly 16 hex digits and separate from label-set fingerprints.
    """
    return _short_hash("pagerduty", dedup_key)


def derived_dedup_key(routing_key: str, source: str, summary: str) -> str:
    """Deterministic dedup key for a trigger that has none.

    PagerDuty generates a random key server-side in that case, which we can
    never learn; deriving one from routing key, source and summary at least
    makes repeated identical triggers collapse into one alert.
    """
    return "derived:" + _short_hash(routing_key, source, summary)
