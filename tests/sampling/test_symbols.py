"""What folk music may hold so that abcjs (the page's sheet music) reads it without a
warning (sampling/symbols.py), checked against abcjs itself under node."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from abcrnn.model.vocab import Vocab
from abcrnn.sampling.form import FormRules
from abcrnn.sampling.guide import CHAR, KEEP, AbcGuide
from abcrnn.sampling.symbols import DIGITS, NOTE_LETTERS, DECORATIONS, in_music, inside

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "abcjs_warnings.js"
HEAD = "X:1\nT:t\nM:6/8\nL:1/8\nK:D\n"
CHARS = frozenset("ABCDEFGabcdefgzxHLMOPSTuv~.|:[]{}!\"^_=,'/0123456789 \n-()<>+")


def abcjs_warnings(tunes: list[str]) -> list[list[str]]:
    if shutil.which("node") is None or not (ROOT / "node_modules" / "abcjs").is_dir():
        pytest.skip("node and abcjs (npm ci) are needed")
    out = subprocess.run(["node", str(SCRIPT)], input=json.dumps(tunes), capture_output=True,
                         text=True, check=True, timeout=60)
    return json.loads(out.stdout)


def test_the_script_reports_abcjs_s_warnings_per_tune():
    got = abcjs_warnings([HEAD + "|:za:\nABc def|\n", HEAD + "ABc def|]\n"])
    assert len(got) == 2 and got[1] == []
    assert any("Unknown bar symbol" in w for w in got[0]) and "<" not in " ".join(got[0])


def test_every_decoration_the_guide_offers_abcjs_draws():
    tunes = [HEAD + f"!{name}!A3 ABc|]\n" for name in sorted(DECORATIONS)]
    assert abcjs_warnings(tunes) == [[]] * len(tunes)


def test_a_decoration_is_a_name_abc_knows():
    assert inside("!", frozenset()) >= {"t", "b", "f", "D"} and "c/" not in inside("!", frozenset())
    assert inside("!tr", frozenset()) == {"i"} and "!" in inside("!trill", frozenset())
    assert inside("!zz", frozenset()) == {"!"}              # a prime's odd name still closes


def test_a_chord_holds_notes_and_an_inline_field_its_colon():
    fields = frozenset("PKML")
    assert "m" not in inside("[_A", fields) and " " not in inside("[_A", fields)
    assert "]" in inside("[_A", fields) and "]" not in inside("[", fields)
    # endings are written "|1" and ":|2", where the form rules put them: ":| [2" after a
    # part with no first ending left a repeat open (seed 7, tune 78); "z[2dB" was none (seed 1340)
    assert not {"1", "2", "|"} & inside("[", fields)


def test_a_chord_holds_at_most_four_notes():
    fields = frozenset("PKML")
    assert "B" in inside("[B3bf", fields)
    assert not NOTE_LETTERS & inside("[B3bfa", fields)           # "[B3bfaedefec']" (seed 1344)
    assert {"]", "2", ","} <= inside("[B3bfa", fields)
    assert inside("[K", fields) == {":"} and inside("[K:D", fields) is None
    assert "z" not in inside("{", fields) and "}" in inside("{g", fields)


def test_music_has_no_plus_no_length_after_a_decoration_and_no_lone_colon():
    assert "+" not in in_music(HEAD + "AB", CHARS)
    assert not {"2", "/"} & in_music(HEAD + "F_E M", CHARS) and "E" in in_music(HEAD + "F_E M", CHARS)
    assert in_music(HEAD + "|:za:", CHARS) == {"|", ":"}
    assert ":" not in in_music(HEAD + "ABc:|", CHARS)         # ":|:" is unknown to abcjs
    assert "A" in in_music(HEAD + "|:", CHARS) and "A" in in_music(HEAD + "::", CHARS)
    assert "A" in in_music(HEAD + ":||:", CHARS)


def test_what_abcjs_warned_about_in_guided_tunes_is_now_clean():
    fixed = ["|:za:|", "ABc ~d2e|", "[_AB]c d2e|", "ABc !breath!d2e|", "ABc :||: def|"]
    assert abcjs_warnings([HEAD + t + "\n" for t in fixed]) == [[]] * len(fixed)
    broken = ["|:za:", "F_E M2E2|", "[_AmA]2", "ABc +f3|", "ABc :|: def|"]
    assert all(abcjs_warnings([HEAD + t + "\n" for t in broken]))


def test_the_guide_masks_what_abcjs_cannot_read():
    vocab = Vocab.from_texts([HEAD + "".join(sorted(CHARS))])
    g = AbcGuide(vocab, HEAD, 1, check_lines=False, form=FormRules(restate=0.0))
    assert [g.step(0, ch) for ch in "za:"] == [KEEP] * 3        # a pick-up may close with ":"
    assert g.mask_rows()[0] == {"|", ":"}
    g = AbcGuide(vocab, HEAD, 1, check_lines=False, form=FormRules(restate=0.0))
    for ch in "ABc d":
        g.step(0, ch)
    assert "+" not in g.mask_rows()[0] and "e" in g.mask_rows()[0]
    g.step(0, "M")
    assert not {"2", "/"} & g.mask_rows()[0]
    g.step(0, "!")
    assert g.mask_rows()[0] <= {d[0] for d in DECORATIONS}
    g = AbcGuide(vocab, HEAD, 1, check_lines=False, form=FormRules(restate=0.0))
    for ch in "ABc def|":                               # a bar line, then music
        g.step(0, ch)
    assert g.rows[0].barline is not None and not {"<", ">", "+"} & g.mask_rows()[0]


def test_guided_tunes_of_the_shipped_model_draw_in_abcjs_without_a_warning():
    import abcrnn
    # seeds 24-27 of `abcrnn generate --num-tunes 200 --seed 7`: three of these four
    # warned before (an unknown decoration, "M2E2", "[_AmABA E2B_c]")
    tunes = abcrnn.load_model().generate(num_tunes=4, seed=24)
    assert abcjs_warnings([t.abc for t in tunes]) == [[]] * 4


def test_no_tuplet_nests_in_another_and_no_pitch_mixes_octave_marks():
    # tune 181 of `abcrnn generate --num-tunes 200 --seed 7`: "(3d | (3Bcd" and "G',B'"
    assert "(" not in in_music(HEAD + "dgfa (3d | ", CHARS)
    assert "(" in in_music(HEAD + "(3Bcd ed ", CHARS)
    assert "," not in in_music(HEAD + "(3E^^gG'", CHARS) and "'" not in in_music(HEAD + "B,", CHARS)
    assert "'" in in_music(HEAD + "g'", CHARS)


def test_grace_notes_begin_with_a_note():
    # tune 181 of the 200 at seed 7 after the tuplet rule: "{3fae^decAcef}"
    assert not DIGITS & inside("{", frozenset("PKML")) and "g" in inside("{", frozenset("PKML"))


def test_a_slur_ends_on_a_note_and_no_grace_closes_outside_one():
    # tune 181 at seed 7 after the grace rule: "A2ec  \nd^^b}" and "(ABA^G |)"
    assert "}" not in in_music(HEAD + "A2ec  \nd^^b", CHARS)
    assert not {")"} & (in_music(HEAD + "(ABA^G |", CHARS) | in_music(HEAD + "(ABc ", CHARS)
                        | in_music(HEAD + "(ABc!trill!", CHARS) | in_music(HEAD + "(ABc\n", CHARS))
    assert all(")" in in_music(HEAD + t, CHARS) for t in ("(AB", "(AB2", "(A,", "([AB]", "((AB)"))
    assert abcjs_warnings([HEAD + "(ABcd|ef)ed ((AB)c) ([AB]c) (AB2) z2|\n"]) == [[]]
    assert all(abcjs_warnings([HEAD + t + "\n" for t in ("(ABcd |) ABcd|", "ABcd} ABcd|")]))


def test_a_continuation_ends_its_line():
    # tune 168 at seed 7 after the slur rule: "|: [1 \:| P:|] x8 |"
    assert in_music(HEAD + "|: [1 \\", CHARS) == {"\n"}
    assert abcjs_warnings([HEAD + "ABc \\:| def|\n", HEAD + "ABc def|\\\nABc def|\n"])[0]
    assert abcjs_warnings([HEAD + "ABc def|\\\nABc def|\n"]) == [[]]


def test_an_octave_mark_follows_a_note():
    # tune 175 at seed 7 after the continuation rule: "(d4f4) ('G :|"
    assert not {"'", ","} & (in_music(HEAD + "(d4f4) (", CHARS) | in_music(HEAD + "A2 ", CHARS))
    assert {"'", ","} <= in_music(HEAD + "(d4f4) (G", CHARS) and "'" in in_music(HEAD + "g'", CHARS)
    assert abcjs_warnings([HEAD + "(d4f4) ('G2 :|\n"])[0] and abcjs_warnings([HEAD + "(G'2 A,2) z2|\n"]) == [[]]
    # tune 181 at seed 8: "[G,B,B,D,2,2,]"
    assert "," not in inside("[G,B,B,D,2", frozenset("PKML")) and "," in inside("[G,B,", frozenset("PKML"))
    assert "'" not in inside("{g2", frozenset("PKML")) and "'" in inside("{g", frozenset("PKML"))


def test_a_tie_follows_a_note():
    # tune 37 at seed 8: "| c8 | - [B2d2c2] e4f2 |"
    assert "-" not in in_music(HEAD + "c8 | ", CHARS) | in_music(HEAD + "c8 |", CHARS)
    assert all("-" in in_music(HEAD + t, CHARS) for t in ("c8", "c", "[CE]2", "c,", "(AB)"))
    assert abcjs_warnings([HEAD + "c8 | - [B2d2c2] e4f2|\n"])[0]


def test_every_length_the_guide_lets_through_a_staff_draws():
    from fractions import Fraction
    from abcrnn.sampling.lengths import drawable
    # tune 63 at seed 8 ("=a9" under L:1/16) and tune 1 ("A5", "g5" under L:1/8)
    assert [drawable(Fraction(n, 16)) for n in (3, 5, 7, 9, 11, 15)] == [True, False, True, False, False, True]
    assert drawable(Fraction(9, 8)) and not drawable(Fraction(1, 12))
    assert mask_after("|A") >= {"2", "3", "4", "6", "/", "B"} and "5" not in mask_after("|A")
    assert "9" not in mask_after("|=a", "1/16") and "7" in mask_after("|=a", "1/16")
    assert mask_after("|A3/") >= {"2", "B"} and not {"3", "4", "/"} & mask_after("|A3/")    # 3/2, not 3/4
    assert "5" not in mask_after("|[CE]") and "5" not in mask_after("|z")
    drawn = ["A", "A2", "A3", "A3/", "A/", "A//", "A3/4", "A7/2", "A12", "A6"]
    assert abcjs_warnings([HEAD + " ".join(drawn) + "|\n"]) == [[]]
    assert all(abcjs_warnings([HEAD + t + " B|\n" for t in ("A5", "A5/2", "A9/4")]))


def mask_after(text: str, unit: str = "1/8") -> set[str]:
    head = HEAD.replace("M:6/8", "M:none").replace("L:1/8", "L:" + unit)
    vocab = Vocab.from_texts([head + "".join(sorted(CHARS))])
    g = AbcGuide(vocab, head, 1, check_lines=False, form=FormRules(restate=0.0))
    assert [g.step(0, ch) for ch in text] == [KEEP] * len(text)
    return g.mask_rows()[0]


def test_a_note_may_start_where_only_its_half_fits():
    # a bar of 6/8 with 1/16 left: "f" (1/8) was refused, so "f/" could not be written
    vocab = Vocab.from_texts([HEAD + "".join(sorted(CHARS))])
    g = AbcGuide(vocab, HEAD, 1, check_lines=False, form=FormRules(restate=0.0))
    assert [g.step(0, ch) for ch in "|ABc d2e/f"] == [KEEP] * 10
    assert g.mask_rows()[0] == {"/"} and g.step(0, "/") == KEEP and "|" in g.mask_rows()[0]
    g = AbcGuide(vocab, HEAD, 1, check_lines=False, form=FormRules(restate=0.0))
    assert [g.step(0, ch) for ch in "|ABc d3/e"] == [KEEP] * 9        # 3/16 left
    assert "/" in g.mask_rows()[0] and not {"2", "3"} & g.mask_rows()[0]   # e3 is no e3/4
    g = AbcGuide(vocab, HEAD, 1, check_lines=False, form=FormRules(restate=0.0))
    assert [g.step(0, ch) for ch in "|ABc d2e"] == [KEEP] * 8
    assert {"-", "/", "|", " "} <= g.mask_rows()[0] and "2" not in g.mask_rows()[0]   # full: tie, e/
    assert g.step(0, "-") == KEEP and "d" not in g.mask_rows()[0] and "|" in g.mask_rows()[0]


def test_the_guide_asks_for_drawable_lengths_under_the_tune_s_unit():
    assert "5" not in mask_after("|A") and "5" in mask_after("|A", "1/4")       # 5/8, 5/4


def test_a_tuplet_is_followed_by_its_notes():
    # seed 24 of the shipped model under the whole-length rule: '"D"M(3) ."C"G3/16'
    assert ")" not in in_music(HEAD + "AB M(3", CHARS) and ")" in in_music(HEAD + "(3AB", CHARS)
    assert "6" not in mask_after("|A/")                        # A/16 = 1/128 under L:1/8


def test_a_folk_body_keeps_its_metre_and_a_continued_line_holds_no_field():
    # tune 36 of 200 at seed 7 (shipped profile): "c2B2 \\\nM:6/8] ..." and a reel going on in M:2/4
    vocab = Vocab.from_texts([HEAD + "".join(sorted(CHARS)) + "PKMLW"])
    g = AbcGuide(vocab, HEAD, 1, check_lines=False, form=FormRules(restate=0.0))
    assert not {"M", "L", "K"} & g.mask_rows()[0] and {"P", "A"} <= g.mask_rows()[0]   # K: no music yet
    assert [g.step(0, ch) for ch in "ABc def| ["] == [KEEP] * 10
    assert not {"M", "L"} & g.mask_rows()[0] and "K" in g.mask_rows()[0]
    g = AbcGuide(vocab, HEAD, 1, check_lines=False, form=FormRules(restate=0.0))
    assert [g.step(0, ch) for ch in "ABc def|\\\n"] == [KEEP] * 10
    assert not {"K", "P"} & g.mask_rows()[0] and "A" in g.mask_rows()[0]


def test_when_every_allowed_character_was_refused_the_rule_still_holds():
    vocab = Vocab.from_texts([HEAD + "".join(sorted(CHARS))])
    g = AbcGuide(vocab, HEAD, 1, check_lines=False, form=FormRules(restate=0.0))
    assert [g.step(0, ch) for ch in "ABc d\\"] == [KEEP] * 6 and g.mask_rows()[0] == {"\n"}
    g.rows[0].banned.add("\n")              # was: every character of the vocabulary
    assert g.mask_rows()[0] == {"\n"}


def test_a_tie_joins_two_notes_of_the_same_pitch():
    # abc2midi's "Could not find note to be tied" and "Cannot find note before tie" in e20
    assert "-" not in in_music(HEAD + "A4 z2", CHARS) and "-" in in_music(HEAD + "A4 A2", CHARS)
    after = in_music(HEAD + "A4 A,2-|", CHARS)
    assert "A" in after and not {"B", "a", "z"} & after
    assert in_music(HEAD + "A4 A,2-|A", CHARS) & {",", "'"} == {","}
    assert not {",", "'"} & in_music(HEAD + "A4 A,2-|A,", CHARS)
    assert {"B", "z"} <= in_music(HEAD + "A4 A,2-|A,2 ", CHARS)          # the tie is done
    vocab = Vocab.from_texts([HEAD + "".join(sorted(CHARS))])
    g = AbcGuide(vocab, HEAD, 1, check_lines=False, form=FormRules(restate=0.0))
    assert [g.step(0, ch) for ch in "ABc de2-|\n"] == [KEEP] * 10        # across a line too
    assert "e" in g.mask_rows()[0] and not {"d", "f", "z"} & g.mask_rows()[0]


def test_a_tuplet_ends_in_its_bar():
    # tune 29 of 200 at seed 7 (e21): "EDPE (3G=g/2 |" filled the bar with the tuplet
    # one note short, its last note went on into the next bar, which never filled again
    head = HEAD.replace("M:6/8", "M:2/4").replace("L:1/8", "L:1/16")
    vocab = Vocab.from_texts([head + "".join(sorted(CHARS))])
    g = AbcGuide(vocab, head, 1, check_lines=False, form=FormRules(restate=0.0))
    assert [g.step(0, ch) for ch in "|AFDF ED (3G2"] == [KEEP] * 13
    assert g.step(0, "A") == CHAR                  # A would fill the bar, the tuplet a note short
    g = AbcGuide(vocab, head, 1, check_lines=False, form=FormRules(restate=0.0))
    assert [g.step(0, ch) for ch in "|AFDF ED (3GAB"] == [KEEP] * 14 and "|" in g.mask_rows()[0]
    assert g.step(0, "|") == KEEP


def test_a_tuplet_ends_on_its_line():
    # tune 9 at seed 7 once: "(3Bcd (3e \n": a line cannot see the tuplet the line before
    # left open, so every line after it was refused and the redraws ran out
    vocab = Vocab.from_texts([HEAD + "".join(sorted(CHARS))])
    g = AbcGuide(vocab, HEAD, 1, check_lines=False, form=FormRules(restate=0.0))
    assert [g.step(0, ch) for ch in "|ABc (3de"] == [KEEP] * 9
    assert g.step(0, "\n") == CHAR and g.step(0, "\\") == CHAR
    assert [g.step(0, ch) for ch in "fg|\n"] == [KEEP] * 4              # once it is done, it may


def test_a_chord_symbol_names_a_chord_or_is_placed_text():
    # Ryan's Mammoth model (e21): "Guitar chord does not start with A-G", "Unrecognized chord name";
    # its fingerings ("4") abc2midi reads
    fields = frozenset("PK")
    assert inside('"', fields) == set("ABCDEFG^_<>@0123456789") and inside('"4', fields) == set('0123456789"')
    assert {"m", "7", "/", "#", '"'} <= inside('"F', fields) and not {".", "x", " "} & inside('"F', fields)
    assert inside('"^Fin', fields) is None


def test_no_stray_bracket_no_length_after_a_tuplet_mark_no_stray_sign():
    # e22 at seed 7: "z2]>d2" (tune 123), "(3/2G/2F/2" (tune 107), a line "#G- |" (tune 36)
    assert "]" not in in_music(HEAD + "f2z2", CHARS) and "]" in in_music(HEAD + "f2z2|", CHARS)
    assert not {"/", "2"} & in_music(HEAD + "FF (3", CHARS) and "G" in in_music(HEAD + "FF (3", CHARS)
    chars = CHARS | {"#", "*", "@"}
    assert not {"#", "*", "@"} & in_music(HEAD + "AB", chars)
    from abcrnn.sampling.symbols import line_start
    assert not {"#", "*", "@"} & line_start(set(chars), HEAD, frozenset("PK"))
    assert abcjs_warnings([HEAD + t + "\n" for t in ("f2z2]>d2 c2|", "FF (3/2G/2F/2G/2 FF|")])[0]


def test_a_bar_full_after_an_octave_mark_takes_its_bar_line_and_no_tuplet_of_one():
    # seeds 124 and 113 (e23): "=cGAFDEF\nG,=b2A2F2c2..." ran on past a full bar; "(1 ^^bB/2"
    head = HEAD.replace("M:6/8", "M:2/4").replace("L:1/8", "L:1/16")
    vocab = Vocab.from_texts([head + "".join(sorted(CHARS))])
    g = AbcGuide(vocab, head, 1, check_lines=False, form=FormRules(restate=0.0))
    assert [g.step(0, ch) for ch in "|=cGAFDEF\nG,"] == [KEEP] * 12
    assert "|" in g.mask_rows()[0] and not {"=", "b", "A"} & g.mask_rows()[0]
    assert not {"0", "1"} & in_music(HEAD + "AB (", CHARS) and "3" in in_music(HEAD + "AB (", CHARS)
    assert not {"6", "3"} & mask_after("|(6A/") and "2" in mask_after("|(6A/")   # e26: "(6SA/6"
