"""Bar-duration checker: does every bar of a tune last as long as its meter says?

``bar_report(tune)`` walks the tune body with the bar scanner (scanner.py, no MIDI) and
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

import re
from dataclasses import dataclass, field

from abcrnn.notation.scanner import Bar, Scanner
from abcrnn.notation.tunes import header_and_body

ALLOWED_SHORT = ("anacrusis", "last", "ending", "split", "repeat")


@dataclass
class BarReport:
    bars: list[Bar] = field(default_factory=list)
    error: str | None = None
    pending_ending: str = ""      # the ending number the last bar line opened (":|2"), if any

    @property
    def checked(self) -> int:
        return sum(b.ok is not None for b in self.bars)

    @property
    def correct(self) -> int:
        return sum(b.ok is True for b in self.bars)

    @property
    def share_ok(self) -> float | None:
        return self.correct / self.checked if self.checked else None


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
        report.pending_ending = scanner.ending
        scanner.finish()
        classify(report.bars)
    except Exception as e:  # noqa: BLE001 - arbitrary text must never crash the evaluation
        report.error = f"{type(e).__name__}: {e}"
    return report
