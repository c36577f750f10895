"""One training run per folder: an advisory lock while a run writes there, and no
silent replacement of a run that is already there.

Two `abcrnn train` into the same --out used to interleave: one's clean-up deleted the
other's checkpoint, and the folder ended with one run's model and the other's split.
A run now holds a lock on ``RUN`` (flock on the folder itself) from before its first write (for a folder that
exists, before it reads the checkpoint there) until it ends; the kernel drops the lock when the process dies, however it dies. A folder that holds a
run (model.json or last.json) is only continued with ``resume`` or replaced with
``overwrite``; replacing deletes the old run's files first, so the folder is never a
mix of two runs."""
from __future__ import annotations

import fcntl
import os
from pathlib import Path

# What a run writes (training/loop.py, runstate.py, checkpoint.py): an overwrite
# deletes these and nothing else a user may keep in the folder.
RUN_FILES = ("model.json", "last.json", "split.json", "history.csv", "history.json", "loss.png")
RUN_GLOBS = ("*.safetensors", ".*.tmp")


class RunFolderError(RuntimeError):
    """The run folder is in use, or holds a run that was not meant to be replaced."""


def holds_run(out: Path) -> bool:
    return (out / "model.json").exists() or (out / "last.json").exists()


def _acquire(folder: Path) -> int:
    """An fd of ``folder`` itself holding its flock: no lock file, so a refused run
    changes nothing in the folder, and a killed one leaves nothing behind."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise RunFolderError(f"{folder} is in use by another abcrnn train; wait for it to end "
                             "or choose another --out") from None
    return fd


def _remove_run(out: Path) -> None:
    for name in RUN_FILES:
        (out / name).unlink(missing_ok=True)
    for pattern in RUN_GLOBS:
        for p in out.glob(pattern):
            p.unlink(missing_ok=True)


def _refuse_replacing(out: Path, resume: bool, overwrite: bool) -> None:
    if holds_run(out) and not (resume or overwrite):
        raise RunFolderError(f"--out {out} already holds a run; continue it with --resume "
                             "or replace it with --overwrite")


class RunClaim:
    """``with RunClaim(out, resume, overwrite) as folder:`` holds ``out``'s lock for the body.
    Refuses a folder in use, and one that holds a run unless ``resume`` (continue it) or
    ``overwrite`` (delete it first). A folder that exists is locked at once; a new one
    is made and locked by ``folder.ensure()``, which the run calls before its first
    write, so a run refused for its corpus or settings leaves no trace. Under torchrun
    only rank 0 claims (the other ranks write nothing there)."""

    def __init__(self, out: str | Path, resume: bool = False, overwrite: bool = False, say=print):
        self.out, self.resume, self.overwrite, self.say = Path(out), resume, overwrite, say
        self.fd = None
        self.active = os.environ.get("RANK", "0") == "0"

    def __enter__(self):
        if self.active:
            _refuse_replacing(self.out, self.resume, self.overwrite)   # before touching it
            if self.out.exists():
                self.ensure()
        return self

    def ensure(self) -> None:
        """Make the folder if needed and hold its lock (idempotent)."""
        if not self.active or self.fd is not None:
            return
        self.out.mkdir(parents=True, exist_ok=True)
        self.fd = _acquire(self.out)
        _refuse_replacing(self.out, self.resume, self.overwrite)   # again: a run may have ended meanwhile
        if holds_run(self.out) and not self.resume:
            _remove_run(self.out)
            self.say(f"--overwrite: the run that was in {self.out} is deleted")

    def __exit__(self, *exc):
        if self.fd is not None:
            os.close(self.fd)                             # closing releases the lock
            self.fd = None
