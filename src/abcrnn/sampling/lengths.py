"""Note lengths for the guide: a length a staff can draw, and one that fits the bar.

Drawn a character at a time, ``e/`` is ``e`` first: judged there, a bar with room for
half a unit refused the ``e`` (a whole unit), so the model wrote the bar's last note
some other way and lengths with ``/`` became rare (guided tunes had 0.16 per bar
against the corpus's 0.33 and the model's own 0.21). Here a note may start where only
its half fits, and then goes on with ``/``; each digit or ``/`` is judged by the
length written so far (``A3`` must fit as ``A3``: the model that writes a 3 means
one), and the note may end when its length is drawable and fits.

Drawable (abcjs warns "Duration not representable" otherwise): a whole note or
longer, or a power-of-two length with dots: 1/8, 3/16, 7/32 (numerator 2^k - 1),
from 1/64 up.
"""
from __future__ import annotations

import functools
import re
from fractions import Fraction

from abcrnn.sampling.symbols import tuplet_pending

LENGTH_CHARS = frozenset("0123456789/")
# a note, rest or chord and the length written after it so far ("A3/", "z", "[CE]2")
_SO_FAR = re.compile(r"(?:[A-Ga-gzx][,']*|\[[A-Ga-g^_=,'0-9/]+\])([0-9]*/*[0-9]*)$")
# whole multipliers and halves: "c/", "c/2", "c3/2". Quarters ("c//", the corpus: 0.04% of
# its notes) leave a bar room that no note but another quarter fills: the guide went in
# circles there until its redraws ran out
_TAILS = ("", "/", "/2")


def drawable(length: Fraction) -> bool:
    """Can a staff draw a note this long (in whole notes) without a tie?"""
    if length >= 1:
        return True
    p, q = length.numerator, length.denominator
    return length >= Fraction(1, 64) and q & (q - 1) == 0 and p & (p + 1) == 0


def value(text: str) -> Fraction:
    """A length's multiplier: "" 1, "3" 3, "3/" 3/2, "//" 1/4, "7/4" 7/4."""
    num, slashes, den = re.fullmatch(r"([0-9]*)(/*)([0-9]*)", text).groups()
    v = Fraction(int(num or 1))
    return v / int(den) if den else v / 2 ** len(slashes)


@functools.lru_cache(maxsize=4096)
def value_of(text: str) -> Fraction:
    """``value``, remembered: the mask asks for the same few lengths at every note."""
    return value(text)


@functools.lru_cache(maxsize=64)
def _steps(unit: Fraction) -> tuple[frozenset, frozenset]:
    """Under L: ``unit``: the length texts a staff draws (multipliers up to 16), and
    every prefix of one (what a length written so far may go on toward). Lengths as
    folk tunes write them: whole multipliers and halves with an odd numerator
    (``3/2``, not ``2/4`` or ``3/4``)."""
    texts = [f"{n}{tail}" for n in ["", *map(str, range(1, 17))] for tail in _TAILS
             if not tail or not n or int(n) % 2]          # "3/2", not "2/4" (it is "")
    good = frozenset(t for t in texts if drawable(value(t) * unit))
    return good, frozenset(t[:i] for t in good for i in range(len(t) + 1))


def _written(r, text: str):
    """(where the note's length starts, the length so far, the bar's room for the note,
    the note's length per unit of multiplier), or None when ``text`` does not end in a
    note, rest or chord with its length. Room and per-unit length come from the bar
    scanner (tuplets and broken rhythm scale them): the bar before the note, and with
    the note at multiplier 1."""
    tail = text[-24:]
    m = _SO_FAR.search(tail)
    if m is None:
        return None
    at = len(text) - len(tail) + m.start(1)
    note = len(text) - len(tail) + m.start()
    if "(" in tail and tuplet_pending(text[:note]):
        return at, m.group(1), None, None       # a tuplet's note: drawable, the bar judges the rest
    before, one = r.open_bar(text[:note]), r.open_bar(text[:at])
    if one.expected is None or one.unit is None or one.inside:
        return at, m.group(1), None, None
    return at, m.group(1), one.expected - before.duration, one.duration - before.duration


def _holds(length: str, per: Fraction | None, room: Fraction | None) -> bool:
    """Does a note of this length text fit ``room`` (None: any room)?"""
    return room is None or value_of(length) * per <= room


def allowed(r, text: str, chars: set[str]) -> set[str]:
    """``chars`` less what would give the note ending ``text`` a length a staff cannot
    draw or the bar cannot hold: a digit or ``/`` only toward a drawable length and
    only if the length with it fits, anything else only once the length so far fits."""
    found = _written(r, text)
    unit = r.open_bar(text).unit if found is not None else None
    if unit is None:
        return chars
    _, so_far, room, per = found
    good, prefixes = _steps(unit)
    for bound in (room, None):      # a bar already too full (a redraw will mend it): drawable only
        going_on = {c for c in LENGTH_CHARS if so_far + c in prefixes and _holds(so_far + c, per, bound)}
        ends = so_far in good and _holds(so_far, per, bound)
        out = ((chars - LENGTH_CHARS) if ends else set()) | (going_on & chars)
        if out:
            return out
    return chars


def fits(r, before: str, ch: str) -> bool | None:
    """Does ``ch`` keep the bar within its measure, judged as ``allowed`` judges: a digit
    or ``/`` by the length with it, a note or rest that starts where only its half fits
    as one that goes on with ``/``. None: not a length's business (the bar decides)."""
    found = _written(r, before + ch)
    unit = r.open_bar(before).unit if found is not None else None
    if unit is None or found[3] is None:
        return None
    _, so_far, room, per = found
    if ch in LENGTH_CHARS:
        return so_far in _steps(unit)[1] and (value_of(so_far) * per <= room or room <= 0)
    if so_far == "" and per > room >= per / 2 > 0:
        return True                  # "e" with room for "e/": the mask asks for the "/"
    return None
