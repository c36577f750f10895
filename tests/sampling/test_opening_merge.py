"""merge_opening (sampling/header.py): an opening's own header lines and the settings
chosen beside it, merged by one rule, and the unit length a chosen meter implies."""
from __future__ import annotations

from abcrnn.api import load_corpus
from abcrnn.corpus.profile import DEFAULT, meter_units, unit_shares
from abcrnn.notation.tunes import header_and_body
from abcrnn.sampling.header import implied_unit, merge_opening, split_opening


def test_the_openings_meter_wins_and_the_conflict_is_said_in_words():
    m = merge_opening("M:6/8\n|:GAB", {"meter": "3/4"})
    assert m.meter == "6/8" and m.music == "|:GAB"
    assert m.notes == ("the opening's M:6/8 is used instead of the meter 3/4 you chose",)


def test_a_title_line_in_the_opening_is_the_title_not_music():
    m = merge_opening("T:My Tune\n|:GAB d2B|", {"title": "Other"})
    assert m.title == "My Tune" and m.music == "|:GAB d2B|"
    assert m.notes == ("the opening's T:My Tune is used instead of the title Other you chose",)


def test_an_opening_with_a_whole_header_merges_with_any_select():
    m = merge_opening("X:3\nT:Foo\nM:6/8\nK:G\n|:GAB", {"key": "D", "rhythm": "jig", "unit": "1/8"})
    assert (m.title, m.meter, m.key, m.rhythm, m.unit, m.music) == ("Foo", "6/8", "G", "jig", "1/8", "|:GAB")
    assert m.notes == ("the opening's K:G is used instead of the key D you chose",)


def test_values_that_say_the_same_are_no_conflict():
    m = merge_opening("M:C|\nR:Reel\nL:1/8\nK:Dmaj\n", {"key": "D", "meter": "C|", "rhythm": "reel",
                                                         "unit": "1/8"})
    assert m.notes == () and m.music is None
    assert merge_opening("K:A minor\n", {"key": "Am"}).notes == ()
    assert merge_opening("K:Ador\n", {"key": "Am"}).notes != ()


def test_a_chosen_setting_that_contradicts_the_opening_gives_way():
    m = merge_opening("M:6/8\n", {"rhythm": "reel"})
    assert m.meter == "6/8" and m.rhythm is None
    assert m.notes == ("the rhythm reel you chose is left out: a reel is not written in the opening's M:6/8",)
    m = merge_opening("R:jig\n", {"meter": "2/4"})
    assert m.rhythm == "jig" and m.meter is None and "6/8" in m.notes[0]


def test_fields_the_header_cannot_hold_and_repeated_fields_are_left_out_in_words():
    m = merge_opening("X:1\nC:Trad\nM:6/8\nM:3/4\n% a comment\n|:GAB", {})
    assert m.meter == "6/8" and m.music == "|:GAB"
    assert m.notes == ("the opening's C:Trad is left out: only its X:, T:, R:, M:, L: and K: lines go "
                       "into the tune's header",
                       "the opening's M:3/4 is left out: it already has M:6/8",
                       "the opening's % a comment is left out: only its X:, T:, R:, M:, L: and K: lines "
                       "go into the tune's header")


def test_the_header_ends_at_k_or_at_the_first_music_line():
    assert split_opening("M:6/8\nK:G\nP:A\nGAB|") == (["M:6/8", "K:G"], "P:A\nGAB|")
    assert split_opening("M:6/8\n\nGAB|\nM:3/4\n") == (["M:6/8"], "GAB|\nM:3/4\n")
    assert split_opening("|:GAB|") == ([], "|:GAB|")


def test_a_meter_without_a_unit_gets_the_unit_its_tunes_are_written_in():
    assert merge_opening(None, {"meter": "2/4"}).unit == "1/8"         # not ABC's 1/16
    assert merge_opening("M:2/4\n", {}).unit == "1/8"
    assert merge_opening(None, {"meter": "2/4", "unit": "1/16"}).unit == "1/16"   # asked: kept
    assert merge_opening("L:1/4\n", {"meter": "3/4", "unit": "1/8"}).unit == "1/4"
    assert merge_opening(None, {"rhythm": "polka"}).unit == "1/8"      # its one meter: 2/4
    assert merge_opening(None, {}).unit is None                        # nothing asked: the model's
    assert merge_opening(None, {"meter": "2/4"}, chars=frozenset("1/6")).unit is None   # no "8"


def test_the_implied_unit_follows_the_models_own_corpus():
    ryans = {"meter_units": {"2/4": "1/16", "C|": "1/8", "4/4": "1/8"}}
    assert implied_unit("2/4", None, ryans) == "1/16"
    assert implied_unit("C|", None, ryans) == "1/8" and implied_unit("5/8", None, ryans) == "1/8"
    assert implied_unit(None, "reel", ryans) is None          # its meters disagree: the model's


def test_the_default_unit_table_is_the_bundled_corpus_s():
    headers = [header_and_body(t)[0] for t in load_corpus().tunes]
    assert meter_units(headers) == DEFAULT["meter_units"]
    assert meter_units([["X:1", "M:2/4", "K:D"]] * 3) == {"2/4": "1/16"}    # no L: = ABC's default
    headers = [["X:1", "M:3/4", "L:1/8", "K:D"]] * 7 + [["X:1", "M:3/4", "L:1/4", "K:D"]] * 3
    assert unit_shares(headers + [["X:1", "M:3/4", "L:1/2", "K:D"]] * 2) == {"3/4": {"1/8": 0.7, "1/4": 0.3}}
