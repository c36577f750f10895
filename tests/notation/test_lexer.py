"""notation/lexer.py: every character in exactly one token, and the kinds the readers rely on."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from abcrnn.notation import lexer

ALPHABET = "ABCDEFGabcdefgzxZX^_=',/0123456789|:[]()<>{}\"!+%&-~.HT "


def kinds(line: str) -> list[tuple[str, str]]:
    return [(lexer.kind(m), m[0]) for m in lexer.tokens(line) if lexer.kind(m) != "space"]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=80) | st.text(max_size=40))
def test_every_character_belongs_to_one_token(line):
    line = line.replace("\n", " ").replace("\r", " ")
    toks = list(lexer.tokens(line))
    assert "".join(m[0] for m in toks) == line
    assert all(m[0] for m in toks)                      # no empty token
    assert all(lexer.kind(m) in lexer.KINDS for m in toks)


def test_notes_rests_and_lengths():
    assert kinds("^c'2 _B,/ =E3/2 z4 x Z2") == [
        ("note", "^c'2"), ("note", "_B,/"), ("note", "=E3/2"), ("rest", "z4"), ("rest", "x"),
        ("mrest", "Z2")]
    m = next(lexer.tokens("^^f,,3/4"))
    assert (m["acc"], m["letter"], m["octave"], m["len"]) == ("^^", "f", ",,", "3/4")


def test_bar_lines_endings_and_repeats():
    assert kinds("|: A :|1 B :|2 c || d |] [|e| [2 f ::g") == [
        ("barline", "|:"), ("note", "A"), ("barline", ":|1"), ("note", "B"), ("barline", ":|2"),
        ("note", "c"), ("barline", "||"), ("note", "d"), ("barline", "|]"), ("barline", "[|"),
        ("note", "e"), ("barline", "| [2"), ("note", "f"), ("barline", "::"), ("note", "g")]
    m = next(lexer.tokens(":|2"))
    assert (m["bar"], m["ending"]) == (":|", "2")
    assert kinds("[1 A") == [("ending", "[1"), ("note", "A")]


def test_chords_tuplets_graces_and_text():
    assert kinds('"Am"[CEG]2 (3ABc {g}A !trill!B +fermata+c ~d (e-e) A>B') == [
        ("quote", '"Am"'), ("chord", "[CEG]2"), ("tuplet", "(3"), ("note", "A"), ("note", "B"),
        ("note", "c"), ("grace", "{g}"), ("note", "A"), ("deco", "!trill!"), ("note", "B"),
        ("deco", "+fermata+"), ("note", "c"), ("other", "~"), ("note", "d"), ("slur", "("),
        ("note", "e"), ("tie", "-"), ("note", "e"), ("slur", ")"), ("note", "A"), ("broken", ">"),
        ("note", "B")]
    assert kinds("[K:G] A % comment | not a bar") == [("field", "[K:G]"), ("note", "A"),
                                                     ("comment", "% comment | not a bar")]


def test_a_bar_line_inside_a_quote_is_text():
    assert [k for k, _ in kinds('A "G|D" B | c')] == ["note", "quote", "note", "barline", "note"]


def test_open_tokens_are_known_to_be_open():
    assert [lexer.is_closed(m) for m in lexer.tokens('"Am')] == [False]
    assert [lexer.is_closed(m) for m in lexer.tokens("{ga")] == [False]
    assert [lexer.is_closed(m) for m in lexer.tokens("[M:3/4")] == [False]
    assert all(lexer.is_closed(m) for m in lexer.tokens('"Am" {g} [M:3/4] A'))


def test_barline_splits():
    assert lexer.barline_splits("|:ABc d2e|1 f3 :|2 g3|]") == ["ABc d2e", "f3", "g3"]
    assert lexer.barline_splits('A"x|y"B|C') == ['A"x|y"B', "C"]


def test_field_lines_are_not_music():
    assert lexer.is_field_line("K:G") and lexer.is_field_line("w:la la")
    assert not lexer.is_field_line("|:ABc")
