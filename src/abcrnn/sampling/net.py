"""The network as the sampler drives it: every row of a batch one character at a time,
with its recurrent state, its next-character logits and (optionally) its neural cache,
and rows that can be saved and put back (the guide sends rows back to an earlier bar
or line, or takes a step back).

The step is step.Stepper's hand-rolled cell on the model's own weights (``fast``), or
``model.forward`` one character at a time (the reference path, same numbers up to
float rounding). The prime is read once, in one call of the model.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from abcrnn.model.cache import CacheConfig, SamplingCache
from abcrnn.model.charrnn import CharRNN
from abcrnn.model.step import Stepper


@dataclass
class Generated:
    text: str      # prime + generated characters, markers included
    ended: bool    # True if the model wrote <end>, False if max_len stopped it


class GenerationTimeout(TimeoutError):
    """A generation ran past its deadline (sample(deadline=...))."""


def select(state, rows):
    """Copy of the rows ``rows`` of a per-layer recurrent state."""
    return [tuple(t[:, rows].clone() for t in s) if isinstance(s, tuple) else s[:, rows].clone()
            for s in state]


def put(state, rows, values):
    for s, v in zip(state, values):
        if isinstance(s, tuple):
            for t, u in zip(s, v):
                t[:, rows] = u
        else:
            s[:, rows] = v


PROGRESS_EVERY = 100      # steps between progress calls (a step is ~0.1-10 ms)


class Net:
    """``last`` (B, V): logits of the next character of every row (the cache mixed in)."""

    @torch.inference_mode()
    def __init__(self, model, prime_ids: list[int], rows: int, device, fast: bool = True,
                 cache: CacheConfig | None = None, deadline: float | None = None):
        self.deadline, self.model = deadline, model
        # progress(finished, rows) every PROGRESS_EVERY steps, if set; the sampling
        # loops count the finished tunes
        self.progress, self.finished, self.rows, self.steps = None, 0, rows, 0
        use_cache = cache is not None and cache.lam > 0
        x = torch.tensor(prime_ids, device=device).repeat(rows, 1)           # (B, P)
        self.x = x
        if use_cache:                                                       # the prime at once
            logits, _, self.state, h = model(x, return_hidden=True)
            self.h = h[:, -1].contiguous()                                  # (B, H)
        else:
            logits, _, self.state = model(x)
            self.h = torch.zeros(rows, 1, device=device)
        self.last = logits[:, -1]                                           # (B, V)
        stepper = Stepper(model) if fast and isinstance(model, CharRNN) else None
        self.step_fn = stepper.step_hidden if stepper else _forward_step(model, use_cache)
        self.cache = (SamplingCache(cache, rows, self.h.size(-1), logits.size(-1), device)
                      if use_cache else None)

    @torch.inference_mode()
    def feed(self, ids: torch.Tensor) -> None:
        """Every row reads its character ids[b] (B,)."""
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise GenerationTimeout("generation ran past its deadline")
        self.steps += 1
        if self.progress is not None and self.steps % PROGRESS_EVERY == 0:
            self.progress(self.finished, self.rows)
        if self.cache is not None:
            self.cache.push(self.h, ids)          # the pair (output that predicted it, it)
        logits, self.state, h = self.step_fn(ids, self.state)
        if self.cache is not None:
            logits = self.cache.mix(logits, h)
            self.h = h
        self.last = logits

    def keep(self, rows: list[int]) -> None:
        """Only these rows go on: the batch shrinks to them (in this order)."""
        self.state = select(self.state, rows)
        self.last, self.h = self.last[rows].clone(), self.h[rows].clone()
        if self.cache is not None:
            self.cache.keep(rows)

    def save(self, rows: list[int]) -> tuple:
        """The rows' state, logits, output and cache length, to put back later."""
        n = self.cache.n[rows].clone() if self.cache is not None else None
        return select(self.state, rows), self.last[rows].clone(), self.h[rows].clone(), n

    def restore(self, rows: list[int], saved: tuple) -> None:
        state, last, h, n = saved
        put(self.state, rows, state)
        self.last[rows], self.h[rows] = last, h
        if self.cache is not None:
            self.cache.n[rows] = n


class Marks:
    """A saved place for every row (the guide's bar or line mark): Net.save of all rows,
    updated row by row."""

    def __init__(self, net: Net):
        self.saved = net.save(list(range(net.last.size(0))))

    def set(self, b: int, net: Net) -> None:
        state, last, h, n = net.save([b])
        put(self.saved[0], [b], state)
        self.saved[1][b], self.saved[2][b] = last[0], h[0]
        if n is not None:
            self.saved[3][b] = n[0]

    def keep(self, rows: list[int]) -> None:
        state, last, h, n = self.saved
        self.saved = (select(state, rows), last[rows].clone(), h[rows].clone(),
                      None if n is None else n[rows].clone())

    def copy_from(self, b: int, other: Marks) -> None:
        put(self.saved[0], [b], select(other.saved[0], [b]))
        for i in (1, 2, 3):
            if self.saved[i] is not None:
                self.saved[i][b] = other.saved[i][b]

    def restore(self, b: int, net: Net) -> None:
        state, last, h, n = self.saved
        net.restore([b], (select(state, [b]), last[[b]], h[[b]], None if n is None else n[[b]]))


def _forward_step(model, hidden: bool):
    """The reference step through ``model.forward``, for any model with CharRNN's call
    signature (the fast Stepper needs a CharRNN's weights); the top output only if asked."""
    def step(ids, state):
        if not hidden:
            logits, _, state = model(ids[:, None], state=state)
            return logits[:, -1].clone(), state, None
        logits, _, state, h = model(ids[:, None], state=state, return_hidden=True)
        return logits[:, -1].clone(), state, h[:, -1].clone()
    return step
