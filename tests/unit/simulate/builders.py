"""Shared builders for the simulator and evaluation tests."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from correlator.codecs import Decoded, decode
from correlator.model import Alert
from topology import Service, Topology


def build_topology(edges: Mapping[str, Iterable[str]],
                   kinds: Mapping[str, str] | None = None,
                   aliases: Mapping[str, tuple[str, ...]] | None = None) -> Topology:
    """A topology from ``{service: [dependencies]}``; leaves may be implicit."""
    names = set(edges)
    for deps in edges.values():
        names.update(deps)
    kinds, aliases = kinds or {}, aliases or {}
    return Topology.from_services(
        Service(id=n, kind=kinds.get(n, "service"), aliases=aliases.get(n, ()),
                depends_on=tuple(sorted(edges.get(n, ()))))
        for n in sorted(names)
    )


def decoded_lines(lines: Iterable[bytes]) -> list[tuple[int, Alert]]:
    """(line index, alert) for every alert of every payload line."""
    out: list[tuple[int, Alert]] = []
    for index, line in enumerate(lines):
        result = decode(line)
        assert isinstance(result, Decoded), f"line {index} does not decode: {result}"
        out.extend((index, a) for a in result.alerts)
    return out


def payloads(lines: Iterable[bytes]) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in lines]
