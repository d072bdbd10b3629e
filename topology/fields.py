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
from collections.abc import Callable, Iterable

from topology.model import CRITICALITIES, SERVICE_KINDS, choice_problem, describe, name_problem

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


SERVICE_FIELDS: dict[str, FieldReader] = {
    "id": read_name,
    "kind": read_kind,
    "team": read_text,
    "tier": read_text,
    "criticality": read_criticality,
    "aliases": read_names,
    "depends_on": read_names,
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
