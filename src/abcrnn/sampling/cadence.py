"""A part's closing bar, ending on the tonic (folk form): the ways to write it, for the
sampler to choose among (guided.py, ``close_part``).

The part's end is the guide's, not the model's: the guide counts the bars and closes
the part at 4, 8 or 16, where the model, which does not count, often thinks the phrase
goes on. Made the tonic by its pitch alone, the drawn bar's last note stayed what the
model drew mid-phrase: in 200 tunes of the shipped model 74% of the parts ended on one
short note, against 36% in the bundled corpus, whose parts end on a quarter in reels,
a dotted quarter or an eighth in jigs. So the ways offered are the bar with its last
note made the tonic (``with_tonic``) and the bar with the notes after one of its beats
merged into one tonic note lasting as long. Each way's last note is a share of the
measure (a reel's ``G2`` 1/4, a jig's ``d3`` 1/2), and the corpus's parts end on notes
of those shares as often as the profile's ``close_lengths`` says.
"""
from __future__ import annotations

from fractions import Fraction

from abcrnn.corpus.profile import DEFAULT
from abcrnn.notation import lexer
from abcrnn.notation.form import note_pitch_class, signature_accidental, tonic_pitch_class
from abcrnn.notation.meter import default_unit, is_compound, parse_length, parse_meter, parse_unit
from abcrnn.sampling.lengths import drawable

_DECORATIONS = "~.HLMOPSTuv"     # written before a note: they go with it when it is merged
MIN_SHARE = 0.01                  # of a length the corpus's parts never end on (or unknown)


def with_tonic(bar_text: str, bar) -> str | None:
    """The text of a part's closing bar (from its start to the bar line and spaces after
    it) with its last note made the tonic, or None when it already is the tonic, has
    no note, no key with a tonic, or spans lines. ``bar`` is the scanner's Bar of it."""
    if bar is None or not bar.last_note or "\n" in bar_text:
        return None
    tonic = tonic_pitch_class(bar.key)
    if tonic is None or note_pitch_class(bar.last_note, bar.key) == tonic:
        return None
    notes = [m for m in lexer.tokens(bar_text) if m.lastgroup in ("note", "chord")]
    if not notes:
        return None
    last = notes[-1]
    if last.lastgroup == "chord":                     # the chord's first note, as the scanner reads it
        inner = lexer.NOTE.search(last["inner"])
        if inner is None:
            return None
        start, end, m = last.start("inner") + inner.start(), last.start("inner") + inner.end(), inner
    else:
        start, end, m = last.start(), last.end(), last
    head = _tonic_note(m["letter"], m["octave"], tonic, bar.key)
    if head is None:
        return None
    return bar_text[:start] + head + m["len"] + bar_text[end:]


def tonic_closes(bar_text: str, bar, meter: str | None, unit: str | None,
                 merge_tonic: bool = True) -> list[tuple[str, Fraction | None]]:
    """The ways to write a part's closing bar ending on the tonic, each with its last
    note's share of the measure (None where it is not known: a chord, a tuplet): the
    bar with its last note made the tonic, or as drawn when it already ends there, and
    the notes after each beat merged into one tonic note, beamed or apart and in the
    octave of either end ("edBd edBg:|" in G: "edBd edBG:|", "edBd edG2:|",
    "edBd ed G2:|", "edBd G4:|"...). [] when there is nothing to choose: no tonic to end
    on, or the bar ends on the tonic and ``merge_tonic`` is False (it was chosen)."""
    if bar is None or not bar.last_note or "\n" in bar_text or tonic_pitch_class(bar.key) is None:
        return []
    tonic = tonic_pitch_class(bar.key)
    first = bar_text if note_pitch_class(bar.last_note, bar.key) == tonic else with_tonic(bar_text, bar)
    if first is None or (first == bar_text and not merge_tonic):
        return []
    toks = list(lexer.tokens(bar_text))
    notes = [i for i, m in enumerate(toks) if m.lastgroup in ("note", "chord", "rest", "tuplet", "broken")]
    last = notes[-1] if notes else None        # None: the bar's notes began before its mark
    if (last is None or toks[last].lastgroup != "note" or bar.expected is None
            or any(m.lastgroup not in ("space", "barline") for m in toks[last + 1:])):
        return [(first, None)] if first != bar_text else []     # a chord, tie or slur at the end
    step = parse_unit(unit or "") or default_unit(parse_meter(meter or "") or None)
    beat, in_tuplet = _beat(meter), _tuplet_notes(toks)
    plain = last not in in_tuplet and "broken" not in _beside(toks, last)
    out = {first: parse_length(toks[last]["len"]) * step / bar.expected if plain else None}
    tail, dur = [], Fraction(0)
    for i in reversed(notes):
        m = toks[i]
        if m.lastgroup != "note" or i in in_tuplet or "broken" in _beside(toks, i):
            break
        tail.append(m)
        dur += parse_length(m["len"]) * step
        start = bar.duration - dur
        if start < 0:
            break
        length = _length_text(dur / step)
        if start % beat or length is None or len(tail) < 2 or not drawable(dur):
            continue
        prefix = bar_text[:m.start()].rstrip(_DECORATIONS)
        for end in (tail[0], m):       # the octave of the last note or the first (a tuple:
            # a set of matches orders them by id, so a seed gave other tunes run to run)
            head = _tonic_note(end["letter"], end["octave"], tonic, bar.key)
            for gap in (("", " ") if prefix[-1:] not in ("", " ") else ("",)):
                out.setdefault(prefix + gap + head + length + bar_text[toks[last].end():], dur / bar.expected)
    return [] if list(out) == [bar_text] else list(out.items())


def offer(bar_text: str, bar, values: dict, profile: dict, merge_tonic: bool) -> list[tuple[str, str, float]]:
    """``tonic_closes`` for the guide: (text, its last note's share of the measure, how
    often the corpus's parts end on a note that long under this meter) for each way."""
    ways = tonic_closes(bar_text, bar, values.get("M"), values.get("L"), merge_tonic)
    table = shares(profile, values.get("M"))
    return [(text, str(f), max(MIN_SHARE, table.get(str(f), 0.0))) for text, f in ways]


def shares(profile: dict, meter: str | None) -> dict[str, float]:
    """The corpus's parts' last notes by their share of the measure, for this meter (or
    over all meters when the corpus has too few of its tunes): profile ``close_lengths``."""
    table = profile.get("close_lengths") or DEFAULT["close_lengths"]
    return table.get("".join((meter or "").split())) or table.get("*") or {}


def _beside(toks, i: int) -> set[str]:
    """The kinds of the tokens either side of toks[i], spaces skipped."""
    kinds = set()
    for step in (-1, 1):
        j = i + step
        while 0 <= j < len(toks) and toks[j].lastgroup == "space":
            j += step
        if 0 <= j < len(toks):
            kinds.add(toks[j].lastgroup)
    return kinds


def _beat(meter: str | None) -> Fraction:
    """Where beats start (in whole notes): every 3/8 in compound meters, else every
    quarter (every eighth under x/8)."""
    text = (meter or "").strip()
    if is_compound(text):
        return Fraction(3, 8)
    den = text.split("/")[1].strip() if "/" in text else "4"
    return Fraction(1, 8) if den == "8" else Fraction(1, 4)


def _tuplet_notes(toks) -> set[int]:
    """Indices of the notes, chords and rests inside tuplets (their lengths are scaled)."""
    inside, left = set(), 0
    for i, m in enumerate(toks):
        if m.lastgroup == "tuplet":
            left = int(m["r"] or m["p"])
        elif m.lastgroup in ("note", "chord", "rest") and left:
            inside.add(i)
            left -= 1
    return inside


def _length_text(mult: Fraction) -> str | None:
    """A multiple of the unit as folk tunes write it ("", "2", "3/2", "/"); None otherwise."""
    if mult.denominator == 1:
        return "" if mult == 1 else str(mult.numerator)
    if mult.denominator == 2:
        return "/" if mult.numerator == 1 else f"{mult.numerator}/2"
    return None


def _tonic_note(letter: str, octave: str, tonic: int, key: str) -> str | None:
    """The tonic written nearest the note ``letter`` + ``octave`` marks: its letter, an
    accidental only if the key signature does not give it, and octave marks."""
    here = _STEP[letter.upper()] + 7 * letter.islower() + 7 * octave.count("'") - 7 * octave.count(",")
    best = None
    for name in "CDEFGAB":
        sig = signature_accidental(key, name)
        if (_PITCH[name] + sig) % 12 == tonic:         # as the key signature spells it
            acc = ""
        else:
            acc = next((a for a, s in (("=", 0), ("^", 1), ("_", -1)) if (_PITCH[name] + s) % 12 == tonic), None)
        if acc is None:
            continue
        for octave_n in range(-2, 4):
            score = (len(acc), abs(_STEP[name] + 7 * octave_n - here))   # no accidental first
            if best is None or score < best[0]:
                best = (score, acc, name, octave_n)
    if best is None:
        return None
    _, acc, name, octave_n = best
    if octave_n <= 0:
        return acc + name + "," * -octave_n
    return acc + name.lower() + "'" * (octave_n - 1)


_PITCH = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_STEP = {c: i for i, c in enumerate("CDEFGAB")}
