"""Bar-duration checker: does every bar of a tune last as long as its meter says?

``bar_report(tune)`` walks the tune body with a small tokenizer (no MIDI) and
measures each bar in whole notes with exact ``Fraction`` arithmetic. Handled:
notes with accidentals, octave marks and lengths (``2``, ``/``, ``//``, ``3/2``),
rests ``z``/``x``, multi-bar rests ``Z``/``X``, chords ``[CEG]2`` (length of the
first note times the outer length, ABC 2.1 section 4.17), tuplets ``(3`` and
``(p:q:r``, broken rhythm ``>``, ``<``, ``>>``..., grace notes ``{...}`` (no
length), ties, slurs, chord symbols and annotations in quotes, decorations
``!trill!``/``+trill+``/``~``/``.``/``H``..``W``, inline fields ``[M:..]``,
``[L:..]``, ``[K:..]``, field lines in the body, voice overlay ``&`` (the bar
lasts as long as its longest layer), ``%`` comments; ``w:``/``W:`` lyrics and
other field lines are skipped.

A bar is *correct* when it lasts exactly one measure (``Z4`` bars: 4 measures),
or when it is shorter than a measure and is one of the short bars folk tunes
are written with (its status says which; each voice ``V:`` is taken alone):

* ``anacrusis`` - the first bar (pick-up);
* ``last``      - the last bar;
* ``ending``    - a bar that starts a numbered ending (``|1``, ``:|2``, ``[2``);
* ``split``     - a measure split by a section boundary (``||``, ``|]``, ``|:``,
  ``:|``, ``::``): the short bar before it plus the pick-up after it make one
  measure, as do the pick-up after ``|:`` and the bar before the next ``:|``;
* ``repeat``    - any other short bar closed by ``:|`` or ``::`` (it pairs with
  the pick-up of the repeated part; abc2midi accepts these too).

Bars longer than a measure are always wrong. Without a usable meter (``M:none``,
no ``M:`` field: free meter in ABC 2.1) bars are ``unchecked``. The unit length
defaults to 1/16 when the header meter is below 3/4, else 1/8 (ABC 2.1, 3.1.7).

The checker never raises: on text it cannot read it returns what it measured
so far (``error`` holds the reason if something unexpected happened).
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from fractions import Fraction

from abcrnn.notation.lexer import NOTE, tokens
from abcrnn.notation.meter import default_unit, is_compound, parse_length, parse_meter, parse_unit, tuplet_q
from abcrnn.notation.tunes import header_and_body

ALLOWED_SHORT = ("anacrusis", "last", "ending", "split", "repeat")

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
    in_ending: bool = False   # starts a numbered ending
    voice: str = ""           # V: id ("" before any V: field)
    status: str = "unchecked"  # ok | wrong | unchecked | one of ALLOWED_SHORT

    @property
    def ok(self) -> bool | None:
        return None if self.status == "unchecked" else self.status != "wrong"


@dataclass
class BarReport:
    bars: list[Bar] = field(default_factory=list)
    error: str | None = None

    @property
    def checked(self) -> int:
        return sum(b.ok is not None for b in self.bars)

    @property
    def correct(self) -> int:
        return sum(b.ok is True for b in self.bars)

    @property
    def share_ok(self) -> float | None:
        return self.correct / self.checked if self.checked else None


@functools.lru_cache(maxsize=4096)
def _scaled(multiplier: Fraction, unit: Fraction) -> Fraction:
    """multiplier * unit, cached: a tune uses a handful of note lengths over and over."""
    return multiplier * unit


# the kinds of token that change the bar being measured
_MEASURED = frozenset(("field", "barline", "ending2", "chord", "tuplet", "note", "rest", "mrest",
                       "broken", "overlay"))
_VOICE_STATE = ("meter_text", "meter", "unit", "open_tok", "in_ending", "cur", "layers",
                "notes", "zbars", "broken", "last", "tuplet", "tuplet_left")


class Scanner:
    """Walks the body line by line and collects bars (their status is set later).

    Each voice (``V:``) keeps its own meter, unit and bar in progress; a new
    voice starts from the header's meter and unit."""

    def __init__(self, header: list[str]):
        self.meter_text, self.meter, self.unit = "", None, None
        for line in header:
            m = FIELD_LINE.match(line)
            if m:
                self.set_field(m.group(1), m.group(2))
        if self.unit is None:
            self.unit = default_unit(self.meter)
        self.bars: list[Bar] = []
        self.open_tok, self.in_ending, self.lineno = "", False, 0
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
        self.broken, self.last = ONE, None

    def set_field(self, name: str, value: str) -> None:
        if name == "M":
            self.meter_text, self.meter = value, parse_meter(value)
        elif name == "L":
            self.unit = parse_unit(value) or self.unit
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
            self.close(lineno, col, m.group("bar"), bool(m.group("ending")))
        elif kind == "ending2":
            self.in_ending = True
        elif kind == "chord":
            inner = NOTE.search(m.group("inner"))
            if inner:
                self.add(parse_length(inner.group("len")) * parse_length(m.group("clen")))
        elif kind == "tuplet":
            self.start_tuplet(m)
        elif kind in ("note", "rest"):
            self.add(parse_length(m.group("len") if kind == "note" else m.group("rlen")))
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

    def close(self, lineno: int, col: int, bar: str, ending: bool) -> None:
        signs = _REPEAT_SIGN.findall(bar)
        if signs:
            self.repeat_open = signs[-1] == "|:"
        if self.notes:
            expected = self.meter * max(self.zbars, 1) if self.meter else None
            self.bars.append(Bar(lineno, col, max(self.layers + [self.cur]), expected,
                                 self.open_tok, bar, self.in_ending, voice=self.voice))
            self.in_ending = ending
        else:                      # no music since the last bar line: merge the two
            self.in_ending = self.in_ending or ending
        self.open_tok = bar
        self.reset()

    def finish(self) -> None:
        for name in list(self.voices):
            self.switch_voice(name)
            if self.notes:
                self.close(self.lineno, -1, "", False)


BOUNDARY = re.compile(r"\|\||\|\]|\|:|:\||::|\[\|")


def repeat_start(tok: str) -> bool:
    return tok.endswith(":") and tok != ":"      # a lone ":" is a dotted bar line


def repeat_end(tok: str) -> bool:
    return tok.startswith(":") and tok != ":"


def _short_status(bars: list[Bar], k: int) -> str:
    """Why the short bar ``bars[k]`` (of one voice) is acceptable, or "wrong"."""
    bar = bars[k]
    if k == 0:
        return "anacrusis"
    if k == len(bars) - 1:
        return "last"
    if bar.in_ending:
        return "ending"
    nxt, prev = bars[k + 1], bars[k - 1]
    if BOUNDARY.search(bar.closed_by) and bar.duration + nxt.duration == bar.expected:
        return "split"
    if BOUNDARY.search(bar.opened_by) and prev.duration + bar.duration == bar.expected:
        return "split"
    if repeat_start(bar.opened_by):     # pick-up of a repeat: pairs with the bar before :|
        end = next((b for b in bars[k + 1:] if repeat_end(b.closed_by)), None)
        if end is not None and bar.duration + end.duration == bar.expected:
            return "split"
    if repeat_end(bar.closed_by):
        return "repeat"
    return "wrong"


def classify(bars: list[Bar]) -> None:
    voices: dict[str, list[Bar]] = {}
    for bar in bars:
        voices.setdefault(bar.voice, []).append(bar)
    for vbars in voices.values():
        for k, bar in enumerate(vbars):
            if bar.expected is None:
                bar.status = "unchecked"
            elif bar.duration == bar.expected:
                bar.status = "ok"
            elif bar.duration > bar.expected:
                bar.status = "wrong"
            else:
                bar.status = _short_status(vbars, k)


def bar_report(tune: str) -> BarReport:
    """Measure every bar of ``tune`` against its meter. Never raises."""
    report = BarReport()
    try:
        header, body = header_and_body(tune)
        scanner = Scanner(header)
        report.bars = scanner.bars
        for lineno, line in enumerate(body, start=len(header) + 1):
            scanner.scan_line(lineno, line)
        scanner.finish()
        classify(report.bars)
    except Exception as e:  # noqa: BLE001 - arbitrary text must never crash the evaluation
        report.error = f"{type(e).__name__}: {e}"
    return report
