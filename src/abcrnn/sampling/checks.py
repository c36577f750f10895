"""The guide's checks of what was drawn: does a closed bar stand, does a line play in
abc2midi, and the closing bar of a part rewritten to end on the tonic (restatement:
restate.py)."""
from __future__ import annotations

from abcrnn.notation import lexer
from abcrnn.notation.bars import BOUNDARY, repeat_end, repeat_start
from abcrnn.notation.form import note_pitch_class, signature_accidental, tonic_pitch_class


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
