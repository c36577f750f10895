"""Where abcrnn's own files are: the shipped model, the bundled corpus and the web
page's JavaScript travel inside the package (found with importlib.resources, so
a wheel works from anywhere); what is made on the user's machine (the encoded
corpus cache, the web player's note samples) goes to a user cache folder."""
from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

BUNDLED_CORPUS_NAME = "pa4_tunes.txt"


def _package_path(*parts: str) -> Path:
    # A wheel or an editable install puts the package on the file system; the
    # callers need real paths (subprocesses, FileResponse), not Traversables.
    return Path(str(files("abcrnn").joinpath(*parts)))


def shipped_model() -> Path:
    """The folder of the pretrained model that ships with abcrnn."""
    return _package_path("resources", "model")


def bundled_corpus() -> Path:
    """The study's corpus (1,124 chunks of ABC between <start>/<end> lines)."""
    return _package_path("resources", "corpus", BUNDLED_CORPUS_NAME)


def web_static() -> Path:
    """index.html, app.js, style.css of the composer page."""
    return _package_path("web", "static")


def vendor_dir() -> Path:
    """The page's third-party JavaScript (abcjs, swagger-ui), copied from npm's
    node_modules into the package by the set-up (scripts/vendor.py)."""
    return _package_path("web", "static", "vendor")


def user_cache() -> Path:
    """``$XDG_CACHE_HOME/abcrnn`` or ``~/.cache/abcrnn``: things made on this machine."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "abcrnn"
