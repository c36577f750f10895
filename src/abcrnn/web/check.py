"""POST /api/check: what is wrong with a hand-edited tune, line by line, in words.

Two checks: the project's own bar check (notation/bars.py: every bar against M: and
L:, pick-ups, endings and repeat halves allowed), then abc2midi's errors and warnings
(tools/abc2midi.py) except its bar-length ones, which the first check already says
more precisely. Lines are numbered in the text sent (text before the X: line counts).
"""
from __future__ import annotations

import re
from fractions import Fraction

from abcrnn.notation.bars import bar_report
from abcrnn.notation.meter import default_unit, parse_meter, parse_unit
from abcrnn.tools.abc2midi import Abc2midiMissing, check_abc
from abcrnn.web.renderer import RENDER_SECONDS, one_tune

UNIT_NAMES = {Fraction(1, 2): "halves", Fraction(1, 4): "quarters", Fraction(1, 8): "eighths",
              Fraction(1, 16): "sixteenths", Fraction(1, 32): "thirty-seconds"}
_ABC2MIDI_BAR = re.compile(r"^Track \d+ Bar \d+ has ")


def _field(tune: str, name: str) -> str | None:
    return next((ln[2:].strip() for ln in tune.split("\n") if ln.startswith(name + ":")), None)


def _count(length: Fraction, unit: Fraction) -> str:
    n = length / unit
    return str(n.numerator) if n.denominator == 1 else f"{n.numerator}/{n.denominator}"


def bar_warnings(tune: str, offset: int = 0) -> list[dict]:
    """A warning for every bar whose length the meter does not allow."""
    meter_text = _field(tune, "M") or ""
    unit = parse_unit(_field(tune, "L") or "") or default_unit(parse_meter(meter_text))
    name = UNIT_NAMES.get(unit, f"units of {unit}")
    out = []
    for n, bar in enumerate(bar_report(tune).bars, start=1):
        if bar.status != "wrong" or bar.expected is None:
            continue
        how = "too long" if bar.duration > bar.expected else "too short"
        out.append({"line": (bar.start[0] or bar.line) + offset, "bar": n,
                    "message": f"bar {n} is {how}: {_count(bar.duration, unit)} {name} where "
                               f"M:{meter_text} needs {_count(bar.expected, unit)}"})
    return out


def abc2midi_warnings(tune: str, offset: int = 0) -> list[dict]:
    """abc2midi's errors and warnings, each placed on its line and in its bar."""
    try:
        found = check_abc(tune, timeout=RENDER_SECONDS)
    except Abc2midiMissing:
        return [{"line": 0, "bar": 0, "message": "abc2midi is not installed: only bar lengths were checked"}]
    bars = [(b.line, b.col) for b in bar_report(tune).bars]
    last = tune.count("\n") + 1
    out = []
    for msg in sorted(found.errors + found.harmless + found.warnings, key=lambda m: (m.line, m.col)):
        if _ABC2MIDI_BAR.match(msg.text):
            continue
        bar = next((i for i, at in enumerate(bars, start=1) if at >= (msg.line, msg.col)), 0)
        out.append({"line": min(msg.line, last) + offset if msg.line else 0, "bar": bar,
                    "message": f"abc2midi: {msg.kind.lower()}: {msg.text}"})
    return out


def check_tune(abc: str) -> list[dict]:
    """The warnings for the one tune in ``abc``, in the order of its lines."""
    text = abc.replace("\r\n", "\n")
    tune = one_tune(text)
    lines = text.split("\n")
    offset = next((i for i, ln in enumerate(lines) if ln.startswith("X:")), 0)
    found = bar_warnings(tune, offset) + abc2midi_warnings(tune, offset)
    return sorted(found, key=lambda w: (w["line"], w["bar"]))
