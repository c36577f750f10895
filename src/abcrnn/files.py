"""Writing files safely: to a temporary name beside the target, flushed and renamed,
so a reader never sees half a file and an error or a crash leaves the old one.

Only a regular file is ever replaced. A symlink is followed (the file it points to is
replaced, the link stays); a character device or a FIFO (``/dev/null``, ``/dev/stdout``,
a named pipe) is written through as a stream, as a shell's ``>`` would; anything else
(a folder, a block device, a socket) is refused. Renaming over ``/dev/null`` as root
would otherwise replace the system's device with a regular file."""
from __future__ import annotations

import contextlib
import functools
import os
import stat
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


def is_stream(path: str | Path) -> bool:
    """``path`` (after symlinks) is a character device or a FIFO: written as a stream,
    never replaced, and with no sidecar files beside it."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)


def write_target(path: str | Path) -> Path:
    """The file a write to ``path`` lands in: symlinks followed, and an OSError naming
    ``path`` if that is neither a regular file, a stream (see is_stream) nor new."""
    path = Path(path)
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        return target
    except OSError as e:
        raise _naming(e, path) from None
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(21, "is a folder, not a file", str(path))
    if not (stat.S_ISREG(mode) or stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)):
        raise OSError(22, "is neither a regular file, a character device nor a FIFO; "
                          "abcrnn does not write to it", str(path))
    return target


def _stream_write(target: Path, data: bytes, path: Path) -> None:
    """Write through a device or FIFO (opening a FIFO waits for its reader)."""
    try:
        fd = os.open(target, os.O_WRONLY)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
    except OSError as e:
        raise _naming(e, path) from None


def atomic_write(path: str | Path, data: bytes | str) -> None:
    """Write to a temporary file beside ``path``, fsync it, then rename over ``path``
    (after symlinks; a device or FIFO is written through instead: see the module).

    On any error or interruption the temporary file is removed and ``path`` keeps
    its old content; an OSError names ``path``. (A process killed outright leaves
    the temporary ``.NAME.*.tmp``; save_checkpoint removes those of its checkpoint.)"""
    asked = Path(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    path = write_target(asked)
    if is_stream(path):
        return _stream_write(path, data, asked)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise _naming(e, asked) from None
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
            raise _naming(e, asked) from None
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def place(made: str | Path, path: str | Path) -> None:
    """Move the finished file ``made`` (in a folder beside ``path``) to ``path`` under
    atomic_write's rules: a rename when ``path`` is a regular file or new, else (a
    symlink, a device, a FIFO) its bytes through atomic_write."""
    path = Path(path)
    if not path.is_symlink() and write_target(path) == path and not is_stream(path):
        try:
            os.replace(made, path)
        except OSError as e:
            raise _naming(e, path) from None
        return
    atomic_write(path, Path(made).read_bytes())
