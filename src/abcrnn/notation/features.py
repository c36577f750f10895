"""Per-character features of ABC structure, to hold neuron activations against.

Alignment. ``features(text)`` takes the text exactly as the model reads it,
``abc.wrap(tune)`` = ``<start>\\n`` + tune + ``\\n<end>``, and gives every
feature one value per character: value ``t`` describes ``text[t]``, the
character the model has just read when activation ``t`` is taken (the
activations of ``heatmap.activations`` and ``neurons.collect`` are the states
*after* reading each character). Conventions:

* a newline belongs to the line it ends; the ``<start>`` line is header, the
  ``<end>`` line is neither header nor body music (every feature 0 there but
  ``line_start`` and ``tune_position``);
* delimiters belong to what they delimit: both quotes of ``"Am7"``, both
  brackets of ``[CEG]``, the whole ``|:`` and ``:|`` of a repeat;
* music features (chord symbols, brackets, bar lines, repeats) are read only on
  body lines that are music: not field lines (``P:``, ``w:``, ``[A-Za-z]:``),
  not ``%`` comments. Inside ``"..."`` and ``!...!`` nothing else is read.

Bar-line tokens: any run of ``|`` with ``[`` before or ``]`` after and ``:``
on either side (``|``, ``||``, ``|]``, ``[|``, ``|:``, ``:|``, ``:||``,
``:|:``), or ``::``, each with the ending number that may follow (``|1``,
``:|2``, ``|1,3``); a bare ending ``[1``/``[2`` is a token too (and not a
bracket group).

Features (1/0 unless said):

``in_header``        lines up to and including the first ``K:`` line
``line_start``       the first character of every line
``field_<F>``        on the header line of field F (``X:``, ``T:``, ... ``K:``)
``in_chord_symbol``  inside ``"..."`` (chord symbols and annotations)
``in_brackets``      inside ``[...]``: chords ``[CEG]`` and inline fields ``[K:G]``
``near_barline``     a token's characters and the character just before and after it
``bar_position``     continuous: a character k of the n between two tokens gets
                     (k+1)/(n+1), so it climbs from 0 at one bar line towards 1 at
                     the next; the start and end of the body count as bar lines;
                     tokens, and stretches between tokens with only blanks, get 0
``in_repeat``        from the ``|:`` (or ``::``) that opens a repeat to the ``:|``
                     (or ``::``) that closes it, both included; causal: a ``:|``
                     with no ``|:`` before it (a repeat from the start) marks nothing,
                     and a repeat left open runs to the end of the body. The ending
                     number after a closing ``:|2`` is outside; a ``|1`` inside.
``tune_position``    a control, not structure: t / (len(text) - 1)
"""
from __future__ import annotations

import re

from abcrnn.notation import lexer

HEADER_FIELDS = "XTMLKRZCDHOASQNB"     # the corpus's header fields, most used first (after XTMLK)
FEATURES = ("in_header", "line_start", "in_chord_symbol", "in_brackets", "near_barline",
            "bar_position", "in_repeat", "tune_position") + tuple(f"field_{c}" for c in HEADER_FIELDS)

_FIELD_LINE = re.compile(r"^[A-Za-z]:")


def _lines(text: str) -> list[tuple[int, str]]:
    """(offset, line) for every line; the newline after a line is at offset + len(line)."""
    out, pos = [], 0
    for line in text.split("\n"):
        out.append((pos, line))
        pos += len(line) + 1
    return out


def _scan(line: str):
    """Chord-symbol spans, bracket spans and bar-line tokens (lexer matches: bar lines
    and bare endings) of one music line, and where its music stops (a ``%`` comment
    runs to the end of the line)."""
    quotes, brackets, bar_tokens = [], [], []
    for m in lexer.tokens(line):
        kind = lexer.kind(m)
        if kind == "comment":
            return quotes, brackets, bar_tokens, m.start()
        if kind == "quote":
            quotes.append((m.start(), m.end()))
        elif kind == "chord":                      # the brackets, not the length after them
            brackets.append((m.start(), m.end("inner") + 1))
        elif kind == "field":
            brackets.append((m.start(), m.end()))
        elif kind in ("barline", "ending"):
            bar_tokens.append(m)
    return quotes, brackets, bar_tokens, len(line)


def _bar_positions(stream: list[int], bounds: list[tuple[int, int]], text: str, out: list[float]):
    """Fill ``out`` for the body's music characters ``stream`` (text indices, in order)
    given the tokens' (start, end) spans: the sawtooth described in the module doc."""
    seg: list[int] = []

    def flush():
        if any(not text[p].isspace() for p in seg):
            for k, p in enumerate(seg):
                out[p] = (k + 1) / (len(seg) + 1)
        seg.clear()

    starts = {s: e for s, e in bounds}
    i = 0
    while i < len(stream):
        p = stream[i]
        if p in starts:              # a token: close the bar before it, skip the token
            flush()
            end = starts[p]
            while i < len(stream) and stream[i] < end:
                i += 1
            continue
        seg.append(p)
        i += 1
    flush()


def _repeat_token(m, state: bool, o: int, out: list[float]) -> bool:
    """Mark one token's characters in ``in_repeat``; return the state after it."""
    bar = m.group("bar")
    if bar is None:                  # a bare ending [1: inside whatever state we are in
        for p in range(o + m.start(), o + m.end()):
            out[p] = float(state)
        return state
    opens, closes = bar.endswith(":"), bar.startswith(":")
    for p in range(o + m.start(), o + m.start("bar") + len(bar)):
        out[p] = float(state or opens)
    after = opens if closes else (state or opens)
    for p in range(o + m.start("bar") + len(bar), o + m.end()):
        out[p] = float(after)        # the ending number: 1 after |, 0 after :|
    return after


def _music_line(o: int, line: str, state: bool, f: dict, stream: list[int], bounds: list) -> bool:
    """Features of one body music line at text offset ``o``; returns the repeat state."""
    quotes, brackets, tokens, stop = _scan(line)
    for name, spans in (("in_chord_symbol", quotes), ("in_brackets", brackets)):
        for s, e in spans:
            f[name][o + s: o + e] = [1.0] * (e - s)
    n = len(f["near_barline"])
    for m in tokens:
        for p in range(max(0, o + m.start() - 1), min(n, o + m.end() + 1)):
            f["near_barline"][p] = 1.0
        bounds.append((o + m.start(), o + m.end()))
    starts = {m.start(): m for m in tokens}
    i = 0
    while i <= len(line):            # i == len(line): the newline this line ends with
        if i in starts:
            state = _repeat_token(starts[i], state, o, f["in_repeat"])
            stream.extend(range(o + i, o + starts[i].end()))
            i = starts[i].end()
            continue
        if o + i < n:
            f["in_repeat"][o + i] = float(state)
            if i < stop or i == len(line):
                stream.append(o + i)
        i += 1
    return state


def features(text: str) -> dict[str, list[float]]:
    """Every feature of ``FEATURES`` for every character of ``text`` (see module doc)."""
    n = len(text)
    f = {name: [0.0] * n for name in FEATURES}
    f["tune_position"] = [t / max(1, n - 1) for t in range(n)]
    lines = _lines(text)
    has_end = len(lines) > 1 and lines[-1][1] == "<end>"
    body_from = next((i + 1 for i, (_, ln) in enumerate(lines) if ln.startswith("K:")),
                     len(lines) - has_end)
    state, stream, bounds = False, [], []
    for i, (o, line) in enumerate(lines):
        end = min(n, o + len(line) + 1)          # the line and its newline
        if o < n:
            f["line_start"][o] = 1.0
        if i < body_from:
            f["in_header"][o:end] = [1.0] * (end - o)
            key = f"field_{line[0]}" if _FIELD_LINE.match(line) else None
            if key in f:
                f[key][o:end] = [1.0] * (end - o)
        elif has_end and i == len(lines) - 1:
            break
        elif _FIELD_LINE.match(line) or line.startswith("%"):
            f["in_repeat"][o:end] = [float(state)] * (end - o)
        else:
            state = _music_line(o, line, state, f, stream, bounds)
    _bar_positions(stream, bounds, text, f["bar_position"])
    return f
