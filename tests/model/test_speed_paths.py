"""The fast paths give the reference paths' numbers: the hand-rolled sampling step,
the sampler built on it, and the training options that stop early."""
import pytest
import torch
from conftest import tiny_model

from abcrnn.model.charrnn import CharRNN
from abcrnn.model.config import ModelConfig
from abcrnn.sampling.sample import sample
from abcrnn.model.step import Stepper


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
    fast = sample(model, vocab, num_tunes=6, max_len=40, seed=2, guide=False)
    ref = sample(model, vocab, num_tunes=6, max_len=40, seed=2, fast=False, guide=False)
    assert any(s.ended for s in fast)
    assert [(s.text, s.ended) for s in fast] == [(s.text, s.ended) for s in ref]


def test_without_stop_at_end_every_tune_has_max_len_characters(vocab):
    model = tiny_model(vocab)
    out = sample(model, vocab, num_tunes=3, max_len=25, seed=1, stop_at_end=False, guide=False)
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

    from abcrnn.cli.main import main
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
    from abcrnn.cli.main import main
    assert main(TRAIN + ["--corpus", str(corpus_file), "--out", str(tmp_path / "r"),
                         "--target-val-loss", "-1"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["abcrnn: error: target_val_loss must be a number >= 0 (0 = off), got -1.0"]
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("max_norm", [1e-3, 1.0, 1e3])
def test_clip_grads_matches_torchs_clip_grad_norm(vocab, max_norm):
    from abcrnn.training.loop import clip_grads
    a, b = tiny_model(vocab, num_layers=2), tiny_model(vocab, num_layers=2)
    idx = torch.randint(len(vocab), (3, 10))
    for model in (a, b):
        model.train()
        _, loss, _ = model(idx[:, :-1], idx[:, 1:])
        loss.backward()
    clip_grads(list(a.parameters()), max_norm)
    torch.nn.utils.clip_grad_norm_(b.parameters(), max_norm)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa.grad, pb.grad)


def _train_a_little(model, opt, steps=4, seed=0):
    gen = torch.Generator().manual_seed(seed)
    model.train()
    for i in range(steps):
        idx = torch.randint(model.config.vocab_size, (3, 9), generator=gen)
        _, loss, _ = model(idx[:, :-1], idx[:, 1:])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        for g in opt.param_groups:
            g["lr"] = 0.01 * (i + 1)       # the schedule changes lr between steps
        opt.step()


@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_our_adamw_updates_like_torchs_fused_adamw_bit_for_bit(vocab, weight_decay):
    from abcrnn.training.config import TrainConfig
    from abcrnn.training.runstate import make_optimizer
    a, b = tiny_model(vocab, num_layers=2), tiny_model(vocab, num_layers=2)
    ours = make_optimizer(a, TrainConfig(lr=0.01, weight_decay=weight_decay))
    twin = dict(zip(a.parameters(), b.parameters()))           # a's parameter -> b's
    theirs = torch.optim.AdamW([{"params": [twin[p] for p in g["params"]],
                                 "weight_decay": g["weight_decay"]} for g in ours.param_groups],
                               lr=0.01, fused=True)
    _train_a_little(a, ours)
    _train_a_little(b, theirs)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)


def test_optimizer_state_moves_between_ours_and_torchs(vocab):
    import copy

    from abcrnn.training.optim import AdamW
    a, b, c = (tiny_model(vocab) for _ in range(3))
    theirs = torch.optim.AdamW(a.parameters(), lr=0.01, fused=True)
    _train_a_little(a, theirs)
    b.load_state_dict(a.state_dict())
    ours = AdamW(b.parameters(), lr=0.5)
    ours.load_state_dict(theirs.state_dict())            # a torch checkpoint resumed by us
    assert ours.param_groups[0]["lr"] == theirs.param_groups[0]["lr"]
    _train_a_little(a, theirs, seed=1)
    _train_a_little(b, ours, seed=1)
    assert all(torch.equal(pa, pb) for pa, pb in zip(a.parameters(), b.parameters()))
    c.load_state_dict(b.state_dict())
    back = torch.optim.AdamW(c.parameters(), lr=0.5, fused=True)
    # and ours resumed by torch (a copy, as from disk: torch's loader may share tensors)
    back.load_state_dict(copy.deepcopy(ours.state_dict()))
    _train_a_little(b, ours, seed=2)
    _train_a_little(c, back, seed=2)
    assert all(torch.equal(pb, pc) for pb, pc in zip(b.parameters(), c.parameters()))


def test_training_start_up_does_not_import_torch_dynamo(vocab):
    # torch.optim imports torch._dynamo on first use (~1 s): our optimizer must not
    import subprocess
    import sys
    code = ("import sys, torch\n"
            "from abcrnn.model.charrnn import CharRNN\n"
            "from abcrnn.model.config import ModelConfig\n"
            "from abcrnn.training.config import TrainConfig\n"
            "from abcrnn.training.loop import train_step\n"
            "from abcrnn.training.runstate import make_optimizer\n"
            "m = CharRNN(ModelConfig(20, hidden_size=8, embed_size=4))\n"
            "opt = make_optimizer(m, TrainConfig(lr=8e-3))\n"
            "idx = torch.randint(20, (2, 6))\n"
            "train_step(m, opt, idx, idx, 1.0)\n"
            "opt.state_dict()\n"
            "print('torch._dynamo' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
