"""Decode throughput of the codecs, in alerts per second on one core.

Generates Alertmanager v4 webhook payloads of 10 alerts each (realistic
label and annotation sizes, distinct timestamps and fingerprints so no cache
flatters the figure), decodes them with :func:`correlator.codecs.decode`
and prints the best of several rounds. Also reports the cost of the
pre-parse nesting scan on 1 MiB payloads and of rejecting a 10 MiB payload.

Run: ``python bench/bench_codecs.py [--payloads N] [--rounds R]``
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

# Runnable from a checkout without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from correlator.codecs import Decoded, DecodeOptions, decode, encode_canonical
from correlator.codecs.depth import bytes_exceed_depth
from correlator.codecs.timefmt import format_rfc3339

_BASE = datetime(2026, 9, 1, 10, 0, tzinfo=UTC)
_SERVICES = ("checkout-api", "cart-api", "web-frontend", "postgres-orders", "payments-gateway")


def alertmanager_payload(index: int, size: int = 10) -> bytes:
    """One webhook body with ``size`` alerts; every field varies with ``index``."""
    alerts = []
    for n in range(size):
        serial = index * size + n
        service = _SERVICES[serial % len(_SERVICES)]
        firing = serial % 4 != 0
        start = _BASE + timedelta(seconds=serial, microseconds=serial * 7919 % 1_000_000)
        alerts.append(
            {
                "status": "firing" if firing else "resolved",
                "labels": {
                    "alertname": f"HighErrorRate{serial % 17}",
                    "cluster": "eu1",
                    "namespace": "shop",
                    "severity": ("critical", "warning", "error", "info")[serial % 4],
                    "service": service,
                    "pod": f"{service}-7d9f8b6c5-{serial:05d}",
                    "team": "payments",
                },
                "annotations": {
                    "summary": f"5xx ratio above 5% for {service}",
                    "runbook_url": "https://runbooks.example.internal/high-error-rate",
                },
                "startsAt": start.strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z",
                "endsAt": "0001-01-01T00:00:00Z"
                if firing
                else format_rfc3339(start + timedelta(minutes=5)),
                "generatorURL": "http://prometheus:9090/graph?g0.expr=job%3Aerrors%3Aratio5m",
                "fingerprint": f"{serial * 2654435761 % (1 << 64):016x}",
            }
        )
    body = {
        "version": "4",
        "groupKey": '{}/{team="payments"}:{alertname="HighErrorRate"}',
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "correlator",
        "groupLabels": {"alertname": "HighErrorRate"},
        "commonLabels": {"cluster": "eu1", "team": "payments"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": alerts,
    }
    return orjson.dumps(body)


def _rate(payloads: list[bytes], rounds: int) -> tuple[float, int]:
    best = float("inf")
    count = 0
    for _ in range(rounds):
        count = 0
        started = time.perf_counter()
        for payload in payloads:
            result = decode(payload)
            assert isinstance(result, Decoded), result
            count += len(result.alerts)
        best = min(best, time.perf_counter() - started)
    return count / best, count


def _time_once(action: object) -> float:
    assert callable(action)
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payloads", type=int, default=3000, help="payloads per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds; the best is reported")
    args = parser.parse_args()

    payloads = [alertmanager_payload(i) for i in range(args.payloads)]
    rate, count = _rate(payloads, args.rounds)
    print(f"alertmanager, 10 alerts/payload: {rate:,.0f} alerts/s ({count} alerts per round)")

    big = [alertmanager_payload(i, size=100) for i in range(args.payloads // 10)]
    rate, count = _rate(big, args.rounds)
    print(f"alertmanager, 100 alerts/payload: {rate:,.0f} alerts/s (nesting scan path)")

    decoded = decode(payloads[0])
    assert isinstance(decoded, Decoded)
    canonical = [orjson.dumps(encode_canonical(alert)) for alert in decoded.alerts] * 300
    rate, count = _rate(canonical, args.rounds)
    print(f"canonical, 1 alert/payload: {rate:,.0f} alerts/s")

    limit = DecodeOptions().max_depth
    mib_am = alertmanager_payload(0, size=2300)[: 1 << 20]
    mib_deep = b"[" * (1 << 20)
    mib_strings = orjson.dumps(["[{" * 60] * 8000)[: 1 << 20]
    for label, blob in (
        ("1 MiB Alertmanager payload", mib_am),
        ("1 MiB of '['", mib_deep),
        ("1 MiB of strings full of brackets", mib_strings),
    ):
        seconds = min(
            _time_once(lambda blob=blob: bytes_exceed_depth(blob, limit)) for _ in range(5)
        )
        print(f"nesting scan, {label} ({len(blob):,} bytes): {seconds * 1e3:.2f} ms")
    ten_mib = b" " * (10 << 20)
    seconds = min(_time_once(lambda: decode(ten_mib)) for _ in range(5))
    print(f"reject 10 MiB payload: {seconds * 1e6:.1f} us")


if __name__ == "__main__":
    main()
