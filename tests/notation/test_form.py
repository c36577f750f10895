"""notation/form.py on hand-written tunes: parts and their bars (pick-ups, endings,
::, P: labels), tonic endings (modes, key changes, accidentals), R:/M:, restated
bars, provenance; and notation/rhythms.py's table."""
from __future__ import annotations

import pytest

from abcrnn.notation.form import form_facts, note_pitch_class, provenance, restated_bars
from abcrnn.notation.rhythms import agrees, rhythm_name, title_rhythm

REEL = "X:1\nT:t\nR:reel\nM:C|\nL:1/8\nK:D\n"
JIG = "X:1\nT:t\nR:jig\nM:6/8\nL:1/8\nK:G\n"
BAR4 = "ABcd efga"          # one full 4/4 bar of eighths
BAR68 = "GAB cde"           # one full 6/8 bar


def lengths(tune: str) -> list[int]:
    return [p.bars for p in form_facts(tune).parts]


def test_aabb_with_repeats_is_two_square_parts():
    a = "|:" + "|".join([BAR4] * 8) + ":|\n"
    b = "|:" + "|".join(["defg abag"] * 8) + ":|"
    f = form_facts(REEL + a + b)
    assert [p.bars for p in f.parts] == [8, 8] and all(p.repeated for p in f.parts)
    assert f.square and f.bars == 16


def test_pickup_and_the_short_last_bar_make_one_bar():
    body = "|:D|" + "|".join([BAR68] * 7) + "|G3 G2:|\n"       # pick-up (1/8) + 5/8 last bar
    assert lengths(JIG + body) == [8]
    no_pair = "D|" + "|".join([BAR68] * 8) + "|]"             # pick-up then 8 full bars
    assert lengths(JIG + no_pair) == [8]


def test_numbered_endings_count_once():
    body = "|:" + "|".join([BAR4] * 6) + "|1 " + BAR4 + "|" + BAR4 + ":|2 " + BAR4 + "|d8||\n"
    f = form_facts(REEL + body)
    assert [(p.bars, p.endings, p.repeated, p.ending_bars) for p in f.parts] == [(8, 2, True, 2)]


def test_first_ending_length_counts_its_bars_only():
    one = "|:" + "|".join([BAR4] * 7) + "|1 " + BAR4 + ":|2 " + BAR4 + "||\n"
    none = "|:" + "|".join([BAR4] * 8) + ":|\n"
    assert [p.ending_bars for p in form_facts(REEL + one + none).parts] == [1, 0]


def test_bracket_endings_and_a_following_part():
    a = "|:" + "|".join([BAR4] * 7) + "|[1 d8 :|[2 D8 |]\n"
    b = "|:" + "|".join(["fedc BAGF"] * 8) + ":|"
    assert lengths(REEL + a + b) == [8, 8]


def test_double_colon_separates_parts():
    body = "|:" + "|".join([BAR4] * 4) + "::" + "|".join(["fedc BAGF"] * 4) + ":|"
    f = form_facts(REEL + body)
    assert [p.bars for p in f.parts] == [4, 4] and f.square


def test_part_labels_in_the_body():
    body = "P:A\n" + "|".join([BAR4] * 8) + "|\nP:B\n" + "|".join(["fedc BAGF"] * 8) + "|]"
    f = form_facts(REEL.replace("K:D", "P:AB\nK:D") + body)
    assert [(p.bars, p.label) for p in f.parts] == [(8, "A"), (8, "B")]


def test_odd_parts_are_not_square():
    body = "|:" + "|".join([BAR4] * 5) + ":|\n|:" + "|".join([BAR4] * 8) + ":|"
    f = form_facts(REEL + body)
    assert [p.bars for p in f.parts] == [5, 8] and not f.square


def test_a_pickup_alone_between_two_parts_opens_the_second():
    body = "|:" + "|".join([BAR4] * 8) + ":| A |:" + "|".join([BAR4] * 7) + "| d4 d3 :|"
    assert lengths(REEL + body) == [8, 8]


@pytest.mark.parametrize("key,last,tonic", [
    ("D", "D2", True), ("D", "A2", False), ("Ador", "A,2", True), ("Ador", "c2", False),
    ("Dmix", "d2", True), ("Em", "E2", True), ("Bb", "B2", True), ("Bb", "=B2", False),
    ("F#m", "F2", True), ("F#m", "=F2", False), ("HP", "A2", True), ("G", "^F2", False),
])
def test_tonic_ending_is_mode_aware(key, last, tonic):
    tune = f"X:1\nT:t\nM:2/4\nL:1/8\nK:{key}\nABcd|efg{last}|]"
    assert form_facts(tune).tonic_ending is tonic


def test_the_key_in_force_at_the_end_counts():
    changed = "X:1\nT:t\nM:2/4\nL:1/8\nK:G\nGABc|dBG2|\nK:Em\nEFGA|BGE2|]"
    inline = "X:1\nT:t\nM:2/4\nL:1/8\nK:G\nGABc|dBG2|[K:Em]EFGA|BGE2|]"
    assert form_facts(changed).tonic_ending and form_facts(inline).tonic_ending
    assert form_facts(changed.replace("K:Em", "K:D")).tonic_ending is False


def test_no_key_no_tonic():
    assert form_facts("X:1\nT:t\nM:2/4\nL:1/8\nK:none\nABcd|]").tonic_ending is None


def test_pitch_classes():
    assert note_pitch_class("^c'", "D") == 1 and note_pitch_class("c", "D") == 1
    assert note_pitch_class("=c", "D") == 0 and note_pitch_class("B,", "F") == 10


@pytest.mark.parametrize("rhythm,meter,ok", [
    ("reel", "C|", True), ("Reel", "4/4", True), ("reel", "2/4", True), ("Jig", "3/4", False),
    ("double jig", "6/8", True), ("Slip Jig", "9/8", True), ("slipjig", "6/8", False),
    ("polka", "2/4", True), ("waltz", "3/4", True), ("mazurka", "9/8", False),
    ("slide", "12/8", True), ("air", "3/4", None), ("liebes - lied", "3/4", None),
])
def test_rhythm_and_meter(rhythm, meter, ok):
    assert agrees(rhythm, meter) is ok


def test_the_rhythm_a_title_names():
    assert title_rhythm("O'Sullivan's Jig") == "jig" and title_rhythm("The Slip Jig") == "slip jig"
    assert title_rhythm("Valse Musette") == "waltz" and title_rhythm("Reels of Bogie") == "reel"
    assert title_rhythm("The Jigsaw") is None and title_rhythm("Tom's") is None


def test_rhythm_names():
    assert rhythm_name(" Double  Jig ") == "jig" and rhythm_name("Highland Fling") == "fling"
    assert rhythm_name("carolan") is None


def test_rhythm_meter_of_a_tune():
    assert form_facts(REEL + BAR4 + "|]").rhythm_meter is True
    assert form_facts(REEL.replace("M:C|", "M:6/8") + BAR68 + "|]").rhythm_meter is False
    assert form_facts(REEL.replace("R:reel\n", "") + BAR4 + "|]").rhythm_meter is None


def test_restated_bars_ignore_spaces_chords_and_endings():
    tune = 'X:1\nT:t\nM:2/4\nL:1/8\nK:D\n|:AB cd|"G"ABcd|efga|1 AB cd:|2 fedc|]'
    assert restated_bars(tune) == (2, 5)


def test_provenance_fields_and_extra_titles():
    tune = "X:1\nT:a\nT:b\nT:c\nZ:id:hn-reel-1\nD:Some LP\nR:reel\nM:C|\nL:1/8\nK:D\nABcd|]"
    assert provenance(tune) == ["D", "Z", "T:3"]
    assert provenance(REEL + "ABcd|]") == []


def test_short_tunes_are_counted_in_bars():
    f = form_facts(REEL + "|".join([BAR4] * 4) + "|]")
    assert f.bars == 4 and f.square
