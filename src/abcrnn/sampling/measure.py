"""Does a character drawn keep the open bar within its measure, and is a bar line it
begins one the form allows here? (The guide's CHAR verdict: guide.py.)"""
from __future__ import annotations

from abcrnn.sampling import barlines, checks, form, lengths, symbols
from abcrnn.sampling.barlines import BARLINE_CHARS
from abcrnn.sampling.row import Row

# what may still come of the note before: its length, an octave mark, a broken rhythm
NOTE_GOES_ON = lengths.LENGTH_CHARS | frozenset("',<>")


def fits(rules: form.FormRules, r: Row, before: str, ch: str) -> bool:
    """Does ``ch`` keep the current bar within its measure, and write a bar line the
    form allows? A bar line may only come once the bar is full (a pick-up, an
    ending's first bar, or a short bar that completes the pick-up may be short)."""
    line = (before + ch).rsplit("\n", 1)[-1]
    if len(line) > 1 and line[1] == ":" and line[0].isalpha() or line.startswith("%"):
        return True                                      # a field or comment line
    if r.barline is not None:
        return barlines.fits(r, before, ch)
    if ch in BARLINE_CHARS and len(before) == r.frozen_at:
        return False           # a bar line the form accepted, gone back to: it stays as it is
    bar = r.open_bar(before)
    if bar.inside:                        # inside a chord, quote, decoration or grace:
        return ch not in "\n|"            # it closes before the bar or the line does
    if ch == ":" and before.endswith("|") and not before.endswith("||") and bar.repeat_open:
        return False                      # abc2midi: "found another |: after a |:"
    if ch == "\n" and line[:-1].strip() and set(line[:-1]) <= BARLINE_CHARS | {" "}:
        return False                      # a line of nothing but a bar line
    if ch in "\n\\" and rules.folk and "(" in before[-80:] and symbols.tuplet_pending(before):
        return False                      # a tuplet ends on its line: the next one cannot see
                                          # it, and every line after "(3e \n" was refused
    opens_bar = ch == "|" or (ch == ":" and not checks.ends_with_barline(before))
    pending = rules.folk and "(" in before[-80:] and symbols.tuplet_pending(before + ch)
    if opens_bar and pending:
        return False                      # a tuplet ends in its bar (or the bar never fills)
    if opens_bar and before[-1:] not in ("|", ":", "["):
        tokens = barlines.tokens(rules, r, bar, ch)
        if tokens and any(t.startswith(ch) for t in tokens):     # (False: none may come yet)
            r.barline = (len(before), tokens)
        return tokens is None or r.barline is not None
    judged = True if opens_bar else lengths.fits(r, before, ch) if rules.folk else None
    if judged is not None:                # a digit or "/": does the length it begins fit?
        return judged
    if rules.folk and ch not in NOTE_GOES_ON and unfillable(r, before):
        return False                      # the note before is over: its bar can never fill
    bar = r.open_bar(before + ch)
    return bar.expected is None or bar.duration < bar.expected or (
        bar.duration == bar.expected and not pending)     # full only once the tuplet is


def unfillable(r: Row, before: str) -> bool:
    """Outside a tuplet, the room left in the bar is one no plain notes fill (its
    denominator, in whole notes, not a power of two): "((3AG B/)" left a third of a
    sixteenth, and the redraws of Ryan's Mammoth tunes whose budget ran out went there.
    None of 400,000 places in the bundled corpus, Ryan's Mammoth and miscFolk leaves
    such a room."""
    bar = r.open_bar(before)
    if bar.expected is None or bar.inside:
        return False
    room = bar.expected - bar.duration
    return (room > 0 and room.denominator & (room.denominator - 1) != 0
            and not symbols.tuplet_pending(before))
