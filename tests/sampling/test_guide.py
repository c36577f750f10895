"""The structure guide: masks, bar redraws and line redraws, with real abc2midi."""
import pytest

from abcrnn.notation.tunes import header_and_body, strip_markers
from abcrnn.sampling.guide import BAR, CHAR, EARLIER, KEEP, LINE, AbcGuide
from abcrnn.sampling.sample import sample
from conftest import tiny_model

HEADER = "<start>\nX:1\nT:t\nM:2/4\nL:1/8\nK:G\n"


def feed(g, text, b=0):
    verdicts = [g.step(b, ch) for ch in text]
    return verdicts


def test_first_line_must_be_x_and_key_waits_for_t_m_l(vocab):
    g = AbcGuide(vocab, "<start>\n", 1)
    assert g.allowed(0) == {"X"}
    feed(g, "X:1\nT:a\n")
    assert "K" not in g.allowed(0) and "X" not in g.allowed(0)
    feed(g, "M:2/4\nL:1/8\n")
    assert "K" in g.allowed(0)
    feed(g, "R")
    assert g.allowed(0) == {":"}


def test_body_lines_cannot_start_header_only_fields(vocab):
    g = AbcGuide(vocab, HEADER, 1)
    start = g.allowed(0)
    assert "R" not in start and "X" not in start and "\n" not in start
    assert {"A", "w", "|", "<"} <= start
    feed(g, "A")
    assert ":" not in g.allowed(0)


def test_a_folk_body_does_not_change_its_key_before_any_music(vocab):
    from abcrnn.sampling.form import FormRules
    g = AbcGuide(vocab, HEADER, 1, check_lines=False, form=FormRules(restate=0.0))
    assert "K" not in g.allowed(0) and "G" in g.allowed(0)
    feed(g, "GABc|dcBA|\n")
    assert "K" in g.allowed(0)                       # a key change once there is music
    free = AbcGuide(vocab, HEADER, 1, check_lines=False)
    assert "K" in free.allowed(0)


@pytest.mark.parametrize("letter", ["Z", "z", "x", "y"])
def test_a_rest_or_decoration_letter_opening_a_body_line_is_not_a_field(vocab, letter):
    g = AbcGuide(vocab, HEADER, 1)
    feed(g, letter)           # "Z:|" in a body: abc2midi reads a Z: field after K:
    allowed = g.allowed(0)
    assert ":" not in allowed and "|" in allowed


def test_end_marker_once_begun_is_completed(vocab):
    g = AbcGuide(vocab, HEADER, 1, check_lines=False)
    feed(g, "GABc|d4|\n<e")
    assert g.allowed(0) == {"n"}


def test_bar_of_the_right_length_is_kept(vocab):
    g = AbcGuide(vocab, HEADER, 1, check_lines=False)
    assert set(feed(g, "GABc|dcBA|G")) == {KEEP}


def test_note_that_would_overfill_the_bar_is_refused_in_place(vocab):
    g = AbcGuide(vocab, HEADER, 1, check_lines=False)
    feed(g, "GABc|dcBA")
    assert g.step(0, "G") == CHAR
    assert g.rows[0].text.endswith("|dcBA") and "G" not in g.mask_rows()[0]
    assert g.step(0, "|") == KEEP


def test_bar_line_before_the_bar_is_full_is_refused_unless_a_repeat_closes_it(vocab):
    g = AbcGuide(vocab, HEADER, 1, check_lines=False)
    feed(g, "GABc|dc")
    assert g.step(0, "|") == CHAR
    assert g.step(0, ":") == KEEP


def test_pick_up_bar_may_be_short(vocab):
    g = AbcGuide(vocab, HEADER, 1, check_lines=False)
    assert set(feed(g, "G|ABcd|")) == {KEEP}


def test_bar_too_long_is_drawn_again_from_its_start(vocab):
    g = AbcGuide(vocab, HEADER, 1, check_lines=False, max_char_tries=0)
    feed(g, "GABc|")
    verdicts = feed(g, "dcBAG|B")
    assert verdicts[-1] == BAR
    assert g.rows[0].text.endswith("K:G\nGABc|")


def test_a_tuplet_may_not_leave_room_that_no_plain_note_fills(vocab):
    from abcrnn.sampling.form import FormRules
    for structure, stands in (("folk", False), ("free", True)):
        g = AbcGuide(vocab, HEADER, 1, check_lines=False, form=FormRules(structure=structure))
        feed(g, "GABc|G(3B2cd")           # 1 + 8/3 of 4 eighths: a third of one is left
        assert (g.step(0, " ") == KEEP) is stands
    g = AbcGuide(vocab, HEADER, 1, check_lines=False, form=FormRules(restate=0.0))
    assert set(feed(g, "GABc|(3B2c2d2 ")) == {KEEP}     # "d" then its "2": a length to come


def test_a_place_where_every_try_is_refused_draws_the_bar_again(vocab):
    from abcrnn.sampling.form import FormRules
    g = AbcGuide(vocab, HEADER, 1, check_lines=False, max_char_tries=3,
                 form=FormRules(restate=0.0))
    feed(g, "GABc|G(3B2cd")
    assert [g.step(0, ch) for ch in " A)"] == [CHAR, CHAR, BAR]
    assert g.rows[0].text.endswith("K:G\nGABc|")


def test_line_that_abc2midi_rejects_is_drawn_again(vocab):
    g = AbcGuide(vocab, HEADER, 1)
    feed(g, "GABc|dcBA|\n")
    verdicts = feed(g, '"xy"GABc|\n')      # a chord symbol must start with A-G
    assert verdicts[-1] == LINE
    assert g.rows[0].text.endswith("K:G\nGABc|dcBA|")


def test_a_line_checked_ahead_sends_the_row_back_once_its_check_is_read(vocab):
    g = AbcGuide(vocab, HEADER, 1, check_ahead=3)
    feed(g, "GABc|dcBA|\n")
    assert feed(g, '"xy"GABc|\n') == [KEEP] * 10      # its check runs beside: on we go
    assert g.rows[0].pending is not None
    assert feed(g, "GA") == [KEEP, KEEP]
    assert feed(g, "B") == [EARLIER]                   # read at its third step: wrong
    assert g.rows[0].text.endswith("K:G\nGABc|dcBA|") and g.rows[0].pending is None
    assert g.rows[0].line_mark == g.rows[0].bar_mark == len(g.rows[0].text)


def test_a_line_checked_ahead_is_read_before_the_next_line_or_the_end(vocab):
    g = AbcGuide(vocab, HEADER, 1, check_ahead=50)
    feed(g, "GABc|dcBA|\n")
    feed(g, '"xy"GABc|\n')
    assert feed(g, "dcBA|\n")[-1] == EARLIER          # not yet due, but read first
    assert g.rows[0].text.endswith("K:G\nGABc|dcBA|")
    feed(g, "\nGABc|dcBA|\n")
    verdicts = feed(g, "<end>")
    assert verdicts == [KEEP] * 5 and g.rows[0].pending is None
    assert g.rows[0].text.endswith("GABc|dcBA|\n<end>")


def test_a_line_that_keeps_being_refused_is_drawn_again_from_its_start(vocab):
    from abcrnn.sampling.guide import LINE_REFUSALS
    g = AbcGuide(vocab, HEADER, 1, check_lines=False, max_char_tries=10 * LINE_REFUSALS)
    feed(g, "GABc|dcBA|\nGABc|dcBA")
    # a full bar takes its bar line: every note is refused, until the line goes back
    verdicts = feed(g, "d" * (LINE_REFUSALS + 1))
    assert verdicts == [CHAR] * LINE_REFUSALS + [LINE]
    assert g.rows[0].text.endswith("K:G\nGABc|dcBA|") and g.rows[0].line_tries == 1


def test_redraws_are_bounded(vocab):
    g = AbcGuide(vocab, HEADER, 1, check_lines=False, max_bar_tries=2, max_char_tries=0)
    feed(g, "GABc|")
    assert feed(g, "dcBAG|B")[-1] == BAR
    assert feed(g, "dcBAG|B")[-1] == BAR
    assert feed(g, "dcBAG|B")[-1] == KEEP       # third time: kept as drawn


@pytest.mark.parametrize("seed", [0, 1])
def test_guided_samples_have_well_formed_headers(vocab, seed):
    out = sample(tiny_model(vocab), vocab, num_tunes=3, max_len=200, seed=seed, guide=True)
    for s in out:
        tune = strip_markers(s.text)
        header, _ = header_and_body(tune)
        assert header[0].startswith("X:")
        assert all(len(line) > 1 and line[1] == ":" for line in header[:-1] if line)
        if header[-1].startswith("K:"):
            fields = {line[0] for line in header}
            assert {"T", "M", "L"} <= fields


def test_short_bar_at_a_section_boundary_stands_when_the_next_completes_it(vocab):
    g = AbcGuide(vocab, HEADER, 1, check_lines=False, max_char_tries=0)
    assert set(feed(g, "GABc|dc||BA|G")) == {KEEP}


def test_short_bar_at_a_boundary_left_incomplete_sends_the_next_bar_back(vocab):
    g = AbcGuide(vocab, HEADER, 1, check_lines=False, max_char_tries=0)
    feed(g, "GABc|dc||")
    assert feed(g, "GABc|d")[-1] == BAR
    assert g.rows[0].text.endswith("GABc|dc||")


def test_second_repeat_start_before_the_first_closes_is_refused(vocab):
    g = AbcGuide(vocab, HEADER, 1, check_lines=False)
    feed(g, "|:GABc|dcBA|")
    assert g.step(0, ":") == CHAR
    feed(g, "GABc:|")
    assert feed(g, "|:")[-1] == KEEP


def test_meter_and_unit_length_come_from_the_known_values(vocab):
    g = AbcGuide(vocab, "<start>\n", 1)
    feed(g, "X:1\nT:a\nL:1/")
    assert g.allowed(0) == {"8", "4", "1"}
    feed(g, "1")
    assert g.allowed(0) == {"6"}
    feed(g, "6\nM:")
    assert "C" in g.allowed(0) and "5" in g.allowed(0) and "1" in g.allowed(0)


def test_accidental_must_be_followed_by_a_note(vocab):
    g = AbcGuide(vocab, HEADER, 1, check_lines=False)
    feed(g, "GA^")
    assert g.allowed(0) <= set("ABCDEFGabcdefg^")
    feed(g, "^")
    assert g.allowed(0) == set("ABCDEFGabcdefg")


def test_full_bar_must_be_closed(vocab):
    g = AbcGuide(vocab, HEADER, 1, check_lines=False)
    feed(g, "GABc|dcB")
    assert g.allowed(0) is None
    feed(g, "A")
    assert g.allowed(0) == {"|", ":", " "}


def test_a_part_that_must_close_chooses_its_bar_line_whole(vocab):
    from abcrnn.sampling.form import CLOSE, FormRules
    from abcrnn.sampling.guide import COPY
    g = AbcGuide(vocab, "<start>\nX:1\nT:t\nR:polka\nM:2/4\nL:1/8\nK:G\n", 1, check_lines=False,
                 form=FormRules(restate=0.0))
    r = g.rows[0]
    r.drawn[(0, 0, 8)] = True                  # this part closes at 8 bars
    assert set(feed(g, "GABc|" * 7 + "dcBG")) == {KEEP}
    assert g.step(0, "|") == COPY               # not "|" then whatever follows it
    assert r.copy_whole and set(r.copy) == set(CLOSE) and r.text.endswith("dcBG")


def test_a_whole_bar_line_is_scored_with_the_chance_that_it_stops(vocab):
    import torch
    from abcrnn.sampling.barlines import BARLINE_CHARS
    from abcrnn.sampling.guided import score
    from abcrnn.sampling.net import Net
    model = tiny_model(vocab)
    prime = vocab.encode("<start>\nX:1\nK:G\nGA")
    net = Net(model, prime, 1, "cpu")
    ends = torch.tensor([c not in BARLINE_CHARS for c in vocab.itos])
    got = score(net, [0, 0], [vocab.encode("|"), vocab.encode("|")], [True, False], ends)
    with torch.no_grad():
        logits, _, _ = model(torch.tensor([prime + vocab.encode("|")]))
    lp = torch.log_softmax(logits[0], -1)
    bar = lp[-2, vocab.stoi["|"]]
    stop = torch.logsumexp(lp[-1][ends], -1)
    assert got[1] == pytest.approx(float(bar), abs=1e-5)
    assert got[0] == pytest.approx(float(bar + stop), abs=1e-5)


def test_folk_music_holds_no_letter_abc_cannot_read(vocab):
    from abcrnn.sampling.form import FormRules
    assert {"h", "i"} <= set(vocab.stoi)
    g = AbcGuide(vocab, HEADER, 1, check_lines=False, form=FormRules(restate=0.0))
    feed(g, "GA")
    allowed = g.mask_rows()[0]
    from abcrnn.sampling.symbols import MUSIC_LETTERS
    assert {"h", "i", "Y"}.isdisjoint(allowed) and MUSIC_LETTERS & set(vocab.stoi) <= allowed
    feed(g, '"^Fin')                                   # in placed text any letter goes
    assert 0 not in g.mask_rows() or "h" in g.mask_rows()[0]
