"""Readers that turn one raw (parsed YAML/JSON) field value into a checked one.

Each reader returns the cleaned value and the problems it found, worded to
follow the field name (``depends_on must be a list of strings, got ...``).
Both file formats share them, so a field means the same thing everywhere, and
the project format's allowed keys are simply the keys of
:data:`SERVICE_FIELDS`: supporting a new per-service key is one line there
plus the matching :class:`~topology.model.Service` field.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable

from topology.errors import TopologyError
from topology.model import (
    CRITICALITIES,
    DEFAULT_SLO_SEVERITIES,
    DEFAULT_SLO_WINDOW_SECONDS,
    SERVICE_KINDS,
    SLO,
    choice_problem,
    describe,
    name_problem,
    slo_problems,
)

FieldReader = Callable[[str, object], tuple[object, list[str]]]
"""``reader(field_name, raw) -> (clean value, problems)``."""


def read_name(field: str, raw: object) -> tuple[object, list[str]]:
    """A required service id."""
    problem = name_problem(raw)
    return raw, [] if problem is None else [f"{field} {problem}{_quote_hint(raw)}"]


def read_kind(field: str, raw: object) -> tuple[object, list[str]]:
    """One of :data:`~topology.model.SERVICE_KINDS`."""
    problem = choice_problem(raw, SERVICE_KINDS)
    return raw, [] if problem is None else [f"{field} {problem}"]


def read_criticality(field: str, raw: object) -> tuple[object, list[str]]:
    """One of :data:`~topology.model.CRITICALITIES`, or null."""
    if raw is None:
        return None, []
    problem = choice_problem(raw, CRITICALITIES)
    return raw, [] if problem is None else [f"{field} {problem}"]


def read_text(field: str, raw: object) -> tuple[object, list[str]]:
    """Free text such as a team or tier name, or null."""
    if raw is None or (isinstance(raw, str) and raw.strip()):
        return raw, []
    return None, [f"{field} must be a non-empty string, got {describe(raw)}{_quote_hint(raw)}"]


def read_names(field: str, raw: object) -> tuple[object, list[str]]:
    """A list of service names (aliases, dependencies); null means empty."""
    if raw is None:
        return (), []
    if not isinstance(raw, list):
        hint = f" (write [{raw}])" if isinstance(raw, str) else ""
        return (), [f"{field} must be a list of strings, got {describe(raw)}{hint}"]
    names: list[str] = []
    problems: list[str] = []
    for index, item in enumerate(raw):
        problem = name_problem(item)
        if problem is None:
            assert isinstance(item, str)
            names.append(item)
        else:
            problems.append(f"{field}[{index}] {problem}{_quote_hint(item)}")
    return tuple(names), problems


WINDOW_UNITS: dict[str, int] = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
"""Suffixes an SLO window may use, largest first (``28d``, ``1h``, ``90m``)."""

SLO_KEYS = ("objective", "window", "severities")
_WINDOW = re.compile(r"([0-9]+)([wdhms])")


def parse_window(raw: object) -> tuple[int | None, str | None]:
    """Read an SLO window: whole seconds, or a count with a unit (``28d``, ``7d``, ``1h``)."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        if raw > 0:
            return raw, None
    elif isinstance(raw, str) and (match := _WINDOW.fullmatch(raw)):
        seconds = int(match.group(1)) * WINDOW_UNITS[match.group(2)]
        if seconds > 0:
            return seconds, None
    return None, (
        "window must be a positive duration such as 28d, 7d, 1h, 30m or a whole number "
        f"of seconds, got {describe(raw)}"
    )


def format_window(seconds: int) -> str | int:
    """Write a window the way a person would (``28d``); odd amounts stay plain seconds."""
    for unit in ("d", "h", "m"):
        if seconds % WINDOW_UNITS[unit] == 0:
            return f"{seconds // WINDOW_UNITS[unit]}{unit}"
    return seconds


def slo_document(slo: SLO) -> dict[str, object]:
    """The ``slo:`` mapping for an :class:`SLO`, as both export formats write it."""
    return {
        "objective": slo.objective,
        "window": format_window(slo.window_seconds),
        "severities": list(slo.severities),
    }


def read_slo(field: str, raw: object) -> tuple[object, list[str]]:
    """An optional SLO mapping ``{objective, window?, severities?}``, or null."""
    if raw is None:
        return None, []
    if not isinstance(raw, dict):
        return None, [
            f"{field} must be a mapping such as {{objective: 99.9, window: 28d}}, "
            f"got {describe(raw)}"
        ]
    problems = [
        f"{field}: {unknown_key_problem(key, SLO_KEYS)}" for key in raw if key not in SLO_KEYS
    ]
    if "objective" not in raw:
        problems.append(f"{field}: missing required key 'objective' (a percentage such as 99.9)")
    else:  # checked here too, so a bad objective is reported next to other problems
        problems += [f"{field}: {p}" for p in slo_problems(raw["objective"], 1, ("error",))]
    window: int | None = DEFAULT_SLO_WINDOW_SECONDS
    if "window" in raw:
        window, window_problem = parse_window(raw["window"])
        if window_problem is not None:
            problems.append(f"{field}: {window_problem}")
    severities: object = DEFAULT_SLO_SEVERITIES
    if "severities" in raw:
        severities = raw["severities"]
        if isinstance(severities, list):
            severities = tuple(severities)
        elif isinstance(severities, str):
            problems.append(
                f"{field}: severities must be a list, got {describe(severities)} "
                f"(write [{severities}])"
            )
            severities = None
    if problems:
        return None, problems
    try:
        slo = SLO(objective=raw["objective"], window_seconds=window or 0, severities=severities)  # type: ignore[arg-type]
    except TopologyError as exc:
        return None, [f"{field}: {p.removeprefix('<memory>: slo: ')}" for p in exc.problems]
    return slo, []


SERVICE_FIELDS: dict[str, FieldReader] = {
    "id": read_name,
    "kind": read_kind,
    "team": read_text,
    "tier": read_text,
    "criticality": read_criticality,
    "aliases": read_names,
    "depends_on": read_names,
    "slo": read_slo,
}
"""Every key a service entry may have, with its reader (the project format's schema)."""


def unknown_key_problem(key: object, allowed: Iterable[str]) -> str:
    """Word an unknown-key problem: the key, a likely intended key, the allowed keys."""
    choices = sorted(allowed)
    guess = difflib.get_close_matches(str(key), choices, n=1) if isinstance(key, str) else []
    hint = f" (did you mean {guess[0]!r}?)" if guess else ""
    return f"unknown key {key!r}{hint}; allowed keys: {', '.join(choices)}"


def _quote_hint(raw: object) -> str:
    # YAML turns unquoted 404, 1.10, yes/no and dates into non-strings.
    if raw is not None and not isinstance(raw, str | list | dict):
        return "; quote it in YAML to make it a string"
    return ""
