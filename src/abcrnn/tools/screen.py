"""What abcrnn never hands to abc2midi or abcm2ps, whoever wrote the tune.

* Directives that read files. abcm2ps and abc2midi both follow ``%%abc-include FILE``
  (also written ``I:abc-include``, ``%% abc-include``, with leading spaces...), so a
  tune sent to the web composer or rendered from someone else's tunebook could pull
  any local file into the SVG, the MIDI or the error messages. Traced with strace
  over every directive name in both programs (abcm2ps 8.14.14 with -S, abc2midi
  4.84): ``%%abc-include`` and ``%%format`` (abcm2ps), ``%%abc-include`` and
  ``%%MIDI ptstress`` (abc2midi) open the file they name; ``%%EPS`` does too without
  -S. abcm2ps writes only the files its command line names.
* Play orders abc2midi misreads. A ``P:`` header whose groups expand past about 41
  parts (``P:(A)44``, ``P:(AB)21``) makes abc2midi read memory it never wrote: the
  same tune gives a different MIDI file, hundreds of kB of messages or a crash from
  run to run, even with address randomisation off. ``P:A999`` is read right, but no
  folk tune plays more than a few dozen parts, so one limit covers both.

Such a tune is refused, not quietly edited: stripping a directive would render
something other than what was sent, and the refusal names the line.
"""
from __future__ import annotations

import re

FILE_DIRECTIVES = ("abc-include", "format", "EPS", "MIDI ptstress")
MAX_PARTS = 32
# %%name at a line start (spaces allowed before and after %%), an I: field line, or
# an inline [I:...] field; case is ignored so that no spelling slips through.
_FILE_DIRECTIVE = re.compile(r"(?:^[ \t]*%%|^[ \t]*I:|\[I:)[ \t]*(abc-include|format|eps|midi[ \t]+ptstress)"
                             r"(?![\w-])", re.IGNORECASE | re.MULTILINE)
_PARTS_FIELD = re.compile(r"^[ \t]*P:(.*)$|\[P:([^\]]*)\]", re.MULTILINE)


def parts_played(order: str, cap: int = MAX_PARTS) -> int:
    """How many parts a ``P:`` play order plays (``A2B``: 3, ``(AB)3C``: 7), counted
    no further than ``cap + 1``. Letters A-Z are parts; a number repeats the part or
    (group) before it; anything else (dots, spaces, words of a body label) is skipped."""
    stack, last, i = [0], 0, 0
    while i < len(order):
        c = order[i]
        if c.isdigit():
            j = i
            while j < len(order) and order[j].isdigit():
                j += 1
            times = int(order[i:j][:4])
            stack[-1] = min(cap + 1, stack[-1] + last * (times - 1)) if times else stack[-1] - last
            last, i = 0, j
            continue
        if "A" <= c <= "Z":
            stack[-1], last = min(cap + 1, stack[-1] + 1), 1
        elif c == "(":
            stack.append(0)
            last = 0
        elif c == ")" and len(stack) > 1:
            last = stack.pop()
            stack[-1] = min(cap + 1, stack[-1] + last)
        i += 1
    return min(cap + 1, sum(stack))


def _line(text: str, at: int) -> int:
    return text.count("\n", 0, at) + 1


def refusal(tune: str) -> tuple[int, str] | None:
    """(line, reason) when the tune must not reach abc2midi or abcm2ps, else None."""
    text = tune.replace("\r\n", "\n").replace("\r", "\n")
    m = _FILE_DIRECTIVE.search(text)
    if m:
        name = next(d for d in FILE_DIRECTIVES if d.lower() == " ".join(m.group(1).lower().split()))
        return _line(text, m.start()), (f"%%{name} reads a file: abcrnn refuses directives "
                                        "that read files")
    for m in _PARTS_FIELD.finditer(text):
        if parts_played(m.group(1) if m.group(1) is not None else m.group(2)) > MAX_PARTS:
            return _line(text, m.start()), (f"the P: field plays more than {MAX_PARTS} parts "
                                            "(abc2midi misreads long play orders)")
    return None
