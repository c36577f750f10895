"""The guide's checks of what was drawn: does a closed bar stand, does a line play in
abc2midi (a part's closing bar on the tonic: cadence.py; restatement: restate.py)."""
from __future__ import annotations

from abcrnn.notation import lexer
from abcrnn.notation.bars import BOUNDARY, repeat_end, repeat_start


def ends_with_barline(text: str) -> bool:
    """Does the text end with a bar line (and its ending number), spaces aside?"""
    line = text[text.rfind("\n") + 1:].rstrip(" \t")
    if lexer.is_field_line(line) or line.startswith("%"):
        return False
    last = None
    for last in lexer.tokens(line):
        pass
    # a lone ":" (the scanner's dotted bar line) is more often a typo in text than a bar line
    return last is not None and last.lastgroup == "barline" and ("|" in last["bar"] or "::" in last["bar"])


def bar_stands(bars) -> tuple[bool, int]:
    """(may the bar just closed stand, how many earlier bars are now wrong).

    The evaluator's rules (notation/bars.py): a bar longer than its measure is
    wrong; a short one may stand if it is a pick-up, starts an ending, sits at a
    section boundary or a repeat. Whether a split bar is completed by the next one
    shows up as an earlier bar turning wrong at the next check."""
    if not bars:
        return True, 0
    bar = bars[-1]
    wrong_before = sum(b.status == "wrong" for b in bars[:-1])
    if bar.expected is None or bar.duration == bar.expected:
        return True, wrong_before
    if bar.duration > bar.expected:
        return False, wrong_before
    first = sum(b.voice == bar.voice for b in bars) == 1
    short_ok = (first or bar.in_ending or bool(BOUNDARY.search(bar.closed_by + " " + bar.opened_by))
                or repeat_start(bar.opened_by) or repeat_end(bar.closed_by))
    return short_ok, wrong_before


def line_errors(text: str, first_line: int, final: bool) -> bool:
    """Does abc2midi report an error from line ``first_line`` on (anywhere, if ``final``)?"""
    from abcrnn.tools.abc2midi import check_abc
    check = check_abc(text)
    if final:
        return not check.valid
    return any(m.line >= first_line or m.line == 0 for m in check.errors
               if "at end of tune" not in m.text and "No tune processed" not in m.text)
