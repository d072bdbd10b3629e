"""The error a ``topology`` sub-command raises for a reason the user must fix.

:func:`topology.cli.main` prints its message as the one-line reason and exits
with status 1; it lives apart so every command module can raise it without
importing the command-line entry point.
"""

from __future__ import annotations


class CommandError(Exception):
    """A command cannot do what was asked; the message is the one-line reason."""
