"""Nesting-depth limits, enforced before the native JSON parser recurses.

orjson (3.8.x) parses recursively without a depth limit: a 1 MiB payload of
``[`` overflows the C stack and kills the process, and inside a thread with
a small stack a few thousand levels suffice. So raw bytes are screened
before parsing, using only C-speed bytes operations:

1. If the payload has at most ``limit`` opening brackets in total, it cannot
   nest deeper than ``limit``; this covers typical small payloads in ~1 µs.
2. Otherwise string literals are removed (escaped backslashes and quotes
   first, then quote-delimited runs), brackets are kept and unified to
   ``[``/``]``, and innermost ``[]`` pairs are deleted one level per pass.
   A balanced document of depth *d* vanishes after exactly *d* passes.

For valid JSON the answer is exact. For unbalanced (invalid) JSON the scan
may answer either way, but never lets more than ``2 * limit`` levels reach
the parser, which then reports the syntax error.

:func:`value_exceeds_depth` is the equivalent walk for already-parsed values.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["bytes_exceed_depth", "value_exceeds_depth"]

_UNIFY = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKET_OR_QUOTE = bytes(b for b in range(256) if b not in b'"[]{}')


def _brackets_outside_strings(raw: bytes) -> bytes:
    text = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    text = text.translate(_UNIFY, _NOT_BRACKET_OR_QUOTE)
    # Adjacent quotes are an empty string or a close/open pair; dropping
    # them keeps the parity of every other quote intact.
    text = text.replace(b'""', b"")
    if b'"' in text:
        text = b"".join(text.split(b'"')[::2])
    return text


def bytes_exceed_depth(raw: bytes, limit: int) -> bool:
    """True if the JSON text ``raw`` nests arrays/objects deeper than ``limit``."""
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    brackets = _brackets_outside_strings(raw)
    if b"[" * (limit + 1) in brackets:
        return True
    for _ in range(limit):
        if not brackets:
            return False
        reduced = brackets.replace(b"[]", b"")
        if len(reduced) == len(brackets):
            # Irreducible "]]][[[": invalid JSON; only a long unclosed tail
            # could still drive the parser deep.
            return brackets.count(b"[") > limit
        brackets = reduced
    if not brackets:
        return False
    return b"[]" in brackets or brackets.count(b"[") > limit


def value_exceeds_depth(value: object, limit: int) -> bool:
    """True if a parsed JSON value nests lists/dicts deeper than ``limit``.

    Iterative, so self-referencing or very deep Python structures are safe.
    """
    if type(value) is not dict and type(value) is not list:
        return False
    if limit < 1:
        return True
    stack: list[tuple[Iterable[object], int]] = [
        (value.values() if type(value) is dict else value, 1)
    ]
    while stack:
        children, depth = stack.pop()
        for entry in children:
            if type(entry) is dict:
                if depth >= limit:
                    return True
                stack.append((entry.values(), depth + 1))
            elif type(entry) is list:
                if depth >= limit:
                    return True
                stack.append((entry, depth + 1))
    return False
