"""Map an alert onto a topology service.

Senders name services inconsistently (``checkout``, ``checkout-svc``, a
Kubernetes deployment name, ``job=checkout``). The codec already picked the
first configured service label; here we try that name and then every other
configured label value against the topology's ids and aliases, so a single
well-placed alias is enough to connect a sender to the graph.
"""

from __future__ import annotations

from collections.abc import Sequence

from correlator.model import Alert
from topology import Topology

_CACHE_LIMIT = 200_000


class ServiceResolver:
    """Resolves alerts to canonical service ids; caches per distinct label set."""

    __slots__ = ("_cache", "_label_keys", "_topology")

    def __init__(self, topology: Topology, label_keys: Sequence[str]) -> None:
        self._topology = topology
        self._label_keys = tuple(label_keys)
        self._cache: dict[tuple[str, ...], str | None] = {}

    def resolve(self, alert: Alert) -> tuple[str, bool]:
        """Return ``(service, known)``: the canonical id, or the raw name if unknown."""
        labels = alert.labels
        key = (alert.service, *(labels.get(k, "") for k in self._label_keys))
        cached = self._cache.get(key, _MISSING)
        if cached is _MISSING:
            cached = self._lookup(key)
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[key] = cached
        if cached is None:
            return alert.service, False
        return str(cached), True

    def _lookup(self, names: tuple[str, ...]) -> str | None:
        for name in names:
            if name:
                found = self._topology.resolve(name)
                if found is not None:
                    return found
        return None


_MISSING: object = object()
