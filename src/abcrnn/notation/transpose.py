"""Transpose ABC tunes to nearby keys (training-data augmentation). Pure text, no torch.

A shift of ``fifths`` steps on the circle of fifths (+1 = one more sharp) moves every
note by the diatonic letter shift ``d = 4*fifths mod 7`` taken in [-3, 3] and by the
semitone shift ``k`` (``k = 7*fifths mod 12``, the value nearest ``12*d/7``), so the
melody moves by at most a tritone. Explicit accidentals keep their offset from the key
signature; chord symbols ("Am", "G/B", "F#m7b5") have root and bass respelled by the
same letter shift. Whatever cannot be transposed safely makes ``transpose`` return
None, never a wrong tune.

Round trip: ``transpose(transpose(t, f), -f) == transpose(t, 0)``, and that equals
``t`` for tunes written canonically. ``transpose(t, 0)`` rewrites only two spellings:
octave marks (``C'`` becomes ``c``, ``c,`` becomes ``C``) and the ABC text escapes
``\\b``/``\\#`` in chord symbols (``"B\\b"`` becomes ``"Bb"``, which abc2midi, unlike
``B\\b``, plays).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from abcrnn.notation import lexer

LETTERS = "CDEFGAB"
NATURAL = (0, 2, 4, 5, 7, 9, 11)      # semitones of C D E F G A B above C
SHARP_ORDER = "FCGDAEB"               # order in which sharps enter a key; flats: reversed
MODE_FIFTHS = {"ion": 0, "maj": 0, "mix": -1, "dor": -2, "aeo": -3, "min": -3,
               "phr": -4, "loc": -5, "lyd": 1}
NOTE_ACC = {"__": -2, "_": -1, "=": 0, "^": 1, "^^": 2}
ACC_TEXT = {v: k for k, v in NOTE_ACC.items()}
# Letters that may stand in a music line besides notes: rests z x Z X, spacer y and the
# default decoration symbols. Any other letter means text (e.g. a title typed as a body
# line), which abc2midi would read as notes: such a tune is refused.
MUSIC_LETTERS = set("zxZXyHLMOPSTuv")

_KEY = re.compile(r"\s*([A-G])([#b]?)\s*([A-Za-z]*)\s*$")
_FIELD_LINE = re.compile(r"^[A-Za-z+]:")
_NOTELIKE = re.compile(r"[\^_=]*[A-Ga-g][\^_=A-Ga-g',0-9/]*")

# Chord symbols: root, quality, optional /bass; alternatives in parentheses ("Cm(Fm)").
_CACC = r"(?:\\b|\\\#|\#|b)?"
_QUAL = r"(?:maj|min|dim|aug|sus|add|[mM0-9#b+\-]|\([#b+\-]?[0-9]+\))*"
_ITEM = rf"(?:[A-G]{_CACC}{_QUAL}(?:/[A-Ga-g]{_CACC}{_QUAL})?|/[A-Ga-g]{_CACC})"
_CHORD = re.compile(rf"\s*(?:{_ITEM}|\({_ITEM}\))(?:\s*\({_ITEM}\))*\s*")
_ROOT = re.compile(rf"(^|[\s(])([A-G])({_CACC})|(/)([A-Ga-g])({_CACC})")
CHORD_ACC = {"": 0, "#": 1, "\\#": 1, "b": -1, "\\b": -1}
# What is left of a chord-like text once chord vocabulary is removed: letters -> words.
_CHORD_WORDS = re.compile(r"maj|min|dim|aug|sus|add|[A-GmMb]")


class _Unsafe(Exception):
    """The tune cannot be transposed safely (caught by transpose, which returns None)."""


@dataclass(frozen=True)
class Key:
    letter: str        # tonic letter, "A".."G"
    accidental: str    # "", "#" or "b"
    mode: str          # mode word as written ("", "m", "mix", "minor", "Dor", ...)
    fifths: int        # sharps (> 0) or flats (< 0) of the key signature

    @property
    def tonic(self) -> str:
        return self.letter + self.accidental


def _tonic_position(letter: str, accidental: int) -> int:
    """Place of a tonic on the circle of fifths (C 0, G 1, F -1, F# 6, Bb -2)."""
    return SHARP_ORDER.index(letter) - 1 + 7 * accidental


def _tonic_name(position: int) -> str:
    acc = (position + 1) // 7
    return SHARP_ORDER[(position + 1) % 7] + {-1: "b", 0: "", 1: "#"}[acc]


def signature(fifths: int, letter: str) -> int:
    """Accidental (+1 sharp, -1 flat, 0) that the key signature gives an uppercase letter."""
    i = SHARP_ORDER.index(letter)
    if fifths > 0:
        return int(i < fifths)
    return -int(6 - i < -fifths)


def parse_key(value: str) -> Key | None:
    """A K: field value -> Key, or None for anything not understood (HP, none,
    explicit accidentals, clef=..., transpose=..., exp, beyond 7 sharps/flats)."""
    m = _KEY.match(value)
    if m is None:
        return None
    mode = m[3].lower()
    if mode in ("", "m"):
        offset = -3 if mode else 0
    elif len(mode) >= 3 and mode[:3] in MODE_FIFTHS:
        offset = MODE_FIFTHS[mode[:3]]
    else:
        return None
    fifths = _tonic_position(m[1], CHORD_ACC[m[2]]) + offset
    return Key(m[1], m[2], m[3], fifths) if abs(fifths) <= 7 else None


def shifts(fifths: int) -> tuple[int, int]:
    """(d, k): letter shift in [-3, 3] and semitone shift of a move by ``fifths``."""
    d = (4 * fifths) % 7
    d = d - 7 if d > 3 else d
    k0 = (7 * fifths) % 12
    k = min((k0 - 12, k0, k0 + 12), key=lambda c: abs(c - 12 * d / 7))
    return d, k


@dataclass(frozen=True)
class _Shift:
    old: int    # key signature fifths before
    new: int    # and after
    d: int      # letter shift
    k: int      # semitone shift


def _note(m: re.Match, sh: _Shift) -> str:
    """A note token (lexer.NOTE's parts) moved by the shift; its length is kept."""
    acc, letter, marks = m["acc"], m["letter"], m["octave"]
    text = m[0]
    # position = 7*octave + letter index; uppercase is octave 0, lowercase octave 1
    octave = int(letter.islower()) + marks.count("'") - marks.count(",")
    octave, idx = divmod(7 * octave + LETTERS.index(letter.upper()) + sh.d, 7)
    new = LETTERS[idx]
    out = new.lower() + "'" * (octave - 1) if octave >= 1 else new + "," * -octave
    if acc is None:
        return out + m["len"]
    # keep the accidental's offset from the key signature
    value = NOTE_ACC[acc] - signature(sh.old, letter.upper()) + signature(sh.new, new)
    if abs(value) > 2:
        raise _Unsafe(f"{text} would need a triple accidental")
    return ACC_TEXT[value] + out + m["len"]


def _respell(m: re.Match, sh: _Shift) -> str:
    """One chord root or bass: same letter shift, pitch moved by k, plain # or b."""
    lead, letter, acc = (m[1], m[2], m[3]) if m[2] else (m[4], m[5], m[6])
    idx = LETTERS.index(letter.upper())
    new_idx = (idx + sh.d) % 7
    value = (NATURAL[idx] + CHORD_ACC[acc] + sh.k - NATURAL[new_idx] + 6) % 12 - 6
    if abs(value) > 1:
        raise _Unsafe(f"chord root {letter}{acc} would need a double accidental")
    new = LETTERS[new_idx] if letter.isupper() else LETTERS[new_idx].lower()
    return lead + new + {-1: "b", 0: "", 1: "#"}[value]


def _quote(text: str, sh: _Shift) -> str:
    inner = text[1:-1]
    if not inner or inner[0] in "^_<>@":          # annotation, placed text
        return text
    if _CHORD.fullmatch(inner):
        return '"' + _ROOT.sub(lambda m: _respell(m, sh), inner) + '"'
    if re.search("[A-Za-z]", _CHORD_WORDS.sub("", inner)):
        return text                                # words ("Allegro", "Fin"), not a chord
    if re.search("[A-Ga-g]", inner):
        raise _Unsafe(f"chord symbol {text} cannot be respelled")
    return text


def _music(line: str, sh: _Shift) -> str:
    out = []
    for m in lexer.tokens(line):
        kind, text = lexer.kind(m), m[0]
        if kind == "note":
            text = _note(m, sh)
        elif kind == "chord":
            text = "[" + _music(m["inner"], sh) + "]" + m["clen"]
        elif kind == "grace":
            close = "}" if text.endswith("}") else ""
            text = "{" + _music(text[1:len(text) - len(close)], sh) + close
        elif kind == "quote":
            if not lexer.is_closed(m):
                raise _Unsafe(f"unclosed chord symbol in {line!r}")
            text = _quote(text, sh)
        elif kind == "deco" and (re.search(r"[\s|]", text)
                                 or text[0] == "+" and _NOTELIKE.fullmatch(text[1:-1])):
            # "!D E!": music between old-style line breaks; "+CEG+": an ABC 1.6 chord
            # (but "!f!" is forte)
            raise _Unsafe(f"{text} looks like music, not a decoration")
        elif kind == "field" and text.startswith("[K:"):
            raise _Unsafe("inline key change")
        elif kind == "other" and text in "^_=":
            raise _Unsafe(f"an accidental without a note in {line!r}")
        elif kind == "other" and text.isalpha() and text not in MUSIC_LETTERS:
            raise _Unsafe(f"text in a music line: {line!r}")
        out.append(text)
    return "".join(out)


def _key_line(line: str, key: Key, fifths: int) -> str:
    value, pct, comment = line[2:].partition("%")
    m = _KEY.match(value)
    tonic = _tonic_name(_tonic_position(key.letter, CHORD_ACC[key.accidental]) + fifths)
    return "K:" + value[:m.start(1)] + tonic + value[m.end(2):] + pct + comment


def _transpose(tune: str, fifths: int) -> str:
    lines = tune.split("\n")
    at = next((i for i, ln in enumerate(lines) if ln.startswith("K:")), None)
    if at is None:
        raise _Unsafe("no K: field")
    key = parse_key(lines[at][2:].partition("%")[0])
    if key is None:
        raise _Unsafe(f"key {lines[at]!r} not understood")
    if abs(key.fifths + fifths) > 7:
        raise _Unsafe("new key beyond 7 sharps or flats")
    sh = _Shift(key.fifths, key.fifths + fifths, *shifts(fifths))
    body = []
    for line in lines[at + 1:]:
        if line.startswith("K:"):
            raise _Unsafe("second K: field")
        body.append(line if _FIELD_LINE.match(line) or line.startswith("%") else _music(line, sh))
    return "\n".join(lines[:at] + [_key_line(lines[at], key, fifths)] + body)


def transpose(tune: str, fifths: int) -> str | None:
    """The tune moved by ``fifths`` steps on the circle of fifths, or None when that
    cannot be done safely (see the module docstring)."""
    try:
        return _transpose(tune, fifths)
    except _Unsafe:
        return None


def augmented(tunes: list[str], n: int) -> list[str]:
    """For each tune, its first ``n`` successful transpositions in the order
    fifths = +1, -1, +2, -2, ... (the originals are not included)."""
    order = [s * f for f in range(1, 15) for s in (1, -1)]
    out = []
    for tune in tunes:
        got = []
        for f in order:
            if len(got) == n:
                break
            moved = transpose(tune, f)
            if moved is not None:
                got.append(moved)
        out.extend(got)
    return out
