"""Wire formats of Correlator: the only place that knows how alerts look on the wire.

Supported inputs (detected per record from content, see :mod:`.decoder`):
Alertmanager webhook v4, Grafana webhook (``version: "1"``), PagerDuty Events
API v2 alert events, CloudEvents 1.0 structured JSON wrapping any of these,
and Correlator's own canonical JSON alert, documented here.

Canonical JSON alert
--------------------
One JSON object, or a JSON array of them (at most ``max_alerts``)::

    {
      "fingerprint": "a1b2c3d4e5f60718",        # optional, non-empty string
      "service": "checkout-api",                # required, non-empty string
      "name": "HighErrorRate",                  # required string (may be "")
      "severity": "critical",                   # optional: critical|error|warning|info
                                                #   (default warning)
      "status": "firing",                       # optional: firing|resolved (default firing)
      "starts_at": "2026-09-01T10:02:11.512Z",  # required, RFC 3339 with offset
      "ends_at": null,                          # optional, RFC 3339 or null
      "labels": {"cluster": "eu1"},             # optional, object of string -> string
      "annotations": {"runbook_url": "..."},    # optional, object of string -> string
      "summary": "5xx ratio above 5%",          # optional string (default "")
      "source": "my-exporter"                   # optional string (default "canonical")
    }

Decoding is strict: any other key is rejected (``invalid_field``), as are
wrong types and severity/status words outside the lists above. A missing
fingerprint defaults to :func:`alert_fingerprint` of the labels with
``alertname`` and ``service`` set from ``name`` and ``service``.
:func:`encode_canonical` writes every key, with times formatted by
:func:`~correlator.codecs.timefmt.format_rfc3339`, and decoding its output
gives an equal :class:`~correlator.model.Alert`. An object counts as a
canonical alert when it has two of ``service``/``name``/``starts_at``, or one
of them and only canonical keys; otherwise it is an unknown format.

In every format, an end time equal to Go's zero time
(``0001-01-01T00:00:00Z``) means "no end time" (``ends_at`` is ``None``).
"""

from correlator.codecs.alertmanager import encode_alertmanager
from correlator.codecs.canonical import encode_canonical
from correlator.codecs.decoder import FORMATS, decode, decode_value
from correlator.codecs.fingerprint import alert_fingerprint
from correlator.codecs.options import DEFAULT_SERVICE_LABEL_KEYS, DecodeOptions
from correlator.codecs.result import Decoded, Rejection, RejectReason
from correlator.codecs.timefmt import format_rfc3339, parse_rfc3339

__all__ = [
    "DEFAULT_SERVICE_LABEL_KEYS",
    "FORMATS",
    "DecodeOptions",
    "Decoded",
    "RejectReason",
    "Rejection",
    "alert_fingerprint",
    "decode",
    "decode_value",
    "encode_alertmanager",
    "encode_canonical",
    "format_rfc3339",
    "parse_rfc3339",
]
