"""The fast paths give the reference paths' numbers: the hand-rolled sampling step,
the sampler built on it, and the training options that stop early."""
import pytest
import torch
from conftest import tiny_model

from abcrnn.model import CharRNN, ModelConfig
from abcrnn.sample import sample
from abcrnn.step import Stepper


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("num_layers", [1, 2, 3])
@pytest.mark.parametrize("embed_size", [8, 0])
def test_fast_step_logits_equal_model_forward(vocab, cell, num_layers, embed_size):
    model = tiny_model(vocab, cell, num_layers=num_layers, embed_size=embed_size)
    torch.manual_seed(1)
    for p in model.parameters():        # biases too: the table folds them in
        p.data.normal_(0, 0.5)
    ids = torch.randint(len(vocab), (3, 12))                                 # (B, T)
    with torch.inference_mode():
        ref, _, _ = model(ids)                                               # (B, T, V)
        stepper, state = Stepper(model), None
        for t in range(ids.size(1)):
            logits, state = stepper.step(ids[:, t], state)                   # (B, V)
            assert torch.allclose(logits, ref[:, t], atol=1e-5, rtol=0), (cell, t)


def test_fast_step_state_continues_the_models_state(vocab):
    # the sampler feeds the prime through forward, then steps: the states must agree
    model = tiny_model(vocab, "lstm", num_layers=2)
    ids = torch.randint(len(vocab), (2, 9))
    with torch.inference_mode():
        ref, _, _ = model(ids)
        _, _, state = model(ids[:, :5])
        stepper = Stepper(model)
        for t in range(5, 9):
            logits, state = stepper.step(ids[:, t], state)
            assert torch.allclose(logits, ref[:, t], atol=1e-5, rtol=0)


@pytest.mark.parametrize("guide", [False, True])
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_fast_sampler_gives_the_reference_samplers_text(vocab, guide, cell):
    model = tiny_model(vocab, cell, num_layers=2)
    fast = sample(model, vocab, num_tunes=4, max_len=120, seed=3, guide=guide)
    ref = sample(model, vocab, num_tunes=4, max_len=120, seed=3, guide=guide, fast=False)
    assert [(s.text, s.ended) for s in fast] == [(s.text, s.ended) for s in ref]


def test_fast_sampler_stops_at_the_same_end_marker_as_the_reference(vocab):
    # a model trained a little ends some tunes: the end check must stop where the old one did
    model = tiny_model(vocab)
    ids = torch.tensor([vocab.encode("<start>\nX:1\n<end>")])                 # (1, T)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    model.train()
    for _ in range(60):
        _, loss, _ = model(ids[:, :-1], ids[:, 1:])
        opt.zero_grad()
        loss.backward()
        opt.step()
    fast = sample(model, vocab, num_tunes=6, max_len=40, seed=2)
    ref = sample(model, vocab, num_tunes=6, max_len=40, seed=2, fast=False)
    assert any(s.ended for s in fast)
    assert [(s.text, s.ended) for s in fast] == [(s.text, s.ended) for s in ref]


def test_without_stop_at_end_every_tune_has_max_len_characters(vocab):
    model = tiny_model(vocab)
    out = sample(model, vocab, num_tunes=3, max_len=25, seed=1, stop_at_end=False)
    assert [len(s.text) - len("<start>\n") for s in out] == [25, 25, 25]


def test_fast_step_refuses_relu_rnn(vocab):
    model = CharRNN(ModelConfig(len(vocab), "rnn", 8, 1, 0.0, 4))
    model.layers[0].nonlinearity = "relu"
    with pytest.raises(ValueError, match="tanh"):
        Stepper(model)


TRAIN = ["train", "--quiet", "--hidden-size", "16", "--embed-size", "8", "--seq-len", "16",
         "--batch-size", "4", "--eval-interval", "2", "--max-steps", "20"]


def test_target_val_loss_stops_at_the_first_validation_that_meets_it(tmp_path, corpus_file):
    import json

    from abcrnn.cli import main
    reached, never = tmp_path / "reached", tmp_path / "never"
    # any loss is below 100: the first validation (step 2) stops the run
    assert main(TRAIN + ["--corpus", str(corpus_file), "--out", str(reached),
                         "--target-val-loss", "100"]) == 0
    assert main(TRAIN + ["--corpus", str(corpus_file), "--out", str(never),
                         "--target-val-loss", "0.001"]) == 0
    assert [h["step"] for h in json.loads((reached / "history.json").read_text())] == [2]
    assert json.loads((reached / "last.json").read_text())["step"] == 2
    assert json.loads((never / "last.json").read_text())["step"] == 20


def test_negative_target_val_loss_is_one_clear_error(tmp_path, corpus_file, capsys):
    from abcrnn.cli import main
    assert main(TRAIN + ["--corpus", str(corpus_file), "--out", str(tmp_path / "r"),
                         "--target-val-loss", "-1"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["abcrnn: error: target_val_loss must be a number >= 0 (0 = off)"]
    assert not (tmp_path / "r").exists()
