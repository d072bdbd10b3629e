"""Synthetic service graphs shaped like production microservice call graphs.

Studies of large fleets (for example Alibaba's published call-graph traces)
keep finding the same shape: a few entry points (gateways, plus some batch
workers), many leaves, shared databases and caches with heavy-tailed fan-in,
and call chains mostly two to four hops deep. The generator builds graphs in
layers -- gateway, edge (BFF) services, domain services, core services, data
stores -- and picks callees by preferential attachment, so popular
components become more popular, which is what produces the heavy tail.
Callees also prefer their caller's business domain, as real teams do.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from topology import Service, Topology

_DOMAINS = (
    "orders", "payments", "cart", "catalog", "inventory", "shipping", "users", "auth",
    "search", "pricing", "billing", "invoices", "reviews", "ratings", "recommend", "ads",
    "email", "sms", "notify", "loyalty", "coupons", "wishlist", "checkout", "fraud",
    "risk", "ledger", "accounts", "profile", "session", "media", "images", "video",
    "geo", "tax", "currency", "returns", "support", "chat", "feeds", "social",
    "analytics", "reporting", "audit", "config", "flags", "experiments", "partners",
    "vendors", "warehouse", "fulfilment", "delivery", "tracking", "subscriptions",
    "gifts", "stores", "menus", "bookings", "identity", "consent", "compliance",
)
_ROLES = (
    "api", "service", "backend", "manager", "processor", "sync", "indexer",
    "scheduler", "resolver", "aggregator", "adapter", "engine", "store", "writer",
    "reader", "validator", "router", "orchestrator",
)
_GATEWAYS = (
    "edge-gateway", "mobile-gateway", "partner-gateway", "admin-gateway",
    "public-api-gateway", "internal-gateway", "graphql-gateway", "webhook-gateway",
    "b2b-gateway", "store-gateway", "kiosk-gateway", "backoffice-gateway",
)
_STORE_SUFFIX = {"database": ("db", "postgres", "pg"), "cache": ("redis", "cache"),
                 "queue": ("events", "kafka", "queue")}


# Slightly super-linear preferential attachment: a few platform components
# (auth, config, a shared cache) end up called by a large share of the fleet.
_ATTACHMENT = 1.3


@dataclass(slots=True)
class _Node:
    id: str
    kind: str
    layer: int  # 0 gateway/worker, 1 edge, 2 domain, 3 core, 4 data store
    domain: str
    deps: list[str] = field(default_factory=list)
    callers: int = 0


class _Namer:
    """Hands out unique, realistic names; numbered suffixes only once combos run out."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._used: set[str] = set()

    def take(self, base: str) -> str:
        name, n = base, 2
        while name in self._used:
            name, n = f"{base}-{n}", n + 1
        self._used.add(name)
        return name

    def service(self, domain: str) -> str:
        for _ in range(8):
            candidate = f"{domain}-{self._rng.choice(_ROLES)}"
            if candidate not in self._used:
                return self.take(candidate)
        return self.take(f"{domain}-{self._rng.choice(_ROLES)}")

    def store(self, domain: str, kind: str) -> str:
        return self.take(f"{domain}-{self._rng.choice(_STORE_SUFFIX[kind])}")


def _counts(n: int) -> dict[str, int]:
    gateways = max(1, min(len(_GATEWAYS), round(n * 0.008)))
    databases = max(1, round(n * 0.14))
    caches = max(1, round(n * 0.06))
    queues = max(1, round(n * 0.03)) if n >= 20 else 0
    workers = round(n * 0.015)
    services = n - gateways - databases - caches - queues - workers
    return {"gateway": gateways, "database": databases, "cache": caches, "queue": queues,
            "worker": workers, "service": services}


def _pick(
    rng: random.Random,
    caller: _Node,
    pool: list[_Node],
    k: int,
    *,
    alpha: float = 1.0,
) -> list[_Node]:
    """Choose up to ``k`` distinct callees: preferential attachment plus domain affinity."""
    chosen: list[_Node] = []
    if len(pool) > _EXACT_POOL:
        pool = _shortlist(rng, pool)
    candidates = [c for c in pool if c.id != caller.id and c.id not in caller.deps]
    for _ in range(min(k, len(candidates))):
        weights = [
            (c.callers + alpha) ** _ATTACHMENT * (4.0 if c.domain == caller.domain else 1.0)
            for c in candidates
        ]
        pick = rng.choices(candidates, weights=weights, k=1)[0]
        candidates.remove(pick)
        chosen.append(pick)
    return chosen


_EXACT_POOL = 400


def _shortlist(rng: random.Random, pool: list[_Node]) -> list[_Node]:
    """A bounded candidate list for huge pools, keeping preferential attachment.

    Exact weighted sampling over the whole pool costs O(pool) per pick, so
    O(n^2) for a large graph. Half the shortlist is uniform; the other half is
    drawn from the list of every edge's callee (a node appears once per
    caller: the Barabasi-Albert trick), so hubs keep growing.
    """
    size = _EXACT_POOL // 2
    members = _POOL_IDS.get(id(pool))
    if members is None or members[0] != len(pool):
        members = (len(pool), {c.id for c in pool})
        _POOL_IDS[id(pool)] = members
    ids = members[1]
    picked: dict[str, _Node] = {c.id: c for c in rng.sample(pool, size)}
    if _ENDPOINTS:
        for node in rng.choices(_ENDPOINTS, k=size * 2):
            if node.id in ids:
                picked.setdefault(node.id, node)
    return list(picked.values())


_POOL_IDS: dict[int, tuple[int, set[str]]] = {}
_ENDPOINTS: list[_Node] = []


def _link(caller: _Node, callees: list[_Node]) -> None:
    for callee in callees:
        if callee.id not in caller.deps:
            caller.deps.append(callee.id)
            callee.callers += 1
            _ENDPOINTS.append(callee)


def generate_topology(n: int, seed: int | random.Random) -> Topology:
    """Build a plausible call graph of ``n`` components (at least 8), deterministic per seed."""
    if n < 8:
        raise ValueError(f"generate_topology needs at least 8 services, got {n}")
    rng = seed if isinstance(seed, random.Random) else random.Random(seed)
    _POOL_IDS.clear()
    _ENDPOINTS.clear()
    counts = _counts(n)
    namer = _Namer(rng)
    domains = list(_DOMAINS[: max(3, min(len(_DOMAINS), n // 12))])

    gateways = [_Node(namer.take(g), "gateway", 0, rng.choice(domains))
                for g in _GATEWAYS[: counts["gateway"]]]
    n_services = counts["service"]
    n_edge = max(1, round(n_services * 0.12))
    n_domain = max(1, round(n_services * 0.38))
    n_core = max(1, n_services - n_edge - n_domain)
    layers: dict[int, list[_Node]] = {}
    for layer, size in ((1, n_edge), (2, n_domain), (3, n_core)):
        layers[layer] = [
            _Node(namer.service(d), "service", layer, d)
            for d in (rng.choice(domains) for _ in range(size))
        ]
    workers = [_Node(namer.take(f"{d}-worker"), "service", 0, d)
               for d in (rng.choice(domains) for _ in range(counts["worker"]))]
    stores = {
        kind: [_Node(namer.store(d, kind), kind, 4, d)
               for d in (rng.choice(domains) for _ in range(counts[kind]))]
        for kind in ("database", "cache", "queue")
    }

    # Calls between service layers; a skip to the layer after next is rarer.
    for gw in gateways:
        _link(gw, _pick(rng, gw, layers[1], rng.randint(3, 12)))
    for node in layers[1]:
        _link(node, _pick(rng, node, layers[2], rng.randint(1, 5)))
        if rng.random() < 0.25:
            _link(node, _pick(rng, node, layers[3], 1))
    for node in layers[2]:
        _link(node, _pick(rng, node, layers[3], rng.choice((0, 1, 1, 2, 2, 3, 4))))
    for worker in workers:
        _link(worker, _pick(rng, worker, layers[2] + layers[3], rng.randint(1, 3)))

    # Data stores: many services own one database; caches and queues are shared.
    callers = layers[1] + layers[2] + layers[3] + workers
    unowned = list(stores["database"])
    rng.shuffle(unowned)
    for node in callers:
        if node.layer >= 2 and unowned and rng.random() < 0.45:
            _link(node, [unowned.pop()])
        roll = rng.random()
        if roll < 0.35:
            _link(node, _pick(rng, node, stores["database"], 1, alpha=0.5))
        if rng.random() < 0.3:
            _link(node, _pick(rng, node, stores["cache"], 1, alpha=0.5))
        if stores["queue"] and (node.layer == 0 or rng.random() < 0.08):
            _link(node, _pick(rng, node, stores["queue"], 1, alpha=0.5))

    # Every component needs a caller, or it would be an entry point of its own.
    above = {1: gateways, 2: layers[1], 3: layers[2] + layers[1], 4: layers[3] + layers[2]}
    for layer in (1, 2, 3):
        for node in layers[layer]:
            if node.callers == 0:
                _link(rng.choice(above[layer]), [node])
    for kind in ("database", "cache", "queue"):
        for node in stores[kind]:
            if node.callers == 0:
                _link(rng.choice(above[4]), [node])

    everything = gateways + workers + layers[1] + layers[2] + layers[3]
    everything += stores["database"] + stores["cache"] + stores["queue"]
    taken: set[str] = {node.id for node in everything}
    return Topology.from_services([_service(node, rng, taken) for node in everything])


_TIER = {0: "edge", 1: "frontline", 2: "domain", 3: "core", 4: "data"}


def _service(node: _Node, rng: random.Random, taken: set[str]) -> Service:
    """Freeze a node; one service in five gets a deployment-style alias (``ordersapi``)."""
    aliases: tuple[str, ...] = ()
    alias = node.id.replace("-", "")
    if node.kind == "service" and rng.random() < 0.2 and alias not in taken:
        taken.add(alias)
        aliases = (alias,)
    criticality = "critical" if node.layer in (0, 4) and node.callers > 3 else None
    return Service(
        id=node.id,
        kind=node.kind,
        team=f"team-{node.domain}",
        tier=_TIER[node.layer],
        criticality=criticality,
        aliases=aliases,
        depends_on=tuple(node.deps),
    )
