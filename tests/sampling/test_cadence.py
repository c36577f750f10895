"""A part's closing bar on the tonic (sampling/cadence.py, guided.close_part) and how the
corpus's parts end (notation/form.py's close_lengths, the profile's close_lengths)."""
from __future__ import annotations

import random
from fractions import Fraction

import pytest

from abcrnn.corpus.profile import closes
from abcrnn.notation.bars import bar_report
from abcrnn.notation.form import close_lengths, note_pitch_class, tonic_pitch_class
from abcrnn.sampling import cadence

REEL = "X:1\nT:t\nR:reel\nM:C|\nL:1/8\nK:D\n"
JIG = "X:1\nT:t\nR:jig\nM:6/8\nL:1/8\nK:G\n"


def ways(header: str, bar_text: str, merge: bool = True):
    bar = bar_report(header + bar_text).bars[-1]
    meter = next(ln[2:] for ln in header.split("\n") if ln.startswith("M:"))
    return dict(cadence.tonic_closes(bar_text, bar, meter, "1/8", merge)), bar


def test_the_ways_end_on_the_tonic_and_last_as_long_as_the_bar():
    found, bar = ways(REEL, "ABcd efgA:|")
    assert found == {"ABcd efgd:|": Fraction(1, 8), "ABcd ef d2:|": Fraction(1, 4),
                     "ABcd efd2:|": Fraction(1, 4), "ABcd d4:|": Fraction(1, 2),
                     "ABd6:|": Fraction(3, 4), "AB d6:|": Fraction(3, 4), "d8:|": Fraction(1)}
    low, _ = ways(REEL, "DEFA fgae:|")            # the tonic near the merged notes' first too
    assert {"DEFA d4:|", "DE d6:|", "DE D6:|", "D8:|", "d8:|"} <= set(low)
    for text in found:
        got = bar_report(REEL + text).bars[-1]
        assert got.duration == bar.duration and got.ok
        assert note_pitch_class(got.last_note, "D") == tonic_pitch_class("D")


def test_notes_merge_from_a_beat_only():
    found, _ = ways(JIG, "dBG FEA:|")          # beats at 0 and 3/8: "FEA" and the whole bar
    assert set(found) == {"dBG FEG:|", "dBG G3:|", "G6:|", "g6:|"}
    assert found["dBG G3:|"] == Fraction(1, 2) and found["dBG FEG:|"] == Fraction(1, 6)


def test_a_bar_on_the_tonic_is_offered_with_its_merges_once():
    found, bar = ways(JIG, "dfe dBG:|")
    assert next(iter(found)) == "dfe dBG:|" and "dfe G3:|" in found
    assert ways(JIG, "dfe dBG:|", merge=False)[0] == {}     # the guide chose it: it stays
    assert ways(JIG, "dfe g6:|"[:4] + "g2:|")[0] == {}   # "dfe g2": nothing after a beat to merge


@pytest.mark.parametrize("bar_text", ["d>ef gab:|", "(3efg (3fga b3:|"[:-3] + "a:|",
                                      "dBG [FA]3:|", "dBG F3-:|"])
def test_tuplets_broken_rhythm_chords_and_ties_are_not_merged(bar_text):
    found, _ = ways(JIG, bar_text)
    assert all(text.endswith((":|", " :|")) for text in found)
    merged = [t for t in found if t.rstrip(":| ").endswith(("g3", "G3", "g6", "G6"))]
    assert merged == [] or bar_text.startswith("d>e")
    if bar_text.startswith("d>e"):                 # "gab" after the broken pair merges, "ef" not
        assert set(found) == {"d>ef gag:|", "d>ef g3:|"}


def test_close_lengths_read_each_part_s_last_note():
    tune = JIG + "|:GAB dBG|d3 d3:|\n|:gfe dBG|1 AGF G2A:|2 AGF G3||\n"
    assert close_lengths(tune) == [Fraction(1, 2), Fraction(1, 2)]   # the first ending leads back
    reel = REEL + "ABcd efge|fdec d2:|\nABcd (3efg fe|dcBA d2|]"
    assert close_lengths(reel) == [Fraction(1, 4), Fraction(1, 4)]


def test_the_profile_keeps_meters_with_enough_part_ends():
    jigs = [JIG + "|:GAB dBG|d3 d3:|\n"] * 15 + [JIG + "|:GAB dBG|dBG G:|\n"] * 5
    table = closes(jigs + [REEL + "ABcd efge|fdec d2:|\n"])
    assert table["6/8"] == {"1/2": 0.75, "1/6": 0.25}
    assert "C|" not in table and table["*"]["1/4"] == pytest.approx(1 / 21, abs=1e-4)
    assert cadence.shares({"close_lengths": table}, "C|") == table["*"]     # too few: all meters'


def test_the_offer_carries_the_corpus_share_of_each_length():
    bar = bar_report(JIG + "dBG FEA:|").bars[-1]
    profile = {"close_lengths": {"6/8": {"1/6": 0.7, "1/2": 0.3}}}
    offered = cadence.offer("dBG FEA:|", bar, {"M": "6/8", "L": "1/8"}, profile, True)
    assert sorted((w[1], w[2]) for w in offered) == [("1", cadence.MIN_SHARE), ("1", cadence.MIN_SHARE),
                                                     ("1/2", 0.3), ("1/6", 0.7)]


def test_close_part_draws_lengths_with_the_corpus_shares(vocab):
    from conftest import tiny_model
    from abcrnn.sampling.guided import close_part
    from abcrnn.sampling.net import Net
    from abcrnn.sampling.row import Row
    prime = vocab.encode("<start>\nX:1\nM:6/8\nL:1/8\nK:G\n")
    texts = ["dBG FEG:|", "dBG G3:|", "dBG g3:|", "G6:|"]

    def drawn(short: float, half: float) -> list[str]:
        rows = [Row(rng=random.Random(b)) for b in range(300)]
        for r in rows:
            r.copy, r.copy_full = list(texts), True
            r.copy_prior = [("1/6", short), ("1/2", half), ("1/2", half), ("1", 0.01)]
        close_part(Net(tiny_model(vocab), prime, len(rows), "cpu"), vocab, rows, list(range(len(rows))), 1.0)
        assert all(r.copy is None and not r.copy_full and r.forced in texts for r in rows)
        return [r.forced for r in rows]

    halves, shorts = drawn(0.1, 0.9), drawn(0.9, 0.1)
    assert sum(t in texts[1:3] for t in halves) > 2 * sum(t in texts[1:3] for t in shorts)
    assert shorts.count(texts[0]) > 2 * halves.count(texts[0])
    assert len(set(halves)) == 4                  # every way may come: drawn, not the likeliest
