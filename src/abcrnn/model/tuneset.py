"""Encoded tunes as one flat tensor, and the random batches training draws from them."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from abcrnn.corpus.encode import encode_tunes


@dataclass
class TuneSet:
    """Tunes encoded once into one flat tensor; ``offsets[i]`` is where tune i starts.

    ``flat`` keeps the compact dtype of compact_dtype (uint8 for up to 256
    characters, an eighth of int64's memory); batches widen it to int64."""
    flat: torch.Tensor      # (N,) uint8/int16/int32, every wrapped tune back to back
    offsets: torch.Tensor   # (n_tunes,) long
    lengths: torch.Tensor   # (n_tunes,) long

    @classmethod
    def build(cls, tunes: list[str], vocab) -> "TuneSet":
        return cls.from_encoded(*encode_tunes(tunes, vocab))

    @classmethod
    def from_encoded(cls, flat: np.ndarray, lengths: np.ndarray, order=None) -> "TuneSet":
        """From encode_tunes' arrays (possibly memory-mapped), keeping tunes ``order``
        (default: all), copied into memory."""
        lengths = np.asarray(lengths, dtype=np.int64)
        if order is not None:
            order = np.asarray(order, dtype=np.int64)
            if len(order) and (np.diff(order) > 0).all():     # increasing: one vectorised mask
                keep = np.zeros(len(lengths), dtype=bool)
                keep[order] = True
                flat = flat[np.repeat(keep, lengths)]
            else:
                starts = np.cumsum(lengths) - lengths
                flat = np.concatenate([flat[s:s + n] for s, n in zip(starts[order], lengths[order])]
                                      or [flat[:0]])
            lengths = lengths[order]
        lengths_t = torch.from_numpy(lengths.copy())
        offsets = torch.cumsum(lengths_t, 0) - lengths_t
        if isinstance(flat, np.memmap):     # read into memory: the file may change later
            flat = np.array(flat)
        return cls(torch.from_numpy(flat), offsets, lengths_t)

    def __len__(self) -> int:
        return len(self.lengths)

    def tune(self, i: int) -> torch.Tensor:
        return self.flat[self.offsets[i]: self.offsets[i] + self.lengths[i]]

    def get_batch(self, batch_size: int, seq_len: int, gen: torch.Generator):
        """Random slices of random tunes: ``idx`` (B, T) and ``targets`` (B, T).

        Every character is equally likely to be trained on: a tune is drawn with
        weight len + T - 1 (its number of window positions) and the window start
        uniformly from -(T-1) to len-2, where a start before the tune begins at
        the tune's first character. So a third or more of the windows start at
        ``<start>`` from a zero state, as validation does, and headers are not
        starved. Targets past a tune's end are -1 (ignored).
        """
        T = seq_len
        t = torch.multinomial((self.lengths + T - 1).double(), batch_size, replacement=True,
                              generator=gen)                                   # (B,)
        span = self.lengths[t] + T - 2                                         # start choices
        start = (torch.rand(batch_size, generator=gen) * span).long() - (T - 1)
        start = start.clamp(min=0)                                             # (B,)
        pos = start[:, None] + torch.arange(T + 1)                             # (B, T+1)
        inside = pos < self.lengths[t][:, None]
        chunk = self.flat[(self.offsets[t][:, None] + pos).clamp(max=len(self.flat) - 1)].long()
        idx = chunk[:, :-1].clone()
        targets = torch.where(inside[:, 1:], chunk[:, 1:], torch.full_like(chunk[:, 1:], -1))
        idx[~inside[:, :-1]] = 0     # padding input; its targets are ignored anyway
        return idx, targets

    def padded(self, order: list[int]):
        """Whole tunes from their first character, padded: idx, targets (B, L-1)."""
        L = int(self.lengths[order].max())
        idx = torch.zeros(len(order), L - 1, dtype=torch.long)
        targets = torch.full((len(order), L - 1), -1, dtype=torch.long)
        for row, i in enumerate(order):
            x = self.tune(i)
            idx[row, : len(x) - 1] = x[:-1]
            targets[row, : len(x) - 1] = x[1:]
        return idx, targets
