"""Character vocabulary, the tune-level train/val split, and batches."""
from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

import numpy as np
import torch

from .abc import wrap

_CHUNK = 1 << 20        # characters encoded at a time: bounds encode_tunes' scratch memory


class VocabError(ValueError):
    """Text holds characters the vocabulary lacks."""


class Vocab:
    def __init__(self, chars: list[str]):
        self.itos = list(chars)
        self.stoi = {c: i for i, c in enumerate(self.itos)}

    @classmethod
    def from_texts(cls, texts: list[str]) -> "Vocab":
        chars: set[str] = set()
        for t in texts:         # text by text: no copy of a whole corpus joined together
            chars.update(t)
        return cls(sorted(chars))

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


def compact_dtype(vocab_size: int) -> np.dtype:
    """The smallest integer type that holds every id: 1 byte a character up to 256."""
    return np.dtype(np.uint8 if vocab_size <= 256 else np.int16 if vocab_size <= 32767 else np.int32)


def encode_tunes(tunes: list[str], vocab: Vocab) -> tuple[np.ndarray, np.ndarray]:
    """Every wrapped tune's ids back to back (compact dtype) and each one's length.

    Vectorised: a chunk of text becomes its code points (UTF-32) and a sorted
    lookup maps them to ids, so no Python runs per character."""
    codes = np.array([ord(c) for c in vocab.itos], dtype=np.uint32)
    order = np.argsort(codes)
    sorted_codes = codes[order]
    lengths = np.array([len(t) for t in tunes], dtype=np.int64) + len(wrap(""))
    flat = np.empty(int(lengths.sum()), dtype=compact_dtype(len(vocab)))
    pos, i = 0, 0
    while i < len(tunes):
        j, size = i, 0
        while j < len(tunes) and (size == 0 or size + lengths[j] <= _CHUNK):
            size, j = size + int(lengths[j]), j + 1
        text = "".join(wrap(t) for t in tunes[i:j])
        cp = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)       # (size,)
        at = np.minimum(np.searchsorted(sorted_codes, cp), max(len(codes) - 1, 0))
        if len(codes) == 0 or not np.array_equal(sorted_codes[at], cp):
            vocab.encode(text)          # raises VocabError naming the characters
        flat[pos:pos + size] = order[at]
        pos, i = pos + size, j
    return flat, lengths


@dataclass
class TuneSet:
    """Tunes encoded once into one flat tensor; ``offsets[i]`` is where tune i starts.

    ``flat`` keeps the compact dtype of compact_dtype (uint8 for up to 256
    characters, an eighth of int64's memory); batches widen it to int64."""
    flat: torch.Tensor      # (N,) uint8/int16/int32, every wrapped tune back to back
    offsets: torch.Tensor   # (n_tunes,) long
    lengths: torch.Tensor   # (n_tunes,) long

    @classmethod
    def build(cls, tunes: list[str], vocab: Vocab) -> "TuneSet":
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
