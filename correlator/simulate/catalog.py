"""Alert rules a real fleet would have, by kind of service.

A storm is only a fair test if its alerts look like the ones on-call engineers
actually see: a failing database says ``PostgresDown`` or ``ReplicationLag``,
the services calling it say ``HighErrorRate`` or ``HighLatency``. The catalog
splits each kind's rules into *cause* alerts (what the broken component itself
reports) and *symptom* alerts (what a component reports when something it calls
is broken), plus low-stakes *noise* rules that fire on their own.
"""

from __future__ import annotations

from dataclasses import dataclass

from correlator.model import Severity


@dataclass(frozen=True, slots=True)
class Rule:
    """One alerting rule: its name, usual severity and summary template."""

    name: str
    severity: Severity
    summary: str  # ``{service}`` is replaced by the service's name


def _r(name: str, severity: Severity, summary: str) -> Rule:
    return Rule(name, severity, summary)


CRIT, ERR, WARN, INFO = Severity.CRITICAL, Severity.ERROR, Severity.WARNING, Severity.INFO

CAUSE_RULES: dict[str, tuple[Rule, ...]] = {
    "database": (
        _r("PostgresDown", CRIT, "{service}: primary is not accepting connections"),
        _r("PostgresHighConnections", WARN, "{service}: connections above 90% of max_connections"),
        _r("PostgresReplicationLag", ERR, "{service}: replica lag above 30s"),
        _r("PostgresSlowQueries", WARN, "{service}: p99 query time above 2s"),
        _r("PostgresDiskAlmostFull", ERR, "{service}: data volume above 90%"),
    ),
    "cache": (
        _r("RedisDown", CRIT, "{service}: instance unreachable"),
        _r("RedisHighEvictions", WARN, "{service}: evicting keys faster than 100/s"),
        _r("RedisMemoryHigh", WARN, "{service}: memory above 95% of maxmemory"),
        _r("RedisRejectedConnections", ERR, "{service}: rejecting client connections"),
    ),
    "queue": (
        _r("KafkaBrokerDown", CRIT, "{service}: broker offline"),
        _r("KafkaUnderReplicatedPartitions", ERR, "{service}: partitions under-replicated"),
        _r("KafkaConsumerLag", WARN, "{service}: consumer group lag above 10k"),
        _r("KafkaProduceErrors", ERR, "{service}: produce request errors"),
    ),
    "service": (
        _r("PodCrashLooping", CRIT, "{service}: pod restarting repeatedly"),
        _r("HighErrorRate", CRIT, "{service}: 5xx ratio above 5%"),
        _r("HighLatency", WARN, "{service}: p99 latency above 1s"),
        _r("PodOOMKilled", ERR, "{service}: container killed for exceeding memory"),
        _r("DeploymentReplicasMismatch", ERR, "{service}: available replicas below desired"),
    ),
    "gateway": (
        _r("Ingress5xxRate", CRIT, "{service}: 5xx ratio above 2% at the edge"),
        _r("IngressHighLatency", WARN, "{service}: p99 latency above 2s at the edge"),
        _r("GatewayUpstreamUnavailable", ERR, "{service}: no healthy upstream"),
    ),
}

SYMPTOM_RULES: dict[str, tuple[Rule, ...]] = {
    "database": (
        _r("PostgresHighConnections", WARN, "{service}: connections above 90% of max_connections"),
        _r("PostgresSlowQueries", WARN, "{service}: p99 query time above 2s"),
    ),
    "cache": (
        _r("RedisHighLatency", WARN, "{service}: command latency above 10ms"),
        _r("RedisRejectedConnections", ERR, "{service}: rejecting client connections"),
    ),
    "queue": (
        _r("KafkaConsumerLag", WARN, "{service}: consumer group lag above 10k"),
        _r("QueueDepthGrowing", WARN, "{service}: backlog growing for 5m"),
    ),
    "service": (
        _r("HighErrorRate", ERR, "{service}: 5xx ratio above 5%"),
        _r("HighLatency", WARN, "{service}: p99 latency above 1s"),
        _r("UpstreamTimeouts", ERR, "{service}: calls to dependencies timing out"),
        _r("CircuitBreakerOpen", WARN, "{service}: circuit breaker open to a dependency"),
        _r("PodCrashLooping", CRIT, "{service}: pod restarting repeatedly"),
    ),
    "gateway": (
        _r("Ingress5xxRate", CRIT, "{service}: 5xx ratio above 2% at the edge"),
        _r("IngressHighLatency", WARN, "{service}: p99 latency above 2s at the edge"),
    ),
}

# Rules that fire on their own, unrelated to any fault elsewhere.
NOISE_RULES: dict[str, tuple[Rule, ...]] = {
    "database": (
        _r("PostgresSlowQueries", WARN, "{service}: p99 query time above 2s"),
        _r("PostgresVacuumBehind", INFO, "{service}: autovacuum behind on large tables"),
    ),
    "cache": (_r("RedisMemoryHigh", WARN, "{service}: memory above 95% of maxmemory"),),
    "queue": (_r("KafkaConsumerLag", WARN, "{service}: consumer group lag above 10k"),),
    "service": (
        _r("HighMemoryUsage", WARN, "{service}: memory above 90% of limit"),
        _r("CPUThrottlingHigh", INFO, "{service}: CPU throttled more than 25% of periods"),
        _r("PodRestarted", INFO, "{service}: a pod restarted"),
        _r("HighLatency", WARN, "{service}: p99 latency above 1s"),
    ),
    "gateway": (_r("IngressHighLatency", WARN, "{service}: p99 latency above 2s at the edge"),),
}

COMMON_NOISE_RULES: tuple[Rule, ...] = (
    _r("CertificateExpiringSoon", WARN, "{service}: TLS certificate expires in under 14 days"),
    _r("KubePersistentVolumeFillingUp", WARN, "{service}: volume expected to fill within 4 days"),
    _r("TargetDown", WARN, "{service}: a scrape target is down"),
)


def rules_for(table: dict[str, tuple[Rule, ...]], kind: str) -> tuple[Rule, ...]:
    """The rules for ``kind``, falling back to plain services for unknown kinds."""
    return table.get(kind) or table["service"]
