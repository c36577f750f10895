"""What every command shares: the defaults, the user-facing error, output checks."""
from __future__ import annotations

import os
from pathlib import Path

from abcrnn.resources import bundled_corpus, shipped_model

DEFAULT_CORPUS = bundled_corpus()
DEFAULT_MODEL = shipped_model()


class UserError(Exception):
    """Anything a user can fix: printed as one line, exit code 1."""


def flag(name: str) -> str:
    """A config field's command-line flag: ``hidden_size`` -> ``--hidden-size``."""
    return "--" + name.replace("_", "-")


def check_out_folder(folder: Path) -> None:
    """Refuse an output folder that is a file or lies under one, before any work."""
    p = folder
    while not p.exists() and p != p.parent:
        p = p.parent
    if not p.is_dir():
        raise UserError(f"--out {folder}: {p} is a file, not a folder")


def check_out_file(out: Path) -> None:
    """Refuse an output file that is a folder, or lies in no folder one may write in,
    before any work."""
    if out.is_dir():
        raise UserError(f"--out {out} is a folder; give a file name")
    if not out.parent.is_dir():
        raise UserError(f"output folder {out.parent} "
                        + ("is a file, not a folder" if out.parent.exists() else "does not exist"))
    if not os.access(out.parent, os.W_OK):
        raise UserError(f"cannot write in {out.parent} (permission denied)")


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
