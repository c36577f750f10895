"""Where a corpus comes from: a file or folder, or ``music21:NAME``, a collection of
ABC files that the music21 package ships (``music21/corpus/NAME/``).

music21 is optional (``pip install 'abcrnn[corpora]'``) and is never imported: its
folder is found from the installed package's location, and the ABC files are read
as text by our own reader (abc.py), not parsed by music21. No torch here.
"""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

PREFIX = "music21:"
# A collection, optionally a sub-path inside it: no "..", no absolute paths.
_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*(/[A-Za-z0-9_-][A-Za-z0-9_.-]*)*")


def music21_corpus_root() -> Path:
    """music21's corpus folder, without importing music21 (an import takes seconds)."""
    from .abc import CorpusError
    spec = importlib.util.find_spec("music21")
    if spec is None or not spec.submodule_search_locations:
        raise CorpusError("music21: corpora need the music21 package: pip install 'abcrnn[corpora]'")
    return Path(next(iter(spec.submodule_search_locations))) / "corpus"


def abc_collections(root: Path) -> list[str]:
    """Folders under ``root`` that hold at least one .abc file."""
    if not root.is_dir():
        return []
    return sorted(d.name for d in root.iterdir()
                  if d.is_dir() and next(d.rglob("*.abc"), None) is not None)


def resolve(spec: str | Path) -> tuple[Path, bool]:
    """(path to read, whether to repair CP437 mojibake) for a corpus argument."""
    from .abc import CorpusError
    text = str(spec)
    if not text.startswith(PREFIX):
        return Path(spec), False
    name = text[len(PREFIX):]
    root = music21_corpus_root()
    if not _NAME.fullmatch(name):
        raise CorpusError(f"{text}: expected music21:NAME with NAME one of "
                          + ", ".join(abc_collections(root)))
    path = root / name
    if not path.exists() or (path.is_dir() and next(path.rglob("*.abc"), None) is None):
        what = "no collection" if not path.exists() else "no ABC files in"
        raise CorpusError(f"{text}: music21 has {what} {name!r}; its ABC collections are "
                          + ", ".join(abc_collections(root)))
    return path, True
