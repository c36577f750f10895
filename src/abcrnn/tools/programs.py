"""The external programs abcrnn runs (abc2midi, abcm2ps, fluidsynth, lame, gs, and
prlimit, which runs each within its limits): where they are, which Debian package
has each, and the General MIDI soundfont."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

DEFAULT_SOUNDFONT = "/usr/share/sounds/sf2/FluidR3_GM.sf2"
SOUNDFONT_ENV = "ABCRNN_SOUNDFONT"
# Which Debian package provides each external program.
PACKAGES = {"abc2midi": "abcmidi", "abcm2ps": "abcm2ps", "fluidsynth": "fluidsynth",
            "gs": "ghostscript", "lame": "lame", "prlimit": "util-linux"}


class MissingToolError(RuntimeError):
    """An external program or data file is not installed."""


def _install_hint(package: str) -> str:
    return f"install the Debian package '{package}' (apt-get install {package})"


def require_tool(name: str) -> str:
    """Full path of program ``name``, or MissingToolError naming its package."""
    path = shutil.which(name)
    if path is None:
        raise MissingToolError(f"{name} not found: {_install_hint(PACKAGES[name])}")
    return path


def soundfont_path() -> Path:
    """The General MIDI soundfont: ``$ABCRNN_SOUNDFONT`` or the Debian one."""
    override = os.environ.get(SOUNDFONT_ENV)
    path = Path(override or DEFAULT_SOUNDFONT)
    if not path.is_file():
        # An explicit override that is wrong is a different mistake from a
        # missing package, so say which one it was.
        where = f"{SOUNDFONT_ENV}={override}" if override else str(path)
        raise MissingToolError(f"soundfont {where} not found: "
                               f"{_install_hint('fluid-soundfont-gm')} or set {SOUNDFONT_ENV}")
    return path
