"""``correlator tail``: follow the incidents topic, readably or as JSON lines.

The readable form answers what an on-call engineer asks first: what broke (root cause
and score), how big it is (alerts, services), and why the alerts were grouped (the
dependency paths that connect the symptoms to the root cause).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from correlator.errors import CorrelatorError
from correlator.stream.envelope import EnvelopeError, parse_incident_record
from correlator.stream.settings import KafkaSettings

__all__ = ["format_incident", "tail_incidents"]

_KIND = {
    "dev.correlator.incident.created": "CREATED",
    "dev.correlator.incident.updated": "UPDATED",
    "dev.correlator.incident.resolved": "RESOLVED",
    "dev.correlator.incident.merged": "MERGED",
}
_MAX_MEMBERS = 6
_MAX_PATHS = 4


def format_incident(event: Mapping[str, Any], *, color: bool = False) -> str:
    """A few lines describing one incident CloudEvent."""
    data: Mapping[str, Any] = event.get("data") or {}
    kind = _KIND.get(str(event.get("type")), str(event.get("type")))
    alerts = data.get("alerts") or []
    services = data.get("services") or []
    unknown = data.get("unknown_services") or []
    root = data.get("root_cause")
    when = str(data.get("updated_at") or event.get("time") or "")[11:19]
    head = (
        f"{when}  {kind:<8} {data.get('id')} v{data.get('version')}  "
        f"{data.get('severity', '?')}  {len(alerts)} alert(s) on "
        f"{len(services) + len(unknown)} service(s)"
    )
    if color and sys.stdout.isatty():
        code = {"CREATED": "1;31", "UPDATED": "33", "RESOLVED": "32", "MERGED": "36"}.get(kind, "0")
        head = f"\x1b[{code}m{head}\x1b[0m"
    lines = [head, f"    {data.get('title', '')}"]
    if data.get("merged_into"):
        lines.append(f"    merged into {data['merged_into']}")
    if root:
        lines.append(f"    root cause: {root.get('service')} (score {root.get('score')})")
    candidates = data.get("candidates") or []
    if candidates:
        evidence = (candidates[0].get("evidence") or {}).get("explains") or []
        for item in evidence[:_MAX_PATHS]:
            path = " -> ".join(item.get("path") or [])
            offset = item.get("offset_seconds")
            lines.append(f"      explains {item.get('service')}: {path} ({offset:+}s)")
        if len(evidence) > _MAX_PATHS:
            lines.append(f"      ... and {len(evidence) - _MAX_PATHS} more")
    shown = [
        f"{a.get('service')}/{a.get('name')} [{a.get('status')}"
        f"{', x' + str(a.get('count')) if (a.get('count') or 1) > 1 else ''}]"
        for a in alerts[:_MAX_MEMBERS]
    ]
    if shown:
        more = f", +{len(alerts) - _MAX_MEMBERS} more" if len(alerts) > _MAX_MEMBERS else ""
        lines.append(f"    members: {', '.join(shown)}{more}")
    return "\n".join(lines)


def tail_incidents(
    kafka: KafkaSettings,
    topic: str,
    *,
    as_json: bool = False,
    from_beginning: bool = False,
    max_events: int | None = None,
    idle_exit_s: float | None = None,
) -> int:
    """Print incident events until Ctrl-C, ``max_events`` or ``idle_exit_s`` of silence."""
    try:
        consumer = KafkaConsumer(
            client_id=f"{kafka.client_id}-tail",
            group_id=None,
            enable_auto_commit=False,
            # bounded: with bad credentials kafka-python retries the bootstrap until this
            bootstrap_timeout_ms=10_000,
            **kafka.kafka_python_config(),
        )
    except KafkaError as exc:
        raise CorrelatorError(kafka.unreachable(exc)) from None
    seen = 0
    try:
        partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            raise CorrelatorError(f"topic {topic} does not exist")
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        if from_beginning:
            consumer.seek_to_beginning(*tps)
        else:
            consumer.seek_to_end(*tps)
        last = time.monotonic()
        while max_events is None or seen < max_events:
            batches = consumer.poll(timeout_ms=500)
            if not batches:
                if idle_exit_s is not None and time.monotonic() - last >= idle_exit_s:
                    break
                continue
            last = time.monotonic()
            for tp in sorted(batches, key=lambda t: t.partition):
                for record in batches[tp]:
                    if as_json:
                        sys.stdout.write((record.value or b"").decode("utf-8", "replace") + "\n")
                    else:
                        try:
                            event = parse_incident_record(record.value)
                        except EnvelopeError as exc:
                            print(f"(skipping record {record.offset}: {exc})", file=sys.stderr)
                            continue
                        print(format_incident(event, color=True))
                    seen += 1
            sys.stdout.flush()
    except KeyboardInterrupt:
        pass
    finally:
        consumer.close()
    return 0
