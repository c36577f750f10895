"""Character vocabulary, the tune-level train/val split, and batches."""
from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

import torch

from .abc import wrap


class VocabError(ValueError):
    """Text holds characters the vocabulary lacks."""


class Vocab:
    def __init__(self, chars: list[str]):
        self.itos = list(chars)
        self.stoi = {c: i for i, c in enumerate(self.itos)}

    @classmethod
    def from_texts(cls, texts: list[str]) -> "Vocab":
        return cls(sorted(set("".join(texts))))

    def __len__(self) -> int:
        return len(self.itos)

    def __eq__(self, other) -> bool:
        return isinstance(other, Vocab) and self.itos == other.itos

    def missing(self, text: str) -> list[str]:
        return sorted(set(text) - self.stoi.keys())

    def encode(self, text: str) -> list[int]:
        bad = self.missing(text)
        if bad:
            raise VocabError("characters not in the model's vocabulary: "
                             + " ".join(repr(c) for c in bad))
        return [self.stoi[c] for c in text]

    def decode(self, ids) -> str:
        return "".join(self.itos[int(i)] for i in ids)

    def to_list(self) -> list[str]:
        return list(self.itos)


def split_tunes(n: int, val_frac: float = 0.1, seed: int = 1337) -> tuple[list[int], list[int]]:
    """Seeded, deterministic split of tune indices; at least one tune on each side."""
    if n < 2:
        raise ValueError(f"need at least 2 tunes to split into train and val, got {n}")
    order = list(range(n))
    random.Random(seed).shuffle(order)
    n_val = min(max(1, round(n * val_frac)), n - 1)
    return sorted(order[n_val:]), sorted(order[:n_val])


def fingerprint(tunes: list[str]) -> str:
    h = hashlib.sha256()
    for t in tunes:
        h.update(t.encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()


@dataclass
class TuneSet:
    """Tunes encoded once into one flat tensor; ``offsets[i]`` is where tune i starts."""
    flat: torch.Tensor      # (N,) long, every wrapped tune back to back
    offsets: torch.Tensor   # (n_tunes,) long
    lengths: torch.Tensor   # (n_tunes,) long

    @classmethod
    def build(cls, tunes: list[str], vocab: Vocab) -> "TuneSet":
        enc = [torch.tensor(vocab.encode(wrap(t)), dtype=torch.long) for t in tunes]
        lengths = torch.tensor([len(e) for e in enc], dtype=torch.long)
        offsets = torch.cumsum(lengths, 0) - lengths
        return cls(torch.cat(enc), offsets, lengths)

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
        chunk = self.flat[(self.offsets[t][:, None] + pos).clamp(max=len(self.flat) - 1)]
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
