"""Whole-graph checks: the problems no single service entry can show by itself.

Per-entry checks (types, kinds) happen where the entry is read; this module
looks across entries: duplicate ids, references to services that do not
exist, self-dependencies and names that would make alias resolution
ambiguous. It returns problems instead of raising so the loaders can merge
them with their own and report everything at once.
"""

from __future__ import annotations

from collections.abc import Sequence

from topology.model import Service


def cross_check(services: Sequence[Service], labels: Sequence[str], source: str) -> list[str]:
    """Return every cross-entry problem, in entry order.

    ``labels[i]`` names entry ``i`` for messages (e.g. ``service 'cart'
    (services[3])``), so a problem points at the line a person must edit.
    """
    first_label: dict[str, str] = {}
    problems: list[str] = []
    for service, label in zip(services, labels, strict=True):
        if service.id in first_label:
            problems.append(
                f"{source}: {label}: duplicate id {service.id!r} "
                f"(already defined by {first_label[service.id]})"
            )
        else:
            first_label[service.id] = label
    alias_owner = _alias_owners(services, labels, first_label, source, problems)
    for service, label in zip(services, labels, strict=True):
        problems.extend(_dependency_problems(service, label, first_label, alias_owner, source))
    return problems


def _alias_owners(
    services: Sequence[Service],
    labels: Sequence[str],
    ids: dict[str, str],
    source: str,
    problems: list[str],
) -> dict[str, str]:
    """Map each alias to the id that owns it, reporting every collision."""
    owner: dict[str, str] = {}
    for service, label in zip(services, labels, strict=True):
        for alias in service.aliases:
            where = f"{source}: {label}: alias {alias!r}"
            if alias == service.id:
                problems.append(f"{where} repeats the service's own id")
            elif alias in ids:
                problems.append(f"{where} collides with the id of {ids[alias]}")
            elif alias in owner:
                other = owner[alias]
                whose = (
                    "is listed twice"
                    if other == service.id
                    else (f"is already an alias of service {other!r}")
                )
                problems.append(f"{where} {whose}")
            else:
                owner[alias] = service.id
    return owner


def _dependency_problems(
    service: Service,
    label: str,
    ids: dict[str, str],
    alias_owner: dict[str, str],
    source: str,
) -> list[str]:
    problems: list[str] = []
    seen: set[str] = set()
    for target in service.depends_on:
        where = f"{source}: {label}: depends_on {target!r}"
        if target == service.id:
            problems.append(f"{where}: a service cannot depend on itself")
        elif target in seen:
            problems.append(f"{where} is listed twice")
        elif target not in ids:
            hint = (
                f"; it is an alias of {alias_owner[target]!r}, use the id"
                if target in alias_owner
                else ""
            )
            problems.append(f"{where} names no service in this topology{hint}")
        seen.add(target)
    return problems
