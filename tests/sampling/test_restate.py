"""Restatement in guided sampling (sampling/restate.py): how often a bar restates an
earlier one, and which earlier bars it may restate, weighted as the corpus restates."""
from __future__ import annotations

import pytest

from abcrnn.corpus.profile import profile
from abcrnn.model.vocab import Vocab
from abcrnn.notation.bars import bar_report
from abcrnn.notation.form import restated_from
from abcrnn.sampling import restate
from abcrnn.sampling.form import FormRules
from abcrnn.sampling.guide import COPY, KEEP, AbcGuide

REEL = "X:1\nT:t\nR:reel\nM:C|\nL:1/8\nK:D\n"
SHARES = {"1": 0.1, "2": 0.1, "4": 0.3, "8": 0.2, "16": 0.05, "far": 0.25}


def bars_of(body: str):
    return bar_report(REEL + body).bars


def test_restated_from_says_how_far_back_each_restated_bar_is():
    tune = REEL + "ABcd efga|ABcd efga|gfed cBAG|ABcd efga|\nFGAB cdef|gfed cBAG|\n"
    assert restated_from(tune) == [1, 2, 3]       # bar 2: 1 back; bar 4: 2 back; bar 6: 3 back
    shares = profile([tune])["restated_from"]
    assert shares["1"] == pytest.approx(1 / 3, abs=1e-3) and shares["2"] == pytest.approx(1 / 3, abs=1e-3)
    assert shares["4"] == 0 and shares["far"] == 0


def test_the_chance_follows_the_tune_s_deficit():
    text = REEL + "ABcd efga|gfed cBAG|FGAB cdef|gfed cBAG|"
    on_target = restate.chance(0.25, text, bars_of(text[len(REEL):]))      # 1 of 4 restated
    behind = REEL + "ABcd efga|gfed cBAG|FGAB cdef|B2B2 A4|"              # 0 of 4
    ahead = REEL + "ABcd efga|ABcd efga|ABcd efga|ABcd efga|"               # 3 of 4
    assert on_target == pytest.approx(0.25)
    assert restate.chance(0.25, behind, bars_of(behind[len(REEL):])) > on_target
    assert restate.chance(0.25, ahead, bars_of(ahead[len(REEL):])) == 0.0
    assert restate.chance(0.0, behind, bars_of(behind[len(REEL):])) == 0.0


def test_candidates_are_weighted_by_how_far_back_the_corpus_restates():
    body = "|:" + "|".join(f"{n}BAG FGAB" for n in "ABCDEFGa") + ":|\n"      # part A, 8 bars
    body += "|:" + "|".join(f"{n}ded cBAG" for n in "abc") + "|"           # part B, 3 bars so far
    texts, weights = restate.candidates(REEL + body, bars_of(body), SHARES)
    found = dict(zip(texts, weights))
    assert found["cded cBAG"] == 0.1 and found["bded cBAG"] == 0.1          # 1 and 2 back
    assert found["aBAG FGAB"] == 0.3 and found["DBAG FGAB"] == 0.2          # 4 and 8 back
    assert "GBAG FGAB" not in found and len(found) == 4      # the part before is 8 back: no "far"


def test_a_part_back_is_the_same_place_in_the_part_before():
    part_a = "|:" + "|".join(f"{n}BAG FGAB" for n in "ABCDEFGaABCDEFGa") + ":|\n"   # 16 bars
    body = part_a + "|:" + "|".join(f"{n}ded cBAG" for n in "abc") + "|"
    voice = [b for b in bars_of(body)]
    assert restate._part_back(voice) == 16      # bar 4 of B <- bar 4 of A, 16 back ("16", not "far")
    body = "|:" + "|".join(f"{n}BAG FGAB" for n in "ABCDEFGaABCD") + ":|\n" + "|:abag fgab|"
    assert restate._part_back(bars_of(body)) == 12       # bar 2 of B <- bar 2 of A: 12 back
    texts, weights = restate.candidates(REEL + body, bars_of(body), SHARES)
    assert dict(zip(texts, weights))["BBAG FGAB"] == pytest.approx(0.3 + 0.25)   # 4 back and far


def test_a_line_may_start_with_a_restated_bar():
    text = "ABcd efga|gfed cBAG|FGAB cdef|gfed cBAG|\n"
    vocab = Vocab.from_texts([REEL + text + "<end>"])
    g = AbcGuide(vocab, REEL, 1, check_lines=False, form=FormRules(restate=0.9, profile={"part_lengths": {"16": 1.0}}))
    g.rows[0].rng.random = lambda: 0.0                       # every bar that may restate does
    verdicts = [g.step(0, ch) for ch in text[:11]]
    assert verdicts[-1] == COPY                              # mid-line: the next bar restates
    g = AbcGuide(vocab, REEL, 1, check_lines=False, form=FormRules(restate=0.0))
    for ch in text[:-1]:
        g.step(0, ch)
    g.rules = FormRules(restate=0.9)
    g.rows[0].rng.random = lambda: 0.0
    assert g.step(0, "\n") == KEEP and g.step(0, "A") == COPY and g.rows[0].copy


def test_a_bar_restated_after_a_space_keeps_the_space_the_model_drew():
    text = "ABcd efga|gfed cBAG|"
    vocab = Vocab.from_texts([REEL + text + " <end>"])

    def guide_at_the_space():
        g = AbcGuide(vocab, REEL, 1, check_lines=False, form=FormRules(restate=0.0))
        assert [g.step(0, ch) for ch in text] == [KEEP] * len(text)
        g.rules = FormRules(restate=0.9, profile={"part_lengths": {"16": 1.0}})
        g.rows[0].rng.random = lambda: 0.0                   # every bar that may restate does
        assert g.step(0, " ") == KEEP and g.rows[0].copy     # the space settles the "|"
        return g

    g = guide_at_the_space()
    assert g.step(0, "\n") == KEEP and g.rows[0].copy_at == len(g.rows[0].text)   # the next line
    assert g.step(0, "g") == COPY and g.rows[0].text.endswith("| \n")
    g = guide_at_the_space()
    assert g.step(0, "g") == COPY and g.rows[0].text.endswith("| ")
    g = guide_at_the_space()
    assert g.step(0, "|") != COPY and g.rows[0].copy is None       # "| |": the model's own


def test_early_bars_restate_seldom_where_the_corpus_seldom_does():
    import random
    body = "ABcd efga|gfed cBAG|"                    # only 1 and 2 back to restate from
    rng = random.Random()
    rng.random = lambda: 0.15
    assert restate.pick(FormRules(restate=0.3, profile={"restated_from": SHARES}), REEL + body,
                        bars_of(body), rng) == ([], [])              # 0.6 x 0.2 of the corpus's
    texts, _ = restate.pick(FormRules(restate=0.3, profile={"restated_from": {"1": 1.0}}),
                            REEL + body, bars_of(body), rng)
    assert texts == ["gfed cBAG"]


def test_no_bar_restates_after_a_tie_into_it():
    import random
    body = "|:" + "|".join(f"{n}BAG FGAB" for n in "ABCDEFG") + "|aBAG FGA2-|"
    rng = random.Random()
    rng.random = lambda: 0.0
    rules = FormRules(restate=0.5, profile={"restated_from": SHARES})
    assert restate.pick(rules, REEL + body, bars_of(body), rng) == ([], [])
    assert restate.pick(rules, REEL + body.replace("A2-|", "A2|"), bars_of(body), rng)[0]


def test_no_bar_is_restated_into_a_fourth_equal_bar_in_a_row():
    run = "|".join(["B>A GA B2 A2"] * 3) + "|"
    body = "ABcd efga|gfed cBAG|" + run
    texts, _ = restate.candidates(REEL + body, bars_of(body), SHARES)
    assert "B>A GA B2 A2" not in texts and "gfed cBAG" in texts
    body = "ABcd efga|gfed cBAG|B>A GA B2 A2|B>A GA B2 \"B\"A2|"          # two: a third may come
    assert "B>A GA B2 A2" in restate.candidates(REEL + body, bars_of(body), SHARES)[0]


def test_a_restated_bar_starting_a_line_comes_after_the_bar_line_the_model_opens_it_with():
    texts, weights = ["ABcd efga", "gfed cBAG"], [0.3, 0.1]
    assert restate.after("|", texts, weights, part_closed=True) == (
        ["|:ABcd efga", "|: ABcd efga", "|:gfed cBAG", "|: gfed cBAG"], [0.3, 0.3, 0.1, 0.1])
    assert restate.after("|", texts, weights, part_closed=False)[0][:2] == ["|ABcd efga", "| ABcd efga"]
    assert restate.after(" ", texts, weights, False) == ([" ABcd efga", " gfed cBAG"], weights)
    assert restate.after("A", texts, weights, True) == (texts, weights)    # the bar replaces the note
