"""The pre-parse nesting scan agrees with the real depth of parsed JSON."""

from __future__ import annotations

import time
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from correlator.codecs.depth import bytes_exceed_depth, value_exceeds_depth
from tests.unit.codecs.strategies import json_values


def true_depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((true_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((true_depth(v) for v in value), default=0)
    return 0


tricky_text = st.text(alphabet='[]{}"\\ab', max_size=12)
tricky_json = st.recursive(
    st.none() | st.integers(min_value=-(2**63), max_value=2**63 - 1) | tricky_text,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(tricky_text, children, max_size=3)
    ),
    max_leaves=30,
)


@settings(max_examples=400)
@given(json_values | tricky_json, st.integers(min_value=0, max_value=12))
def test_scan_matches_true_depth(value: Any, limit: int) -> None:
    expected = true_depth(value) > limit
    assert bytes_exceed_depth(orjson.dumps(value), limit) is expected
    assert bytes_exceed_depth(orjson.dumps(value, option=orjson.OPT_INDENT_2), limit) is expected
    assert value_exceeds_depth(value, limit) is expected


CASES = [
    ("scalar", b"1", 0, False),
    ("flat_object", b'{"a": 1}', 1, False),
    ("object_at_limit_zero", b"{}", 0, True),
    ("escaped_quote_then_bracket", b'["\\"[[[["]', 1, False),
    ("escaped_backslash_ends_string", b'["\\\\", [[1]]]', 2, True),
    ("brackets_in_keys", b'{"[[[[": {"}}}}": 1}}', 2, False),
    ("siblings_do_not_add", b"[[],[],[],[],[],[]]", 2, False),
    ("unclosed_tail", b"[" * 70, 64, True),
    ("stray_closers_only", b"]]]]", 1, False),
    ("deep_then_invalid", b"[" * 10 + b"}" * 10, 64, False),
]


@pytest.mark.parametrize(
    ("raw", "limit", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_scan_cases(raw: bytes, limit: int, expected: bool) -> None:
    assert bytes_exceed_depth(raw, limit) is expected


@pytest.mark.parametrize(
    "raw",
    [b"[" * (1 << 20), b"[]" * (1 << 19), orjson.dumps(["[{" * 60] * 8000)[: 1 << 20]],
    ids=["megabyte_of_opens", "megabyte_of_flat_pairs", "megabyte_of_bracket_strings"],
)
def test_scan_is_fast_on_a_megabyte(raw: bytes) -> None:
    started = time.perf_counter()
    bytes_exceed_depth(raw, 64)
    assert time.perf_counter() - started < 0.5  # measured ~5 ms; generous for slow CI
