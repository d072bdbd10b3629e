"""Correlation domains for the stream router: a re-export of :mod:`correlator.domains`.

The domain logic is pure (topology and networkx only), so it lives in the core, where the
multi-partition replay uses it too; this module keeps the historical import path.
"""

from __future__ import annotations

from correlator.domains import (
    UNKNOWN_DOMAIN,
    DomainMap,
    build_domain_map,
    partition_for,
    stable_hash,
)

__all__ = ["UNKNOWN_DOMAIN", "DomainMap", "build_domain_map", "partition_for", "stable_hash"]
