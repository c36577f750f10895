"""corpus/profile.py on hand-written tunes: what the guide reads of a corpus's parts
(their endings, their names)."""
from __future__ import annotations

from abcrnn.corpus.profile import profile

HEAD = "X:1\nT:t\nM:C|\nL:1/8\nK:D\n"
BAR = "ABcd efga"


def test_part_endings_and_their_lengths():
    ended = "|:" + "|".join([BAR] * 7) + "|1 " + BAR + ":|2 " + BAR + "||\n"      # 8 bars, 1-bar ending
    two = "|:" + "|".join([BAR] * 6) + "|1 " + BAR + "|" + BAR + ":|2 " + BAR + "|" + BAR + "||\n"
    plain = "|:" + "|".join([BAR] * 8) + ":|\n"
    short = "|:" + "|".join([BAR] * 4) + ":|\n"
    got = profile([HEAD + ended + plain, HEAD + two + short])
    assert got["part_endings"] == {"4": 0.0, "8": round(2 / 3, 4), "16": 0.0}
    assert got["ending_bars"] == {"1": 0.5, "2": 0.5}


def test_part_names_are_the_labels_that_are_words():
    tune = HEAD + "P:A\n" + BAR + "|]\nP:Variations:\n" + BAR + "|]\nP:B\n" + BAR + "|]\nP:ABAB\n"
    intro = HEAD + "P:Intro\n" + BAR + "|]\nP:Trio\n" + BAR + "|]\n"
    got = profile([tune, tune, intro, intro, HEAD + "P:Coda\n" + BAR + "|]\n" + BAR + "|]\nP:Coda\n"])
    # "Intro" is before any music; "Trio" after it, in 2 tunes; "Coda" after music in 1 tune
    assert got["part_names"] == {"Variations:": 2, "Trio": 2}
