"""abcrnn neurons: ABC structure features, correlation of every unit with them, the command."""
import json

import pytest
import torch

from abcrnn.study import heatmap, neurons
from abcrnn.corpus.read import load_corpus
from abcrnn.notation.tunes import wrap
from abcrnn.notation.features import FEATURES, features
from abcrnn.cli.main import main
from conftest import TUNES, tiny_model

# A small tune, hand-annotated below character by character.
HEAD = "<start>\nX:1\nT:Hi\nM:2/4\nK:G\n"
LINE1 = '"G"[GB]d|:e2 :|1f|]\n'
LINE2 = "P:B\n"
LINE3 = "|:ab::c[1d:|2e||\n"
TEXT = HEAD + LINE1 + LINE2 + LINE3 + "<end>"
assert TEXT == wrap('X:1\nT:Hi\nM:2/4\nK:G\n"G"[GB]d|:e2 :|1f|]\nP:B\n|:ab::c[1d:|2e||')


def bits(name: str) -> str:
    return "".join(str(int(v)) for v in features(TEXT)[name])


def body(name: str) -> tuple[str, str, str, str]:
    """The feature over LINE1, LINE2, LINE3 and <end>, as 0/1 strings."""
    b = bits(name)[len(HEAD):]
    a, c = len(LINE1), len(LINE1) + len(LINE2)
    d = c + len(LINE3)
    return b[:a], b[a:c], b[c:d], b[d:]


def test_every_feature_has_one_value_per_character():
    for tune in TUNES:
        text = wrap(tune)
        f = features(text)
        assert set(f) == set(FEATURES)
        assert all(len(v) == len(text) for v in f.values())


def test_in_header_runs_from_start_line_through_the_k_line_newline():
    assert bits("in_header") == "1" * len(HEAD) + "0" * (len(TEXT) - len(HEAD))


def test_field_features_mark_their_whole_header_line_with_its_newline():
    # <start>\nX:1\nT:Hi\nM:2/4\nK:G\n
    assert bits("field_X")[: len(HEAD)] == "00000000" + "1111" + "00000" + "000000" + "0000"
    assert bits("field_T")[: len(HEAD)] == "00000000" + "0000" + "11111" + "000000" + "0000"
    assert bits("field_M")[: len(HEAD)] == "00000000" + "0000" + "00000" + "111111" + "0000"
    assert bits("field_K")[: len(HEAD)] == "00000000" + "0000" + "00000" + "000000" + "1111"
    for name in ("field_X", "field_T", "field_M", "field_K", "field_L"):
        assert "1" not in bits(name)[len(HEAD):]      # the body's P: line is no header field
    assert "1" not in bits("field_L")


def test_line_start_is_the_first_character_of_every_line():
    starts = {i + 1 for i, ch in enumerate(TEXT) if ch == "\n"} | {0}
    assert bits("line_start") == "".join("1" if i in starts else "0" for i in range(len(TEXT)))
    assert TEXT[len(TEXT) - 5] == "<" and bits("line_start")[-5] == "1"


def test_chord_symbol_includes_both_quotes():
    assert body("in_chord_symbol") == ("11100000000000000000", "0000", "00000000000000000", "00000")


def test_brackets_cover_chords_but_not_bar_lines_or_endings():
    #                                      "G"[GB]d|:e2 :|1f|]⏎       |:ab::c[1d:|2e||⏎
    assert body("in_brackets") == ("00011110000000000000", "0000", "00000000000000000", "00000")
    assert "1" not in bits("in_brackets")[: len(HEAD)]


def test_near_barline_marks_tokens_and_their_neighbours():
    # tokens |: and :|1 and |] on line 1, |: :: [1 :|2 || on line 3 (whose neighbour
    # before is the P:B line's newline)
    assert body("near_barline") == ("00000001111011111111", "0001", "11111111111111111", "00000")


def test_bar_position_climbs_from_one_bar_line_to_the_next():
    f = features(TEXT)["bar_position"]
    b = f[len(HEAD):]
    # "G"[GB]d: 8 characters from the body's start to the first |:
    assert b[:8] == pytest.approx([(k + 1) / 9 for k in range(8)])
    assert b[8:10] == [0, 0]                                  # |:
    assert b[10:13] == pytest.approx([0.25, 0.5, 0.75])       # e2 and the blank
    assert b[13:16] == [0, 0, 0] and b[16] == 0.5 and b[17:19] == [0, 0]   # :|1 f |]
    assert b[19:24] == [0] * 5            # a newline alone between |] and |: (P:B skipped)
    line3 = b[len(LINE1) + len(LINE2):]
    assert line3[:17] == pytest.approx([0, 0, 1 / 3, 2 / 3, 0, 0, 0.5, 0, 0, 0.5, 0, 0, 0, 0.5, 0, 0, 0])
    assert all(v == 0 for v in f[: len(HEAD)]) and f[-5:] == [0] * 5


def test_in_repeat_spans_open_to_close_and_leaves_the_second_ending_out():
    #                                    "G"[GB]d|:e2 :|1f|]⏎       |:ab::c[1d:|2e||⏎
    assert body("in_repeat") == ("00000000111111100000", "0000", "11111111111100000", "00000")


def test_a_repeat_with_no_opening_marks_nothing_and_an_open_one_runs_on():
    text = wrap("X:1\nK:D\nab:|cd|:ef\nP:x\ng|]")
    rep = "".join(str(int(v)) for v in features(text)["in_repeat"])
    b = rep[len("<start>\nX:1\nK:D\n"):]
    #            ab:|cd|:ef⏎ P:x⏎ g|]⏎  <end>
    assert b == "00000011111" + "1111" + "1111" + "00000"


def test_bar_lines_inside_chord_symbols_decorations_and_comments_are_not_read():
    text = wrap('X:1\nK:D\n"A|B"c!x|y!d %e|f\n')
    f = features(text)
    assert "1" not in "".join(str(int(v)) for v in f["near_barline"])
    assert sum(f["in_chord_symbol"]) == 5


def test_streamed_r_equals_pearson_over_all_rows():
    g = torch.Generator().manual_seed(0)
    x, f = torch.randn(300, 7, generator=g), torch.randn(300, 3, generator=g)
    f[:, 1] = x[:, 2] * 0.5 + f[:, 1]
    m = neurons.Moments(7, 3)
    for part in (slice(0, 1), slice(1, 120), slice(120, 300)):      # uneven batches
        m.add(x[part].double(), f[part].double())
    expected = torch.corrcoef(torch.cat([f, x], 1).T)[:3, 3:]
    assert torch.allclose(m.r().float(), expected, atol=1e-5)


def test_constant_features_and_units_get_r_zero_not_nan():
    x = torch.randn(50, 3)
    x[:, 1] = 0.7                                    # a saturated unit
    f = torch.stack([torch.zeros(50), torch.randn(50)], 1)   # a feature absent from the data
    r = neurons.correlate(x, f)
    assert not torch.isnan(r).any()
    assert (r[0] == 0).all() and r[1, 1] == 0 and r[1, 0] != 0


def test_discovery_recovers_features_planted_in_synthetic_activations():
    # real features of the tiny corpus; 64 noise units, two of which carry a feature
    names = list(FEATURES)
    feats = torch.cat([neurons.feature_matrix(wrap(t), names) for t in TUNES])       # (n, F)
    g = torch.Generator().manual_seed(1)
    acts = torch.randn(feats.shape[0], 64, generator=g, dtype=torch.float64)
    h, bp = names.index("in_header"), names.index("bar_position")
    acts[:, 17] = feats[:, h] + 0.05 * torch.randn(feats.shape[0], generator=g, dtype=torch.float64)
    acts[:, 40] = -feats[:, bp] + 0.05 * torch.randn(feats.shape[0], generator=g, dtype=torch.float64)
    r = neurons.correlate(acts, feats)
    order, vals = neurons.top_neurons(r, 3)
    assert order[h, 0] == 17 and vals[h, 0] > 0.97
    assert order[bp, 0] == 40 and vals[bp, 0] < -0.97
    noise = [u for u in range(64) if u not in (17, 40)]
    assert r[[h, bp]][:, noise].abs().max() < 0.25                  # no noise unit comes close


def test_top_neurons_rank_by_absolute_r_and_keep_the_sign():
    r = torch.tensor([[0.1, -0.9, 0.5, 0.5]])
    order, vals = neurons.top_neurons(r, 3)
    assert order.tolist() == [[1, 2, 3]] and vals[0].tolist() == pytest.approx([-0.9, 0.5, 0.5])


def test_collected_activations_are_each_tunes_own_despite_padding(vocab):
    model = tiny_model(vocab, "lstm", num_layers=2)
    texts = sorted((wrap(t) for t in TUNES[:3]), key=len)        # collect's order: by length
    assert len({len(t) for t in texts}) == 3
    (acts, feats), = list(neurons.collect(model, vocab, texts, ["in_header"], max_chars=10 ** 6))
    units = neurons.units(model)
    assert acts.shape == (sum(map(len, texts)), len(units)) == (feats.shape[0], 2 * 2 * 16)
    alone = torch.cat([heatmap.activations(model, vocab, t, units).T for t in texts])
    assert torch.allclose(acts.float(), alone, atol=1e-5)


def test_body_only_correlates_over_body_characters_alone(vocab):
    model = tiny_model(vocab)
    a = neurons.analyse(model, vocab, TUNES, ["in_header", "bar_position"], body_only=True)
    texts = [wrap(t) for t in TUNES]
    header = [t.index("\n", t.index("\nK:") + 1) + 1 for t in texts]    # through the K: line
    assert a.n_chars == sum(len(t) - h - len("<end>") for t, h in zip(texts, header))
    assert (a.r[0] == 0).all() and (a.r[1] != 0).any()         # in_header is constant there
    everything = neurons.analyse(model, vocab, TUNES, ["bar_position"])
    assert everything.n_chars == sum(map(len, texts))


def test_mean_shift_in_sd_is_the_units_inside_minus_outside_mean_over_its_sd():
    from abcrnn.study.neuronreport import mean_shift
    g = torch.Generator().manual_seed(2)
    f = (torch.rand(4000, generator=g) < 0.05).double()
    x = torch.randn(4000, generator=g, dtype=torch.float64) + 3 * f
    r = float(neurons.correlate(x[:, None], f[:, None])[0, 0])
    expected = float((x[f == 1].mean() - x[f == 0].mean()) / x.std(unbiased=False))
    assert mean_shift("in_chord_symbol", float(f.mean()), r)["mean_shift_sd"] == pytest.approx(expected, abs=0.01)
    assert mean_shift("bar_position", 0.3, r) == {}                  # not a 0/1 feature


def test_unknown_feature_is_refused():
    with pytest.raises(ValueError, match="unknown feature 'in_chorus'"):
        neurons.check_features(["in_chorus"])


@pytest.fixture
def tiny_run(tmp_path, corpus_file):
    run = tmp_path / "run"
    assert main(["train", "--corpus", str(corpus_file), "--out", str(run), "--hidden-size", "16",
                 "--embed-size", "8", "--seq-len", "32", "--batch-size", "4", "--max-steps", "2",
                 "--eval-interval", "2", "--val-frac", "0.34", "--quiet"]) == 0
    return run


def test_validation_tunes_are_the_models_own_split_found_by_fingerprint(tiny_run, corpus_file, tmp_path):
    doc = json.loads((tiny_run / "model.json").read_text())
    val_ids = json.loads((tiny_run / "split.json").read_text())["val"]
    tunes, _ = neurons.validation_tunes(tiny_run, doc)
    assert tunes == [load_corpus(corpus_file).tunes[i] for i in val_ids] and len(tunes) == 2
    doc["train_config"]["corpus"] = str(tmp_path / "moved.txt")       # trained elsewhere
    with pytest.raises(ValueError, match="missing or has changed"):
        neurons.validation_tunes(tiny_run, doc)
    assert neurons.validation_tunes(tiny_run, doc, fallback_corpus=corpus_file)[0] == tunes


def test_neurons_command_writes_table_files_and_heatmaps(tiny_run, tmp_path, capsys):
    out = tmp_path / "n"
    assert main(["neurons", "--model", str(tiny_run), "--out", str(out), "--top", "2",
                 "--feature", "bar_position", "in_header", "--tune-index", "2", "--width", "30"]) == 0
    printed = capsys.readouterr().out
    assert "in_header" in printed and "0:" in printed
    rows = (out / "neurons.csv").read_text().splitlines()
    assert rows[0] == "feature,rank,neuron,r" and len(rows) == 1 + 2 * 2
    assert rows[1].startswith("in_header,1,0:")                 # FEATURES order, rank from 1
    summary = json.loads((out / "summary.json").read_text())
    assert summary["tunes"] == 2 and summary["units"] == 32 and summary["tune_index"] == 2
    assert set(summary["features"]) == {"in_header", "bar_position"}
    assert (out / "neurons.md").read_text().startswith("| feature | rank |")
    for png in ("heatmap_in_header.png", "heatmap_bar_position.png", "panel.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("flags, message", [
    (["--feature", "nope"], "unknown feature 'nope'"),
    (["--tune-index", "3"], "--tune-index 3: there are 2 tunes"),
    (["--top", "0"], "--top must be at least 1"),
])
def test_neurons_command_refuses_bad_input_in_one_line(tiny_run, tmp_path, capsys, flags, message):
    out = tmp_path / "n"
    assert main(["neurons", "--model", str(tiny_run), "--out", str(out)] + flags) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not out.exists()
