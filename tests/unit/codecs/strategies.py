"""Hypothesis strategies shared by the codec property tests."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import strategies as st

from correlator.model import Alert, Severity, Status

# orjson refuses lone surrogates, which no JSON sender can produce anyway.
text = st.text(alphabet=st.characters(codec="utf-8"), max_size=16)
non_empty_text = st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=16)
label_maps = st.dictionaries(text, text, max_size=5)
# Go's zero time is the one instant that reads back as "no end time".
times = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
)

alerts = st.builds(
    Alert,
    fingerprint=non_empty_text,
    source=text,
    service=non_empty_text,
    name=text,
    severity=st.sampled_from(Severity),
    status=st.sampled_from(Status),
    starts_at=times,
    ends_at=st.none() | times,
    labels=label_maps,
    annotations=label_maps,
    summary=text,
)

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | text
)

# Keys and values that steer random objects into every decoder's paths.
FIELD_NAMES = (
    "version", "alerts", "status", "labels", "annotations", "startsAt", "endsAt", "fingerprint",
    "commonLabels", "orgId", "specversion", "id", "source", "type", "time", "data", "data_base64",
    "datacontenttype", "routing_key", "event_action", "dedup_key", "payload", "summary",
    "severity", "timestamp", "component", "class", "custom_details", "service", "name",
    "starts_at", "ends_at", "alertname",
)  # fmt: skip
FIELD_VALUES = (
    "4", "1", "1.0", "firing", "resolved", "trigger", "acknowledge", "resolve", "critical",
    "2026-09-01T10:00:00Z", "0001-01-01T00:00:00Z", "2026-09-01T10:00:00", "e30=", "",
)  # fmt: skip

json_values = st.recursive(
    json_scalars | st.sampled_from(FIELD_VALUES),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(FIELD_NAMES) | text, children, max_size=6)
    ),
    max_leaves=40,
)
