"""The one exception the topology package raises on purpose.

A topology file is user input, so a bad one must never end in a traceback:
every loader and builder collects *all* the problems it can find and raises a
single :class:`TopologyError` that lists them, one self-contained line each
(file, entry, what is wrong), so ``topology validate`` can print them all and
a person can fix a file in one pass instead of one error at a time.
"""

from __future__ import annotations

from collections.abc import Iterable


class TopologyError(ValueError):
    """A topology is invalid; ``problems`` lists every problem found.

    It subclasses :class:`ValueError` so callers that do not know this package
    still treat it as "bad value" rather than a crash.
    """

    def __init__(self, problems: str | Iterable[str], source: str = "<memory>") -> None:
        # A plain message is one problem per line (also how pickling rebuilds it).
        found = tuple(problems.splitlines() if isinstance(problems, str) else problems)
        if not found:
            found = (f"{source}: invalid topology",)
        self.problems: tuple[str, ...] = found
        self.source: str = source
        super().__init__("\n".join(found))

    def __reduce__(self) -> tuple[type[TopologyError], tuple[tuple[str, ...], str]]:
        return (type(self), (self.problems, self.source))
