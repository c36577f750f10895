"""Drawing the next character: temperature (0 = greedy), top-k, top-p, and one uniform
per row from that row's own random stream (so a tune does not depend on the others
drawn beside it: tune i of a batch seeded s is the tune seed s + i gives alone)."""
from __future__ import annotations

import torch


class Streams:
    """One random stream per row: row b is seeded ``seed + b``."""

    def __init__(self, seed: int, rows: int, device="cpu"):
        self.seed = seed
        self.gens = [torch.Generator(device=device).manual_seed(seed + b) for b in range(rows)]
        self.device = device

    def keep(self, rows: list[int]) -> None:
        """Only these rows go on (the batch was compacted)."""
        self.gens = [self.gens[i] for i in rows]

    def uniform(self) -> torch.Tensor:
        """One uniform in [0, 1) per row: (B, 1) float64."""
        return torch.cat([torch.rand(1, 1, generator=g, device=self.device, dtype=torch.float64)
                          for g in self.gens])


def pick(logits: torch.Tensor, temperature: float, top_k: int, top_p: float,
         gen: Streams | torch.Generator | None) -> torch.Tensor:
    """Next ids (B,) from logits (B, V)."""
    if temperature == 0:
        return logits.argmax(-1)
    logits = logits.float()
    if temperature != 1.0:      # x / 1.0 == x exactly: skip the op
        logits = logits / temperature
    if top_k and top_k < logits.size(-1):
        kth = torch.topk(logits, top_k, dim=-1).values[:, -1:]            # (B, 1)
        logits = logits.masked_fill(logits < kth, float("-inf"))
    probs = torch.softmax(logits, -1)
    if top_p < 1.0:
        sorted_p, order = probs.sort(-1, descending=True)
        drop = sorted_p.cumsum(-1) - sorted_p > top_p                     # keeps the first always
        sorted_p = sorted_p.masked_fill(drop, 0.0)
        probs = torch.zeros_like(probs).scatter(-1, order, sorted_p)
    return draw(probs, gen)


def draw(probs: torch.Tensor, gen: Streams | torch.Generator | None) -> torch.Tensor:
    """One id per row of ``probs`` (B, V), by inverse CDF from one uniform per row.

    ``torch.multinomial`` draws an exponential variate for every entry (B x V per
    step; a quarter of a 64-row sampling step here, docs/BENCHMARKS.md); this draws B.
    Exact in distribution: id k is chosen when u * total falls in [cdf[k-1], cdf[k]),
    an interval as long as probs[k], so a zero-probability id (masked by top-k/p or
    the guide) is never chosen. The cdf is in float64 so rounding cannot matter."""
    if isinstance(gen, Streams):
        u = gen.uniform()
    else:
        u = torch.rand(probs.size(0), 1, generator=gen, device=probs.device, dtype=torch.float64)
    return inverse_cdf(probs, u)


def inverse_cdf(probs: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Ids (B,) for probs (B, V) (any scale) and uniforms u (B, 1) in [0, 1)."""
    cdf = probs.double().cumsum(-1)                                       # (B, V)
    total = cdf[:, -1:]                                                   # (B, 1)
    if not bool((total > 0).all()):      # as torch.multinomial: no silent pick from nothing
        raise ValueError("cannot draw from a row whose probabilities are all zero or NaN")
    # strictly below the total even if u * total rounds up to it: then the last id
    # with nonzero probability is chosen, never one past it
    target = torch.minimum(u * total, torch.nextafter(total, torch.zeros_like(total)))
    return torch.searchsorted(cdf, target, right=True).squeeze(-1)        # (B,)
