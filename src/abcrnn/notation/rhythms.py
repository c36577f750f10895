"""Which meters a dance rhythm (the ``R:`` field) is written in.

The table is folk-music convention, checked against three collections (the bundled
corpus, music21's ryansMammoth and oneills1850): a jig is in 6/8, a slip jig or hop
jig in 9/8, a slide in 12/8 (often written 6/8), a polka in 2/4, a waltz or mazurka
in 3/4. Reels, hornpipes and their kin are in common time: ``4/4``, ``C``, ``C|`` or
``2/2``, and also ``2/4`` with sixteenths, as 19th-century collections write them
(Ryan's Mammoth has 270 reels and 248 hornpipes in 2/4). Marches come in 2/4, 6/8 or
common time. French dances: a bourree is in 2/4 or 3/8 (two- and three-time), a
farandole in 6/8. Rhythms not in the table (air, song types, "carolan"...) have no
fixed meter: ``agrees`` says None for them, and they are left out of the share.
"""
from __future__ import annotations

import re

COMMON = ("4/4", "C", "C|", "2/2", "2/4")
RHYTHM_METERS: dict[str, tuple[str, ...]] = {
    "jig": ("6/8",), "single jig": ("6/8", "12/8"), "slide": ("12/8", "6/8"),
    "slip jig": ("9/8",), "hop jig": ("9/8",),
    "reel": COMMON, "hornpipe": COMMON, "barndance": COMMON, "fling": COMMON,
    "highland": COMMON, "strathspey": COMMON, "schottische": COMMON, "clog": COMMON,
    "set dance": COMMON + ("6/8", "9/8"),
    "polka": ("2/4",), "march": ("2/4", "6/8") + COMMON, "waltz": ("3/4",), "mazurka": ("3/4",),
    "polska": ("3/4",), "bourree": ("2/4", "3/8", "6/8"), "farandole": ("6/8",),
    "gavotte": COMMON, "rigaudon": ("2/4",),
}
# other spellings of the same rhythm (after lower-casing and squeezing spaces)
ALIASES = {"double jig": "jig", "slipjig": "slip jig", "slip-jig": "slip jig", "hop-jig": "hop jig",
           "highland fling": "fling", "scottische": "schottische", "scottish": "schottische",
           "barn dance": "barndance", "marche": "march", "valse": "waltz", "bourrée": "bourree",
           "set-dance": "set dance", "hornpipes": "hornpipe", "reels": "reel", "jigs": "jig"}


def rhythm_name(value: str) -> str | None:
    """The table's name for an ``R:`` value (``Reel`` -> ``reel``, ``Double Jig`` ->
    ``jig``), or None for a rhythm the table does not know."""
    name = re.sub(r"\s+", " ", value.split("%", 1)[0].strip().lower().rstrip("."))
    name = ALIASES.get(name, name)
    return name if name in RHYTHM_METERS else None


def normal_meter(value: str) -> str:
    """An ``M:`` value as the table writes it: no spaces, ``C|`` and ``C`` kept."""
    return re.sub(r"\s+", "", value.split("%", 1)[0])


def agrees(rhythm: str, meter: str) -> bool | None:
    """Does the meter fit the rhythm? None when the rhythm has no fixed meter."""
    name = rhythm_name(rhythm)
    if name is None:
        return None
    return normal_meter(meter) in RHYTHM_METERS[name]


def meters_for(rhythm: str) -> tuple[str, ...] | None:
    """The meters the rhythm is written in, or None if the table does not know it."""
    name = rhythm_name(rhythm)
    return None if name is None else RHYTHM_METERS[name]


def rhythms_for(meter: str) -> list[str]:
    """The table's rhythms written in this meter."""
    m = normal_meter(meter)
    return [r for r, meters in RHYTHM_METERS.items() if m in meters]


def title_rhythm(title: str) -> str | None:
    """The rhythm a title names ("O'Sullivan's Jig" -> ``jig``, "Farandole de ..." ->
    ``farandole``), the longest name of the table or its spellings that stands in it as
    a word (plurals too), or None."""
    text = re.sub(r"\s+", " ", title.lower())
    for name in sorted((*RHYTHM_METERS, *ALIASES), key=len, reverse=True):
        if re.search(rf"(?<![\w'-]){re.escape(name)}s?(?![\w'-])", text):
            return ALIASES.get(name, name)
    return None
