"""The bar scanner for a tune that grows a character at a time (guided sampling).

The guide asks for the bars of the whole tune every time a bar line closes a bar
(``report``), and at every step for the bar still open at the end of the text
(``open_bar``: how long it is so far, against one measure). A full scan re-reads
every earlier line (~2 ms for a 400-character tune), but lines are scanned one
by one with nothing carried from a line to the lines before it, so the scanner's
state after each finished line is kept and the next question starts from the
longest kept state whose text is still a prefix of the tune (the guide also cuts
tunes back to an earlier bar or line): only the last line is read again.
Reports equal ``bars.bar_report``'s (tests/test_barscan.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from abcrnn.notation import lexer
from abcrnn.notation.bars import BarReport, classify
from abcrnn.notation.scanner import FIELD_LINE, Scanner
from abcrnn.notation.tunes import header_and_body


@dataclass(frozen=True)
class OpenBar:
    """The bar open at the end of a growing tune."""
    duration: Fraction           # its music so far (the longest overlay layer), whole notes
    expected: Fraction | None    # one measure (times a Z count); None: free meter or no music yet
    first: bool                  # no bar line before it in its voice: a pick-up may be short
    in_ending: bool              # it starts a numbered ending (|1, :|2, [2)
    inside: str                  # the text ends inside a chord symbol, decoration, grace,
                                 # chord or inline field (its text so far; "": it does not):
                                 # no bar can be measured there
    repeat_open: bool            # the last repeat sign so far opens a repeat (|:)
    unit: Fraction | None = None  # the unit note length in force (L:), None if unknown


class IncrementalBars:
    """``report(tune)`` == ``bars.bar_report(tune)``, rescanning only new lines.

    The Bar objects of a report are shared with later reports and re-classified by
    them: read a report before asking for the next one."""

    def __init__(self):
        self._snaps: list[tuple[str, dict]] = []   # (text through a line's "\n", state after it)
        # in the last line: (text up to its last bar line, state before that bar line), so
        # open_bar reads only the open bar (the bar line itself may still grow: "|" -> "||")
        self._mark: tuple[str, dict] | None = None

    def report(self, tune: str) -> BarReport:
        report = BarReport()
        try:
            scanner = self._scan(tune)
            report.pending_ending = scanner.ending
            scanner.finish()
            report.bars = scanner.bars
            classify(report.bars)
        except Exception as e:  # noqa: BLE001 - as bar_report: arbitrary text never crashes
            self._snaps.clear()
            report.error = f"{type(e).__name__}: {e}"
        return report

    def open_bar(self, tune: str) -> OpenBar:
        """The bar still open at the end of ``tune`` (which must have reached its body).
        Never raises: on text the scanner cannot read, the bar counts as unmeasurable."""
        try:
            scanner = self._scan_open(tune)
        except Exception:  # noqa: BLE001 - as bar_report: arbitrary text never crashes
            self._snaps.clear()
            self._mark = None
            return OpenBar(Fraction(0), None, False, False, "?", False)
        line = tune[tune.rfind("\n") + 1:]
        notes = scanner.notes > 0
        expected = scanner.meter * max(scanner.zbars, 1) if scanner.meter and notes else None
        return OpenBar(max(scanner.layers + [scanner.cur]) if notes else Fraction(0), expected,
                       scanner.open_tok == "", bool(scanner.ending), _inside(line),
                       scanner.repeat_open, scanner.unit)

    def _scan_open(self, tune: str) -> Scanner:
        """The scanner after all of ``tune``, reading its last line from the mark when the
        mark is still a prefix of it (in the same line)."""
        start = tune.rfind("\n") + 1
        line = tune[start:]
        mark = self._mark
        if mark is not None and len(mark[0]) >= start and tune.startswith(mark[0]):
            scanner, pos = Scanner.restored(mark[1]), len(mark[0]) - start
        else:
            scanner, pos = self._scan(tune[:start]), 0
            if FIELD_LINE.match(line):
                scanner.scan_line(tune.count("\n") + 1, line)
                return scanner
        def keep(at: int) -> None:
            self._mark = (tune[:start + at], scanner.state())
        scanner.scan_music(tune.count("\n") + 1, line, pos, keep)
        return scanner

    def _scan(self, tune: str) -> Scanner:
        """The scanner after reading all of ``tune``, keeping a state after each finished line."""
        while self._snaps and not tune.startswith(self._snaps[-1][0]):
            self._snaps.pop()                       # the tune was cut back before that line
        header, body = header_and_body(tune)
        scanner, done = self._start(header)
        # where the text of the lines read so far ends
        end = len(self._snaps[-1][0]) if self._snaps else sum(len(ln) + 1 for ln in header)
        finished = tune.count("\n")                 # lines followed by a "\n"
        for i in range(done, len(body)):
            g = len(header) + i                     # index of this line in the tune
            scanner.scan_line(g + 1, body[i])
            if g < finished:                        # a "\n" follows: keep the state
                end += len(body[i]) + 1
                self._snaps.append((tune[:end], scanner.state()))
        return scanner

    def _start(self, header: list[str]) -> tuple[Scanner, int]:
        """The scanner to continue from and how many body lines it has read."""
        if not self._snaps:
            return Scanner(header), 0
        prefix, state = self._snaps[-1]
        return Scanner.restored(state), prefix.count("\n") - len(header)


def _inside(line: str) -> str:
    """What a line of music ends inside, where no bar can be measured: the text from the
    opening of an open quote, grace or inline field, ``!`` decoration or ``[`` chord
    (``'"Am'``, ``'{ga'``, ``'[CE'``...), or "" when it ends in music."""
    if FIELD_LINE.match(line) or line.startswith("%"):
        return ""
    bang = bracket = -1
    last = None
    for m in lexer.tokens(line):
        last = m
        if m.lastgroup == "other":
            if m[0] == "!":
                bang = m.start() if bang < 0 else -1
            elif m[0] == "[":
                bracket = m.start()
            elif m[0] == "]":
                bracket = -1
    if last is not None and not lexer.is_closed(last):
        return last[0]
    starts = [i for i in (bang, bracket) if i >= 0]
    return line[min(starts):] if starts else ""
