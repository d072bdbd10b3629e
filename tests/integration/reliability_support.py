"""Helpers for the reliability tests: synthetic input, incident read-back, measurements.

The long form (``bench/reliability.py``) runs the same tests with more runs and bigger
storms; it passes its sizes through environment variables and collects the figures the
tests measure from a JSON-lines report file (``CORRELATOR_RELIABILITY_REPORT``).
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from correlator.codecs import DecodeOptions, Rejection, decode
from correlator.model import Alert
from correlator.stream.settings import KafkaSettings
from correlator.stream.subscriber import IncidentView
from tests.integration.stream_fixtures import (
    REPO,
    WorkerProcess,
    cloud_events,
    project_all,
    read_topic,
)

ENV_REPORT = "CORRELATOR_RELIABILITY_REPORT"
ENV_RUNS = "CORRELATOR_RELIABILITY_RUNS"
ENV_STORM = "CORRELATOR_RELIABILITY_STORM"
ENV_CHURN = "CORRELATOR_RELIABILITY_CHURN"
ENV_SEED = "CORRELATOR_RELIABILITY_SEED"

#: Documented resident-memory cap of one worker process under the storm and churn tests.
RSS_CAP_MIB = 600.0


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw else default


def record_figures(test: str, **figures: Any) -> None:
    """Append what a test measured to the report file, when the long-form runner asks."""
    path = os.environ.get(ENV_REPORT)
    if not path:
        return
    line = orjson.dumps({"test": test, **figures}, option=orjson.OPT_SORT_KEYS)
    with open(path, "ab") as handle:
        handle.write(line + b"\n")


def rss_mib(pid: int) -> float:
    """VmRSS of a process in MiB (0 when it is gone)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return 0.0


def metric_sum(worker: WorkerProcess, name: str) -> float:
    """Sum of every sample of ``name`` (all label sets)."""
    status, body = worker.get("/metrics")
    assert status == 200
    total = 0.0
    for line in body.decode().splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            total += float(line.split()[-1])
    return total


def incident_events(bootstrap: str, topic: str) -> list[dict[str, Any]]:
    """The ``data`` of every incident event on ``topic``, in topic order."""
    return [e["data"] for e in cloud_events(read_topic(bootstrap, topic))]


def subscriber_state(events: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Projection of what the reference subscriber holds after these events."""
    view = IncidentView()
    view.apply_all(events)
    return project_all(view.current())


def last_written_state(events: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Projection of the newest *written* event per id (what log compaction keeps)."""
    last: dict[str, Mapping[str, Any]] = {}
    for data in events:
        last[str(data["id"])] = data
    return project_all({i: e for i, e in sorted(last.items()) if e["status"] != "merged"})


def version_regressions(events: Iterable[Mapping[str, Any]]) -> int:
    """Events whose version is below one already written for the same incident."""
    high: dict[str, int] = {}
    n = 0
    for data in events:
        key, version = str(data["id"]), int(data["version"])
        if version < high.get(key, -1):
            n += 1
        high[key] = max(version, high.get(key, -1))
    return n


def divergence(
    got: Mapping[str, Mapping[str, Any]], want: Mapping[str, Mapping[str, Any]]
) -> dict[str, int]:
    """Incidents lost (in reference only), extra, and divergent (same id, other content)."""
    lost = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    divergent = sorted(i for i in set(got) & set(want) if got[i] != want[i])
    return {"lost": len(lost), "extra": len(extra), "divergent": len(divergent)}


def repeat_report(events: Iterable[Mapping[str, Any]]) -> tuple[int, list[str]]:
    """(number of repeated (id, version) events, ids whose repeats differ in content)."""
    seen: dict[tuple[str, int], bytes] = {}
    repeats = 0
    differing: set[str] = set()
    for data in events:
        key = (str(data["id"]), int(data["version"]))
        blob = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
        if key in seen:
            repeats += 1
            if seen[key] != blob:
                differing.add(key[0])
        else:
            seen[key] = blob
    return repeats, sorted(differing)


def kafka_settings(bootstrap: str) -> KafkaSettings:
    return KafkaSettings(bootstrap_servers=bootstrap)


# ---------------------------------------------------------------------------- synthetic input

BASE_TIME = datetime(2026, 9, 1, 10, 0, tzinfo=UTC)


def canonical_alert(
    fingerprint: str,
    service: str,
    at: datetime,
    *,
    status: str = "firing",
    name: str = "HighErrorRate",
) -> bytes:
    """One alert in Correlator's canonical JSON format."""
    return orjson.dumps(
        {
            "fingerprint": fingerprint,
            "source": "reliability-test",
            "service": service,
            "name": name,
            "severity": "critical",
            "status": status,
            "starts_at": at.isoformat().replace("+00:00", "Z"),
            "ends_at": at.isoformat().replace("+00:00", "Z") if status == "resolved" else None,
            "labels": {},
            "annotations": {},
            "summary": f"{service} {name}",
        }
    )


def churn_lines(services: list[str], count: int, *, seed: int, hours: float) -> list[bytes]:
    """``count`` distinct fingerprints spread evenly over ``hours`` of event time.

    Each fingerprint fires once and resolves a minute later, so every window closes and
    state should plateau instead of growing with the number of fingerprints seen.
    """
    rng = random.Random(seed)
    step = timedelta(hours=hours) / max(count, 1)
    lines: list[bytes] = []
    pending: list[tuple[datetime, bytes]] = []
    for i in range(count):
        at = BASE_TIME + step * i
        while pending and pending[0][0] <= at:
            lines.append(pending.pop(0)[1])
        service = services[rng.randrange(len(services))]
        fingerprint = f"churn-{seed}-{i:07d}"
        lines.append(canonical_alert(fingerprint, service, at))
        end = at + timedelta(minutes=1)
        pending.append((end, canonical_alert(fingerprint, service, end, status="resolved")))
    lines += [p[1] for p in pending]
    return lines


def shuffle_within(lines: list[bytes], block: int, *, seed: int) -> list[bytes]:
    """Shuffle inside consecutive blocks of ``block`` records (bounded displacement)."""
    rng = random.Random(seed)
    out: list[bytes] = []
    for start in range(0, len(lines), block):
        chunk = lines[start : start + block]
        rng.shuffle(chunk)
        out += chunk
    return out


def engine_event_times(line: bytes, options: DecodeOptions) -> list[float]:
    """The engine's event time of every alert of a record (epoch seconds).

    That is ``starts_at`` for a firing alert and ``ends_at`` for a resolved one, so a
    resolve or an Alertmanager re-send (which repeats the original ``startsAt``) is placed
    where the engine's clock and watermark see it. Empty for a record that does not decode.
    """
    return [a.event_time.timestamp() for a in _alerts(line, options) if a.event_time is not None]


@dataclass(frozen=True)
class OnTimeShuffle:
    """An arrival order that differs from the input only inside the allowed lateness."""

    lines: list[bytes]
    moved: int  # records not at their in-order position
    buckets: int


def shuffle_on_time(
    lines: list[bytes], *, bucket_s: float, lateness_s: float, seed: int, options: DecodeOptions
) -> OnTimeShuffle:
    """Shuffle records inside event-time buckets without changing which alerts are late.

    Buckets follow the in-order stream clock (the newest event time so far, which the
    watermark trails), so they are consecutive runs of the input. Inside a bucket a record
    moves only if it shares no fingerprint with another record of the bucket (a lifecycle
    keeps its order) and each of its alerts is on the same side of the watermark wherever
    it lands: on time even at the bucket's newest event time, or, for a re-send (a
    notification already seen: same fingerprint, status and times), already late before
    the bucket. Any other record stays put and nothing moves across it: it arrives after
    exactly the records it did in order, at the same watermark.
    Beyond those bounds the engine does not promise order-independence (a late alert is
    folded when it arrives), so a test moving such records would measure its input.
    """
    rng = random.Random(seed)
    decoded = [_alerts(line, options) for line in lines]
    times = [[a.event_time.timestamp() for a in alerts if a.event_time] for alerts in decoded]
    prints = [{a.fingerprint for a in alerts} for alerts in decoded]
    seen: set[tuple[str, str, datetime, datetime | None]] = set()
    notes: list[list[tuple[float, bool]]] = []  # (event time, not seen before) per alert
    for alerts in decoded:
        keys = [(a.fingerprint, a.status.value, a.starts_at, a.ends_at) for a in alerts]
        stamps = [a.event_time.timestamp() if a.event_time else 0.0 for a in alerts]
        notes.append([(t, key not in seen) for key, t in zip(keys, stamps, strict=True)])
        seen.update(keys)
    runs: list[list[int]] = []  # consecutive records whose in-order clock shares a bucket
    clock: float | None = None
    start = 0.0
    last = -1
    for i, stamps in enumerate(times):
        if stamps:
            start = max(stamps) if clock is None else start
            clock = max(stamps) if clock is None else max(clock, *stamps)
        key = 0 if clock is None else int((clock - start) // bucket_s)
        if not runs or key != last:
            runs.append([])
            last = key
        runs[-1].append(i)
    out = list(lines)
    moved = 0
    low: float | None = None  # the clock before the run
    for run in runs:
        top = max((t for i in run for t in times[i]), default=0.0)

        def same_side(i: int, top: float = top, low: float | None = low) -> bool:
            """Each alert on time at the run's newest event time, or a re-send already
            late at the clock before the run: on the same side wherever it lands."""
            late = -float("inf") if low is None else low - lateness_s
            return bool(times[i]) and all(
                t >= top - lateness_s or (not new and t < late) for t, new in notes[i]
            )

        segment: list[int] = []
        for i in [*run, -1]:
            on_time = i >= 0 and same_side(i)
            if on_time and not any(prints[i] & prints[j] for j in run if j != i):
                segment.append(i)
                continue
            if on_time:
                continue  # kept in place (its lifecycle), but on time anywhere: not a barrier
            picked = [lines[j] for j in segment]
            rng.shuffle(picked)
            for j, line in zip(segment, picked, strict=True):
                out[j] = line
                moved += line != lines[j]
            segment = []
        low = top if low is None else max(low, top)
    return OnTimeShuffle(out, moved, len(runs))


def _alerts(line: bytes, options: DecodeOptions) -> tuple[Alert, ...]:
    decoded = decode(line, options)
    return () if isinstance(decoded, Rejection) else decoded.alerts


def event_times(line: bytes) -> list[datetime]:
    """starts_at of every alert of an Alertmanager webhook or canonical line.

    Not the engine's event time for resolved alerts or re-sends (see
    :func:`engine_event_times`).
    """
    doc = orjson.loads(line)
    alerts: list[Any] = doc["alerts"] if isinstance(doc, dict) and "alerts" in doc else [doc]
    out = []
    for alert in alerts:
        raw = alert.get("startsAt") or alert.get("starts_at")
        out.append(datetime.fromisoformat(str(raw).replace("Z", "+00:00")))
    return out


# ---------------------------------------------------------------------------- a second broker


class PrivateBroker:
    """A broker of its own (ports, data dir) that a test may stop and start at will."""

    def __init__(self, data_dir: Path, port: int, controller_port: int) -> None:
        self.data_dir = data_dir
        self.port = port
        self.controller_port = controller_port
        self.bootstrap = f"127.0.0.1:{port}"

    def _run(self, action: str, timeout_s: float = 120.0) -> None:
        argv = [
            sys.executable,
            "-m",
            "correlator.stream.local_kafka",
            action,
            "--bootstrap",
            self.bootstrap,
            "--controller-port",
            str(self.controller_port),
            "--data-dir",
            str(self.data_dir),
        ]
        env = {k: v for k, v in os.environ.items() if not k.startswith("CORRELATOR_")}
        done = subprocess.run(
            argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout_s, check=False
        )
        if done.returncode != 0:
            raise AssertionError(f"kafka {action} failed: {done.stdout}\n{done.stderr}")

    def up(self) -> float:
        start = time.monotonic()
        self._run("up")
        return time.monotonic() - start

    def down(self) -> None:
        self._run("down")
