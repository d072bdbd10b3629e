"""Reading and replacing topology files safely.

Reads are size-limited like the loader's. Writes are atomic: the new text
goes to a temporary file in the same directory, is flushed to disk, and then
renamed over the old file, so a crash or a full disk leaves either the old
file or the new one, never half of each, and a worker watching the file never
reads a torn topology.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile

from topology.errors import TopologyError
from topology.loader import DEFAULT_MAX_BYTES


def read_text(path: str, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """The file's text (UTF-8); a TopologyError with one clear line otherwise."""
    try:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            raise TopologyError([f"{path}: is a directory, not a file"], source=path)
        with open(path, "rb") as handle:
            data = handle.read(max_bytes + 1)
    except FileNotFoundError:
        raise TopologyError([f"{path}: file not found"], source=path) from None
    except PermissionError:
        raise TopologyError([f"{path}: permission denied"], source=path) from None
    except OSError as exc:
        raise TopologyError([f"{path}: cannot read: {exc.strerror or exc}"], source=path) from None
    if len(data) > max_bytes:
        raise TopologyError([f"{path}: too large: more than {max_bytes} bytes"], source=path)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TopologyError(
            [f"{path}: not UTF-8 text (invalid byte at offset {exc.start})"], source=path
        ) from None


def write_atomic(path: str, text: str | bytes) -> None:
    """Replace ``path`` with ``text`` in one rename, keeping the old file's permissions."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    directory = os.path.dirname(os.path.abspath(path))
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    except OSError as exc:
        raise TopologyError([f"{path}: cannot write: {exc.strerror or exc}"], source=path) from None
    try:
        handle, temporary = tempfile.mkstemp(
            prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory
        )
    except OSError as exc:
        raise TopologyError([f"{path}: cannot write: {exc.strerror or exc}"], source=path) from None
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise TopologyError([f"{path}: cannot write: {exc.strerror or exc}"], source=path) from None


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
