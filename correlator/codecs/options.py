"""Decoder limits and knobs, validated once when built.

The limits exist because decoders face untrusted input: size is checked
before parsing, nesting before the native JSON parser recurses, and the
alert count before any per-alert work.
"""

from __future__ import annotations

from dataclasses import dataclass

from correlator.errors import ConfigError

__all__ = ["DEFAULT_SERVICE_LABEL_KEYS", "MAX_DEPTH_CEILING", "DecodeOptions"]

DEFAULT_SERVICE_LABEL_KEYS: tuple[str, ...] = (
    "service",
    "service.name",
    "service_name",
    "app",
    "job",
)

#: Highest accepted ``max_depth``. orjson 3.8 has no recursion limit of its
#: own and overflows the native stack (a segfault, not an exception) at a few
#: thousand levels inside threads with small stacks; the pre-parse scan lets
#: at most ``2 * max_depth`` levels reach it.
MAX_DEPTH_CEILING = 512


def _positive_int(name: str, value: object) -> None:
    if type(value) is not int or value <= 0:
        raise ConfigError(f"DecodeOptions.{name} must be a positive integer, got {value!r}")


@dataclass(frozen=True, slots=True)
class DecodeOptions:
    """Limits and label conventions for :func:`correlator.codecs.decode`.

    ``service_label_keys`` lists the label names that may hold the service
    name, most preferred first.
    """

    max_bytes: int = 1_048_576
    max_depth: int = 64
    max_alerts: int = 10_000
    service_label_keys: tuple[str, ...] = DEFAULT_SERVICE_LABEL_KEYS

    def __post_init__(self) -> None:
        _positive_int("max_bytes", self.max_bytes)
        _positive_int("max_depth", self.max_depth)
        _positive_int("max_alerts", self.max_alerts)
        if self.max_depth > MAX_DEPTH_CEILING:
            raise ConfigError(
                f"DecodeOptions.max_depth must be at most {MAX_DEPTH_CEILING} "
                f"(the JSON parser's native stack), got {self.max_depth}"
            )
        keys: object = self.service_label_keys
        if isinstance(keys, str) or not isinstance(keys, tuple | list):
            raise ConfigError(
                "DecodeOptions.service_label_keys must be a tuple of label names, "
                f"got {type(keys).__name__}"
            )
        if not keys:
            raise ConfigError("DecodeOptions.service_label_keys must not be empty")
        for key in keys:
            if not isinstance(key, str) or not key:
                raise ConfigError(
                    "DecodeOptions.service_label_keys entries must be non-empty strings, "
                    f"got {key!r}"
                )
        if isinstance(keys, list):
            object.__setattr__(self, "service_label_keys", tuple(keys))
