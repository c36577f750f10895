"""The tune-level train/validation split and a corpus's fingerprint. No torch here."""
from __future__ import annotations

import hashlib
import random


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
