"""Structure-aware decoding: keep sampled tunes well-formed ABC, in folk form, as they grow.

The sampler asks the guide, at every step and for every tune in the batch,
which characters may come next (a mask over the vocabulary), and tells it which
character was drawn. The guide answers with a verdict:

* ``KEEP``   - go on;
* ``CHAR``   - this character would overfill the bar, close it before it is full,
               or write a bar line the form does not allow here: draw again at the
               same place without it;
* ``BAR``    - the bar just closed has the wrong length, or closes a part on a note
               that is not the tonic: go back to the start of that bar (text and
               recurrent state) and draw it again (for the tonic: write it again
               ending on the tonic, one of ``copy``'s ways, chosen by the sampler;
               ``forced`` text the model reads);
* ``COPY``   - the next bar restates an earlier one (folk form): ``ch`` is taken back,
               the sampler picks the bar from ``copy`` and the guide writes it;
* ``LINE``   - abc2midi reports an error in the line just finished (or, at
               ``<end>``, anywhere the tune's end exposes, such as an unclosed
               repeat): go back to the start of that line and draw it again;
* ``EARLIER``- the same for the line before, whose check ran beside the sampler
               (``check_ahead``, ahead.py): ``ch`` and what followed that line go too.

Masks: the header's fields and values (header.py); in the body, lines start with music
or the body fields the rules allow; ``<`` at a line start only begins ``<end>``, where
the form lets the tune end (form.py); an accidental is followed by a note, a full bar
by a bar line the form allows; folk music holds no letter ABC cannot read.
Redraws are bounded (``max_bar_tries`` per bar, ``max_line_tries`` per line,
``max_redraws`` per tune); past them the text is kept as it is, so generation always
finishes. This is constrained decoding, not rejection of whole tunes.
"""
from __future__ import annotations

import random
import string
from collections import Counter

from abcrnn.notation.tunes import END, START
from abcrnn.sampling import ahead, barlines, cadence, checks, form, lengths, measure, restate, symbols
from abcrnn.sampling.header import HeaderRules
from abcrnn.sampling.row import Row
from abcrnn.sampling.symbols import MUSIC_LETTERS, NOTE_LETTERS

KEEP, BAR, LINE, CHAR, COPY, EARLIER = 0, 1, 2, 3, 4, 5
_NOT_TRIGGER = set("|:][0123456789,- \t")
FREE = form.FormRules(structure="free", headers="all")    # the guide before folk form
TONIC_TRIES = 2
LINE_REFUSALS = 48      # refusals in one line before it is drawn again from its start
END_TRIES = 4


class AbcGuide:
    def __init__(self, vocab, prime_text: str, batch: int, check_lines: bool = True,
                 max_bar_tries: int = 20, max_line_tries: int = 8, max_redraws: int = 800,
                 max_char_tries: int = 12, form: form.FormRules | None = None, seed: int = 0,
                 check_ahead: int = 0):
        import shutil
        # Line checks need abc2midi; without it the masks and bar checks still apply.
        self.check_lines = check_lines and shutil.which("abc2midi") is not None
        self.check_ahead = check_ahead      # a body line's check is read this many steps on (0: at once)
        self.max_bar_tries, self.max_line_tries = max_bar_tries, max_line_tries
        self.max_redraws = max_redraws      # per tune: bounds the time a hopeless tune can take
        self.max_char_tries = max_char_tries
        self.rules = form or FREE
        self._chars = frozenset(vocab.stoi)      # what the model can write at all
        # folk music: no letter ABC cannot read, no "+" (ABC 2.0's decoration mark: symbols.py)
        self._music_chars = self._chars - (frozenset(string.ascii_letters) - MUSIC_LETTERS) - {"+"}
        self.header = HeaderRules(self.rules, self._chars)
        body = prime_text[len(START):].lstrip("\n") if prime_text.startswith(START) else prime_text
        self.rows = [Row(rng=random.Random(seed + b)) for b in range(batch)]  # own draws per row
        for r in self.rows:
            for ch in body:
                self._append(r, ch)
            r.line_mark = r.bar_mark = len(r.text)

    # --- masks -----------------------------------------------------------
    def allowed(self, b: int) -> set[str] | None:
        """Characters allowed next for row b, or None when anything goes."""
        r = self.rows[b]
        if r.forced:
            return {r.forced[0]}
        line = r.text[r.text.rfind("\n") + 1:]
        if r.text == "":
            return {"X"}
        if not r.in_body:
            if line == "":
                return self.header.line_starts(r.seen, r.text.count("\n"), r.values)
            if len(line) == 1 and line.isalpha():
                return {":"}
            return self.header.value_chars(line, r.values, r)
        if line == "":
            return form.line_start(self.rules, r, self._chars, self.header.body_fields)
        if len(line) == 1 and line in self.header.body_fields - NOTE_LETTERS:
            return {":"}
        if len(line) == 1 and line.isalpha():    # "A:", "Z:" would be a header field
            return set(self._music_chars if self.rules.folk else self._chars) - {":"}
        if line.startswith("<"):
            nxt = END[len(line)] if len(line) < len(END) and END.startswith(line) else None
            return {nxt} if nxt else None
        if line.startswith("P:") and self.rules.folk:     # the next letter, or a name
            return form.part_label(line, r.text[r.body_start:], r.place.parts_closed,
                                   tuple(self.rules.profile.get("part_names") or ()))
        if line[:2] in ("M:", "L:", "P:", "K:"):
            return self.header.value_chars(line, {})
        return self._music_mask(r)

    def _music_mask(self, r: Row) -> set[str] | None:
        """In a line of music: an accidental must be followed by a note, a full bar by a
        bar line (a space may come first), and a bar line be one the form allows."""
        text = r.text
        if r.barline is not None:       # after it, music (folk: what every reader reads)
            return barlines.mask(r, symbols.in_music(text, self._music_chars) if self.rules.folk
                                 else self._chars)
        if text.endswith(("=", "^^", "__")):
            return set(NOTE_LETTERS)
        if text.endswith(("^", "_")):
            return NOTE_LETTERS | {text[-1]}
        if form.must_end(self.rules, r.place) and r.place.just_closed:
            return {"\n"}                              # the last part is closed: the tune ends
        mask = self._bar_mask(r, text)
        if text.endswith("  "):                       # no run of spaces (a model can loop on them)
            return (set(self._chars) if mask is None else mask) - {" "}
        return mask

    def _bar_mask(self, r: Row, text: str) -> set[str] | None:
        bar = r.open_bar(text)
        if bar.inside:            # a chord symbol, chord, grace... kept short and well-formed
            closer = symbols.CLOSERS.get(bar.inside[0])
            if not self.rules.folk:
                return {closer} if closer and len(bar.inside) > symbols.INSIDE_MAX[closer] else None
            return symbols.inside(bar.inside, self.header.body_fields,
                                  lambda line: self.header.value_chars(line, {}))
        # folk form: only what every reader reads (abcm2ps: "Bad character 'h'"; symbols.py)
        music = symbols.in_music(text, self._music_chars) if self.rules.folk else None
        if music is not None:                        # a length a staff draws and the bar holds
            music = lengths.allowed(r, text, music)
        full = bar.expected is not None and bar.duration == bar.expected and bar.duration > 0
        if not full or (not text[-1:].isalnum() and text[-1:] not in " /)]-,'"):
            return music
        tokens = barlines.at_full_bar(self.rules, r, bar)
        firsts = barlines.firsts(tokens, r.redraws < self.max_redraws)
        # folk: a length may still change if the bar holds it ("A3" -> "A3/"), a tie
        # may carry the last note over the bar line
        return firsts | {" "} | (music & (lengths.LENGTH_CHARS | {"-"}) if music else set())

    def mask_rows(self, rows: list[int] | None = None) -> dict[int, set[str]]:
        """The allowed characters of the rows asked (default: all), where there is a rule."""
        out = {}
        for b in range(len(self.rows)) if rows is None else rows:
            r = self.rows[b]
            a = self.allowed(b)
            if r.banned and not r.forced:
                a = (set(self._chars) if a is None else a) - r.banned
            if a is not None:     # all refused: the rule's own set again (the tries are bounded)
                out[b] = (a & self._chars) or (self.allowed(b) or set()) & self._chars or set(self._chars)
        return out

    # --- verdicts ----------------------------------------------------------
    def step(self, b: int, ch: str) -> int:
        """Record character ``ch`` for row b; return KEEP, CHAR, BAR or LINE."""
        r = self.rows[b]
        r.steps += 1
        if r.pending is not None and r.steps >= r.pending.due and self._settle(r) != KEEP:
            return EARLIER
        if r.forced and ch == r.forced[0]:         # the guide's own text: already checked
            r.forced = r.forced[1:]
            self._append(r, ch)
            if r.opening and not r.forced:       # the asked opening stays: nothing goes back
                r.opening, r.line_mark, r.bar_mark = False, len(r.text), len(r.text)   # before it
                r.bar_checked = len(r.text.rstrip())
            return KEEP
        before = r.text
        closed_at = len(before.rstrip())          # where the bar line ends, spaces aside
        checking = r.redraws < self.max_redraws          # past the budget: masks only
        if r.copy_at == len(before) and ch != "<" and restate.starts_here(r, before, ch):
            return COPY                 # a bar restated after a line's end or a space
        if checking and self.rules.folk and r.barline is None and r.body_start >= 0:
            closers = barlines.closers(self.rules, r, before, ch)
            if closers:                   # the model's likeliest whole bar line (guided.py)
                r.copy, r.copy_whole = closers, True
                return COPY
        if (checking and r.body_start >= 0 and r.char_tries < self.max_char_tries
                and not measure.fits(self.rules, r, before, ch)):
            r.char_tries += 1
            r.redraws += 1                    # refusals count toward the tune's budget too
            r.banned.add(ch)
            return self._dead_end(b, r) or CHAR
        # folk: a space settles a bar line (the last part's ":| " went on with "[gece]")
        done = ch not in _NOT_TRIGGER or self.rules.folk and ch in " \t" and r.barline is None
        if r.in_body and done and closed_at != r.bar_checked and checks.ends_with_barline(before):
            r.bar_checked = closed_at
            verdict = self._bar_verdict(r, before, checking, ch)
            if verdict != KEEP:
                return verdict
        if ch == "\n" or (ch == ">" and (before + ch).endswith(END)):
            verdict = self._line_verdict(r, before, final=ch == ">")
            if verdict != KEEP:
                return verdict
        self._append(r, ch)
        r.banned.clear()
        r.char_tries = 0
        return KEEP

    def _dead_end(self, b: int, r: Row) -> int:
        """After a refusal, a way out of a place no draw goes on from (the redraws of the
        tunes whose budget ran out went there, ~800 refusals each on Ryan's Mammoth): BAR
        when every character the rules allow, or max_char_tries in a row, have been refused
        (a full bar after ``\\``, a bar a tuplet left unfillable), LINE after
        LINE_REFUSALS in one line (a bar begun on the line before stays); 0: go on."""
        r.line_refused += 1
        if r.line_refused > LINE_REFUSALS and r.line_tries < self.max_line_tries:
            r.line_tries += 1
            return self._rollback(r, r.line_mark, LINE)
        allowed = self.allowed(b) if r.char_tries < self.max_char_tries else set()
        if (allowed is None or (allowed & self._chars) - r.banned or r.bar_mark >= len(r.text)
                or r.bar_tries >= self.max_bar_tries):
            return 0
        r.bar_tries += 1
        return self._rollback(r, r.bar_mark, BAR)

    def _bar_verdict(self, r: Row, before: str, checking: bool = True, ch: str = "") -> int:
        """After a bar line: may the bar stand, and where does the tune stand now? Past
        the redraw budget (``checking`` False) nothing is redrawn, but the place is kept
        up, so the form still says when the tune ends."""
        report = r.bars.report(before.rstrip())        # only the lines since the last call
        ok, wrong_before = checks.bar_stands(report.bars)
        if checking and (not ok or wrong_before > r.known_wrong) and r.bar_tries < self.max_bar_tries:
            r.bar_tries += 1
            return self._rollback(r, r.bar_mark, BAR)
        place = form.place(report.bars, report.pending_ending)
        if checking and self.rules.folk and place.just_closed and r.tonic_tries < TONIC_TRIES:
            ways = cadence.offer(before[r.bar_mark:], report.bars[-1] if report.bars else None,
                                 r.values, self.rules.profile, merge_tonic=r.tonic_tries == 0)
            ways = [w for w in ways if set(w[0]) <= self._chars]   # an octave mark it lacks...
            if ways:                  # the sampler chooses one (guided.py, close_part)
                r.tonic_tries += 1
                verdict = self._rollback(r, r.bar_mark, BAR)
                r.copy, r.copy_prior, r.copy_full = [w[0] for w in ways], [w[1:] for w in ways], True
                return verdict
        r.bar_tries, r.tonic_tries, r.bar_mark = 0, 0, len(before)
        r.known_wrong = wrong_before + (not ok)      # kept as drawn once the tries ran out
        r.place = place
        if self.rules.folk and form.must_end(self.rules, place) and ch not in " \n":
            r.banned.add(ch)          # the last part is closed: no note after it, the tune ends
            return CHAR
        if checking and self.rules.folk and not form.must_end(self.rules, place):
            r.copy, r.copy_prior = restate.pick(self.rules, before, report.bars, r.rng)
            if r.copy and ch in "\n \t":      # the restated bar comes after the line's end
                r.copy_at = len(before) + 1   # or the space: the model's own
            elif r.copy:
                return COPY       # ``ch`` is not written: the restated bar comes in its place
        return KEEP

    def _line_verdict(self, r: Row, before: str, final: bool) -> int:
        if r.pending is not None and self._settle(r) != KEEP:     # the line before it first
            return EARLIER
        text = before[: -len(END) + 1].rstrip("\n") if final else before
        k_line = before.rsplit("\n", 1)[-1].startswith("K:")
        tries_left = r.end_tries < END_TRIES if final else r.line_tries < self.max_line_tries
        checking = (self.check_lines and (r.in_body or k_line) and tries_left
                    and r.redraws < self.max_redraws)
        first = r.text[: r.line_mark].count("\n") + 1
        if checking and self.check_ahead and r.in_body and not final:
            r.pending = ahead.submit(text, first, r.line_mark, r.steps + self.check_ahead)
        elif checking and checks.line_errors(text, first, final):
            r.line_tries += 1
            r.end_tries += final
            r.no_end = final
            return self._rollback(r, r.line_mark, LINE)
        else:
            r.line_tries = 0
        r.no_end = False
        if r.in_body or k_line:    # header lines keep the mark at the header's start, so a
            r.line_mark = r.bar_mark = len(before)   # bad header is drawn again as a whole
            r.line_refused = 0
        return KEEP

    def _settle(self, r: Row) -> int:
        """Read the check of the line before (ahead.py): KEEP, or EARLIER once gone back
        to where that line began."""
        pending, r.pending = r.pending, None
        if not pending.found.result():
            r.line_tries = 0
            return KEEP
        r.line_tries += 1
        r.line_mark = pending.mark
        return self._rollback(r, pending.mark, EARLIER)

    def _rollback(self, r: Row, mark: int, kind: int) -> int:
        r.text = r.text[:mark]
        r.bar_checked = len(r.text.rstrip())  # the bar line we go back to was accepted
        report = r.bars.report(r.text)
        r.known_wrong = sum(b.status == "wrong" for b in report.bars)
        # a mark can be mid-bar (a line may end mid-bar): the bar it cuts is not closed
        closed = report.bars[:-1] if report.bars and report.bars[-1].col < 0 else report.bars
        r.place = form.place(closed, report.pending_ending)
        if kind in (LINE, EARLIER):
            r.bar_mark, r.line_refused = mark, 0
        r.redraws += 1
        r.forced, r.barline, r.copy, r.copy_whole, r.copy_at, r.copy_prior = "", None, None, False, -1, None
        r.copy_full = False
        r.frozen_at = mark if self.rules.folk and checks.ends_with_barline(r.text) else -1
        self._refresh(r)
        return kind

    # --- helpers -------------------------------------------------------------
    def _append(self, r: Row, ch: str) -> None:
        r.text += ch
        if ch == "\n":
            r.line_done(r.text[:-1].rsplit("\n", 1)[-1], len(r.text))
            if self.rules.opening and r.in_body and r.body_start == len(r.text):
                r.forced, r.opening = self.rules.opening, True     # the header is done

    def _refresh(self, r: Row) -> None:
        """Recompute header facts from the text after a rollback."""
        r.seen, r.values, r.in_body, r.body_start, r.banned, r.char_tries = Counter(), {}, False, -1, set(), 0
        end = 0
        for line in r.text.split("\n")[:-1]:
            end += len(line) + 1
            r.line_done(line, end)
