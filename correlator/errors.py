"""The small exception tree of Correlator.

Input problems never surface as exceptions from the codecs (they become
:class:`~correlator.codecs.Rejection` values); these exceptions are for
configuration and programming errors that a user must fix.
"""


class CorrelatorError(Exception):
    """Base class of every error Correlator raises on purpose."""


class ConfigError(CorrelatorError):
    """A configuration file or value is invalid; the message says where and why."""


class SnapshotError(CorrelatorError):
    """An engine snapshot cannot be restored (corrupt, or from an incompatible version)."""
