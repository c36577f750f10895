"""Tunes as arrays of character ids, one compact array for a whole corpus (numpy,
no torch): what the encoded-corpus cache stores and training reads."""
from __future__ import annotations

import numpy as np

from abcrnn.notation.tunes import wrap

_CHUNK = 1 << 20        # characters encoded at a time: bounds encode_tunes' scratch memory


def compact_dtype(vocab_size: int) -> np.dtype:
    """The smallest integer type that holds every id: 1 byte a character up to 256."""
    return np.dtype(np.uint8 if vocab_size <= 256 else np.int16 if vocab_size <= 32767 else np.int32)


def encode_tunes(tunes: list[str], vocab) -> tuple[np.ndarray, np.ndarray]:
    """Every wrapped tune's ids back to back (compact dtype) and each one's length.

    ``vocab`` is a model.vocab.Vocab (its ``itos``; its ``encode`` names characters
    it lacks). Vectorised: a chunk of text becomes its code points (UTF-32) and a sorted
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
