"""Write a topology as project YAML that reads like a hand-written file.

``yaml.safe_dump`` of :meth:`~topology.graph.Topology.to_yaml_dict` is valid
but spreads every list over several lines; people write ``depends_on: [a,
b]``. This writer uses ruamel.yaml so short lists and the SLO mapping stay
inline, and it can put a comment block at the top (where an import came
from), which then survives later scripted edits.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from topology.graph import Topology

_INLINE = frozenset({"aliases", "depends_on", "slo", "severities"})


def render_yaml(topology: Topology, header: Sequence[str] = ()) -> str:
    """The topology as list-style project YAML, entries in id order."""
    document = _commented(topology.to_yaml_dict())
    if header:
        document.yaml_set_start_comment("\n".join(header))
    writer = YAML(typ="rt")
    writer.indent(mapping=2, sequence=4, offset=2)
    writer.width = 4096
    out = io.StringIO()
    writer.dump(document, out)
    return out.getvalue()


def _commented(value: Any, key: str | None = None) -> Any:
    if isinstance(value, Mapping):
        mapping = CommentedMap((k, _commented(v, k)) for k, v in value.items())
        if key in _INLINE:
            mapping.fa.set_flow_style()
        return mapping
    if isinstance(value, list | tuple):
        seq = CommentedSeq(_commented(v) for v in value)
        if key in _INLINE:
            seq.fa.set_flow_style()
        return seq
    return value
