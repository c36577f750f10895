"""The form of a tune as a folk musician reads it: its parts and their lengths in
bars, whether it comes home to its tonic, how much it restates itself, and whether
its header claims sources it does not have. Pure text (the bar scanner's bars).

Parts are the sections between repeat signs (``|:``, ``:|``, ``::``), double bars
(``||``, ``|]``, ``[|``) and ``P:`` labels in the body; numbered endings belong to
the part they end (``|1 ... :|2 ... ||`` is one part). A part's length counts the
bars played once through: full bars count one each (a ``Z4`` rest four), a pick-up
and the short bar it completes count one together (short bars are summed; three
quarters of a measure or more count as a bar), and only the first ending is counted. A part holding only a pick-up is
the start of the next part. Only the first voice is read.

* square: every part is 4, 8 or 16 bars long (AABB reels, jigs, polkas...);
* tonic ending: the last note written is the tonic of the key in force (mode-aware:
  ``K:Ador``'s tonic is A, ``K:Dmix``'s D; ``K:HP`` bagpipe tunes: A);
* restated bars: bars equal, character for character (spaces, chord symbols and
  decorations aside), to an earlier bar of the same tune;
* provenance: header fields that claim a source (``PROVENANCE_FIELDS``) and titles
  beyond the second.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from fractions import Fraction

from abcrnn.notation.bars import BOUNDARY, bar_report
from abcrnn.notation.scanner import Bar
from abcrnn.notation.lexer import NOTE, barline_splits, tokens
from abcrnn.notation.meter import default_unit, parse_length, parse_meter, parse_unit
from abcrnn.notation.rhythms import agrees
from abcrnn.notation.tunes import body_music, header_and_body

SQUARE_LENGTHS = (4, 8, 16)
# A: area, B: book, C: composer, D: discography, F: file URL, G: group, H: history,
# N: notes, O: origin, S: source, Z: transcription (ABC 2.1, 3.1): each claims a source
PROVENANCE_FIELDS = "ABCDFGHNOSZ"
MAX_TITLES = 2
_PITCH = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_ACC = {"^^": 2, "^": 1, "=": 0, "_": -1, "__": -2}
_KEY_TONIC = re.compile(r"\s*([A-G])([#b]?)")
# fifths of the key signature: tonic's place on the circle + the mode's offset
_MODE_FIFTHS = {"": 0, "maj": 0, "ion": 0, "m": -3, "min": -3, "aeo": -3, "mix": -1, "dor": -2,
                "phr": -4, "loc": -5, "lyd": 1}
_SHARP_ORDER = "FCGDAEB"


@dataclass
class Part:
    bars: int               # bars played once through (pick-up + short last bar = 1; first ending only)
    repeated: bool          # closed by a repeat sign, or has numbered endings
    endings: int = 0        # how many numbered endings
    label: str = ""         # its P: label, if the body gives one
    ending_bars: int = 0    # bars of its first ending (0: no numbered endings)


def _number(ending: str) -> int:
    m = re.match(r"\d+", ending)
    return int(m.group()) if m else 1


def count_bars(bars: list[Bar]) -> int:
    """Bars played once through: full bars count their measures, short bars are summed
    (a pick-up and the bar it completes make one), bars of a second or later ending
    are left out."""
    full, short, ending = 0, Fraction(0), 0
    for bar in bars:
        if bar.in_ending:
            ending = _number(bar.ending)
        if ending >= 2:
            continue
        if bar.expected is None or bar.duration >= bar.expected:
            full += bar.measures
        else:
            short += bar.duration / (bar.expected / bar.measures)
    # a pick-up and the short bar it completes make one; a lone pick-up (up to half a
    # measure) makes none
    return full + math.floor(short + Fraction(1, 4))


def _boundary(bars: list[Bar], k: int) -> bool:
    """Does a part end after bars[k]?"""
    if k + 1 >= len(bars):
        return True
    nxt = bars[k + 1]
    if nxt.in_ending and _number(nxt.ending) >= 2:
        return False                           # the next ending of the same part
    return bool(BOUNDARY.search(bars[k].closed_by) or BOUNDARY.search(nxt.opened_by) or nxt.part)


def parts(bars: list[Bar]) -> list[Part]:
    """The parts of a tune from its bars (see the module docstring)."""
    voice = bars[0].voice if bars else ""
    bars = [b for b in bars if b.voice == voice]
    out, start = [], 0
    for k in range(len(bars)):
        if not _boundary(bars, k):
            continue
        chunk = bars[start:k + 1]
        start = k + 1
        n = count_bars(chunk)
        if n == 0 and k + 1 < len(bars):       # only a pick-up: it opens the next part
            start -= len(chunk)
            continue
        endings = sum(b.in_ending for b in chunk)
        repeated = endings > 0 or chunk[-1].closed_by.startswith(":")
        first = next((i for i, b in enumerate(chunk) if b.in_ending), None)
        out.append(Part(n, repeated, endings, chunk[0].part,
                        count_bars(chunk[first:]) if first is not None else 0))
    return out


def tonic_pitch_class(key: str) -> int | None:
    """Pitch class of the tonic of a K: value (mode-aware; HP: A), or None (K:none)."""
    if key.strip().upper().startswith("HP"):
        return _PITCH["A"]
    m = _KEY_TONIC.match(key)
    if m is None:
        return None
    return (_PITCH[m[1]] + {"#": 1, "b": -1, "": 0}[m[2]]) % 12


def signature_accidental(key: str, letter: str) -> int:
    """+1, -1 or 0: what the key signature gives the letter (upper case)."""
    return _signature(key).get(letter, 0)


def _signature(key: str) -> dict[str, int]:
    """Accidental the key signature gives each letter (HP and unknown modes: none)."""
    m = re.match(r"\s*([A-G])([#b]?)\s*([A-Za-z]*)", key)
    if m is None:
        return {}
    mode = m[3].lower()
    mode = "m" if mode == "m" else mode[:3]
    if mode not in _MODE_FIFTHS:
        return {}
    fifths = _SHARP_ORDER.index(m[1]) - 1 + 7 * {"#": 1, "b": -1, "": 0}[m[2]] + _MODE_FIFTHS[mode]
    if fifths >= 0:
        return {c: 1 for c in _SHARP_ORDER[:fifths]}
    return {c: -1 for c in _SHARP_ORDER[::-1][:-fifths]}


def note_pitch_class(note: str, key: str) -> int | None:
    """Pitch class of a written note under a key signature (explicit accidentals win)."""
    m = NOTE.match(note)
    if m is None:
        return None
    letter = m["letter"].upper()
    acc = _ACC[m["acc"]] if m["acc"] else _signature(key).get(letter, 0)
    return (_PITCH[letter] + acc) % 12


def tonic_ending(bars: list[Bar]) -> bool | None:
    """Is the last note written the tonic of the key in force there? None without a
    note or a key with a tonic (K:none)."""
    last = next((b for b in reversed(bars) if b.last_note), None)
    if last is None or tonic_pitch_class(last.key) is None:
        return None
    return note_pitch_class(last.last_note, last.key) == tonic_pitch_class(last.key)


def tune_bars(tune: str) -> list[str]:
    """The bars of a tune's music, spaces removed, in order (chord symbols,
    decorations, comments and field lines left out)."""
    return [b.replace(" ", "") for line in body_music(tune).split("\n") for b in barline_splits(line)]


def restated_bars(tune: str) -> tuple[int, int]:
    """(bars equal to an earlier bar of the tune, all bars)."""
    seen: set[str] = set()
    repeats = 0
    all_bars = tune_bars(tune)
    for bar in all_bars:
        repeats += bar in seen
        seen.add(bar)
    return repeats, len(all_bars)


def restated_from(tune: str) -> list[int]:
    """For each restated bar, how many bars back its nearest equal bar is (4: the same
    place a four-bar phrase back)."""
    last: dict[str, int] = {}
    out = []
    for i, bar in enumerate(tune_bars(tune)):
        if bar in last:
            out.append(i - last[bar])
        last[bar] = i
    return out


def close_lengths(tune: str) -> list[Fraction]:
    """How long the last note of each of the tune's parts lasts, as a share of its
    measure (a jig's ``d3:|`` 1/2, a reel's ``G2:|`` 1/4), for the parts that end on a
    plain note (no tuplet, broken rhythm, chord, tie or slur at the end); a first
    ending, which leads back into the part, is not a part's end."""
    header, _ = header_and_body(tune)
    meter = parse_meter(header_value(tune, "M") or "")
    unit = parse_unit(header_value(tune, "L") or "") or default_unit(meter)
    lines = tune.split("\n")
    bars = [b for b in bar_report(tune).bars if b.voice == ""]
    out = []
    for k, bar in enumerate(bars):
        if not _boundary(bars, k) or not bar.expected or bar.start[0] != bar.line:
            continue
        toks = list(tokens(lines[bar.line - 1][bar.start[1]:bar.col if bar.col >= 0 else None]))
        kinds = [m.lastgroup for m in toks if m.lastgroup not in ("space", "barline")]
        if len(kinds) < 2 or kinds[-1] != "note" or kinds[-2] in ("broken", "tuplet"):
            continue
        last = next(m for m in reversed(toks) if m.lastgroup == "note")
        out.append(parse_length(last["len"]) * unit / bar.expected)
    return out


def provenance(tune: str) -> list[str]:
    """Header fields that claim a source, and ``T:3`` for every title beyond the second."""
    header, _ = header_and_body(tune)
    found = sorted({ln[0] for ln in header if len(ln) > 1 and ln[1] == ":" and ln[0] in PROVENANCE_FIELDS})
    titles = sum(ln.startswith("T:") for ln in header)
    return found + [f"T:{n}" for n in range(MAX_TITLES + 1, titles + 1)]


def header_value(tune: str, name: str) -> str | None:
    header, _ = header_and_body(tune)
    return next((ln[2:].strip() for ln in header if ln.startswith(name + ":")), None)


@dataclass
class FormFacts:
    parts: list[Part] = field(default_factory=list)
    rhythm: str | None = None
    meter: str | None = None
    rhythm_meter: bool | None = None      # None: no R:, or a rhythm with no fixed meter
    tonic_ending: bool | None = None
    restated: int = 0
    bars_compared: int = 0
    provenance: list[str] = field(default_factory=list)

    @property
    def bars(self) -> int:
        return sum(p.bars for p in self.parts)

    @property
    def square(self) -> bool:
        return bool(self.parts) and all(p.bars in SQUARE_LENGTHS for p in self.parts)


def form_facts(tune: str) -> FormFacts:
    """Every form measure of one tune (never raises: the bar scanner does not)."""
    bars = bar_report(tune).bars
    rhythm, meter = header_value(tune, "R"), header_value(tune, "M")
    restated, compared = restated_bars(tune)
    return FormFacts(parts(bars), rhythm, meter,
                     agrees(rhythm, meter) if rhythm and meter else None,
                     tonic_ending(bars), restated, compared, provenance(tune))
