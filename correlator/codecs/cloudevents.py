"""CloudEvents 1.0 structured-mode JSON envelope.

The envelope is validated (``specversion`` "1.0", non-empty ``id``,
``source`` and ``type``; optional RFC 3339 ``time``; a JSON
``datacontenttype`` if given) and its ``data`` is handed back for decoding as
any other supported format, one level deep only. ``data_base64`` is accepted
when it holds JSON. The event ``time`` stands in for ``received_at`` when the
caller has none.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any

from correlator.codecs.fields import Problem, describe, item, opt_str, opt_time, req_str
from correlator.codecs.jsonparse import parse_json
from correlator.codecs.options import DecodeOptions
from correlator.codecs.result import RejectReason

__all__ = ["unwrap"]


def _is_json_media_type(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media in ("application/json", "text/json") or media.endswith("+json")


def unwrap(
    value: dict[str, Any], options: DecodeOptions, received_at: datetime | None
) -> tuple[object, datetime | None]:
    """Validate the envelope; return its data and the effective ``received_at``."""
    specversion = item(value, "specversion", "")
    if specversion != "1.0":
        raise Problem(
            RejectReason.INVALID_FIELD,
            f"specversion: only '1.0' is supported, got {describe(specversion)}",
        )
    for key in ("id", "source", "type"):
        req_str(value, key, "", non_empty=True)
    event_time = opt_time(value, "time", "")
    content_type = opt_str(value, "datacontenttype", "")
    if content_type is not None and not _is_json_media_type(content_type):
        raise Problem(
            RejectReason.INVALID_FIELD,
            f"datacontenttype: expected a JSON media type, got {describe(content_type)}",
        )
    has_data = "data" in value
    has_base64 = "data_base64" in value
    if has_data and has_base64:
        raise Problem(
            RejectReason.INVALID_FIELD, "data, data_base64: an event may carry only one of them"
        )
    if has_data:
        data = value["data"]
        if type(data) is not dict and type(data) is not list:
            raise Problem(
                RejectReason.INVALID_FIELD,
                f"data: expected a JSON object or array, got {describe(data)}",
            )
    elif has_base64:
        encoded = req_str(value, "data_base64", "")
        try:
            decoded = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise Problem(RejectReason.INVALID_FIELD, "data_base64: not valid base64") from None
        data = parse_json(decoded, options.max_depth - 1, "data_base64")
    else:
        raise Problem(
            RejectReason.MISSING_FIELD, "data: required field is missing (no alert in the event)"
        )
    return data, received_at if received_at is not None else event_time
