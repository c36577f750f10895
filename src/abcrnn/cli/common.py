"""What every command shares: the defaults, the user-facing error, output checks."""
from __future__ import annotations

from pathlib import Path

from abcrnn.resources import bundled_corpus, shipped_model

DEFAULT_CORPUS = bundled_corpus()
DEFAULT_MODEL = shipped_model()


class UserError(Exception):
    """Anything a user can fix: printed as one line, exit code 1."""


def seed_arg(text: str, top: int = 2**63 - 1) -> int:
    """argparse type of every --seed: a whole number from 0 to ``top`` (the range torch's
    and numpy's generators take), said in words rather than an overflow deep inside."""
    import argparse
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or not 0 <= value <= top:
        raise argparse.ArgumentTypeError(f"a seed is a whole number from 0 to {top}, got {text!r}")
    return value


def small_seed_arg(text: str) -> int:
    """A seed for numpy's and scikit-learn's RandomState, which stops at 2**32 - 1."""
    return seed_arg(text, 2**32 - 1)


def flag(name: str) -> str:
    """A config field's command-line flag: ``hidden_size`` -> ``--hidden-size``."""
    return "--" + name.replace("_", "-")


def check_out_folder(folder: Path) -> None:
    """Refuse, before any work, an output folder that is a file, lies under one, or
    cannot be written (the folder, or the nearest one that exists, to be made in)."""
    import os
    if not str(folder):
        raise UserError("--out is empty; give a folder")
    p = Path(folder)
    while not p.exists() and p != p.parent:
        p = p.parent
    if not p.is_dir():
        raise UserError(f"--out {folder}: {p} is " + ("a file, not a folder" if p.is_file()
                                                      else "not a folder"))
    if not os.access(p, os.W_OK | os.X_OK):
        raise UserError(f"--out {folder}: cannot write in {p} ({writable_reason(p)})")


def check_out_file(out: str | None) -> Path | None:
    """The file ``--out`` names, refused before any work if nothing can be written
    there. None for stdout (no ``--out``, or ``-``). See files.write_target: symlinks
    are followed, devices and FIFOs written through, other special files refused."""
    import os

    from abcrnn.files import write_target
    if out is None or out == "-":
        return None
    if not out:
        raise UserError("--out is empty; give a file name (or - for stdout)")
    if Path(out).is_dir():
        raise UserError(f"--out {out} is a folder; give a file name")
    folder = Path(os.path.realpath(out)).parent if Path(out).is_symlink() else Path(out).parent
    if not folder.is_dir():
        raise UserError(f"output folder {folder} "
                        + ("is a file, not a folder" if folder.exists() else "does not exist"))
    try:
        target = write_target(out)
    except OSError as e:
        raise UserError(f"--out {out} {e.strerror}") from None
    if not target.exists() and not os.access(folder, os.W_OK):
        raise UserError(f"cannot write in {folder} ({writable_reason(folder)})")
    return Path(out)


def writable_reason(folder: Path) -> str:
    """Why ``folder`` cannot be written: a read-only file system is not a permission."""
    import os
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return "read-only file system"
    except OSError:
        pass
    return "permission denied"


def read_tunes(src: Path) -> list[str]:
    """The tunes of an ABC file a user names (one clear error if there are none)."""
    from abcrnn.corpus.read import read_text
    from abcrnn.notation.tunes import split_abc
    if not src.is_file():
        raise UserError(f"no ABC file at {src}")
    tunes = split_abc(read_text(src))
    if not tunes:
        raise UserError(f"{src} holds no tune (a tune starts at an X: line)")
    return tunes


class TunesBar:
    """A progress bar of finished tunes on a terminal's stderr (a batch of 1,000 long
    guided tunes takes minutes); nothing when stderr is a file or a pipe."""

    def __init__(self, total: int):
        import sys

        from tqdm import tqdm
        self.bar = tqdm(total=total, unit="tune", desc="generating", dynamic_ncols=True,
                        disable=not sys.stderr.isatty(), leave=False)

    def progress(self, finished: int, total: int) -> None:
        self.bar.update(finished - self.bar.n)

    def close(self) -> None:
        self.bar.close()
