"""Writing files safely: to a temporary name beside the target, flushed and renamed,
so a reader never sees half a file and an error or a crash leaves the old one."""
from __future__ import annotations

import contextlib
import functools
import os
import tempfile
from pathlib import Path


@functools.cache
def umask() -> int:
    """The process's umask (read once: os.umask can only be read by setting it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _naming(e: OSError, path: Path) -> OSError:
    """The same error, naming the file asked for rather than a temporary one (a failed
    write or fsync names no file at all: "No space left on device" alone)."""
    if e.errno is None:
        return e
    return OSError(e.errno, e.strerror or str(e), str(path))   # OSError picks the subclass


def atomic_write(path: str | Path, data: bytes | str) -> None:
    """Write to a temporary file beside ``path``, fsync it, then rename over ``path``.

    On any error or interruption the temporary file is removed and ``path`` keeps
    its old content; an OSError names ``path``. (A process killed outright leaves
    the temporary ``.NAME.*.tmp``; save_checkpoint removes those of its checkpoint.)"""
    path = Path(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise _naming(e, path) from None
    try:
        os.fchmod(fd, 0o666 & ~umask())        # mkstemp makes 0600; give the usual mode
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(OSError):
            Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise _naming(e, path) from None
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
