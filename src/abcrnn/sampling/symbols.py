"""The symbols folk music may hold, so that every ABC reader draws it without a warning
(abcjs, the web page's, is the strictest: scripts/abcjs_warnings.js measures it).

The guide's masks ask two things here:
* inside a chord symbol, ``!decoration!``, ``[chord]`` or ``{grace}`` (``inside``):
  which characters keep it one that ABC 2.1 reads, and close it in time;
* in music (``in_music``): no letter ABC cannot read, no ``+`` (ABC 2.0's decoration
  mark, which abcjs reads as one: ``+f3`` is "Unknown decoration"), no ``}`` outside a
  grace, an octave mark only after a note, a ``\\`` only at a line's end, a slur's ``)``
  only after a note (``|)``, `` )``, ``('G`` are "Unknown character"), a length only after
  what has one (``M2``, ``c  23d``, ``"G"2``), ``>``/``<`` only between notes (``| >e``),
  and a ``:`` that is no bar line by itself goes on to one (``za:`` is "Unknown bar
  symbol"; ``:|:`` is too, so after ``:|`` the next repeat is ``|:``, ``::`` or ``:||:``);
* field values in the body (``K:``, ``[M:3/4]``): one of the field's values.
These are ABC's syntax, not any corpus's habits: they hold for any model.
"""
from __future__ import annotations

import functools
import re

from abcrnn.notation.lexer import tokens

NOTE_LETTERS = frozenset("ABCDEFGabcdefg")
# letters music may hold outside "...", !...!, [...]: notes, rests, spacers, ABC 2.1's decorations
MUSIC_LETTERS = NOTE_LETTERS | frozenset("zZxXyHLMOPSTuv")
DECORATION_MARKS = frozenset("HLMOPSTuv~.")       # ABC 2.1's one-character decorations
# the rest of what folk music holds: bar lines, chords, graces, slurs, ties, lengths,
# accidentals, octaves, broken rhythm, decorations, continuations ("#", "*", "@": none)
MUSIC_MARKS = frozenset(' |:[]{}()!"^_=,\'/-<>~.\\\n0123456789')
DIGITS = frozenset("0123456789")
# ABC 2.1's decorations (section 4.14) that abcjs 6 draws (not dacoda, dacapo; tests/sampling/test_symbols.py)
DECORATIONS = frozenset((
    "trill", "lowermordent", "uppermordent", "mordent", "pralltriller", "roll", "turn",
    "accent", "emphasis", "fermata", "invertedfermata", "tenuto", "0", "1", "2", "3", "4", "5",
    "+", "plus", "snap", "slide", "wedge", "upbow", "downbow", "open", "thumb", "breath",
    "pppp", "ppp", "pp", "p", "mp", "mf", "f", "ff", "fff", "ffff", "sfz", "crescendo(", "<(",
    "crescendo)", "<)", "diminuendo(", ">(", "diminuendo)", ">)", "segno", "coda", "D.S.", "D.C.",
    "fine", "shortphrase", "mediumphrase", "longphrase", ">"))
# an open chord symbol, chord, grace or decoration is closed after this many characters
# (corpus: chord symbols and annotations are a few characters, "Am7", "G/B", "^Fine")
CLOSERS = {'"': '"', "[": "]", "{": "}", "!": "!"}
INSIDE_MAX = {'"': 24, "]": 12, "}": 12, "!": 16}
# a chord symbol names a chord (abc2midi: "Guitar chord does not start with A-G",
# "Unrecognized chord name"): G, F#m7b5, Bbmaj7, D/F#, G(add9); or a fingering ("4":
# Ryan's Mammoth holds 3,000), or text placed by ^_<>@
ANNOTATION_MARKS = "^_<>@"
CHORD_NAME = frozenset("ABCDEFG#bmajinsudgo0123456789+-()/")
CHORD_NOTES_MAX = 4     # notes a [chord] holds: a fiddle's double and triple stops, not runs
LENGTHENS = NOTE_LETTERS | frozenset("zZxXy,'/](|[:") | DIGITS     # what a length may follow
BROKEN_AFTER = NOTE_LETTERS | frozenset("zZxXy,'/])") | DIGITS        # what may come before ">"
NOTE_PARTS = NOTE_LETTERS | frozenset("^_=,'/") | DIGITS      # what a chord's or grace's notes hold


def inside(text: str, fields: frozenset, values=None) -> set[str] | None:
    """The characters allowed next in ``text``, an open chord symbol (``"Am``),
    decoration (``!tr``), chord (``[CE``), inline field (``[K:``) or grace (``{ga``);
    None: any. ``fields``: the letters a body field may have (``[K:D]``); ``values(line)``
    the characters that keep a field line (``M:3/``) one of its values, or None."""
    closer = CLOSERS.get(text[0])
    if closer and len(text) > INSIDE_MAX[closer]:
        return {closer}
    if text[0] == '"':                           # a chord name, a fingering, or placed text
        if len(text) == 1:
            return set("ABCDEFG") | set(ANNOTATION_MARKS) | DIGITS
        if text[1] in DIGITS:
            return set(DIGITS) | {'"'}
        return None if text[1] in ANNOTATION_MARKS else set(CHORD_NAME) | {'"'}
    if text[0] == "!":                           # a name ABC knows, then "!"
        typed = text[1:]
        nxt = {d[len(typed)] for d in DECORATIONS if d.startswith(typed) and len(d) > len(typed)}
        return nxt | ({"!"} if typed in DECORATIONS else set()) or {"!"}
    if text[0] == "[":
        if len(text) == 1:      # a chord or an inline field; no ending ("[2"): folk form
            # writes them "|1" and ":|2", where its rules put them ("| [2" after a part
            # with no first ending: abc2midi "Missing :| at end of tune", seed 7's tune 78)
            return set(NOTE_LETTERS | set("^_=") | (fields - NOTE_LETTERS))
        if text[1] in fields - NOTE_LETTERS:     # an inline field: [K:D], [M:3/4]
            if len(text) == 2:
                return {":"}
            allowed = values(text[1:]) if values is not None else None
            return None if allowed is None else {"]" if c == "\n" else c for c in allowed}
        notes = sum(c in NOTE_LETTERS for c in text)
        if notes >= CHORD_NOTES_MAX:             # the last note may still take a length or octave
            return _octaves(text, set(NOTE_PARTS - NOTE_LETTERS - set("^_=") | {"-", "]"}))
        return _octaves(text, set(NOTE_PARTS | {"-"}) | ({"]"} if notes else set()))
    if text[0] == "{":                           # grace notes: notes only (abcjs: no rests)
        if len(text) == 1:                       # a note first, not its length ("{3fa": abcjs warns)
            return set(NOTE_LETTERS | set("^_="))
        return _octaves(text, set(NOTE_PARTS) | ({"}"} if NOTE_LETTERS & set(text) else set()))
    return None


def _octaves(text: str, allowed: set[str]) -> set[str]:
    """``allowed`` less an octave mark that would follow no note: ``D,,`` and ``g'`` are
    pitches; ``('G``, ``D,2,`` and ``G',`` are not (abc2midi: "Bad pitch specifier";
    abcjs: "Unknown character", "Expected ']' to end the chords")."""
    last = text[-1:]
    if last in ("'", ","):
        return allowed - {"," if last == "'" else "'"}
    return allowed if last in NOTE_LETTERS else allowed - {"'", ","}


_TIES_FROM = re.compile(r"(?:[A-Ga-g][,']*|[\])])[0-9/]*$")
# a note tied over ("A2-|", "c-\n") and what was written of the next note so far
_PENDING_TIE = re.compile(r"([A-Ga-g][,']*)[0-9/]*-[ |:\n]*([A-Ga-g][,']*)?$")


def tied(text: str, allowed: set[str]) -> set[str]:
    """After a tie, the next note is the same pitch (abc2midi: "Could not find note to
    be tied"): its letter and octave marks, no rest between."""
    m = _PENDING_TIE.search(text[-24:])
    if m is None:
        return allowed
    pitch, typed = m.group(1), m.group(2) or ""
    if typed == pitch:
        return allowed - {"'", ","}
    if pitch.startswith(typed):
        nxt = pitch[len(typed)]
        return allowed - NOTE_LETTERS - {"'", ",", "z", "x", "Z"} | ({nxt} & allowed)
    return allowed


def line_start(allowed: set[str], text: str, fields: frozenset) -> set[str]:
    """``allowed`` at the start of a line of folk music less a comment, ABC 2.0's ``+``
    and what only goes after a note (``>``, ``/``, ``-``, ``)``, ``}``, octave marks, a
    ``\\``); after a continued line (``\\``) also the fields: the line goes on in music;
    after a tie, its note (``tied``)."""
    out = tied(text, (allowed & (MUSIC_LETTERS | MUSIC_MARKS | fields))
               - {"%", "+", ">", "/", "-", ")", "}", "'", ",", "\\"})
    return out - (fields - NOTE_LETTERS) if text.endswith("\\\n") else out


_TUPLET = re.compile(r"\((\d)(?::(\d)?)?(?::(\d))?")
_TUPLET_END = re.compile(r"\(\d(?::\d?)?(?::\d)?$")


def tuplet_pending(text: str) -> bool:
    """The last tuplet (``(3``, ``(3:2:3``) near the end of the line still waits for
    notes, so another one would nest in it (abc2midi: "nested tuples"; abcjs: "Can't
    nest triplets"). Only the line's last 80 characters are read: a tuplet's notes fit."""
    tail = text[max(text.rfind("\n") + 1, len(text) - 80):]
    at = tail.rfind("(")
    while at >= 0 and not _TUPLET.match(tail, at):
        at = tail.rfind("(", 0, at)
    if at < 0:
        return False
    m = _TUPLET.match(tail, at)
    wanted = int(m.group(3) or m.group(1))
    return sum(t.lastgroup in ("note", "rest", "chord") for t in tokens(tail, m.end())) < wanted


@functools.lru_cache(maxsize=16)
def _folk(chars: frozenset) -> frozenset:
    """What folk music may hold of ``chars``: letters and marks ABC reads, no ``+``."""
    return frozenset(chars & (MUSIC_LETTERS | MUSIC_MARKS)) - {"+"}


def in_music(text: str, chars: frozenset) -> set[str]:
    """The characters allowed after ``text`` (a tune that ends in music, outside any
    chord symbol, chord, grace or decoration): ``chars`` (what the model may write in
    folk music) less what no reader reads there (lengths: lengths.py)."""
    out = set(_folk(chars))
    last = text[-1:]
    if last != "|":                              # "]" closes a chord or "|]", not a rest ("z2]>d")
        out.discard("]")
    if re.search(r"\(\d(?::\d)?$", text[-6:]):     # "(3" takes ":" or its notes, no length
        out -= DIGITS | {"/"}
    elif last == "(":                            # a tuplet of 2 to 9 notes, or a slur
        out -= {"0", "1"}
    if last == "\\":                            # a continuation ends its line ("\\:|" warns)
        return {"\n"} & out
    out = _octaves(text, out)                   # an octave mark follows a note
    if "(" in out and "(" in text[-80:] and tuplet_pending(text):
        out.discard("(")                        # no tuplet (or slur) inside a tuplet
    if last not in LENGTHENS:               # a length follows a note, rest, chord, "(3", "|1"
        out -= DIGITS | {"/"}
    out.discard("}")                        # a grace's "}" closes one: outside, abcjs ignores it
    if _TUPLET_END.search(text[-8:]):       # a tuplet's notes follow it ("(3)" warns)
        out -= {")", "-"}
    if last not in BROKEN_AFTER:            # "A>B": between two notes only (not "| >e"),
        out -= {">", "<", ")", "-"}         # a slur ends on one ("|)", " )", "!)" warn), a
                                            # tie follows one ("|- c", "| - [B2d2]" warn)
    if not _TIES_FROM.search(text[-24:]):   # ... a note, not a rest (abc2midi: "Cannot find
        out.discard("-")                    # note before tie")
    out = tied(text, out)
    run = re.search(r"[|:\]\[]*$", text).group()
    colons = len(run) - len(run.rstrip(":"))
    before = run[: len(run) - colons]
    free_bar = before.endswith("|") and not (before.endswith(":|") and not before.endswith("||"))
    if colons % 2 and not free_bar:              # "za:" "::|:": a lone ":" must be ":|" or "::"
        return {"|", ":"} & out
    if run.endswith(":|") and not run.endswith("||"):
        out.discard(":")                         # ":|:" is no bar line abcjs reads
    return out

