"""Structure-aware decoding: keep sampled tunes well-formed ABC as they grow.

The sampler asks the guide, at every step and for every tune in the batch,
which characters may come next (a mask over the vocabulary), and tells it which
character was drawn. The guide answers with one of three verdicts:

* ``KEEP``   - go on;
* ``CHAR``   - this character would overfill the bar, or close it before it is
               full: draw again at the same place without it;
* ``BAR``    - the bar just closed has the wrong length: go back to the start
               of that bar (text and recurrent state) and draw it again;
* ``LINE``   - abc2midi reports an error in the line just finished (or, at
               ``<end>``, anywhere the tune's end exposes, such as an unclosed
               repeat): go back to the start of that line and draw it again.

Masks (hard rules of the ABC header and of the study's markers):
  the first line is ``X:``; header lines are fields (a letter, then ``:``) or
  ``%`` comments; no second ``X:``; ``K:`` (which ends the header) only once
  ``T:``, ``M:`` and ``L:`` are written; in the body, lines may start only with
  music or with the fields abc2midi accepts there; ``<`` at the start of a body
  line can only begin ``<end>``.

Redraws are bounded (``max_bar_tries`` per bar, ``max_line_tries`` per line,
``max_redraws`` per tune); past them the text is kept as it is, so generation
always finishes. A header longer than ``HEADER_LINES_MAX`` lines is closed: the
missing required fields, then ``K:``. This is constrained decoding,
not rejection of whole tunes: every tune the sampler returns is the one it drew.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from abcrnn.notation.tunes import END, START
from abcrnn.notation import lexer
from abcrnn.notation.barscan import IncrementalBars

KEEP, BAR, LINE, CHAR = 0, 1, 2, 3
REQUIRED_BEFORE_K = ("T", "M", "L")
# Header values the guide allows: the meters and unit lengths of the corpus (all but a
# handful of its 1,106 tunes), so no tune gets a bar nothing fits in (say L:1/1 in 2/4).
FIELD_VALUES = {"M:": ("6/8", "C|", "2/4", "3/4", "9/8", "4/4", "C", "3/8", "2/2", "12/8",
                       "6/4", "3/2", "5/4", "7/8"),
                "L:": ("1/8", "1/4", "1/16")}
HEADER_LINES_MAX = 16                   # corpus headers: median 8 lines, 99th percentile 16
BODY_FIELDS = set("wWPVKMLQT")          # fields abc2midi accepts inside a tune body
NOTE_LETTERS = set("ABCDEFGabcdefg")
BODY_LINE_LETTERS = NOTE_LETTERS | set("xzZ") | BODY_FIELDS
_NOT_TRIGGER = set("|:][0123456789,- \t")


def _field_value(line: str) -> set[str] | None:
    """On an M: or L: line, the characters that keep its value one of FIELD_VALUES."""
    values = FIELD_VALUES.get(line[:2])
    if values is None:
        return None
    value = line[2:]
    return ({v[len(value)] for v in values if v.startswith(value) and len(v) > len(value)}
            | ({"\n"} if value in values else set()))


@dataclass
class _Row:
    text: str = ""                 # the tune so far, markers excluded
    line_mark: int = 0             # rollback point for LINE (offset into text)
    bar_mark: int = 0              # rollback point for BAR
    bar_tries: int = 0
    bar_checked: int = -1          # end of the last bar line checked (no double checks)
    known_wrong: int = 0           # wrong bars kept because their redraws ran out
    banned: set = field(default_factory=set)   # characters refused at this very position
    char_tries: int = 0
    body_start: int = -1           # offset where the body begins (-1: still in the header)
    meter: str = ""                # the M: and L: lines in force
    unit: str = ""
    line_tries: int = 0
    fields: set = field(default_factory=set)
    in_body: bool = False
    no_end: bool = False           # the tune's end was refused: the next line must be music
    redraws: int = 0
    bars: IncrementalBars = field(default_factory=IncrementalBars)   # bar_report of text, kept up
    open_bars: dict = field(default_factory=dict)   # text -> its OpenBar: the last few asked


class AbcGuide:
    def __init__(self, vocab, prime_text: str, batch: int, check_lines: bool = True,
                 max_bar_tries: int = 20, max_line_tries: int = 8, max_redraws: int = 800,
                 max_char_tries: int = 12):
        import shutil
        # Line checks need abc2midi; without it the masks and bar checks still apply.
        self.check_lines = check_lines and shutil.which("abc2midi") is not None
        self.max_bar_tries, self.max_line_tries = max_bar_tries, max_line_tries
        self.max_redraws = max_redraws      # per tune: bounds the time a hopeless tune can take
        self.max_char_tries = max_char_tries
        body = prime_text[len(START):].lstrip("\n") if prime_text.startswith(START) else prime_text
        self.rows = [_Row() for _ in range(batch)]
        for r in self.rows:
            for ch in body:
                self._append(r, ch)
            r.line_mark = r.bar_mark = len(r.text)
        self._chars = frozenset(vocab.stoi)      # what the model can write at all

    # --- masks -----------------------------------------------------------
    def allowed(self, b: int) -> set[str] | None:
        """Characters allowed next for row b, or None when anything goes."""
        r = self.rows[b]
        line = r.text[r.text.rfind("\n") + 1:]
        if r.text == "":
            return {"X"}
        if not r.in_body:
            if line == "":
                missing = {f for f in REQUIRED_BEFORE_K if f not in r.fields}
                n_lines = r.text.count("\n")
                if n_lines >= HEADER_LINES_MAX:        # a header that rambles on is closed
                    return missing or {"K"}
                if missing and n_lines >= HEADER_LINES_MAX // 2:
                    return missing
                letters = {c for c in self._chars if c.isalpha() and c.isascii()} - {"X"}
                if missing:
                    letters.discard("K")
                return letters | {"%"}
            if len(line) == 1 and line.isalpha():
                return {":"}
            return _field_value(line)
        if line == "":
            start = ({c for c in self._chars if not c.isalpha()} | BODY_LINE_LETTERS) - {"\n"}
            return start - {"<"} if r.no_end else start     # after a refused ending: more music
        if len(line) == 1 and line in BODY_FIELDS - NOTE_LETTERS:
            return {":"}
        if len(line) == 1 and line in NOTE_LETTERS:
            return set(self._chars) - {":"}          # "A:" would be a header field
        if line.startswith("<"):
            nxt = END[len(line)] if len(line) < len(END) and END.startswith(line) else None
            return {nxt} if nxt else None
        if line[:2] in FIELD_VALUES:
            return _field_value(line)
        return self._music_mask(r)

    def _music_mask(self, r: _Row) -> set[str] | None:
        """In a line of music: an accidental must be followed by a note, and a full
        bar by a bar line (a space may come first)."""
        text = r.text
        if text.endswith(("=", "^^", "__")):
            return set(NOTE_LETTERS)
        if text.endswith(("^", "_")):
            return NOTE_LETTERS | {text[-1]}
        bar = self._open_bar(r, text)
        if bar.inside or not text[-1:].isalnum() and text[-1:] not in " /)]":
            return None
        full = bar.expected is not None and bar.duration == bar.expected and bar.duration > 0
        return {"|", ":", " "} if full else None

    def mask_rows(self) -> dict[int, set[str]]:
        out = {}
        for b, r in enumerate(self.rows):
            a = self.allowed(b)
            if r.banned:
                a = (set(self._chars) if a is None else a) - r.banned
            if a is not None:
                out[b] = (a & self._chars) or set(self._chars)
        return out

    # --- verdicts ----------------------------------------------------------
    def step(self, b: int, ch: str) -> int:
        """Record character ``ch`` for row b; return KEEP, BAR or LINE."""
        r = self.rows[b]
        before = r.text
        closed_at = len(before.rstrip())          # where the bar line ends, spaces aside
        checking = r.redraws < self.max_redraws          # past the budget: masks only
        if (checking and r.body_start >= 0 and r.char_tries < self.max_char_tries
                and not self._fits(r, before, ch)):
            r.char_tries += 1
            r.redraws += 1                    # refusals count toward the tune's budget too
            r.banned.add(ch)
            return CHAR
        if (checking and r.in_body and ch not in _NOT_TRIGGER and closed_at != r.bar_checked
                and _ends_with_barline(before)):
            r.bar_checked = closed_at
            ok, wrong_before = self._bar_verdict(r, before)
            if (not ok or wrong_before > r.known_wrong) and r.bar_tries < self.max_bar_tries:
                r.bar_tries += 1
                return self._rollback(r, r.bar_mark, BAR)
            r.bar_tries, r.bar_mark = 0, len(before)
            r.known_wrong = wrong_before + (not ok)      # kept as drawn once the tries ran out
        if ch == "\n" or (ch == ">" and (before + ch).endswith(END)):
            verdict = self._line_verdict(r, before, final=ch == ">")
            if verdict != KEEP:
                return verdict
        self._append(r, ch)
        r.banned.clear()
        r.char_tries = 0
        return KEEP

    def _fits(self, r: _Row, before: str, ch: str) -> bool:
        """Does ``ch`` keep the current bar within its measure? A bar line may only
        come once the bar is full (a pick-up or an ending's first bar may be short)."""
        line = (before + ch).rsplit("\n", 1)[-1]
        if len(line) > 1 and line[1] == ":" and line[0].isalpha() or line.startswith("%"):
            return True                                      # a field or comment line
        bar = self._open_bar(r, before)
        if bar.inside:
            return True                       # inside a chord, quote, decoration or grace
        if ch == ":" and before.endswith("|") and not before.endswith("||") and bar.repeat_open:
            return False                      # abc2midi: "found another |: after a |:"
        opens_bar = ch == "|" or (ch == ":" and not before[-1:].isdigit())
        if opens_bar and before[-1:] not in ("|", ":", "["):
            dur, exp = bar.duration, bar.expected
            # short bars: a pick-up, an ending's first bar, or one closed by a repeat (":|")
            # that pairs with the pick-up; splits at "||" are left to the bar-level check
            return exp is None or dur == exp or (dur < exp and (bar.first or bar.in_ending or dur == 0
                                                                 or ch == ":"))
        if opens_bar:
            return True
        bar = self._open_bar(r, before + ch)
        return bar.expected is None or bar.duration <= bar.expected

    @staticmethod
    def _open_bar(r: _Row, text: str):
        """The bar scanner's open bar at the end of ``text``. The last few answers are
        kept: the mask asks about the text, the check of the drawn character about the
        text and the text with that character, which the next mask asks about again."""
        found = r.open_bars.get(text)
        if found is None:
            if len(r.open_bars) >= 4:
                r.open_bars.clear()
            found = r.open_bars[text] = r.bars.open_bar(text)
        return found

    def _line_verdict(self, r: _Row, before: str, final: bool) -> int:
        text = before[: -len(END) + 1].rstrip("\n") if final else before
        k_line = before.rsplit("\n", 1)[-1].startswith("K:")
        if (self.check_lines and (r.in_body or k_line) and r.line_tries < self.max_line_tries
                and r.redraws < self.max_redraws
                and self._line_errors(text, r, final)):
            r.line_tries += 1
            r.no_end = final
            return self._rollback(r, r.line_mark, LINE)
        r.line_tries, r.no_end = 0, False
        if r.in_body or k_line:    # header lines keep the mark at the header's start, so a
            r.line_mark = r.bar_mark = len(before)   # bad header is drawn again as a whole
        return KEEP

    def _rollback(self, r: _Row, mark: int, kind: int) -> int:
        r.text = r.text[:mark]
        r.bar_checked = len(r.text.rstrip())  # the bar line we go back to was accepted
        r.known_wrong = sum(b.status == "wrong" for b in r.bars.report(r.text).bars)
        if kind == LINE:
            r.bar_mark = mark
        r.redraws += 1
        self._refresh(r)
        return kind

    # --- helpers -------------------------------------------------------------
    def _append(self, r: _Row, ch: str) -> None:
        r.text += ch
        if ch == "\n":
            self._line_done(r, r.text[:-1].rsplit("\n", 1)[-1], len(r.text))

    @staticmethod
    def _line_done(r: _Row, last: str, end: int) -> None:
        """Header facts from a finished line: fields seen, M:/L: in force, body start."""
        if last.startswith("M:"):
            r.meter = last
        elif last.startswith("L:"):
            r.unit = last
        if not r.in_body and len(last) > 1 and last[1] == ":" and last[0].isalpha():
            r.fields.add(last[0])
            if last[0] == "K":
                r.in_body, r.body_start = True, end

    def _refresh(self, r: _Row) -> None:
        """Recompute header facts from the text after a rollback."""
        r.fields, r.in_body, r.body_start, r.meter, r.unit = set(), False, -1, "", ""
        r.banned, r.char_tries = set(), 0
        end = 0
        for line in r.text.split("\n")[:-1]:
            end += len(line) + 1
            self._line_done(r, line, end)

    def _bar_verdict(self, r: _Row, text: str) -> tuple[bool, int]:
        """(may the bar just closed stand, how many earlier bars are now wrong).

        Uses the evaluator's rules (abcbars): a bar longer than its measure is
        wrong; a short one may stand if it is a pick-up, starts an ending, sits at
        a section boundary or a repeat. Whether a split bar is completed by the
        next one shows up as an earlier bar turning wrong at the next check."""
        from abcrnn.notation.bars import BOUNDARY, repeat_end, repeat_start
        bars = r.bars.report(text.rstrip()).bars        # only the lines since the last call
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

    def _line_errors(self, text: str, r: _Row, final: bool) -> bool:
        from abcrnn.tools.abc2midi import check_abc
        first_line = r.text[: r.line_mark].count("\n") + 1
        check = check_abc(text)
        if final:
            return not check.valid
        return any(m.line >= first_line or m.line == 0 for m in check.errors
                   if "at end of tune" not in m.text and "No tune processed" not in m.text)


def _ends_with_barline(text: str) -> bool:
    """Does the text end with a bar line (and its ending number), spaces aside?"""
    line = text[text.rfind("\n") + 1:].rstrip(" \t")
    if lexer.is_field_line(line) or line.startswith("%"):
        return False
    last = None
    for last in lexer.tokens(line):
        pass
    # a lone ":" (the scanner's dotted bar line) is more often a typo in text than a bar line
    return last is not None and last.lastgroup == "barline" and ("|" in last["bar"] or "::" in last["bar"])
