"""Restatement for the guide: folk tunes say their bars again (a third of the bundled
corpus's bars equal an earlier bar of their tune; Ryan's Mammoth: a quarter), while
a character-level model on its own restates few (2-3% for the shipped model). When a
bar closes, the guide may have the next one restate an earlier bar: the sampler picks
which among a few candidates by the model's own likelihood (guided.py).

How often: the share of restated bars the model's corpus has (``FormRules.restate_share``)
is a target for the tune, not a fixed chance per bar. A bar that closes a line can only
restate at the next line's start, a part's last bar is rewritten for its tonic, and
some candidates are missing (a bar spanning two lines, a different key or measure), so
a fixed chance gives fewer restated bars than asked (22.8% against 35% for the shipped
model). The chance rises while the tune is behind its target and falls while ahead.
"""
from __future__ import annotations

import re

from abcrnn.corpus.profile import RESTATED_FROM
from abcrnn.notation.bars import BOUNDARY
from abcrnn.sampling.barlines import BARLINE_CHARS

GAIN = 0.5              # how much a bar of deficit raises the chance
MAX_CHANCE = 0.9
MAX_RUN = 3             # equal bars in a row a restatement may make: the bundled corpus's runs
                        # of 4 or more are drum parts and spacers ("B2B2B2", "x8"), not tunes
_TIED_OVER = re.compile(r"-[ |:\]]*$")
_ASIDE = re.compile(r'"[^"]*"|![^!]*!|\s+')     # as evaluate compares bars (notation/form.py)


def _texts(text: str, bars) -> list[str | None]:
    """Each bar's text as written, or None for one that spans lines."""
    lines = text.split("\n")
    return [lines[b.line - 1][b.start[1]:b.col] if b.start[0] == b.line and b.col >= 0 else None
            for b in bars]


def restated(text: str, bars) -> tuple[int, int]:
    """(bars equal to an earlier bar, bars) among the closed ``bars`` of the voice being
    written, spaces, chord symbols and decorations aside."""
    voice = [b for b in bars if b.voice == bars[-1].voice] if bars else []
    seen, repeats = set(), 0
    for t in _texts(text, voice):
        if t is None:
            continue
        t = _ASIDE.sub("", t)
        repeats += t in seen
        seen.add(t)
    return repeats, len(voice)


def chance(share: float, text: str, bars) -> float:
    """The chance that the next bar restates one, aiming the tune at ``share``: the
    share itself when the tune is on target, more while it is behind."""
    if share <= 0:
        return 0.0
    repeats, n = restated(text, bars)
    deficit = share * (n + 1) - repeats           # restated bars owed, counting the next one
    return min(MAX_CHANCE, max(0.0, share + GAIN * (deficit - share)))


def pick(rules, text: str, bars, rng) -> tuple[list[str], list[float]]:
    """Does the next bar restate one, and which may it restate (``candidates``)? The
    chance (``chance``) times the share of the corpus's restatements the candidates
    stand for: early in a tune only the bar before and the one before that are there,
    and folk tunes seldom restate those (the corpus: 18% of its restatements)."""
    if _TIED_OVER.search(text[-8:]):     # the next bar begins with the tied note (or chord)
        return [], []
    shares = rules.restated_from()
    texts, weights = candidates(text, bars, shares)
    if not texts:
        return [], []
    there = min(1.0, sum(weights) / max(1e-9, sum(float(v) for v in shares.values())))
    if rng.random() < chance(rules.restate_share(), text, bars) * there:
        return texts, weights
    return [], []


def after(ch: str, texts: list[str], weights: list[float], part_closed: bool) -> tuple[list, list]:
    """The restated bars that start a line, as written after ``ch``, the character the
    model drew there: after its space, or after the bar line it opens the line with
    ("|:" where a part closed; without it, 28% of generated parts opened with a bare
    note after a ``:|`` line, 8% of the corpus's). Each opening is a candidate beside
    the others, with its bar's weight. (After a bar line inside a line the guide asks
    at the first character of music, so the model's spaces are already written.)"""
    if ch == " ":
        return [" " + t for t in texts], weights
    if ch != "|":
        return texts, weights
    opens = ("|:", "|: ") if part_closed else ("|", "| ")
    return [o + t for t in texts for o in opens], [w for w in weights for _ in opens]


def starts_here(r, before: str, ch: str) -> bool:
    """At the place a restated bar was asked for (``r.copy_at``, the guide's Row: after a
    line's end or a space), ``ch`` drawn there: does the bar come now, as written after
    ``ch`` (``r.copy``)? A line's end after the space moves the place to the next line;
    a bar line drawn after a space mid-line ("| |") is the model's own, and no bar is
    restated there."""
    if ch == "\n":
        r.copy_at += 1
        return False
    r.copy_at = -1
    if before.endswith("\n") or ch not in BARLINE_CHARS:
        r.copy, r.copy_prior = after(ch, r.copy, r.copy_prior, r.place.just_closed)
        return True
    r.copy = None
    return False


def candidates(text: str, bars, shares: dict) -> tuple[list[str], list[float]]:
    """Earlier bars the next bar could restate, with their weights: the full bars 1, 2,
    4, 8 and 16 back in the voice being written and the bar at the same place in the
    part before ("far"), each on one line, under the same measure and key as the last
    bar; their texts as written (chord symbols and decorations too), a text once. The
    weights are the corpus's shares of restatements from that far back (``shares``, the
    profile's ``restated_from``): the model's likelihood alone picks the bar before,
    which folk tunes restate least (guided tunes: 12% of bars against the corpus's 2%).
    No candidate makes more than MAX_RUN equal bars in a row."""
    if not bars:
        return [], []
    last = bars[-1]
    voice = [b for b in bars if b.voice == last.voice]
    texts = _texts(text, voice)
    found: dict[str, float] = {}
    run = next((k for k in range(1, len(texts)) if not _same(texts[-k - 1], texts[-1])), len(texts))
    for back, key in [*((k, str(k)) for k in RESTATED_FROM), (_part_back(voice), "far")]:
        if not back or back > len(voice) or (key == "far" and (back <= 8 or back == 16)):
            continue
        b, bar_text = voice[-back], texts[-back]
        if (bar_text is None or b.expected is None or b.duration != b.expected
                or b.expected != last.expected or b.key != last.key):
            continue
        bar_text = bar_text.strip()
        if run >= MAX_RUN and _same(bar_text, texts[-1]):
            continue            # demo tune 7 had five equal bars in a row
        if bar_text and "%" not in bar_text:
            found[bar_text] = found.get(bar_text, 0.0) + float(shares.get(key, 0.0))
    return [t for t, w in found.items() if w > 0], [w for w in found.values() if w > 0]


def _same(a: str | None, b: str | None) -> bool:
    """Are two bars' texts the same music (as ``restated`` compares them)?"""
    return a is not None and b is not None and _ASIDE.sub("", a) == _ASIDE.sub("", b)


def _part_back(voice) -> int:
    """How many bars back the bar at the next bar's place in the part before is (0: no
    part before, or the current part already longer)."""
    starts = [0] + [i + 1 for i, b in enumerate(voice) if BOUNDARY.search(b.closed_by)]
    if len(starts) < 2:
        return 0
    prev, cur = starts[-2], starts[-1]
    at = prev + len(voice) - cur                 # that bar's index in the voice
    return len(voice) - at if at < cur else 0
