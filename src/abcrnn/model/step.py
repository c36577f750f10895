"""One step of a CharRNN, hand-rolled from the model's own weights, for sampling.

Calling ``nn.LSTM`` once per character pays its full dispatch (flattening weights,
packing checks, a sequence loop of length one) every step. Sampling only ever
needs one step, so this does the cell's arithmetic directly:

* layer 0's input projection ``W_ih·x + b`` depends only on the character id, so it
  is precomputed as a (V, G·H) table (the embedding, or the one-hot, folded in);
  a step starts with a row lookup instead of an embedding and a matmul;
* each layer is then one ``addmm`` for ``W_hh·h`` and a few elementwise ops;
* LSTM: ``tanh`` is ~5x slower than ``sigmoid`` in this CPU build, so the cell uses
  tanh(x) = 2·sigmoid(2x) − 1, with the g gate's rows of the weights and biases
  doubled once here (exact in float), and one sigmoid over all four gates.

The state has the model's own layout (a list per layer of (1, B, H) tensors, or
(h, c) pairs for LSTM), so it can be exchanged with ``CharRNN.forward``. Logits
equal the model's within float rounding (tests/test_speed_paths.py).
"""
from __future__ import annotations

import torch

from abcrnn.model.charrnn import CharRNN

GATES = {"lstm": 4, "gru": 3, "rnn": 1}


class Stepper:
    """``step(ids (B,), state) -> (logits (B, V), new state)``; no autograd."""

    @torch.no_grad()
    def __init__(self, model: CharRNN):
        self.cell = model.config.cell
        dtype = model.head.weight.dtype
        self.layers = []     # per layer: (W_ih^T (In, G·H) | None, b_ih, W_hh^T (H, G·H), b_hh)
        for i, layer in enumerate(model.layers):
            if getattr(layer, "nonlinearity", "tanh") != "tanh":
                raise ValueError("the fast step supports tanh RNN layers only")
            w_ih, w_hh = layer.weight_ih_l0, layer.weight_hh_l0               # (G·H, In), (G·H, H)
            b_ih, b_hh = layer.bias_ih_l0, layer.bias_hh_l0                   # (G·H,)
            if i == 0:
                inputs = (model.embed.weight if model.embed is not None
                          else model.onehot.to(dtype))                        # (V, In)
                w_ih = None
                b_ih = inputs @ layer.weight_ih_l0.t() + b_ih                # (V, G·H) table
            if self.cell != "gru":      # GRU keeps b_hh apart: it sits inside r * (W_hn h + b_hn)
                b_ih, b_hh = b_ih + b_hh, None
            if self.cell == "lstm":     # the g gate's pre-activation doubled: see _lstm
                H = layer.hidden_size
                w_ih, b_ih, w_hh = (None if w_ih is None else _double_g(w_ih, H, 0),
                                    _double_g(b_ih, H, -1), _double_g(w_hh, H, 0))
            self.layers.append((None if w_ih is None else w_ih.t().contiguous(), b_ih.contiguous(),
                                w_hh.t().contiguous(), b_hh))
        self.head_w = model.head.weight.t().contiguous()                      # (H, V)
        self.head_b = model.head.bias
        self.H = model.config.hidden_size

    def zero_state(self, batch: int, device=None) -> list:
        def z():
            return torch.zeros(1, batch, self.H, device=device, dtype=self.head_w.dtype)  # (1, B, H)
        return [(z(), z()) if self.cell == "lstm" else z() for _ in self.layers]

    def step(self, ids: torch.Tensor, state: list | None) -> tuple[torch.Tensor, list]:
        """ids (B,) long -> logits (B, V) and the state after reading them."""
        logits, state, _ = self.step_hidden(ids, state)
        return logits, state

    @torch.no_grad()
    def step_hidden(self, ids: torch.Tensor, state: list | None) -> tuple[torch.Tensor, list, torch.Tensor]:
        """As ``step``, and the top layer's output (B, H): the neural cache's key."""
        if state is None:
            state = self.zero_state(ids.size(0), ids.device)
        new_state, x = [], None
        for i, (w_ih, b_in, w_hh, b_hh) in enumerate(self.layers):
            # a fresh (B, G·H) tensor either way, so the cells may add into it in place
            gi = b_in.index_select(0, ids) if i == 0 else torch.addmm(b_in, x, w_ih)
            s = state[i]
            h = s[0][0] if isinstance(s, tuple) else s[0]                     # (B, H)
            if self.cell == "lstm":
                x, c = _lstm(gi, h, s[1][0], w_hh)
                new_state.append((x.unsqueeze(0), c.unsqueeze(0)))
            else:
                x = _gru(gi, h, w_hh, b_hh) if self.cell == "gru" else torch.tanh(gi.addmm_(h, w_hh))
                new_state.append(x.unsqueeze(0))
        return torch.addmm(self.head_b, x, self.head_w), new_state, x        # (B, V), ..., (B, H)


def _double_g(w: torch.Tensor, H: int, dim: int) -> torch.Tensor:
    """A copy of w with the g gate's block (PyTorch's order i, f, g, o) times 2."""
    w = w.clone()
    w.narrow(dim, 2 * H, H).mul_(2)
    return w


def _lstm(gi, h, c, w_hh):
    """gi holds both biases; the g gate's pre-activation arrives doubled, so
    tanh(g) = 2·sigmoid(2g) − 1 comes out of the one sigmoid over all gates."""
    i, f, g2, o = gi.addmm_(h, w_hh).sigmoid_().chunk(4, 1)                 # (B, H) each
    c = torch.addcmul(f * c, i, g2.mul(2).sub_(1))                          # (B, H)
    return o * (c * 2).sigmoid_().mul_(2).sub_(1), c                        # tanh(c) likewise


def _gru(gi, h, w_hh, b_hh):
    """PyTorch's gate order r, z, n; n = tanh(W_in x + b_in + r * (W_hn h + b_hn))."""
    gh = torch.addmm(b_hh, h, w_hh)                                          # (B, 3H)
    H = h.size(1)
    rz = (gi[:, :2 * H] + gh[:, :2 * H]).sigmoid()
    r, z = rz[:, :H], rz[:, H:]
    n = torch.addcmul(gi[:, 2 * H:], r, gh[:, 2 * H:]).tanh()
    return torch.lerp(n, h, z)          # (1 - z) * n + z * h
