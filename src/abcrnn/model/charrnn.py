"""CharRNN: one character-level recurrent model with a switchable cell."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from abcrnn.model.config import ModelConfig

CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}     # ModelConfig.cell -> the torch module


class CharRNN(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = c = config
        if c.embed_size:
            self.embed = nn.Embedding(c.vocab_size, c.embed_size)
            in_size = c.embed_size
        else:
            # One-hot input: a fixed identity table keeps one code path for both.
            self.register_buffer("onehot", torch.eye(c.vocab_size), persistent=False)
            self.embed = None
            in_size = c.vocab_size
        # One module per layer (rather than num_layers=N) so every layer's
        # per-step output is at hand for activation heatmaps; on CPU the cost is nil.
        # Time-major inside: oneDNN's RNN works on (T, B, ·), so batch_first would
        # copy every layer's input and output, forward and backward (~0.3-0.6 ms of
        # a 16 ms step at the default shape, docs/BENCHMARKS.md).
        Cell = CELLS[c.cell]
        self.layers = nn.ModuleList(
            Cell(in_size if i == 0 else c.hidden_size, c.hidden_size)
            for i in range(c.num_layers))
        self.drop = nn.Dropout(c.dropout)
        self.head = nn.Linear(c.hidden_size, c.vocab_size)

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def _embed(self, idx):
        return self.embed(idx) if self.embed is not None else self.onehot[idx]

    def forward(self, idx, targets=None, state=None, return_activations=False, return_hidden=False):
        """idx (B, T) -> logits (B, T, V), loss or None, new state [, activations].

        ``state`` is a list with one entry per layer (a tensor (1, B, H), or an
        (h, c) pair for LSTM); None means zeros. ``targets`` of -1 are ignored.
        With ``return_activations`` also returns a dict of lists (one per layer)
        of (B, T, H) tensors: "hidden" and, for LSTM, "cell"; with ``return_hidden``
        the top layer's output (B, T, H), the keys of the neural cache (cache.py).
        """
        x = self._embed(idx.t())                               # (T, B, E)
        state = state or [None] * len(self.layers)
        new_state, acts = [], {"hidden": [], "cell": []}
        for i, layer in enumerate(self.layers):
            x = self._drop(x)          # on the input of every layer, embedding included
            if return_activations:
                x, s, cells = self._stepwise(layer, x, state[i])
                acts["hidden"].append(x.transpose(0, 1))       # (B, T, H)
                if cells is not None:
                    acts["cell"].append(cells.transpose(0, 1))
            else:
                x, s = layer(x, state[i])                      # (T, B, H)
            new_state.append(s)
        logits = self.head(self._drop(x))                      # (T, B, V)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.t().reshape(-1),
                                   ignore_index=-1)
        logits = logits.transpose(0, 1)                        # (B, T, V), a view
        if return_activations:
            return logits, loss, new_state, acts
        if return_hidden:       # the top layer's output, the keys of the neural cache (cache.py)
            return logits, loss, new_state, x.transpose(0, 1)  # (B, T, H)
        return logits, loss, new_state

    def _drop(self, x):
        # nn.Dropout(0) in training still draws a mask and multiplies (~0.8 ms a step)
        return self.drop(x) if self.training and self.drop.p > 0 else x

    def _stepwise(self, layer, x, s):
        """Run one layer on x (T, B, I) a step at a time so the LSTM cell state of
        every step is kept: outputs (T, B, H), final state, cell states (T, B, H)."""
        outs, cells = [], []
        for t in range(x.size(0)):
            o, s = layer(x[t:t + 1], s)
            outs.append(o)
            if isinstance(s, tuple):
                cells.append(s[1][-1].unsqueeze(0))            # (1, B, H)
        return torch.cat(outs, 0), s, (torch.cat(cells, 0) if cells else None)
