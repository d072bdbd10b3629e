"""``correlator produce``: JSON Lines in, one raw Kafka record per line out.

Lines are sent byte for byte (only the line ending is removed), because the worker's
decoder, not this tool, decides what is valid: a malformed line must reach the
dead-letter topic with its original bytes, as it would from any other producer.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from typing import IO

from kafka import KafkaProducer
from kafka.errors import KafkaError

from correlator.errors import CorrelatorError
from correlator.stream.settings import KafkaSettings

__all__ = ["RateLimiter", "iter_records", "produce_file"]


class RateLimiter:
    """Spaces calls ``rate`` per second apart (no bursts beyond one small batch)."""

    def __init__(self, rate: float | None) -> None:
        self._interval = 1.0 / rate if rate else 0.0
        self._next = time.monotonic()

    def wait(self) -> None:
        if not self._interval:
            return
        now = time.monotonic()
        if now < self._next:
            time.sleep(self._next - now)
            now = self._next
        self._next = max(self._next + self._interval, now - 1.0)


def iter_records(handle: IO[bytes], *, whole: bool = False) -> Iterator[bytes]:
    """Records of a stream: each non-blank line without its line ending, or the whole text."""
    if whole:
        data = handle.read()
        if data.strip():
            yield data
        return
    for line in handle:
        record = line.rstrip(b"\r\n")
        if record.strip():
            yield record


def _count_lines(path: str) -> int | None:
    try:
        with open(path, "rb") as handle:
            return sum(1 for line in handle if line.strip())
    except OSError:
        return None


def _show(sent: int, total: int | None, started: float) -> None:
    rate = sent / max(time.monotonic() - started, 1e-6)
    if total:
        width = 30
        filled = int(width * sent / total)
        bar = "#" * filled + "." * (width - filled)
        text = f"\r[{bar}] {sent}/{total} records, {rate:,.0f}/s"
    else:
        text = f"\r{sent} records, {rate:,.0f}/s"
    print(text, end="", file=sys.stderr, flush=True)


def produce_file(
    kafka: KafkaSettings,
    path: str,
    topic: str,
    *,
    rate: float | None = None,
    whole: bool = False,
    progress: bool = False,
) -> int:
    """Send the records of ``path`` (``-`` for stdin) to ``topic``; return how many were sent."""
    total = None if path == "-" or whole or not progress else _count_lines(path)
    try:
        producer = KafkaProducer(
            client_id=f"{kafka.client_id}-produce",
            acks="all",
            linger_ms=5,
            max_request_size=16 * 1024 * 1024,
            # bounded: with bad credentials kafka-python retries the bootstrap until this
            bootstrap_timeout_ms=10_000,
            **kafka.kafka_python_config(),
        )
    except KafkaError as exc:
        raise CorrelatorError(kafka.unreachable(exc)) from None
    sent = 0
    started = time.monotonic()
    limiter = RateLimiter(rate)
    try:
        with ExitStack() as stack:
            if path == "-":
                handle: IO[bytes] = sys.stdin.buffer
            else:
                try:
                    handle = stack.enter_context(open(path, "rb"))
                except OSError as exc:
                    raise CorrelatorError(f"cannot read {path}: {exc.strerror}") from None
            for record in iter_records(handle, whole=whole):
                limiter.wait()
                producer.send(topic, record)
                sent += 1
                if progress and sent % 200 == 0:
                    _show(sent, total, started)
            producer.flush()
    except KafkaError as exc:
        raise CorrelatorError(
            f"producing to {topic} failed after {sent} record(s): {exc}"
        ) from None
    finally:
        producer.close()
    if progress:
        _show(sent, total, started)
        print(file=sys.stderr)
    return sent
