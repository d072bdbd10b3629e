"""The service topology: which service calls which, as an immutable graph.

Correlator uses the graph to decide which alerts share one cause (an edge
``A -> B`` means ``A`` depends on, calls, ``B``; a fault in ``B`` shows up as
symptoms in ``A``). This package knows nothing of alerts or Kafka.

Loading::

    from topology import load_topology
    topo = load_topology("configs/topology.yaml")
    topo.resolve("checkout-svc")            # -> "checkout"
    topo.neighbourhood("checkout", 2, "dependencies")

Two file formats are read, recognised from their content:

**Project YAML** (strict: unknown keys, wrong types and bad references are
errors naming the file, the entry and the problem; all are reported at once)::

    version: 1              # optional; the format version, must be 1
    name: shop              # optional; a label, not part of the version hash
    services:               # required; a list of entries ...
      - id: checkout        # required; the name alerts use for this service
        kind: service       # service | database | cache | queue | gateway (default service)
        team: payments      # optional free text
        tier: backend       # optional free text
        criticality: high   # optional; critical | high | medium | low
        aliases: [checkout-svc, checkout-deployment]   # other names alerts may use
        depends_on: [payments-db, cart]                 # ids this service calls
        slo:                # optional service level objective
          objective: 99.9   # required; percent, strictly between 0 and 100
          window: 28d       # rolling window: 28d (default), 7d, 1h, 30m or seconds
          severities: [critical, error]   # alert severities that count (default)

``services`` may instead be a mapping from id to entry (the entry then has no
``id`` key, and may be empty for all defaults)::

    services:
      checkout: {team: payments, depends_on: [cart]}
      cart:

Rules: ids, aliases and references are non-empty strings without surrounding
whitespace (quote numbers such as ``"404"``); ``depends_on`` names ids (not
aliases) of services in the same file, never the service itself, each once; an
alias may not equal any id or another alias; duplicate keys are errors.

**Node-link JSON** as written by ``networkx.node_link_data`` (``links``) or
with an ``edges`` key, with ``source``/``target`` or ``from``/``to`` per edge;
an edge ``source -> target`` means source depends on target. Node attributes
``kind``, ``team``, ``tier``, ``criticality``, ``aliases`` and ``slo`` (the
same mapping as in YAML) are read (and checked); other attributes are ignored,
because these files come from other tools. ``"directed": false`` is rejected:
the direction carries the meaning.

``Topology.version`` hashes a canonical form of the graph, so the same graph
gets the same version from either format and in any order; ``to_yaml_dict``
and ``to_node_link`` write documents that load back to the same version.

Limits: documents are at most 64 MiB (``max_bytes``), checked before parsing;
YAML is read with PyYAML's safe constructor only, nested at most 64 levels
(see :mod:`topology.safe_yaml`). For topologies of tens of thousands of
services prefer node-link JSON: it loads about five times faster than YAML.

Command line (:mod:`topology.cli`; every command exits non-zero with a
one-line reason on error)::

    topology validate FILE [--strict]         # errors; cycles/isolated as warnings
    topology show FILE [SERVICE] [--depth N]
    topology add-service|remove-service|add-dependency|remove-dependency|alias ...
                                              # comment-preserving, validated, atomic
    topology diff OLD NEW [--json]            # incl. correlation domains affected
    topology import --from {backstage,compose,otel,nodelink} SOURCE... [--merge FILE]
    topology export FILE --to {mermaid,dot,nodelink,svg,png} [--service S --depth N]
    topology publish FILE [--bootstrap HOST:PORT] [--topic topology]
    topology suggest --incidents FILE [--topology FILE] [--json]

Editing (:mod:`topology.edit`, :mod:`topology.document`), importers
(:mod:`topology.importers`), exports (:mod:`topology.export`,
:mod:`topology.render`) and the history miner (:mod:`topology.suggest`) are
imported only by the command line, so ``import topology`` stays light (no
ruamel.yaml, matplotlib or Kafka client).
"""

from topology.errors import TopologyError
from topology.graph import Topology
from topology.loader import load_topology, loads_topology
from topology.model import SERVICE_KINDS, SLO, Service

__all__ = [
    "SERVICE_KINDS",
    "SLO",
    "Service",
    "Topology",
    "TopologyError",
    "load_topology",
    "loads_topology",
]
