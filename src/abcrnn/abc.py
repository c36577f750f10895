"""Pure text handling of ABC notation: read corpora, split them into tunes,
headers and bars, and tidy generated text. No torch here.

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
(see corpora.py).
"""
from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from pathlib import Path

START = "<start>"
END = "<end>"
CORPUS_SUFFIXES = (".abc", ".txt")

_FIELD = re.compile(r"^([A-Za-z]):")
_NOTE = re.compile(r"[A-Ga-g]")
# Text inside chord symbols / annotations ("..."), decorations (!...!, +...+)
# and comments must not count as notes.
_NOT_MUSIC = re.compile(r'"[^"\n]*"|![^!\n]*!|\+[^+\n]*\+|%.*$', re.M)


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


def normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def split_marked(text: str) -> list[str]:
    """Chunks between ``<start>`` and ``<end>`` lines (markers removed)."""
    chunks, cur = [], None
    for line in normalise_newlines(text).split("\n"):
        s = line.strip()
        if s == START:
            cur = []
        elif s == END:
            if cur is not None:
                chunks.append("\n".join(cur).strip("\n"))
            cur = None
        elif cur is not None:
            cur.append(line.rstrip())
    if cur:  # a final tune whose <end> is missing still counts as a chunk
        chunks.append("\n".join(cur).strip("\n"))
    return chunks


def _has_field(chunk: str, name: str) -> bool:
    return any(line.startswith(name + ":") for line in chunk.split("\n"))


def rejoin_cut_tunes(chunks: list[str]) -> tuple[list[str], int]:
    """Mend tunes that a stray ``<end>``/``<start>`` pair cut in two.

    In the study's corpus such a cut always falls just before an ``X`` inside a
    header line (``C:... (`` / ``XIV?me si?cle)``): the first piece has ``X:``
    but no ``K:``, the second has no ``X:``. Joining them with no newline
    restores the original line. Returns the chunks and how many were mended.
    """
    out, mended, i = [], 0, 0
    while i < len(chunks):
        cur = chunks[i]
        if (i + 1 < len(chunks) and _has_field(cur, "X") and not _has_field(cur, "K")
                and not _has_field(chunks[i + 1], "X")):
            cur, i, mended = cur + chunks[i + 1], i + 1, mended + 1
        out.append(cur)
        i += 1
    return out, mended


def split_abc(text: str) -> list[str]:
    """Tunes of a plain ABC file: from an ``X:`` line up to a blank line or the next ``X:``."""
    tunes, cur = [], None
    for line in normalise_newlines(text).split("\n"):
        if cur is not None and line.startswith("X:"):   # no blank line between two tunes
            tunes.append("\n".join(cur))
            cur = None
        if cur is None:
            if line.startswith("X:"):
                cur = [line.rstrip()]
        elif line.strip() == "":
            tunes.append("\n".join(cur))
            cur = None
        else:
            cur.append(line.rstrip())
    if cur:
        tunes.append("\n".join(cur))
    return tunes


def header_and_body(tune: str) -> tuple[list[str], list[str]]:
    """Split a tune's lines at the first ``K:`` field (which ends the header)."""
    lines = tune.split("\n")
    for i, line in enumerate(lines):
        if line.startswith("K:"):
            return lines[: i + 1], lines[i + 1:]
    return lines, []


def body_music(tune: str) -> str:
    """The tune body with field lines, lyrics, comments and quoted text removed."""
    _, body = header_and_body(tune)
    music = [ln for ln in body if not _FIELD.match(ln)]
    return _NOT_MUSIC.sub("", "\n".join(music))


def is_fragment(tune: str) -> bool:
    """A chunk that is not a whole tune: it has no ``K:`` field or no notes."""
    header, _ = header_and_body(tune)
    if not header or not header[-1].startswith("K:"):
        return True
    return _NOTE.search(body_music(tune)) is None


def bars(line: str) -> list[str]:
    """Split one line of music at bar lines (``|``, ``||``, ``|:``, ``:|``, ``|]``, ``::``)."""
    parts = re.split(r":*\|+[\]:]*|::|\[\|", line)
    return [p for p in (x.strip() for x in parts) if p]


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
    files = sorted(p for p in path.rglob("*")
                   if p.suffix.lower() in CORPUS_SUFFIXES and p.is_file()
                   and not any(part.startswith(".") for part in p.relative_to(path).parts))
    if not files:
        raise CorpusError(f"folder {path} holds no .abc or .txt files")
    return files


def split_any(text: str) -> tuple[list[str], int]:
    """Marker files are recognised by a ``<start>`` line; anything else is plain ABC.

    Returns the chunks and how many cut tunes were mended (marker files only)."""
    if re.search(rf"^\s*{re.escape(START)}\s*$", text, re.M):
        return rejoin_cut_tunes(split_marked(text))
    return split_abc(text), 0


def load_corpus(path: str | Path) -> Corpus:
    """Read every tune under ``path`` (or a ``music21:NAME`` collection); fragments are
    dropped and kept aside."""
    from .corpora import resolve
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


def wrap(tune: str) -> str:
    """The text the model sees for one tune."""
    return f"{START}\n{tune}\n{END}"


def strip_markers(text: str) -> str:
    """Remove ``<start>``/``<end>`` (and anything after ``<end>``) from generated text."""
    text = text.split(END, 1)[0]
    text = text.replace(START, "")
    return text.strip("\n")


def set_x(tune: str, number: int) -> str:
    """Give a tune the reference number ``X:number`` (inserted first if missing)."""
    lines = tune.split("\n")
    for i, line in enumerate(lines):
        if line.startswith("X:"):
            lines[i] = f"X:{number}"
            return "\n".join(lines)
    return "\n".join([f"X:{number}"] + lines)


def format_tunebook(tunes: list[str], first_x: int = 1) -> str:
    """Clean ABC text: tunes numbered from ``first_x``, separated by a blank line."""
    return "\n\n".join(set_x(t.strip("\n"), first_x + i) for i, t in enumerate(tunes)) + "\n"
