"""Neuron heatmaps: every character in its own cell, coloured by its own activation."""
import math

import pytest
import torch

from abcrnn.study import heatmap
from abcrnn.cli.main import main
from conftest import TUNES, tiny_model


def test_grid_puts_value_i_in_row_i_div_width_column_i_mod_width():
    g = heatmap.grid(torch.arange(23.0), 5)
    assert g.shape == (5, 5)
    for i in range(23):
        assert g[i // 5, i % 5] == i
    assert all(math.isnan(v) for v in g.flatten()[23:])


def test_activations_are_the_states_after_each_character(vocab):
    model = tiny_model(vocab, "lstm", num_layers=2)
    text = heatmap.tune_text(TUNES[0])
    neurons = [heatmap.Neuron(1, 3), heatmap.Neuron(0, 7, "cell")]
    acts = heatmap.activations(model, vocab, text, neurons)
    assert acts.shape == (2, len(text))
    # the hidden state after character t equals the output of a run over text[:t+1]
    for t in (0, 10, len(text) - 1):
        idx = torch.tensor([vocab.encode(text[: t + 1])])
        _, _, _, a = model(idx, return_activations=True)
        assert torch.isclose(acts[0, t], a["hidden"][1][0, -1, 3])


def test_figure_writes_character_i_in_cell_i_coloured_by_activation_i(vocab):
    model = tiny_model(vocab)
    text = heatmap.tune_text(TUNES[1])
    neurons = [heatmap.Neuron(0, 2)]
    acts = heatmap.activations(model, vocab, text, neurons)
    fig = heatmap.figure(text, acts, neurons, width=17)
    ax = fig.axes[0]
    image = ax.images[0].get_array()
    labels = ax.texts
    assert len(labels) == len(text)
    for i, ch in enumerate(text):
        assert labels[i].get_position() == (i % 17, i // 17)
        assert labels[i].get_text() == heatmap._label(ch)
        assert image[i // 17, i % 17] == pytest.approx(float(acts[0, i]))


@pytest.mark.parametrize("spec", ["0", "a:1", "0:1:gate"])
def test_bad_neuron_spec_is_refused(spec):
    with pytest.raises(ValueError, match="neuron"):
        heatmap.Neuron.parse(spec)


def test_neuron_outside_the_model_is_refused(vocab):
    with pytest.raises(ValueError, match="outside the model"):
        heatmap.activations(tiny_model(vocab), vocab, "<start>\nX:1", [heatmap.Neuron(0, 99)])


def test_heatmap_command_writes_a_png(tmp_path, corpus_file):
    run = tmp_path / "run"
    assert main(["train", "--corpus", str(corpus_file), "--out", str(run), "--hidden-size", "16",
                 "--embed-size", "8", "--seq-len", "32", "--batch-size", "4", "--max-steps", "2",
                 "--eval-interval", "2", "--quiet"]) == 0
    tunes = tmp_path / "t.abc"
    tunes.write_text(TUNES[0] + "\n")
    out = tmp_path / "h.png"
    assert main(["heatmap", str(tunes), "--model", str(run), "--neurons", "0:1", "0:2:cell",
                 "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_heatmap_without_neurons_draws_the_units_neurons_ranks_first(tmp_path, corpus_file, capsys):
    from abcrnn.cli.main import main
    from abcrnn.cli.study import HEATMAP_FEATURES
    run = tmp_path / "run"
    assert main(["train", "--corpus", str(corpus_file), "--out", str(run), "--max-steps", "2",
                 "--hidden-size", "8", "--embed-size", "4", "--seq-len", "16", "--quiet"]) == 0
    capsys.readouterr()
    tune = tmp_path / "t.abc"
    tune.write_text(TUNES[0])
    assert main(["heatmap", str(tune), "--model", str(run), "--out", str(tmp_path / "h.png")]) == 0
    said = capsys.readouterr().out.splitlines()
    assert [ln.split(":")[0] for ln in said[:len(HEATMAP_FEATURES)]] == list(HEATMAP_FEATURES)
    assert (tmp_path / "h.png").stat().st_size > 1000 and "neurons over" in said[-1]
