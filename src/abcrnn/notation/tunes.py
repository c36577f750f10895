"""ABC text as tunes: split a text into tunes, a tune into header and body, the
study's ``<start>``/``<end>`` markers, and tidy output. Pure text: no torch, no files.

Two kinds of text are split:
  * marker texts like the study's corpus: each tune between a line ``<start>``
    and a line ``<end>`` (``split_marked``; tunes cut in two by a stray marker
    pair are mended by ``rejoin_cut_tunes``);
  * plain ABC: a tune starts at an ``X:`` line and runs to the next blank line
    or the next ``X:`` line (``split_abc``); text before the first ``X:`` is the
    file header and is skipped.
"""
from __future__ import annotations

import re

from abcrnn.notation import lexer

START = "<start>"
END = "<end>"

_FIELD = re.compile(r"^([A-Za-z]):")
# Text inside chord symbols / annotations ("..."), decorations (!...!, +...+)
# and comments must not count as notes.
_NOT_MUSIC = frozenset(("quote", "deco", "comment"))


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
    return "\n".join("".join(m[0] for m in lexer.tokens(ln) if lexer.kind(m) not in _NOT_MUSIC)
                     for ln in body if not _FIELD.match(ln))


def is_fragment(tune: str) -> bool:
    """A chunk that is not a whole tune: it has no ``K:`` field or no notes."""
    header, _ = header_and_body(tune)
    if not header or not header[-1].startswith("K:"):
        return True
    return not any(m.lastgroup in ("note", "chord") for ln in body_music(tune).split("\n")
                   for m in lexer.tokens(ln))


def split_any(text: str) -> tuple[list[str], int]:
    """Marker files are recognised by a ``<start>`` line; anything else is plain ABC.

    Returns the chunks and how many cut tunes were mended (marker files only)."""
    if re.search(rf"^\s*{re.escape(START)}\s*$", text, re.M):
        return rejoin_cut_tunes(split_marked(text))
    return split_abc(text), 0


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
