"""The Correlator worker: a faust app wiring Kafka to the pure pipeline stages.

Data flow (topic names configurable)::

    alerts --(ingest agent: decode, DLQ, route by domain)--> <app>-alerts-by-domain
    <app>-alerts-by-domain --(correlate agent: engine per partition)--> incidents (+ DLQ)
    topology --(group-less follower on every worker)--> hot swap of topology and domains
    engine state --(timer)--> <app>-snapshots (compacted, key = partition)

Delivery is at-least-once end to end. The ingest agent acknowledges a batch only after
the broker has its routed alerts and dead letters. The correlate agent acknowledges its
input only when a snapshot covering it is durable, after the outputs it caused were
delivered; so the committed offset never passes the snapshot, and recovery (restore the
snapshot, skip records below its offset) rebuilds exactly the state that was lost.

Faust pitfalls avoided on purpose: no exception escapes an agent (it would stop the
agent's commits silently), no windowed tables (they expire on wall-clock time and lose
windows on rebalance), no exactly-once mode, and table-like state keys are strings.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import shutil
import tempfile
import time
from collections import deque
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import faust
import orjson
from faust.types import TP
from faust.web import Request, Response, View

from correlator.changes import Change, decode_change
from correlator.codecs import Rejection, decode, encode_canonical
from correlator.engine import EngineStats, NoticeKind
from correlator.enrich import Enricher
from correlator.errors import SnapshotError
from correlator.incident import IncidentEvent
from correlator.replay import decode_options
from correlator.stream.enrichment import EnrichmentFeed, gate_record
from correlator.stream.envelope import (
    DeadLetter,
    OutputRecord,
    dead_letter,
    incident_record,
)
from correlator.stream.faust_tuning import install_fetch_max_wait
from correlator.stream.kafka_io import (
    KafkaError,
    OutputProducer,
    TopicFollower,
    read_latest,
    snapshot_size_hint,
)
from correlator.stream.metrics import LabelValues
from correlator.stream.router import RawRecord, Router
from correlator.stream.runner import (
    LINKER_SNAPSHOT_KEY,
    BatchOutcome,
    LinkStage,
    PartitionRunner,
)
from correlator.stream.settings import WorkerSettings
from correlator.stream.telemetry import WorkerMetrics
from topology import Topology, TopologyError, loads_topology

__all__ = ["CorrelatorWorker"]

log = logging.getLogger("correlator.stream.worker")

#: Ingest batches whose outputs may be in flight at once (pipelining, see _settle_ingest).
INGEST_WINDOW = 8
#: Endpoint -> wire formats it accepts.
INGEST_ENDPOINTS: dict[str, tuple[str, ...] | None] = {
    "/api/v1/alerts/alertmanager": ("alertmanager", "grafana"),
    "/api/v1/alerts": None,
}
CHANGES_ENDPOINT = "/api/v1/changes"
GATE_ENDPOINT = "/api/v1/gate/{service}"
#: Suffix of the snapshot key holding a partition's enrichment state ("<partition>:enrich").
ENRICH_SNAPSHOT_SUFFIX = ":enrich"


class _App(faust.App):
    """faust.App that checkpoints every engine before the consumer goes away."""

    correlator: CorrelatorWorker | None = None

    async def on_stop(self) -> None:
        worker = self.correlator
        if worker is not None:
            await worker.on_app_stopping()
        await super().on_stop()
        if worker is not None:
            await worker.on_app_stopped()


def _tune_garbage_collector() -> None:
    """Fewer, cheaper collections for a long-running worker.

    The objects a worker creates per alert are freed by reference counting; the
    cyclic collector mostly re-scans the long-lived modules, topology and engine
    state. Freezing what exists at start-up and raising the young-generation
    threshold keeps the collector from spending a fifth of the hot path there.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)


class CorrelatorWorker:
    """Builds the faust app for one worker process; :meth:`run` blocks until stopped."""

    def __init__(
        self,
        settings: WorkerSettings,
        *,
        topology: Topology | None = None,
        data_dir: str | None = None,
    ) -> None:
        self.settings = settings
        self.config = settings.engine_config()
        self._stream = settings.stream
        self._topics = settings.topics
        self._repartition_name = settings.repartition_topic
        self._explicit_topology = topology is not None
        self._topology: Topology | None = None
        self._router: Router | None = None
        self._topology_ready = asyncio.Event()
        self._lock = asyncio.Lock()
        self._runners: dict[int, PartitionRunner] = {}
        #: Cross-domain linker, only with several repartition partitions (see LinkStage).
        self._link_stage: LinkStage | None = None
        #: Enrichment stage per partition, next to its engine (same life cycle).
        self._feeds: dict[int, EnrichmentFeed] = {}
        #: Every valid change read from the changes topic, by id (offered to new feeds).
        self._known_changes: dict[str, Change] = {}
        self._changes_config = settings.changes_config()
        self._gate_config = settings.gate_config()
        self._pending_acks: dict[int, list[Any]] = {}
        self._inflight: list[asyncio.Future[object]] = []
        self._ingest_pending: deque[tuple[list[asyncio.Future[object]], list[Any]]] = deque()
        self._ingest_settle_lock = asyncio.Lock()
        self._background: set[asyncio.Future[None]] = set()
        self._assigned: set[int] = set()
        self._recovered = False
        self._stopping = False
        self._lag: dict[LabelValues, float] = {}
        #: False while no bootstrap server accepts a TCP connection (see _probe_broker).
        self._broker_reachable = True
        # faust insists on a data dir; with in-memory stores nothing in it outlives the run.
        self._own_data_dir = data_dir is None
        self._data_dir = data_dir or tempfile.mkdtemp(prefix="correlator-faust-")
        self.metrics = WorkerMetrics(
            engine_stats=self._engine_stats,
            open_incidents=self._open_incident_count,
            consumer_lag=lambda: dict(self._lag),
            ready=self.is_ready,
        )
        self._producer = OutputProducer(settings.kafka, name="out")
        self._snapshot_producer = OutputProducer(
            settings.kafka, name="snapshots", compression="gzip", linger_ms=0
        )
        if topology is not None:
            self._install_topology(topology)
        self.app = self._build_app()

    # ------------------------------------------------------------------ app wiring

    def _build_app(self) -> _App:
        install_fetch_max_wait()  # see faust_tuning: avoids 1.5 s stalls between the stages
        s = self.settings
        web = s.web
        credentials: Any = None
        kafka = s.kafka
        if kafka.sasl_mechanism is not None:
            credentials = faust.SASLCredentials(
                username=kafka.sasl_username,
                password=kafka.sasl_password.get_secret_value() if kafka.sasl_password else None,
                mechanism=kafka.sasl_mechanism,
                ssl_context=kafka.ssl_context(),
            )
        elif kafka.uses_ssl:
            credentials = faust.SSLCredentials(kafka.ssl_context())
        app = _App(
            s.app_id,
            broker=[f"kafka://{server}" for server in kafka.servers],
            broker_credentials=credentials,
            broker_client_id=kafka.client_id,
            broker_session_timeout=kafka.session_timeout_s,
            broker_heartbeat_interval=kafka.heartbeat_interval_s,
            broker_request_timeout=max(40.0, kafka.session_timeout_s + 5.0),
            consumer_auto_offset_reset="earliest",
            store="memory://",
            autodiscover=False,
            datadir=self._data_dir,
            stream_wait_empty=False,
            # Bounded per-agent buffers: repartition records carry many alerts each.
            stream_buffer_maxsize=max(2 * self._stream.batch_size, 256),
            topic_partitions=s.topics.repartition_partitions,
            topic_replication_factor=s.topics.replication_factor,
            web_enabled=web.enabled,
            web_host=web.host,
            web_bind=web.host,
            web_port=web.port,
            web_router_enabled=False,
            web_tables_enabled=False,
            web_graph_enabled=False,
            web_stats_enabled=False,
            web_metrics_enabled=False,
            web_application_options={"client_max_size": web.max_body_bytes},
        )
        app.correlator = self
        alerts = app.topic(self._topics.alerts, key_serializer="raw", value_serializer="raw")
        routed = app.topic(self._repartition_name, key_serializer="raw", value_serializer="raw")
        app.agent(alerts, name="correlator.ingest")(self._ingest_agent)
        app.agent(routed, name="correlator.correlate")(self._correlate_agent)
        changes = app.topic(self._topics.changes, key_serializer="raw", value_serializer="raw")
        app.agent(changes, name="correlator.changes")(self._changes_agent)
        app.task(self._changes_task)
        app.timer(self._stream.idle_check_interval_s, name="correlator.idle")(self._idle_timer)
        app.timer(self._stream.snapshot_interval_s, name="correlator.snapshot")(
            self._snapshot_timer
        )
        app.timer(5.0, name="correlator.lag")(self._lag_timer)
        app.task(self._topology_task)
        app.on_partitions_revoked.connect(self._on_revoked)
        app.on_partitions_assigned.connect(self._on_assigned)
        self._register_views(app)
        return app

    def run(self) -> int:
        """Run until SIGTERM/SIGINT; returns the process exit code."""
        _tune_garbage_collector()
        worker = faust.Worker(
            self.app,
            loglevel=self.settings.log_level,
            quiet=True,
            redirect_stdouts=False,
        )
        try:
            worker.execute_from_commandline()
        except SystemExit as exc:
            return exc.code if isinstance(exc.code, int) else 1

    # ------------------------------------------------------------------ state views

    def is_ready(self) -> bool:
        return (
            self._topology_ready.is_set()
            and self._recovered
            and not self.app.rebalancing
            and self._broker_reachable
        )

    async def _probe_broker(self) -> None:
        """Readiness follows the broker: aiokafka retries quietly while it is down."""
        for server in self.settings.kafka.servers:
            host, _, port = server.rpartition(":")
            try:
                _, writer = await asyncio.wait_for(
                    asyncio.open_connection(host.strip("[]"), int(port)), timeout=2.0
                )
            except (TimeoutError, OSError, ValueError):
                continue
            writer.close()
            if not self._broker_reachable:
                log.info("Kafka reachable again")
            self._broker_reachable = True
            return
        if self._broker_reachable:
            log.warning("no Kafka bootstrap server accepts connections; not ready")
        self._broker_reachable = False

    def _engine_stats(self) -> Iterable[EngineStats]:
        return [runner.engine.stats for runner in self._runners.values()]

    def _open_incident_count(self) -> int:
        return sum(runner.engine.open_incidents for runner in self._runners.values())

    def open_incidents(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for partition in sorted(self._runners):
            out.extend(self._runners[partition].open_incidents())
        return out

    # ------------------------------------------------------------------ topology

    def _install_topology(self, topology: Topology) -> None:
        """Swap topology and domain map; engines follow under the state lock."""
        if self._router is None:
            self._router = Router(
                topology,
                self.config,
                partitions=self._topics.repartition_partitions,
                max_domain_size=self._stream.max_domain_size,
                domain_seed=self._stream.domain_seed,
                max_record_bytes=self._stream.max_repartition_record_bytes,
            )
        else:
            self._router.set_topology(topology)
        self._topology = topology
        partitions = self._topics.repartition_partitions
        if self._link_stage is not None:
            self._link_stage.set_topology(topology)
        elif partitions > 1:
            self._link_stage = LinkStage(topology, self.config, partitions)
        for runner in self._runners.values():
            runner.engine.set_topology(topology)
        for feed in self._feeds.values():
            feed.enricher.set_topology(topology)
        domains = self._router.domains
        log.info(
            "topology %s active: %d services, %d domain(s) (max size %d)",
            topology.version,
            len(topology),
            len(domains.domains),
            domains.max_size,
        )
        self._topology_ready.set()

    async def apply_topology_bytes(self, raw: bytes | None, source: str) -> bool:
        """Validate and hot-swap a topology read from Kafka; the old one stays on error."""
        if raw is None:
            return False
        try:
            topology = loads_topology(raw, source=source)
        except TopologyError as exc:
            self.metrics.topology_reloads.inc(1, "rejected")
            problems = "; ".join(exc.problems[:5]) if getattr(exc, "problems", None) else str(exc)
            log.error("rejected topology from %s, keeping the current one: %s", source, problems)
            return False
        except Exception as exc:  # loader bug: keep the worker and the old topology
            self.metrics.topology_reloads.inc(1, "rejected")
            log.error("rejected topology from %s (%s): %s", source, type(exc).__name__, exc)
            return False
        if self._topology is not None and topology.version == self._topology.version:
            self.metrics.topology_reloads.inc(1, "unchanged")
            return True
        async with self._lock:
            self._install_topology(topology)
        self.metrics.topology_reloads.inc(1, "applied")
        return True

    async def _topology_task(self) -> None:
        follower = TopicFollower(self.settings.kafka, self._topics.topology, name="topology")
        try:
            await follower.start(from_beginning=not self._explicit_topology)
            backlog = await follower.backlog()
            for record in reversed(backlog):
                if await self.apply_topology_bytes(
                    record.value, f"{self._topics.topology}[{record.partition}]@{record.offset}"
                ):
                    break
            if not self._topology_ready.is_set():
                log.warning(
                    "no topology yet: waiting for one on topic %s (or start with --topology)",
                    self._topics.topology,
                )
            while not self.app.should_stop:
                for record in await follower.poll(timeout_ms=1000):
                    await self.apply_topology_bytes(
                        record.value,
                        f"{self._topics.topology}[{record.partition}]@{record.offset}",
                    )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.metrics.internal_errors.inc(1, "topology")
            log.exception("topology follower failed: %s", exc)
            await self.app.crash(exc)
        finally:
            with contextlib.suppress(Exception):
                await follower.stop()

    # ------------------------------------------------------------------ stage 1: ingest

    async def _ingest_agent(self, stream: Any) -> None:
        await self._topology_ready.wait()
        async for events in stream.noack_take(self._stream.batch_size, self._stream.batch_within_s):
            try:
                futures = await self._ingest_batch(events)
                self._ingest_pending.append((futures, events))
                await self._settle_ingest(keep=INGEST_WINDOW)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.metrics.internal_errors.inc(1, "ingest")
                log.exception("ingest failed; stopping the worker: %s", exc)
                await self.app.crash(exc)
                return

    async def _settle_ingest(self, keep: int) -> None:
        """Acknowledge ingest batches whose routed alerts and dead letters were delivered.

        Batches are pipelined: up to ``keep`` of them may still be in flight, so the agent
        does not wait one broker round trip per batch. Acknowledging strictly in order
        keeps the committed offset behind every undelivered output. A delivery failure
        propagates (and stops the worker): its input is then read again after a restart.
        """
        async with self._ingest_settle_lock:
            pending = self._ingest_pending
            while pending and (len(pending) > keep or all(f.done() for f in pending[0][0])):
                futures, events = pending[0]
                await asyncio.gather(*futures)
                pending.popleft()
                for event in events:
                    event.ack()

    async def _ingest_batch(self, events: list[Any]) -> list[asyncio.Future[object]]:
        """Route one batch and queue its outputs; returns their delivery futures."""
        assert self._router is not None
        records = []
        for event in events:
            message = event.message
            ts = message.timestamp
            records.append(
                RawRecord(
                    topic=message.topic,
                    partition=message.partition,
                    offset=message.offset,
                    timestamp_ms=int(ts * 1000) if ts is not None else None,
                    key=message.key,
                    value=message.value,
                )
            )
        result = self._router.route(records)
        delay = 0.5
        while True:
            try:
                futures = [
                    await self._producer.send(
                        self._repartition_name,
                        OutputRecord(str(partition).encode(), value, []),
                        partition=partition,
                    )
                    for partition, value in result.routed
                ]
                futures += await self._producer.send_all(self._topics.dlq, result.dead_letters)
                break
            except KafkaError as exc:
                # Queueing failed (e.g. no broker yet). Re-sending the whole batch may
                # duplicate alerts; the engines skip duplicates by input position.
                if self.app.should_stop:
                    raise
                log.warning("cannot write routed alerts (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
        m = self.metrics
        m.records_in.inc(result.records, self._topics.alerts)
        m.batch_size.observe(result.records, "ingest")
        for fmt, n in result.formats.items():
            m.alerts_decoded.inc(n, fmt)
        for reason, n in result.rejects.items():
            m.rejects.inc(n, reason)
        m.dlq_records.inc(len(result.dead_letters))
        return futures

    # ------------------------------------------------------------------ stage 2: correlate

    async def _correlate_agent(self, stream: Any) -> None:
        await self._topology_ready.wait()
        async for events in stream.noack_take(self._stream.batch_size, self._stream.batch_within_s):
            try:
                await self._correlate_batch(events)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.metrics.internal_errors.inc(1, "correlate")
                log.exception("correlate batch failed; stopping the worker: %s", exc)
                await self.app.crash(exc)
                return

    async def _correlate_batch(self, events: list[Any]) -> None:
        async with self._lock:
            if self._stopping:
                return
            assignment = self.app.consumer.assignment()
            by_partition: dict[int, list[Any]] = {}
            for event in events:
                message = event.message
                if message.tp not in assignment:
                    continue  # revoked meanwhile: the new owner reads it again
                by_partition.setdefault(message.partition, []).append(message)
            now = time.time()
            for partition in sorted(by_partition):
                messages = by_partition[partition]
                runner = self._runners.get(partition)
                if runner is None:
                    runner = await self._restore(partition)
                outcome = runner.process([(m.offset, m.value) for m in messages], now=now)
                feed = self._feeds.get(partition)
                if feed is not None:
                    feed.observe_alerts(outcome.ingested)
                self._pending_acks.setdefault(partition, []).extend(messages)
                outcome.events = await self._linked(outcome.events, runner)
                await self._publish(outcome, runner)
                self.metrics.batch_size.observe(len(messages), "correlate")
                if outcome.skipped_records:
                    self.metrics.redelivered.inc(outcome.skipped_records, "record")
                if outcome.skipped_alerts:
                    self.metrics.redelivered.inc(outcome.skipped_alerts, "alert")
                for ts_ms in outcome.origin_timestamps_ms:
                    self.metrics.batch_latency.observe(max(0.0, now - ts_ms / 1000.0))

    async def _publish(self, outcome: BatchOutcome, runner: PartitionRunner) -> None:
        await self._send_events(outcome.events, runner)
        letters: list[OutputRecord] = []
        for notice, item in outcome.notices:
            if notice.kind is not NoticeKind.FUTURE:
                continue
            origin = item.origin
            letter = DeadLetter(
                "future",
                notice.reason,
                origin.topic,
                origin.partition,
                origin.offset,
                origin.timestamp_ms,
            )
            letters.append(dead_letter(letter, orjson.dumps(encode_canonical(item.alert))))
            self.metrics.rejects.inc(1, "future")
        for item, error in outcome.engine_errors:
            origin = item.origin
            letter = DeadLetter(
                "engine_error",
                error,
                origin.topic,
                origin.partition,
                origin.offset,
                origin.timestamp_ms,
            )
            letters.append(dead_letter(letter, orjson.dumps(encode_canonical(item.alert))))
            self.metrics.rejects.inc(1, "engine_error")
            self.metrics.internal_errors.inc(1, "engine")
            log.error("engine failed on alert %s: %s", item.alert.fingerprint, error)
        if outcome.advance_error is not None:
            self.metrics.internal_errors.inc(1, "engine")
            log.error(
                "engine advance failed (partition %d): %s", runner.partition, outcome.advance_error
            )
        for offset, error in outcome.bad_records:
            letter = DeadLetter(
                "internal_decode", error, runner.topic, runner.partition, offset, None
            )
            letters.append(dead_letter(letter, b""))
            self.metrics.rejects.inc(1, "internal_decode")
        if letters:
            self._inflight += await self._producer.send_all(self._topics.dlq, letters)
            self.metrics.dlq_records.inc(len(letters))

    async def _send_events(self, events: list[IncidentEvent], runner: PartitionRunner) -> None:
        """Enrich one engine step's events (as the replay does) and queue them, then the
        gate changes they caused."""
        source = self._stream.event_source
        feed = self._feeds.get(runner.partition)
        if feed is None:  # cannot happen: _restore creates both; keep events flowing anyway
            enriched: list[tuple[IncidentEvent, Any]] = [(e, e) for e in events]
            gates: list[dict[str, Any]] = []
        else:
            enriched, gates = feed.step(runner.engine.clock, events)
        for event, data in enriched:
            self._inflight.append(
                await self._producer.send(
                    self._topics.incidents,
                    incident_record(data, source=source, max_bytes=self._stream.max_event_bytes),
                )
            )
            self.metrics.incident_events.inc(1, event.status.value)
        for gate in gates:
            self._inflight.append(
                await self._producer.send(self._topics.deploy_gate, gate_record(gate))
            )
        if len(self._inflight) > 10_000:
            self._inflight = [
                f for f in self._inflight if not f.done() or f.cancelled() or f.exception()
            ]

    # ------------------------------------------------------------------ snapshots

    async def _restore(self, partition: int) -> PartitionRunner:
        """A runner for ``partition``, from its latest snapshot when there is one."""
        assert self._topology is not None
        now = time.time()
        runner = PartitionRunner(
            self._repartition_name, partition, self._topology, self.config, now=now
        )
        key = str(partition).encode()
        enrich_key = f"{partition}{ENRICH_SNAPSHOT_SUFFIX}".encode()
        try:
            found = await read_latest(
                self.settings.kafka, self.settings.snapshots_topic, [key, enrich_key]
            )
        except KafkaError as exc:
            raise RuntimeError(f"cannot read snapshots for partition {partition}: {exc}") from exc
        self._feeds[partition] = self._restore_feed(partition, found.get(enrich_key))
        value = found.get(key)
        if value is None:
            self.metrics.restores.inc(1, "fresh")
            log.info("partition %d: no snapshot, starting empty", partition)
        else:
            try:
                header = runner.restore(value, now=now)
                runner.engine.set_topology(self._topology)
                self.metrics.restores.inc(1, "restored")
                log.info(
                    "partition %d: restored snapshot covering offsets < %d (%d bytes)",
                    partition,
                    header.next_offset,
                    len(value),
                )
            except SnapshotError as exc:
                runner = PartitionRunner(
                    self._repartition_name, partition, self._topology, self.config, now=now
                )
                self.metrics.restores.inc(1, "rejected")
                log.error("partition %d: unusable snapshot (%s); starting empty", partition, exc)
        self._runners[partition] = runner
        return runner

    def _restore_feed(self, partition: int, value: bytes | None) -> EnrichmentFeed:
        """The enrichment stage of ``partition``: its snapshot, then every known change."""
        assert self._topology is not None
        feed = EnrichmentFeed(Enricher(self._topology, self._changes_config, self._gate_config))
        if value is not None:
            try:
                feed.restore(value)
            except SnapshotError as exc:
                log.error("partition %d: unusable enrichment snapshot (%s); fresh", partition, exc)
        for change in self._known_changes.values():
            feed.offer(change)
        return feed

    async def _flush_outputs(self) -> None:
        inflight, self._inflight = self._inflight, []
        if inflight:
            await asyncio.gather(*inflight)

    async def _checkpoint(self, partitions: Iterable[int]) -> None:
        """Make outputs durable, snapshot the given engines, then acknowledge their input.

        Must be called with the state lock held.
        """
        try:
            await self._flush_outputs()
        except KafkaError as exc:
            # Outputs were lost after the engine moved on: only a restart from the last
            # snapshot can re-create them, so fail loudly instead of acknowledging.
            self.metrics.snapshots.inc(1, "failed")
            log.critical("incident events could not be delivered (%s); stopping", exc)
            self._crash_soon(exc)
            return
        now_ms = int(time.time() * 1000)
        for partition in sorted(partitions):
            runner = self._runners.get(partition)
            if runner is None:
                continue
            messages = self._pending_acks.pop(partition, [])
            if runner.changed_since_snapshot:
                covered = runner.next_offset
                value = runner.take_snapshot(now_ms=now_ms)
                feed = self._feeds.get(partition)
                try:
                    if feed is not None:
                        enrich_key = f"{partition}{ENRICH_SNAPSHOT_SUFFIX}".encode()
                        await (
                            await self._snapshot_producer.send(
                                self.settings.snapshots_topic,
                                OutputRecord(enrich_key, feed.snapshot(), []),
                            )
                        )
                    fut = await self._snapshot_producer.send(
                        self.settings.snapshots_topic,
                        OutputRecord(str(partition).encode(), value, []),
                    )
                    await fut
                except KafkaError as exc:
                    self.metrics.snapshots.inc(1, "failed")
                    self._pending_acks.setdefault(partition, [])[:0] = messages
                    await self._snapshot_producer.reset()
                    log.error(
                        "snapshot of partition %d (%d bytes) failed (%s); will retry%s",
                        partition,
                        len(value),
                        exc,
                        snapshot_size_hint(exc, self.settings.snapshots_topic),
                    )
                    continue
                runner.mark_snapshotted(covered)
                self.metrics.snapshots.inc(1, "written")
            consumer = self.app.consumer
            for message in messages:
                message.ack(consumer)
        await self._snapshot_linker()

    async def _linked(
        self, events: list[IncidentEvent], runner: PartitionRunner
    ) -> list[IncidentEvent]:
        """One engine step through the cross-domain linker (state lock held).

        Starts linking once this worker owns every partition (restore, catch up from the
        engines) and stops when it no longer does: a linker that sees only some engines
        would link differently from the replay. A no-op with one partition.
        """
        stage = self._link_stage
        if stage is None:
            return events
        owns_all = stage.owns_all(self._runners)
        if owns_all and not stage.active:
            try:
                found = await read_latest(
                    self.settings.kafka, self.settings.snapshots_topic, [LINKER_SNAPSHOT_KEY]
                )
            except KafkaError as exc:
                raise RuntimeError(f"cannot read the linker snapshot: {exc}") from exc
            caught_up, problem = stage.activate(self._runners, found.get(LINKER_SNAPSHOT_KEY))
            if problem is not None:
                log.error("unusable linker snapshot (%s); rebuilt from the engines", problem)
            log.info("cross-domain linking on: this worker owns all %d partitions", len(caught_up))
            for partition, linked in caught_up:
                await self._send_events(linked, self._runners[partition])
        elif not owns_all and stage.active:
            stage.deactivate()
            log.warning(
                "cross-domain linking off: this worker owns partitions %s of %d",
                sorted(self._runners),
                stage.partitions,
            )
        return stage.link(runner.partition, events, runner.engine.clock)

    async def _snapshot_linker(self) -> None:
        """Write the linker state next to the engines' (after them, same checkpoint)."""
        stage = self._link_stage
        if stage is None or not stage.active or not stage.changed:
            return
        try:
            await (
                await self._snapshot_producer.send(
                    self.settings.snapshots_topic,
                    OutputRecord(LINKER_SNAPSHOT_KEY, stage.take_snapshot(), []),
                )
            )
        except KafkaError as exc:
            self.metrics.snapshots.inc(1, "failed")
            log.error("linker snapshot failed (%s); will retry", exc)
            return
        stage.changed = False

    def _crash_soon(self, exc: BaseException) -> None:
        """Stop the worker with an error, without waiting: the caller may be a rebalance
        callback, and faust's shutdown waits for those to return."""
        self._background.add(task := asyncio.ensure_future(self.app.crash(exc)))
        task.add_done_callback(self._background.discard)

    async def _snapshot_timer(self) -> None:
        async with self._lock:
            if self._stopping:
                return
            now = time.monotonic()
            due = [
                partition
                for partition, runner in self._runners.items()
                if runner.checkpoint_due(
                    now=now,
                    interval_s=self._stream.snapshot_interval_s,
                    max_share=self._stream.snapshot_max_share,
                )
            ]
            if due:
                await self._checkpoint(due)

    async def _idle_timer(self) -> None:
        try:
            await self._settle_ingest(keep=0 if self._all_done() else INGEST_WINDOW)
        except Exception as exc:
            self.metrics.internal_errors.inc(1, "ingest")
            log.critical("routed alerts could not be delivered (%s); stopping", exc)
            await self.app.crash(exc)
            return
        async with self._lock:
            if self._stopping:
                return
            now = time.time()
            for partition in sorted(self._runners):
                try:
                    events = self._runners[partition].idle_tick(
                        now=now,
                        idle_after_s=self._stream.idle_advance_after_s,
                        time_scale=self._stream.idle_time_scale,
                    )
                except Exception as exc:  # an engine bug: keep the timer alive
                    self.metrics.internal_errors.inc(1, "engine")
                    log.error("idle advance failed (partition %d): %s", partition, exc)
                    continue
                events = await self._linked(events, self._runners[partition])
                await self._send_events(events, self._runners[partition])

    def _all_done(self) -> bool:
        return all(f.done() for futures, _ in self._ingest_pending for f in futures)

    async def _lag_timer(self) -> None:
        await self._probe_broker()
        try:
            consumer = self.app.consumer
            lag: dict[LabelValues, float] = {}
            for tp in consumer.assignment():
                if tp.topic not in (self._topics.alerts, self._repartition_name):
                    continue
                position = await consumer.position(tp)
                high = consumer.highwater(tp)
                if position is None or high is None:
                    continue
                key = (tp.topic,)
                lag[key] = lag.get(key, 0.0) + max(0, high - position)
            self._lag = lag
        except Exception as exc:  # lag is best effort; never disturb the pipeline
            log.debug("consumer lag unavailable: %s", exc)

    # ------------------------------------------------------------------ rebalancing

    async def _on_revoked(self, sender: Any, /, *args: Any, signal: Any, **kw: Any) -> None:
        revoked: set[TP] = args[0] if args else kw.get("revoked", set())
        mine = sorted(tp.partition for tp in revoked if tp.topic == self._repartition_name)
        if not mine:
            return
        try:
            async with self._lock:
                await self._checkpoint([p for p in mine if p in self._runners])
                self._assigned.difference_update(mine)
        except Exception as exc:
            self.metrics.internal_errors.inc(1, "rebalance")
            log.exception("checkpoint on revoke failed: %s", exc)

    async def _on_assigned(self, sender: Any, /, *args: Any, signal: Any, **kw: Any) -> None:
        assigned: set[TP] = args[0] if args else kw.get("assigned", set())
        mine = {tp.partition for tp in assigned if tp.topic == self._repartition_name}
        try:
            async with self._lock:
                for partition in sorted(set(self._runners) - mine):
                    del self._runners[partition]
                    self._feeds.pop(partition, None)
                    self._pending_acks.pop(partition, None)
                    log.info("partition %d moved to another worker", partition)
                if self._topology is not None:  # else restored lazily once one arrives
                    for partition in sorted(mine - set(self._runners)):
                        await self._restore(partition)
                self._assigned = mine
            self._recovered = True
        except Exception as exc:
            # Never crash inside a rebalance callback (faust would wait on itself); the
            # correlate agent restores missing partitions lazily and fails loudly there.
            self.metrics.internal_errors.inc(1, "rebalance")
            log.exception("restore after assignment failed (will retry on first record): %s", exc)

    # ------------------------------------------------------------------ shutdown

    async def on_app_stopping(self) -> None:
        """Before the consumer stops: last checkpoint of every engine, then stop processing.

        faust skips its final commit when ``stream_wait_empty`` is off, so commit the
        acknowledged offsets here; anything not committed is simply read again.
        """
        try:
            await self._settle_ingest(keep=0)
            async with self._lock:
                if self._runners and self._topology_ready.is_set():
                    await self._checkpoint(list(self._runners))
                self._stopping = True
            await self.app.consumer.commit()
        except Exception as exc:
            log.exception("final checkpoint failed: %s", exc)

    async def on_app_stopped(self) -> None:
        for producer in (self._producer, self._snapshot_producer):
            with contextlib.suppress(Exception):
                await producer.stop()
        if self._own_data_dir:
            shutil.rmtree(self._data_dir, ignore_errors=True)

    # ------------------------------------------------------------------ web

    def _register_views(self, app: _App) -> None:
        worker = self

        class Livez(View):
            async def get(self, request: Request) -> Response:
                return self.json({"status": "alive"})

        class Readyz(View):
            async def get(self, request: Request) -> Response:
                ready = worker.is_ready()
                body = {
                    "ready": ready,
                    "topology_loaded": worker._topology_ready.is_set(),
                    "topology_version": worker._topology.version if worker._topology else None,
                    "recovered": worker._recovered,
                    "partitions": sorted(worker._runners),
                    "changes_known": len(worker._known_changes),
                }
                return self.json(body, status=200 if ready else 503)

        class Metrics(View):
            async def get(self, request: Request) -> Response:
                return self.text(worker.metrics.render(), content_type="text/plain; version=0.0.4")

        class Incidents(View):
            async def get(self, request: Request) -> Response:
                incidents = worker.open_incidents()
                return self.bytes(
                    orjson.dumps({"count": len(incidents), "incidents": incidents}),
                    content_type="application/json",
                )

        app.page("/livez")(Livez)
        app.page("/readyz")(Readyz)
        app.page("/metrics")(Metrics)
        app.page("/incidents")(Incidents)
        for path, formats in INGEST_ENDPOINTS.items():
            app.page(path)(self._ingest_view(path, formats))

        class ChangeIngest(View):
            async def post(self, request: Request) -> Response:
                status, body = await worker.handle_change_ingest(request)
                worker.metrics.http_requests.inc(1, CHANGES_ENDPOINT, str(status))
                return self.json(body, status=status)

        class Gate(View):
            async def get(self, request: Request, service: str) -> Response:
                status, body = worker.gate_decision(service)
                worker.metrics.http_requests.inc(1, "/api/v1/gate", str(status))
                return self.json(body, status=status)

        app.page(CHANGES_ENDPOINT)(ChangeIngest)
        app.page(GATE_ENDPOINT)(Gate)

    def _ingest_view(self, path: str, formats: tuple[str, ...] | None) -> type[View]:
        worker = self

        class Ingest(View):
            async def post(self, request: Request) -> Response:
                status, body = await worker.handle_ingest(path, formats, request)
                worker.metrics.http_requests.inc(1, path, str(status))
                return self.json(body, status=status)

        Ingest.__name__ = f"Ingest{abs(hash(path)) % 10_000}"
        return Ingest

    async def handle_ingest(
        self, path: str, formats: tuple[str, ...] | None, request: Request
    ) -> tuple[int, dict[str, Any]]:
        """Validate an HTTP alert body with the codecs and write it, unchanged, to ``alerts``."""
        raw = await self._read_body(request)
        if isinstance(raw, tuple):
            return raw
        decoded = decode(raw, decode_options(self.config), received_at=datetime.now(UTC))
        if isinstance(decoded, Rejection):
            return 400, {"error": decoded.reason.value, "detail": decoded.detail}
        if formats is not None and decoded.format not in formats:
            return 400, {
                "error": "wrong_format",
                "detail": f"this endpoint accepts {', '.join(formats)}; got {decoded.format}",
            }
        failed = await self._write_raw(self._topics.alerts, raw, path)
        if failed is not None:
            return failed
        code = 200 if formats is not None else 202
        return code, {"status": "accepted", "format": decoded.format, "alerts": len(decoded.alerts)}

    async def handle_change_ingest(self, request: Request) -> tuple[int, dict[str, Any]]:
        """Validate an HTTP change body and write it, unchanged, to the changes topic."""
        raw = await self._read_body(request)
        if isinstance(raw, tuple):
            return raw
        decoded = decode_change(raw, decode_options(self.config), received_at=datetime.now(UTC))
        if isinstance(decoded, Rejection):
            return 400, {"error": decoded.reason.value, "detail": decoded.detail}
        failed = await self._write_raw(self._topics.changes, raw, CHANGES_ENDPOINT)
        if failed is not None:
            return failed
        return 202, {"status": "accepted", "change_id": decoded.id, "service": decoded.service}

    async def _read_body(self, request: Request) -> bytes | tuple[int, dict[str, Any]]:
        """The request body, or the (413/400) answer when it is too large or unreadable."""
        limit = self.settings.web.max_body_bytes
        too_large = 413, {"error": "too_large", "detail": f"body exceeds {limit} bytes"}
        declared = request.headers.get("Content-Length", "")
        length = int(declared) if declared.isdigit() else None
        if length is not None and length > limit:
            return too_large
        try:
            raw = await request.read()
        except Exception as exc:  # aiohttp raises HTTPRequestEntityTooLarge above client_max_size
            if getattr(exc, "status", None) == 413 or "too large" in str(exc).lower():
                return too_large
            return 400, {"error": "unreadable_body", "detail": str(exc)[:200]}
        if len(raw) > limit:
            return too_large
        return bytes(raw)

    async def _write_raw(
        self, topic: str, raw: bytes, path: str
    ) -> tuple[int, dict[str, Any]] | None:
        """Write an accepted body to ``topic``; the 503 answer when Kafka does not ack."""
        timeout = self.settings.web.produce_timeout_s
        try:
            fut = await asyncio.wait_for(
                self._producer.send(topic, OutputRecord(None, raw, [])), timeout=timeout
            )
            await asyncio.wait_for(fut, timeout=timeout)
        except (KafkaError, TimeoutError) as exc:
            log.warning("ingest via %s failed: Kafka unavailable (%s)", path, exc)
            return 503, {"error": "kafka_unavailable", "detail": "could not write to Kafka; retry"}
        return None

    def gate_decision(self, service: str) -> tuple[int, dict[str, Any]]:
        """``GET /api/v1/gate/{service}``: the decision of the partition owning the service.

        The gate of a service lives in the enrichment stage of the partition its domain
        routes to; with several workers, ask the one that owns that partition (503 here
        otherwise, as before the partitions are assigned).
        """
        feeds = self._feeds
        if not feeds or self._router is None or self._topology is None:
            return 503, {"error": "not_ready", "detail": "no partition assigned yet; retry"}
        canonical = self._topology.resolve(service)
        domain = self._router.domains.domain_for(canonical or service, canonical is not None)
        partition = self._router.partition_of(domain)
        feed = feeds.get(partition)
        if feed is None:
            return 503, {
                "error": "not_owner",
                "detail": f"partition {partition} (owning {service}) is on another worker",
            }
        decision = feed.enricher.decision(service)
        if decision is None:
            return 404, {"error": "unknown_service", "detail": f"unknown service {service!r}"}
        return 200, decision

    # ------------------------------------------------------------------ changes

    def _decode_change_record(
        self, value: bytes | None, timestamp_ms: int | None
    ) -> Change | Rejection | None:
        if value is None:
            return None
        received = (
            datetime.fromtimestamp(timestamp_ms / 1000, UTC)
            if timestamp_ms is not None and timestamp_ms >= 0
            else None
        )
        return decode_change(value, decode_options(self.config), received_at=received)

    async def _changes_task(self) -> None:
        """Every worker reads every change (group-less, from the beginning), because every
        partition's enrichment stage needs the changes of its services; ids dedup."""
        await self._topology_ready.wait()
        follower = TopicFollower(self.settings.kafka, self._topics.changes, name="changes")
        try:
            await follower.start(from_beginning=True)
            while not self.app.should_stop:
                records = await follower.poll(timeout_ms=1000)
                if not records:
                    continue
                async with self._lock:
                    for record in records:
                        decoded = self._decode_change_record(record.value, record.timestamp_ms)
                        if not isinstance(decoded, Change):
                            continue  # the changes agent dead-letters it (once per group)
                        if decoded.id in self._known_changes:
                            continue
                        self._known_changes[decoded.id] = decoded
                        for feed in self._feeds.values():
                            feed.offer(decoded)
                    self._forget_old_changes()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.metrics.internal_errors.inc(1, "changes")
            log.exception("changes follower failed: %s", exc)
            await self.app.crash(exc)
        finally:
            with contextlib.suppress(Exception):
                await follower.stop()

    def _forget_old_changes(self) -> None:
        """Keep known changes bounded: drop those older than ``changes.retention`` before
        the newest event time of any partition (the enrichers forget them as well)."""
        clocks = [c for feed in self._feeds.values() if (c := feed.enricher.now) is not None]
        if not clocks:
            return
        horizon = max(clocks) - self._changes_config.retention
        old = [cid for cid, change in self._known_changes.items() if change.at < horizon]
        for cid in old:
            del self._known_changes[cid]

    async def _changes_agent(self, stream: Any) -> None:
        """Validates the changes topic once per consumer group: bad records go to the DLQ
        (original bytes, reason and source headers, as for alerts), then are acknowledged."""
        async for events in stream.noack_take(self._stream.batch_size, self._stream.batch_within_s):
            try:
                letters: list[OutputRecord] = []
                for event in events:
                    message = event.message
                    ts = message.timestamp
                    ts_ms = int(ts * 1000) if ts is not None else None
                    decoded = self._decode_change_record(message.value, ts_ms)
                    if isinstance(decoded, Change):
                        continue
                    reason, detail = (
                        ("empty", "record has no value (tombstone)")
                        if decoded is None
                        else (decoded.reason.value, decoded.detail)
                    )
                    letter = DeadLetter(
                        reason, detail, message.topic, message.partition, message.offset, ts_ms
                    )
                    letters.append(dead_letter(letter, message.value or b"", message.key))
                    self.metrics.rejects.inc(1, f"change_{reason}")
                if letters:
                    futures = await self._producer.send_all(self._topics.dlq, letters)
                    await asyncio.gather(*futures)
                    self.metrics.dlq_records.inc(len(letters))
                self.metrics.records_in.inc(len(events), self._topics.changes)
                for event in events:
                    event.ack()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.metrics.internal_errors.inc(1, "changes")
                log.exception("changes validation failed; stopping the worker: %s", exc)
                await self.app.crash(exc)
                return
