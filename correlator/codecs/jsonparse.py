"""Bytes to JSON value, safely: emptiness, depth and encoding checked first.

Shared by :func:`correlator.codecs.decode` and CloudEvents ``data_base64``.
The depth screen must run before orjson (see :mod:`.depth`); invalid UTF-8
is classified explicitly on the error path, where it costs nothing for the
valid payloads on the hot path.
"""

from __future__ import annotations

import orjson

from correlator.codecs.depth import bytes_exceed_depth
from correlator.codecs.fields import Problem
from correlator.codecs.result import RejectReason

__all__ = ["parse_json"]

_BOM = b"\xef\xbb\xbf"
_MESSAGE_LIMIT = 160


def parse_json(raw: bytes, max_depth: int, where: str = "payload") -> object:
    """Parse JSON text, raising :class:`Problem` with the precise reason.

    A leading UTF-8 byte-order mark is tolerated (some HTTP clients add one).
    """
    body = raw[3:] if raw.startswith(_BOM) else raw
    if not body or body.isspace():
        detail = "is empty" if not body else "contains only whitespace"
        raise Problem(RejectReason.EMPTY, f"{where} {detail}")
    if bytes_exceed_depth(body, max_depth):
        raise Problem(
            RejectReason.TOO_DEEP, f"{where}: JSON nests deeper than max_depth={max_depth}"
        )
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as bad:
            raise Problem(
                RejectReason.INVALID_UTF8,
                f"{where}: invalid UTF-8 at byte {bad.start + len(raw) - len(body)}: {bad.reason}",
            ) from None
        message = str(exc)[:_MESSAGE_LIMIT]
        raise Problem(RejectReason.INVALID_JSON, f"{where}: invalid JSON: {message}") from None
