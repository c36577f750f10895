"""Diversity and self-repetition of a set of tunes, for the temperature study.

* distinct-n - the share of distinct character n-grams among all character
  n-grams, pooled over the tunes' bodies (the music after ``K:``, as
  ``evaluate.body_text`` gives it; newlines count as characters). 1.0 means no
  n-gram occurs twice anywhere in the set; low values mean the tunes repeat
  themselves or each other. Pooled means it falls as the pooled text grows, so
  compare sets of similar total length (the study reports mean length beside it).
  ``None`` when the bodies hold no n-gram at all.
* repeated bars - the share of bars that repeat, character for character
  (spaces ignored), an earlier bar of the *same* tune; bars are those of
  ``notation.form.restated_bars`` (the lexer's bars of the music), pooled over the tunes. Folk tunes
  repeat bars on purpose (the corpus is the reference); a sampler stuck in a
  loop pushes the share towards 100%. ``None`` when there is no bar at all.
"""
from __future__ import annotations

from abcrnn.notation.form import restated_bars
from abcrnn.music.evaluate import body_text

DISTINCT_N = (4, 8)


def distinct_n(bodies: list[str], n: int) -> float | None:
    """Distinct n-grams / all n-grams, pooled over ``bodies``."""
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    seen: set[str] = set()
    total = 0
    for text in bodies:
        grams = [text[i:i + n] for i in range(len(text) - n + 1)]
        total += len(grams)
        seen.update(grams)
    return len(seen) / total if total else None


def repeated_bar_share(tunes: list[str]) -> float | None:
    """Pooled share of repeated bars over ``tunes`` (0..1)."""
    counts = [restated_bars(t) for t in tunes]
    total = sum(n for _, n in counts)
    return sum(r for r, _ in counts) / total if total else None


def diversity(tunes: list[str]) -> dict:
    """distinct_4, distinct_8 (0..1), pct_repeated_bars (%), n_bars, longest_body
    and mean_chars of ``tunes``."""
    bodies = [body_text(t) for t in tunes]
    out: dict = {f"distinct_{n}": distinct_n(bodies, n) for n in DISTINCT_N}
    out["longest_body"] = max(map(len, bodies), default=0)     # distinct-n is None below n
    counts = [restated_bars(t) for t in tunes]
    out["n_bars"] = sum(n for _, n in counts)
    out["pct_repeated_bars"] = 100 * sum(r for r, _ in counts) / out["n_bars"] if out["n_bars"] else None
    out["mean_chars"] = sum(map(len, tunes)) / len(tunes) if tunes else None
    return out


def grouped_distinct(tunes: list[str], group_size: int, seed: int) -> dict:
    """distinct-n of the corpus made comparable with a study of ``group_size`` tunes:
    the mean over disjoint groups of ``group_size`` tunes of a seeded shuffle."""
    import random
    order = list(tunes)
    random.Random(seed).shuffle(order)
    groups = [order[i:i + group_size] for i in range(0, len(order) - group_size + 1, group_size)]
    groups = groups or [order]          # a corpus smaller than one group: all of it
    out = {}
    for n in DISTINCT_N:
        values = [v for g in groups if (v := distinct_n([body_text(t) for t in g], n)) is not None]
        out[f"distinct_{n}"] = sum(values) / len(values) if values else None
    out["distinct_groups"] = len(groups)
    return out
