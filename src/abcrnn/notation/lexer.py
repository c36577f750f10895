"""The one ABC lexer: a line of music as a sequence of tokens.

Every module that reads music goes through ``tokens`` (bar durations, the bar
scanner the sampling guide asks, neuron features, transposition, repeated
bars), so they all agree on what a bar line, a note or a chord symbol is.

A token is an ``re.Match`` of ``TOKEN``; its kind is ``m.lastgroup``, one of
``KINDS``. Every character of a line belongs to exactly one token (``other``
takes any single character nothing else claims), so ``"".join(m[0] for m in
tokens(line)) == line``. Kinds and their named parts:

``comment``  ``%`` to the end of the line (outside a quote, decoration or grace)
``quote``    ``"..."``: a chord symbol or annotation; unclosed, it runs to the line's end
``deco``     ``!trill!`` or ``+trill+`` (closed on the same line)
``grace``    ``{...}``; unclosed, to the line's end
``field``    an inline field ``[K:G]`` (``fname``, ``fval``); the ``]`` may still be missing
``barline``  ``|``, ``||``, ``|]``, ``[|``, ``|:``, ``:|``, ``::``, ``:|:``, a dotted ``:``
             (``bar``), with the ending number that may follow: ``|1``, ``:|2``, ``|[2``,
             ``| [1,3`` (``ending``)
``ending``   a bare ``[1`` / ``[2`` (``number``)
``chord``    ``[CEG]2`` (``inner``, ``clen``); needs its ``]``
``tuplet``   ``(3``, ``(3:2``, ``(3:2:3`` (``p``, ``q``, ``r``)
``note``     ``^c'2``: ``acc``, ``letter``, ``octave``, ``len``
``rest``     ``z``/``x`` with a length (``rlen``)
``mrest``    multi-measure rest ``Z4``/``X`` (``mlen``)
``broken``   ``>``, ``>>``, ``<``...
``overlay``  ``&``
``slur``     ``(`` or ``)`` (not a tuplet)
``tie``      ``-``
``space``    spaces and tabs
``other``    any other single character (decoration symbols ``~ . H``..., letters
             that are not notes, a stray accidental or ``]``)

Lines are lexed one at a time (no newlines inside); field lines (``K:G``,
``w:...``) are not music and are not lexed here (``is_field_line``).
"""
from __future__ import annotations

import re

KINDS = ("comment", "quote", "deco", "grace", "field", "barline", "ending", "chord", "tuplet",
         "note", "rest", "mrest", "broken", "overlay", "slur", "tie", "space", "other")

_NUMBER = r"\d+(?:[,\-]\d+)*"
TOKEN = re.compile(rf"""
  (?P<comment>%.*)
| (?P<quote>"[^"]*"?)
| (?P<deco>![^!]*!|\+[^+]*\+)
| (?P<grace>\{{[^}}]*\}}?)
| (?P<field>\[(?P<fname>[A-Za-z]):(?P<fval>[^\]]*)\]?)
| (?P<barline>(?P<bar>\[\|[|\]:]*|:*\|[|\]:]*|:+)
    (?P<ending>\[?{_NUMBER}|\s+\[{_NUMBER})?)
| (?P<ending2>\[(?P<number>{_NUMBER}))
| (?P<chord>\[(?P<inner>[^\]\[|]*)\](?P<clen>\d*/*\d*))
| (?P<tuplet>\((?P<p>\d+)(?::(?P<q>\d*))?(?::(?P<r>\d*))?)
| (?P<note>(?P<acc>\^\^|\^|__|_|=)?(?P<letter>[A-Ga-g])(?P<octave>[',]*)(?P<len>\d*/*\d*))
| (?P<rest>[zx](?P<rlen>\d*/*\d*))
| (?P<mrest>[ZX](?P<mlen>\d*))
| (?P<broken>>+|<+)
| (?P<overlay>&)
| (?P<slur>[()])
| (?P<tie>-)
| (?P<space>[ \t]+)
| (?P<other>.)
""", re.X)
NOTE = re.compile(r"(?P<acc>\^\^|\^|__|_|=)?(?P<letter>[A-Ga-g])(?P<octave>[',]*)(?P<len>\d*/*\d*)")
_FIELD_LINE = re.compile(r"^[A-Za-z+]:")
# "ending2" is the pattern's name for a bare ending (group names must differ from
# the "ending" part of a bar line); callers see the kind "ending".
_KIND = {"ending2": "ending"}


def tokens(line: str, pos: int = 0):
    """Every token of one line of music from ``pos``, in order (re.Match objects)."""
    return TOKEN.finditer(line, pos)


def kind(m: re.Match) -> str:
    """The token's kind (one of KINDS)."""
    k = m.lastgroup
    return _KIND.get(k, k)


def is_field_line(line: str) -> bool:
    """A whole-line field (``K:G``, ``w:lyrics``, ``+:`` continuation): not music."""
    return _FIELD_LINE.match(line) is not None


def is_closed(m: re.Match) -> bool:
    """False for a quote, grace or inline field still waiting for its closing mark."""
    k, text = m.lastgroup, m[0]
    if k == "quote":
        return len(text) > 1 and text.endswith('"')
    if k == "grace":
        return text.endswith("}")
    if k == "field":
        return text.endswith("]")
    return True


def barline_splits(line: str) -> list[str]:
    """The text between the bar lines of one music line, stripped, empty pieces dropped."""
    parts, start = [], 0
    for m in tokens(line):
        if m.lastgroup == "barline":
            parts.append(line[start:m.start()])
            start = m.end()
    parts.append(line[start:])
    return [p for p in (x.strip() for x in parts) if p]
