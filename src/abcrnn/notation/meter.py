"""Durations in ABC: note-length suffixes, meters (``M:``), unit lengths (``L:``) and
the tuplet defaults, as exact fractions of a whole note. Pure text, no torch."""
from __future__ import annotations

import functools
import re
from fractions import Fraction

_LENGTH = re.compile(r"(\d*)(/*)(\d*)")
_METER_TERM = re.compile(r"\(?(\d+(?:\+\d+)*)\)?/(\d+)")
_MAX_SLASHES = 16


@functools.lru_cache(maxsize=4096)
def parse_length(text: str) -> Fraction:
    """A note-length suffix as a multiplier: ``''``->1, ``3``, ``/``->1/2, ``//``->1/4, ``3/2``."""
    m = _LENGTH.fullmatch(text)
    if m is None:
        return Fraction(1)
    num = int(m.group(1)) if m.group(1) else 1
    slashes = min(len(m.group(2)), _MAX_SLASHES)
    if not slashes:
        return Fraction(num)
    den = int(m.group(3)) if m.group(3) else 2
    return Fraction(num, max(den, 1) * 2 ** (slashes - 1))


def parse_meter(text: str) -> Fraction | None:
    """``M:`` value as a fraction of a whole note; ``C``=4/4, ``C|``=2/2, ``none``/junk -> None.

    Additive meters (``(2+3)/8``, ``4/2+2/2``) are summed; with alternatives
    (``2/4 3/4``) the first is used; a bare number ``3`` means 3/1 as in abc2midi."""
    s = re.sub(r"\s*([+/()])\s*", r"\1", text.strip())
    word = s.split()[0] if s.split() else ""
    if word.startswith("C"):      # C and C| both last one whole note
        return Fraction(1)
    if word.isdigit():
        return Fraction(int(word)) or None
    total = Fraction(0)
    for m in _METER_TERM.finditer(word):
        num, den = sum(int(x) for x in m.group(1).split("+")), int(m.group(2))
        total += Fraction(num, den) if den else 0
    return total or None


def parse_unit(text: str) -> Fraction | None:
    m = re.match(r"\s*(\d+)\s*/\s*(\d+)", text)
    if m and int(m.group(1)) and int(m.group(2)):
        return Fraction(int(m.group(1)), int(m.group(2)))
    return None


def tuplet_q(p: int, compound: bool) -> int:
    """Default q of ``(p`` (ABC 2.1, 4.13): 5, 7, 9... notes take 3 beats in compound meters."""
    return {2: 3, 3: 2, 4: 3, 6: 2, 8: 3}.get(p, 3 if compound else 2)


def is_compound(meter_text: str) -> bool:
    m = re.match(r"\s*(\d+)\s*/\s*(\d+)", meter_text)
    return bool(m) and int(m.group(1)) in (6, 9, 12, 15, 18) and int(m.group(2)) == 8


def default_unit(meter: Fraction | None) -> Fraction:
    """The unit length when ``L:`` is missing: 1/16 below 3/4, else 1/8 (ABC 2.1, 3.1.7)."""
    return Fraction(1, 16) if meter is not None and meter < Fraction(3, 4) else Fraction(1, 8)
