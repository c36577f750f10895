"""Training options beyond the study: weight decay and key-transposition augmentation."""
from __future__ import annotations

import torch
from conftest import tiny_model

from abcrnn.training.config import TrainConfig
from abcrnn.training.runstate import make_optimizer


def test_weight_decay_shrinks_weight_matrices_but_not_biases_or_embedding(vocab):
    model = tiny_model(vocab, num_layers=2)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    opt = make_optimizer(model, TrainConfig(lr=0.1, weight_decay=0.5))
    for p in model.parameters():
        p.grad = torch.zeros_like(p)        # no gradient: only the decay moves anything
    opt.step()
    for name, p in model.named_parameters():
        if p.dim() >= 2 and not name.startswith("embed"):
            assert torch.allclose(p, before[name] * (1 - 0.1 * 0.5)), name
        else:
            assert torch.equal(p, before[name]), name


def test_without_weight_decay_the_update_is_plain_adams(vocab):
    a, b = tiny_model(vocab), tiny_model(vocab)
    opt_a = make_optimizer(a, TrainConfig(lr=0.01))
    opt_b = torch.optim.Adam(b.parameters(), lr=0.01)
    idx = torch.randint(0, len(vocab), (2, 9))
    for model, opt in ((a, opt_a), (b, opt_b)):
        model.train()
        _, loss, _ = model(idx[:, :-1], idx[:, 1:])
        loss.backward()
        opt.step()
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.allclose(pa, pb, atol=1e-7)
