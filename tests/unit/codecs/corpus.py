"""Shared access to the codec fixture corpus in tests/fixtures/codecs."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from correlator.codecs import Decoded, Rejection, decode
from correlator.model import Alert

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "codecs"
MALFORMED = FIXTURES / "malformed"
GOOD_FIXTURES = sorted(path.name for path in FIXTURES.glob("*.json"))


def raw(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def value(name: str) -> Any:
    return orjson.loads(raw(name))


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, micro: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)


def decoded(payload: bytes, **kwargs: Any) -> Decoded:
    """Decode and fail the test with the rejection detail if it was rejected."""
    result = decode(payload, **kwargs)
    assert isinstance(result, Decoded), result
    return result


def rejected(payload: bytes, **kwargs: Any) -> Rejection:
    result = decode(payload, **kwargs)
    assert isinstance(result, Rejection), result
    return result


def only(result: Decoded) -> Alert:
    assert len(result.alerts) == 1, result.alerts
    return result.alerts[0]
