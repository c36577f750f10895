import pytest
import torch

from abcrnn.model.tuneset import TuneSet
from abcrnn.model.charrnn import CharRNN
from abcrnn.model.config import ModelConfig
from conftest import TUNES, tiny_model


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("layers", [1, 2])
def test_forward_shapes_for_every_cell(vocab, cell, layers):
    model = tiny_model(vocab, cell, num_layers=layers)
    idx = torch.randint(len(vocab), (3, 11))
    logits, loss, state = model(idx, targets=idx)
    assert logits.shape == (3, 11, len(vocab))
    assert loss.ndim == 0 and torch.isfinite(loss)
    assert len(state) == layers


def test_unknown_cell_lists_the_choices():
    with pytest.raises(ValueError, match="rnn, lstm, gru"):
        ModelConfig(vocab_size=10, cell="transformer")


@pytest.mark.parametrize("dropout", [-0.1, 1.0])
def test_dropout_outside_range_is_refused(dropout):
    with pytest.raises(ValueError, match="dropout"):
        ModelConfig(vocab_size=10, dropout=dropout)


def test_one_hot_input_matches_vocab_width(vocab):
    model = tiny_model(vocab, embed_size=0)
    assert model.embed is None
    assert model.layers[0].input_size == len(vocab)
    logits, _, _ = model(torch.randint(len(vocab), (2, 5)))
    assert logits.shape == (2, 5, len(vocab))


def test_state_carries_over_like_one_long_call(vocab):
    model = tiny_model(vocab, "lstm", num_layers=2)
    idx = torch.randint(len(vocab), (2, 12))
    full, _, _ = model(idx)
    a, _, s = model(idx[:, :5])
    b, _, _ = model(idx[:, 5:], state=s)
    torch.testing.assert_close(torch.cat([a, b], 1), full)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_activations_cover_every_layer_and_step(vocab, cell):
    model = tiny_model(vocab, cell, num_layers=2)
    idx = torch.randint(len(vocab), (1, 9))
    logits, _, _, acts = model(idx, return_activations=True)
    torch.testing.assert_close(logits, model(idx)[0])     # same numbers as the fused path
    assert [a.shape for a in acts["hidden"]] == [(1, 9, 16)] * 2
    assert len(acts["cell"]) == (2 if cell == "lstm" else 0)


def test_padding_targets_are_ignored_by_the_loss(vocab):
    model = tiny_model(vocab)
    idx = torch.randint(len(vocab), (1, 6))
    targets = idx.clone()
    _, full, _ = model(idx, targets)
    targets[0, 3:] = -1
    logits, part, _ = model(idx, targets)
    expected = torch.nn.functional.cross_entropy(logits[0, :3], idx[0, :3])
    torch.testing.assert_close(part, expected)
    assert not torch.isclose(part, full)


def test_loss_falls_when_overfitting_one_batch(vocab):
    torch.manual_seed(0)
    model = CharRNN(ModelConfig(len(vocab), "lstm", 64, 1, 0.0, 16))
    ts = TuneSet.build(TUNES, vocab)
    idx, targets = ts.get_batch(4, 32, torch.Generator().manual_seed(0))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(60):
        _, loss, _ = model(idx, targets)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0]
