"""Scripted edits: ``add-service``, ``remove-service``, ``add-dependency``,
``remove-dependency`` and ``alias``.

Each command edits the file in place, keeping comments, order and style
(see :mod:`topology.document`), validates the result with the strict loader
and refuses to write an invalid file; the write is atomic. On success one
line on stdout says what changed and the new version; an edit that is
already in place changes nothing and says so (exit 0), so scripts can repeat
it.
"""

from __future__ import annotations

import argparse
from typing import Any

from topology import edit
from topology.document import Document
from topology.model import CRITICALITIES, SERVICE_KINDS


def register(commands: Any) -> None:
    """Add the editing commands to the ``topology`` parser."""
    add = commands.add_parser(
        "add-service",
        help="add a service entry",
        description="Append a service to FILE. Dependencies may be given by id or alias.",
    )
    add.add_argument("file", metavar="FILE")
    add.add_argument("service", metavar="ID")
    add.add_argument("--kind", choices=SERVICE_KINDS)
    add.add_argument("--team")
    add.add_argument("--tier")
    add.add_argument("--criticality", choices=CRITICALITIES)
    add.add_argument("--alias", action="append", default=[], metavar="ALIAS", help="repeatable")
    add.add_argument(
        "--depends-on", action="append", default=[], metavar="SERVICE", help="repeatable"
    )
    add.set_defaults(handler=_add_service)

    remove = commands.add_parser(
        "remove-service",
        help="remove a service entry",
        description="Remove a service. Refused while other services depend on it, unless "
        "--force, which removes those dependencies too.",
    )
    remove.add_argument("file", metavar="FILE")
    remove.add_argument("service", metavar="ID")
    remove.add_argument("--force", action="store_true")
    remove.set_defaults(handler=_remove_service)

    for name, verb, handler in (
        ("add-dependency", "record that A depends on (calls) B", _add_dependency),
        ("remove-dependency", "forget that A depends on B", _remove_dependency),
    ):
        command = commands.add_parser(name, help=verb, description=f"{verb[0].upper()}{verb[1:]}.")
        command.add_argument("file", metavar="FILE")
        command.add_argument("caller", metavar="A")
        command.add_argument("callee", metavar="B")
        command.set_defaults(handler=handler)

    alias = commands.add_parser(
        "alias",
        help="add or remove an alias of a service",
        description="Give service ID another name alerts may use (or take one away).",
    )
    alias.add_argument("file", metavar="FILE")
    alias.add_argument("service", metavar="ID")
    alias.add_argument("alias", metavar="ALIAS")
    alias.add_argument("--remove", action="store_true")
    alias.set_defaults(handler=_alias)


def _run(path: str, operation: edit.Operation) -> int:
    done = edit.edit_file(path, operation)
    suffix = f" (version {done.topology.version})" if done.result.changed else ""
    print(f"{path}: {done.result.message}{suffix}")
    return 0


def _add_service(args: argparse.Namespace) -> int:
    def operation(document: Document) -> edit.EditResult:
        return edit.add_service(
            document,
            args.service,
            kind=args.kind,
            team=args.team,
            tier=args.tier,
            criticality=args.criticality,
            aliases=args.alias,
            depends_on=args.depends_on,
        )

    return _run(args.file, operation)


def _remove_service(args: argparse.Namespace) -> int:
    return _run(args.file, lambda d: edit.remove_service(d, args.service, force=args.force))


def _add_dependency(args: argparse.Namespace) -> int:
    return _run(args.file, lambda d: edit.add_dependency(d, args.caller, args.callee))


def _remove_dependency(args: argparse.Namespace) -> int:
    return _run(args.file, lambda d: edit.remove_dependency(d, args.caller, args.callee))


def _alias(args: argparse.Namespace) -> int:
    return _run(
        args.file, lambda d: edit.set_alias(d, args.service, args.alias, remove=args.remove)
    )
