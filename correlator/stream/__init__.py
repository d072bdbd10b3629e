"""The streaming edge of Correlator: the only package that talks to Kafka or imports faust.

Everything here wraps the pure core (:mod:`correlator.engine`, :mod:`correlator.codecs`,
:mod:`topology`) without changing what it computes: for the same input in the same order,
a worker publishes the same incidents (same ids, members, root causes) as
``correlator replay``. The integration tests check exactly that on a real broker.

Pipeline
--------
::

    alerts (raw bytes, any format)
      │  ingest agent, batches of ``stream.batch_size``: decode once (codecs, orjson),
      │  bad record -> alerts.dlq (original bytes + x-correlator-reason/-detail and
      │  x-source-topic/-partition/-offset/-timestamp headers)
      ▼
    <app>-alerts-by-domain (internal; decoded alerts, several per record, keyed by partition)
      │  correlate agent: one Engine per partition, ingest in order, advance once per batch,
      │  then that partition's enrichment stage (suspect changes, SLO context, priority)
      ▼
    incidents (CloudEvents 1.0 structured JSON, key = incident id, at least once)
      + deploy-gate (compacted, key = service: gate state changes)

    changes (raw bytes) ──> every worker, outside the group: decode, offer to every
                             partition's enrichment stage (released by event time)
                        ──> changes agent, in the group: bad record -> alerts.dlq

    topology (compacted) ──> every worker, outside the consumer group: validate, hot-swap
    engine state ─────────> <app>-snapshots (compacted, key = partition, with its offset;
                                            enrichment state under "<partition>:enrich")

Modules: :mod:`.router` (stage 1 without Kafka), :mod:`.runner` (stage 2 without Kafka),
:mod:`.enrichment` (the enrichment stage of a partition, fed as the replay feeds it),
:mod:`.domains`, :mod:`.wire` (internal record), :mod:`.envelope` (CloudEvents, dead
letters), :mod:`.worker` (the faust app), :mod:`.faust_tuning` (one consumer setting faust
hard-codes: its 1.5 s fetch wait stalled the two stages against each other), :mod:`.kafka_io`,
:mod:`.admin`, :mod:`.settings`, :mod:`.metrics`/:mod:`.telemetry`, :mod:`.cli` and its
helpers (:mod:`.produce`, :mod:`.tail`, :mod:`.demo`), :mod:`.local_kafka` (a real test
broker).

Partitioning: correlation domains
---------------------------------
Alerts that may end up in one incident must reach the same engine. Two alerts can only be
correlated when their services are connected in the topology, so the weakly connected
components of the graph are the natural shards. A component larger than
``stream.max_domain_size`` is split by Louvain community detection (seeded, graph built in
sorted order, so every worker computes the same split), then adjacent communities are
merged back greedily while they fit, strongest connection first, to cut few edges.
Unknown services hash (blake2b, never Python's randomised ``hash``) to a domain by name.
Each domain maps to a partition of the internal topic by the same stable hash, and the
first stage sends each alert there explicitly, so per-partition order is input order.

Trade-offs. With one partition (the default for ``alerts`` and the internal topic) a single
engine sees every alert in input order: results equal replay exactly, and throughput is
that of one engine. More partitions scale out, but each engine has its own event-time
clock (lateness and future skew are judged per domain), and a cascade that spans a *split*
component reaches two engines. Domains never span components, so unsplit components lose
nothing. A topology reload recomputes the domains; alerts of a domain that moved follow the
new routing, so an incident open across a reload may continue as a new one.

Cross-domain linking (second stage)
-----------------------------------
With ``repartition_partitions`` > 1 the engines' events go through
:class:`~correlator.linking.IncidentLinker` (pure core; the module docstring has the rule)
before enrichment: incidents of different partitions are joined when a root alert of one is
explained, by the engine's own explainer rule, by an alert of the other; the older survives
with the union and a recomputed ranking, the other is published as ``merged``. Links are
recomputed from the latest event of every incident, so the final incidents do not depend on
how the partitions' steps interleave: ``correlator replay --partitions N --max-domain-size M
--domain-seed S`` gives the same final incidents (integration-tested on a real broker).

Where it runs: in the worker process, between each engine step and its enrichment
(:class:`~correlator.stream.runner.LinkStage`), and only while the worker owns *every*
repartition partition; otherwise events pass through unchanged and a warning is logged.
That keeps it free of an extra topic hop and of added latency, and correct across restarts
and single-worker rebalances: on (re)activation the linker restores its snapshot (key
``linker`` in the snapshots topic, written after the engines' in each checkpoint) and then
feeds every engine's current incidents, so a snapshot older or newer than an engine's is
caught up or skipped by version. Linked events are enriched by the enrichment stage of the
partition whose step produced them (SLO context of the other partition's services may lag).
The price: with several workers linking is off, so split cascades stay two incidents. The
way to lift that is a central linker behind an internal single-partition topic of incident
events (the stream is ~100x smaller than the alerts), with enrichment moved after it; not
built yet. With one partition there is no linker at all.

State, time and delivery
------------------------
Engine state lives in memory, one engine per partition. Every
``stream.snapshot_interval_s`` (and on revocation and shutdown) each changed engine is
written to the compacted snapshots topic under its partition number, with the offset it
covers (``next_offset``). The correlate agent acknowledges its input only after that
snapshot is durable and after the incident events it caused were delivered; so the
committed offset never passes the snapshot. On assignment a worker restores the snapshot
and skips records below its offset; what follows is re-read, which rebuilds the same state
(the engine is deterministic). The first stage re-routes records after a crash, so each
engine also remembers the newest (input offset, index) per input partition and skips
alerts it has already ingested. Delivery of incident events is at least once; ids are
``<incident>:<version>``, so consumers can drop duplicates.

Event time advances with the alerts. When input pauses for ``stream.idle_advance_after_s``,
a timer advances each engine's event time by the wall time elapsed since its last input
(times ``stream.idle_time_scale``, 1.0 by default), never to the absolute wall clock: the
input may be a historical replay. faust's windowed tables are not used (they expire on
wall-clock time and lose windows on rebalance), nor exactly-once mode.

Robustness: no exception escapes an agent. Undecodable input is dead-lettered; an engine
exception (a bug) dead-letters that one alert with reason ``engine_error``; a topology that
fails validation is refused and counted, the old one stays. Failed delivery of incident
events stops the worker (rather than acknowledging input whose output was lost); it then
restarts from its last snapshot. Incident events larger than ``stream.max_event_bytes``
publish a cut member list with ``alerts_truncated``.

Operations
----------
Settings: :class:`~correlator.stream.settings.WorkerSettings` (``configs/worker.yaml`` plus
``CORRELATOR_*`` variables, ``__`` for nesting). One security block (PLAINTEXT, SSL,
SASL_PLAINTEXT/SASL_SSL with PLAIN or SCRAM-SHA-256/512) feeds faust, aiokafka and
kafka-python alike; passwords are ``SecretStr`` and never logged.

HTTP (faust web, default 127.0.0.1:6066; faust's table/router/graph/stats views are off):
``GET /livez``, ``GET /readyz`` (200 once the topology is loaded and partitions are
recovered), ``GET /metrics`` (Prometheus text), ``GET /incidents`` (open incidents on this
worker), ``POST /api/v1/alerts/alertmanager`` (Alertmanager/Grafana webhooks, 200) and
``POST /api/v1/alerts`` (any supported format, 202): bodies are validated with the codecs
and written unchanged to ``alerts``; 400 names the problem, 413 above
``web.max_body_bytes``, 503 when Kafka does not acknowledge within
``web.produce_timeout_s``. ``POST /api/v1/changes`` does the same for change records
(validated with ``decode_change``, written to ``changes``; 202/400/413/503), and
``GET /api/v1/gate/{service}`` answers the deploy gate decision of the partition that owns
the service (404 unknown service, 503 when that partition is on another worker or none is
assigned yet); ``correlator gate SERVICE --url http://HOST:PORT`` asks it for CI/CD.

Command line: ``correlator kafka up|down|status``, ``correlator worker [--config]
[--topology]``, ``correlator produce FILE|- [--rate N] [--topic T] [--whole]``,
``correlator tail [--json] [--from-beginning]``, ``correlator demo``.
"""
