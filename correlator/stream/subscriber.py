"""Reference subscriber: the current set of incidents, rebuilt from the incidents topic.

Workers deliver incident events at least once, so a consumer sees repeats after a crash or
a rebalance. This module shows (and the reliability tests use) the consumer side of that
contract: events are applied idempotently by ``(incident id, version)``; a version at or
below the one already held is ignored, so a repeat never moves an incident backwards.
``merged`` events name the survivor; the merged incident is dropped (or kept and marked,
with ``keep_merged``). The set is rebuilt by reading the (compacted) topic from the
beginning, so a subscriber needs no state of its own.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from correlator.errors import CorrelatorError
from correlator.stream.envelope import EnvelopeError, parse_incident_record
from correlator.stream.settings import KafkaSettings

__all__ = ["ApplyResult", "IncidentView", "read_incidents", "subscribe_main"]


@dataclass(frozen=True, slots=True)
class ApplyResult:
    """What :meth:`IncidentView.apply` did with one event."""

    applied: bool
    #: ``repeat`` (same id and version seen before), ``stale`` (older version), ``""``.
    reason: str = ""


@dataclass
class IncidentView:
    """Latest version of every incident; idempotent under repeats and reordering."""

    keep_merged: bool = False
    _held: dict[str, dict[str, Any]] = field(default_factory=dict)
    _merged: dict[str, str] = field(default_factory=dict)
    repeats: int = 0
    stale: int = 0

    def apply(self, data: Mapping[str, Any]) -> ApplyResult:
        """Fold one incident (the CloudEvent's ``data``) into the view."""
        incident_id = str(data["id"])
        version = int(data["version"])
        current = self._held.get(incident_id)
        if current is not None and version <= int(current["version"]):
            if version == int(current["version"]):
                self.repeats += 1
                return ApplyResult(False, "repeat")
            self.stale += 1
            return ApplyResult(False, "stale")
        self._held[incident_id] = dict(data)
        if data.get("status") == "merged":
            self._merged[incident_id] = str(data.get("merged_into") or "")
        else:
            self._merged.pop(incident_id, None)
        return ApplyResult(True)

    def apply_all(self, events: Iterable[Mapping[str, Any]]) -> None:
        for data in events:
            self.apply(data)

    def current(self) -> dict[str, dict[str, Any]]:
        """Incidents by id, sorted; merged ones left out unless ``keep_merged``."""
        return {
            i: e for i, e in sorted(self._held.items()) if self.keep_merged or i not in self._merged
        }

    def merged_into(self) -> dict[str, str]:
        """Merged incident id -> survivor id."""
        return dict(sorted(self._merged.items()))


def read_incidents(
    kafka: KafkaSettings,
    topic: str,
    *,
    keep_merged: bool = False,
    timeout_s: float = 30.0,
) -> IncidentView:
    """Read ``topic`` from the beginning to its current end and return the view.

    Raises :class:`CorrelatorError` when Kafka cannot be reached or the topic is missing,
    within about ``timeout_s`` (kafka-python otherwise retries for long on bad credentials).
    """
    view = IncidentView(keep_merged=keep_merged)
    timeout_ms = int(timeout_s * 1000)
    try:
        consumer = KafkaConsumer(
            client_id=f"{kafka.client_id}-subscriber",
            group_id=None,
            enable_auto_commit=False,
            bootstrap_timeout_ms=min(timeout_ms, 10_000),
            **kafka.kafka_python_config(),
        )
    except KafkaError as exc:
        raise CorrelatorError(kafka.unreachable(type(exc).__name__)) from None
    try:
        deadline = time.monotonic() + timeout_s
        partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            raise CorrelatorError(f"topic {topic} does not exist")
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        ends = consumer.end_offsets(tps)
        while any(consumer.position(tp) < ends[tp] for tp in tps):
            if time.monotonic() > deadline:
                raise CorrelatorError(f"could not read {topic} to its end within {timeout_s} s")
            batches = consumer.poll(timeout_ms=500)
            for tp in sorted(batches, key=lambda t: t.partition):
                for record in batches[tp]:
                    try:
                        event = parse_incident_record(record.value)
                    except EnvelopeError:
                        continue
                    view.apply(event["data"])
    except KafkaError as exc:
        raise CorrelatorError(f"reading {topic} failed: {type(exc).__name__}") from None
    finally:
        consumer.close()
    return view


def subscribe_main(kafka: KafkaSettings, topic: str, *, keep_merged: bool = False) -> int:
    """``correlator subscribe``: print the current incidents as JSON lines (sorted by id)."""
    import orjson

    view = read_incidents(kafka, topic, keep_merged=keep_merged)
    for data in view.current().values():
        sys.stdout.write(orjson.dumps(data, option=orjson.OPT_SORT_KEYS).decode() + "\n")
    print(
        f"{len(view.current())} incident(s); {view.repeats} repeated and {view.stale} "
        "stale event(s) ignored",
        file=sys.stderr,
    )
    return 0
