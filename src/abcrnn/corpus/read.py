"""Reading corpora from disk: files, folders of files, and music21's collections.

Three input kinds are read:
  * marker files like the study's corpus: each tune between a line ``<start>``
    and a line ``<end>``;
  * plain ``.abc`` files: a tune starts at an ``X:`` line and runs to the next
    blank line or the next ``X:`` line (text before the first ``X:`` is the file
    header and is skipped; ``%`` comments and ``%%`` directives inside a tune are
    kept as written);
  * folders of either, read recursively in sorted order (hidden files and
    folders, whose names start with ".", are skipped).

Files are UTF-8 (a byte-order mark is dropped) unless they declare another
charset with ``I:abc-charset NAME`` or ``%%abc-charset NAME`` (ABC 2.1, e.g.
iso-8859-1). ``music21:NAME`` names a collection that the music21 package ships
(music21 itself is never imported: its folder is found from the installed
package, and its ABC files are read as text like any other). Splitting text into tunes is notation/tunes.py's job.
"""
from __future__ import annotations

import codecs
import importlib.util
import re
from dataclasses import dataclass, field
from pathlib import Path

from abcrnn.notation.tunes import is_fragment, split_any
from abcrnn.resources import bundled_corpus

CORPUS_SUFFIXES = (".abc", ".txt")


class CorpusError(ValueError):
    """A corpus that cannot be used; the message is meant for the user."""


@dataclass
class Corpus:
    tunes: list[str]                      # clean tune texts, no markers, LF only
    fragments: list[str] = field(default_factory=list)   # dropped chunks
    rejoined: int = 0                     # tunes mended from two chunks (see rejoin_cut_tunes)
    sources: list[str] = field(default_factory=list)     # files read

    @property
    def num_chars(self) -> int:
        return sum(len(t) for t in self.tunes)


PREFIX = "music21:"
# A collection, optionally a sub-path inside it: no "..", no absolute paths.
_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*(/[A-Za-z0-9_-][A-Za-z0-9_.-]*)*")


def music21_corpus_root() -> Path:
    """music21's corpus folder, without importing music21 (an import takes seconds)."""
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


def resolve(spec: str | Path | None) -> tuple[Path, bool]:
    """(path to read, whether to repair CP437 mojibake) for a corpus argument;
    ``""`` (or None) is the bundled corpus."""
    if spec is None or str(spec) == "":
        return bundled_corpus(), False
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


_CHARSET = re.compile(rb"^(?:I:|%%)abc-charset[ \t]+([A-Za-z0-9_.:-]+)", re.M)
# C1 control characters never occur in real text. music21's essenFolksong has about
# 1,000 of them in N:/O:/R:/T: lines: umlauts in CP437 that were decoded as Latin-1
# ("eingef\x81hrt" for "eingefuehrt" with u-umlaut), and 0x9E for sharp s ("Stra\x9een").
# Only these characters are mapped back: the same files also hold correct Latin-1 text.
_C1_TO_TEXT = {c: bytes([c]).decode("cp437") for c in range(0x80, 0xA0)} | {0x9E: "\u00df"}


def repair_cp437(text: str) -> str:
    """Read C1 control characters as the CP437 letters they stand for (0x9E as sharp s)."""
    return text.translate(_C1_TO_TEXT)


def read_text(path: Path, repair: bool = False) -> str:
    """A corpus file as text: UTF-8 or its declared ``abc-charset``; ``repair`` mends
    CP437 mojibake (used for music21's collections)."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise CorpusError(f"cannot read {path} ({e.strerror or e})") from None
    if b"\x00" in data:
        raise CorpusError(f"{path} is a binary file, not ABC text")
    declared = _CHARSET.search(data)
    charset = declared.group(1).decode() if declared else "utf-8"
    try:
        codecs.lookup(charset)
    except LookupError:
        raise CorpusError(f"{path} declares an unknown abc-charset {charset!r}") from None
    try:
        text = data.decode(charset)
    except UnicodeDecodeError as e:
        hint = ("" if declared else
                "; if it is Latin-1, add a line %%abc-charset iso-8859-1 before its first X:")
        name = charset if declared else "UTF-8"
        raise CorpusError(f"{path} is not valid {name} (byte {e.start}){hint}") from None
    text = text.removeprefix("\ufeff")
    return repair_cp437(text) if repair else text


def corpus_files(path: Path) -> list[Path]:
    if not path.exists():
        raise CorpusError(f"corpus path {path} does not exist")
    if path.is_file():
        return [path]
    if not path.is_dir():     # /dev/zero, a FIFO: reading it would never end
        raise CorpusError(f"corpus path {path} is neither an ABC file nor a folder "
                          "(a device, a FIFO or a socket)")
    files = sorted(p for p in path.rglob("*")
                   if p.suffix.lower() in CORPUS_SUFFIXES and p.is_file()
                   and not any(part.startswith(".") for part in p.relative_to(path).parts))
    if not files:
        raise CorpusError(f"folder {path} holds no .abc or .txt files")
    return files


def load_corpus(path: str | Path | None = None) -> Corpus:
    """Read every tune under ``path`` (or a ``music21:NAME`` collection; None or ``""``:
    the bundled corpus); fragments are dropped and kept aside."""
    path, repair = resolve(path)
    corpus = Corpus(tunes=[])
    blank = True
    for f in corpus_files(path):
        text = read_text(f, repair)
        blank = blank and not text.strip()
        chunks, mended = split_any(text)
        corpus.rejoined += mended
        for chunk in chunks:
            (corpus.fragments if is_fragment(chunk) else corpus.tunes).append(chunk)
        corpus.sources.append(str(f))
    if blank:
        raise CorpusError(f"{path} is empty (no ABC text)" if path.is_file()
                          else f"folder {path} holds only empty files")
    if not corpus.tunes:
        raise CorpusError(f"{path} holds no complete tune (a tune needs a K: field and notes; "
                          f"{len(corpus.fragments)} fragments found)")
    return corpus


