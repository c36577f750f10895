"""The bar scanner: walks a tune body with the lexer and measures every bar in whole
notes with exact fractions (notes, rests, chords, tuplets, broken rhythm, multi-measure
rests, inline fields, voices, overlays). What counts as a correct bar is bars.py's."""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from fractions import Fraction

from abcrnn.notation.lexer import NOTE, tokens
from abcrnn.notation.meter import default_unit, is_compound, parse_length, parse_meter, parse_unit, tuplet_q

FIELD_LINE = re.compile(r"^([A-Za-z]):(.*)$")
ONE = Fraction(1)
_REPEAT_SIGN = re.compile(r"\|:|:\||::")       # in a bar line's text, left to right


@dataclass
class Bar:
    line: int                 # 1-based line (in the tune text) of the bar line closing the bar
    col: int                  # 0-based column of that bar line; -1: the tune ended without one
    duration: Fraction        # in whole notes
    expected: Fraction | None  # one measure (times the Z count), None without a meter
    opened_by: str = ""       # the bar line before it ("" at the start of the tune)
    closed_by: str = ""       # the bar line after it
    ending: str = ""          # the number(s) of the ending it starts ("1", "2", "1,3"), or ""
    voice: str = ""           # V: id ("" before any V: field)
    status: str = "unchecked"  # ok | wrong | unchecked | one of ALLOWED_SHORT
    part: str = ""            # a P: label met since the bar before (body fields only)
    last_note: str = ""       # its last note as written (a chord's first note), "" if only rests
    key: str = ""             # the K: value in force at its end
    measures: int = 1         # how many measures it should last (a Z4 multi-measure rest: 4)
    start: tuple = (0, 0)     # (line, column) where its text begins (after the bar line before)

    @property
    def in_ending(self) -> bool:
        """It starts a numbered ending."""
        return bool(self.ending)

    @property
    def ok(self) -> bool | None:
        return None if self.status == "unchecked" else self.status != "wrong"


@functools.lru_cache(maxsize=4096)
def _scaled(multiplier: Fraction, unit: Fraction) -> Fraction:
    """multiplier * unit, cached: a tune uses a handful of note lengths over and over."""
    return multiplier * unit


# the kinds of token that change the bar being measured
_MEASURED = frozenset(("field", "barline", "ending2", "chord", "tuplet", "note", "rest", "mrest",
                       "broken", "overlay"))
_VOICE_STATE = ("meter_text", "meter", "unit", "open_tok", "ending", "cur", "layers",
                "notes", "zbars", "broken", "last", "tuplet", "tuplet_left", "last_note", "part")


class Scanner:
    """Walks the body line by line and collects bars (their status is set later).

    Each voice (``V:``) keeps its own meter, unit and bar in progress; a new
    voice starts from the header's meter and unit."""

    def __init__(self, header: list[str]):
        self.meter_text, self.meter, self.unit, self.key = "", None, None, ""
        self.in_body = False           # P: in the header is a playing order, in the body a label
        for line in header:
            m = FIELD_LINE.match(line)
            if m:
                self.set_field(m.group(1), m.group(2))
        if self.unit is None:
            self.unit = default_unit(self.meter)
        self.bars: list[Bar] = []
        self.open_tok, self.ending, self.lineno = "", "", 0
        self.bar_from = (0, 0)
        self.in_body, self.part = True, ""
        self.repeat_open = False       # the last repeat sign opens a repeat (|:): tune-wide
        self.tuplet, self.tuplet_left = Fraction(1), 0
        self.reset()
        self.voice, self.voices = "", {"": None}
        self.fresh = {k: getattr(self, k) for k in _VOICE_STATE}

    def state(self) -> dict:
        """A copy of the scan so far that further scanning cannot change (for
        barscan.py). Bars are only ever appended, so the Bar objects are shared."""
        d = dict(self.__dict__, bars=list(self.bars), layers=list(self.layers),
                 fresh=dict(self.fresh, layers=list(self.fresh["layers"])))
        d["voices"] = {k: v if v is None else dict(v, layers=list(v["layers"]))
                       for k, v in self.voices.items()}
        return d

    @classmethod
    def restored(cls, state: dict) -> Scanner:
        scanner = cls.__new__(cls)
        scanner.__dict__.update(state)
        scanner.__dict__.update(scanner.state())      # the snapshot stays untouched
        return scanner

    def reset(self) -> None:
        """Start a new bar (a tuplet may run on across the bar line, as in abc2midi)."""
        self.cur, self.layers, self.notes, self.zbars = Fraction(0), [], 0, 0
        self.broken, self.last, self.last_note = ONE, None, ""

    def set_field(self, name: str, value: str) -> None:
        if name == "M":
            self.meter_text, self.meter = value, parse_meter(value)
        elif name == "L":
            self.unit = parse_unit(value) or self.unit
        elif name == "K":
            self.key = value.split("%", 1)[0].strip()
        elif name == "P" and self.in_body:
            self.part = value.strip()
        elif name == "V" and hasattr(self, "voices"):
            self.switch_voice(value.split()[0] if value.split() else "")
        if name in "ML" and getattr(self, "voice", None) == "":   # before any V:: tune-wide
            self.fresh.update(meter_text=self.meter_text, meter=self.meter, unit=self.unit)

    def switch_voice(self, name: str) -> None:
        if name == self.voice:
            return
        self.voices[self.voice] = {k: getattr(self, k) for k in _VOICE_STATE}
        state = self.voices.get(name) or dict(self.fresh, layers=[])
        self.__dict__.update(state)
        self.voice = name

    def scan_line(self, lineno: int, text: str) -> None:
        self.lineno = lineno
        m = FIELD_LINE.match(text)
        if m:
            self.set_field(m.group(1), m.group(2))
            return
        self.scan_music(lineno, text)

    def scan_music(self, lineno: int, text: str, pos: int = 0, at_barline=None) -> None:
        """The tokens of a line of music from ``pos`` (a token boundary). ``at_barline(pos)``,
        if given, is called before each bar line is read (barscan.py keeps a state there)."""
        self.lineno = lineno
        if pos == 0 and not self.notes:            # the open bar begins on this line
            self.bar_from = (lineno, 0)
        for m in tokens(text, pos):
            kind = m.lastgroup
            if kind == "comment":
                break
            if kind in _MEASURED:
                if kind == "barline" and at_barline is not None:
                    at_barline(m.start())
                self.token(m, lineno, m.start())

    def token(self, m: re.Match, lineno: int, col: int) -> None:
        kind = m.lastgroup
        if kind == "field":
            self.set_field(m.group("fname"), m.group("fval"))
        elif kind == "barline":
            self.close(lineno, col, m.group("bar"), _ending_number(m.group("ending")), m.end())
        elif kind == "ending2":
            self.ending = m.group("number")
        elif kind == "chord":
            inner = NOTE.search(m.group("inner"))
            if inner:
                self.add(parse_length(inner.group("len")) * parse_length(m.group("clen")))
                self.last_note = inner[0]
        elif kind == "tuplet":
            self.start_tuplet(m)
        elif kind == "note":
            self.add(parse_length(m.group("len")))
            self.last_note = m[0]
        elif kind == "rest":
            self.add(parse_length(m.group("rlen")))
        elif kind == "mrest":
            count = int(m.group("mlen") or 1)
            self.zbars, self.notes = self.zbars + count, self.notes + 1
            self.cur += (self.meter or 0) * count
        elif kind == "broken":
            self.apply_broken(m.group("broken"))
        elif kind == "overlay":
            self.layers.append(self.cur)
            self.cur, self.last = Fraction(0), None

    def add(self, multiplier: Fraction) -> None:
        # Fraction arithmetic is most of the scanner's time: multiply only when it changes
        # something (the broken-rhythm factor is the ONE object unless a > or < is pending)
        d = _scaled(multiplier, self.unit)
        if self.tuplet_left > 0:
            d, self.tuplet_left = d * self.tuplet, self.tuplet_left - 1
        if self.broken is not ONE:
            d, self.broken = d * self.broken, ONE
        self.cur, self.last, self.notes = (self.cur + d if self.cur else d), d, self.notes + 1

    def start_tuplet(self, m: re.Match) -> None:
        p = int(m.group("p"))
        q = int(m.group("q")) if m.group("q") else tuplet_q(p, is_compound(self.meter_text))
        r = int(m.group("r")) if m.group("r") else p
        if p > 0 and q > 0:
            self.tuplet, self.tuplet_left = Fraction(q, p), r

    def apply_broken(self, marks: str) -> None:
        """``a>b``: a gets 3/2 of its length and b 1/2 (``>>``: 7/4 and 1/4); ``<`` the reverse."""
        if self.last is None:
            return
        short = Fraction(1, 2 ** min(len(marks), 8))
        before, after = (2 - short, short) if marks[0] == ">" else (short, 2 - short)
        self.cur += self.last * (before - 1)
        self.broken, self.last = after, None

    def close(self, lineno: int, col: int, bar: str, ending: str, end: int = -1) -> None:
        signs = _REPEAT_SIGN.findall(bar)
        if signs:            # "|:", "::", ":|:" and ":||:" (re)open a repeat; ":|" closes it
            self.repeat_open = bar.rstrip("0123456789,-. ").endswith(":")
        if self.notes:
            expected = self.meter * max(self.zbars, 1) if self.meter else None
            self.bars.append(Bar(lineno, col, max(self.layers + [self.cur]), expected,
                                 self.open_tok, bar, self.ending, voice=self.voice, part=self.part,
                                 last_note=self.last_note, key=self.key,
                                 measures=max(self.zbars, 1), start=self.bar_from))
            self.ending, self.part = ending, ""
        else:                      # no music since the last bar line: merge the two
            self.ending = self.ending or ending
        self.open_tok = bar
        self.bar_from = (lineno, end)
        self.reset()

    def finish(self) -> None:
        for name in list(self.voices):
            self.switch_voice(name)
            if self.notes:
                self.close(self.lineno, -1, "", "")


def _ending_number(text: str | None) -> str:
    """``"2"`` from a bar line's ending part (``2``, ``[2``, `` [1,3``); "" for none."""
    return text.strip().lstrip("[") if text else ""
