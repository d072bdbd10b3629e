"""decode/decode_value never raise and never fall back to the internal-error path.

The catch-all at the boundary exists for bugs; these properties show that
real validation handles arbitrary bytes, arbitrary JSON, format-shaped junk
and mutations of every good fixture.
"""

from __future__ import annotations

import copy
import math
import os
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from correlator.codecs import (
    FORMATS,
    Decoded,
    DecodeOptions,
    Rejection,
    RejectReason,
    decode,
    decode_value,
)
from correlator.model import Alert
from tests.unit.codecs.corpus import GOOD_FIXTURES, raw, utc
from tests.unit.codecs.strategies import json_values

RECEIVED = utc(2026, 9, 1, 10, 6)
# CODEC_FUZZ_EXAMPLES=20000 turns these into a longer fuzzing run.
PROPERTY = settings(
    max_examples=int(os.environ.get("CODEC_FUZZ_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def check(result: object, payload: bytes) -> None:
    assert isinstance(result, Decoded | Rejection)
    if isinstance(result, Rejection):
        assert result.raw == payload
        assert result.detail and len(result.detail) <= 400
        assert "internal error" not in result.detail, result.detail
        assert result.format is None or result.format in FORMATS
    else:
        assert result.format in FORMATS
        for alert in result.alerts:
            assert isinstance(alert, Alert)
            assert alert.fingerprint
            assert alert.starts_at.utcoffset() is not None


@PROPERTY
@given(st.binary(max_size=2048))
def test_arbitrary_bytes(payload: bytes) -> None:
    check(decode(payload), payload)


@PROPERTY
@given(json_values, st.sampled_from([None, RECEIVED]))
def test_arbitrary_json(body: Any, received_at: Any) -> None:
    payload = orjson.dumps(body)
    check(decode(payload, received_at=received_at), payload)
    check(decode_value(body, raw=payload, received_at=received_at), payload)


@PROPERTY
@given(
    st.recursive(
        st.none() | st.floats() | st.binary(max_size=8) | st.text(max_size=8) | st.integers(),
        lambda children: (
            st.lists(children, max_size=3)
            | st.tuples(children, children)
            | st.frozensets(st.integers(), max_size=3)
            | st.dictionaries(st.integers() | st.text(max_size=8), children, max_size=3)
        ),
        max_leaves=20,
    )
)
def test_decode_value_with_non_json_python_values(body: Any) -> None:
    check(decode_value(body, raw=b"x"), b"x")


def _fixture_values() -> list[Any]:
    return [orjson.loads(raw(name)) for name in GOOD_FIXTURES]


@st.composite
def mutated_fixture(draw: st.DrawFn) -> Any:
    """A good fixture with one nested member deleted, replaced or re-typed."""
    root = copy.deepcopy(draw(st.sampled_from(_fixture_values())))
    parent: Any = None
    key: Any = None
    node = root
    for _ in range(draw(st.integers(min_value=0, max_value=5))):
        if isinstance(node, dict) and node:
            step: Any = draw(st.sampled_from(sorted(node)))
        elif isinstance(node, list) and node:
            step = draw(st.integers(min_value=0, max_value=len(node) - 1))
        else:
            break
        parent, key, node = node, step, node[step]
    if parent is None:
        return draw(json_values)
    action = draw(st.sampled_from(["delete", "replace", "wrap", "stringify", "empty"]))
    if action == "delete":
        del parent[key]
    elif action == "replace":
        parent[key] = draw(json_values)
    elif action == "wrap":
        parent[key] = [node]
    elif action == "stringify":
        parent[key] = str(node)
    else:
        parent[key] = type(node)() if isinstance(node, dict | list | str) else None
    return root


@PROPERTY
@given(mutated_fixture(), st.sampled_from([None, RECEIVED]))
def test_mutated_fixtures(body: Any, received_at: Any) -> None:
    payload = orjson.dumps(body)
    check(decode(payload, received_at=received_at), payload)


@PROPERTY
@given(
    st.sampled_from(GOOD_FIXTURES),
    st.lists(st.tuples(st.floats(0, 1), st.binary(min_size=0, max_size=3)), min_size=1, max_size=4),
)
def test_byte_mutated_fixtures(name: str, edits: list[tuple[float, bytes]]) -> None:
    payload = raw(name)
    for where, replacement in edits:
        cut = math.floor(where * len(payload))
        payload = payload[:cut] + replacement + payload[cut + 1 :]
    check(decode(payload), payload)


@PROPERTY
@given(
    st.integers(min_value=0, max_value=200),
    st.integers(min_value=0, max_value=200),
    st.sampled_from([b"[", b"{", b'{"a":', b'["', b"[1,"]),
    st.integers(min_value=1, max_value=80),
)
def test_bracket_soup(opens: int, closes: int, unit: bytes, depth: int) -> None:
    payload = unit * opens + b"]" * closes + b"}" * closes
    options = DecodeOptions(max_depth=depth)
    check(decode(payload, options), payload)


@PROPERTY
@given(json_values, st.integers(min_value=1, max_value=6))
def test_small_limits(body: Any, limit: int) -> None:
    payload = orjson.dumps(body)
    options = DecodeOptions(max_depth=limit, max_alerts=limit, max_bytes=64 * limit)
    check(decode(payload, options), payload)


@PROPERTY
@given(
    st.sampled_from(GOOD_FIXTURES),
    st.floats(0, 1),
    st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\x80"]),
)
def test_invalid_utf8_anywhere_is_classified(name: str, where: float, bad: bytes) -> None:
    payload = raw(name)
    cut = math.floor(where * len(payload))
    payload = payload[:cut] + bad + payload[cut:]
    result = decode(payload)
    assert isinstance(result, Rejection)
    assert result.reason is RejectReason.INVALID_UTF8, result.detail
    assert result.raw == payload
