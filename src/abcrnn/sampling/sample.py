"""Sampling: prime, temperature (0 = greedy), top-k / top-p, batched, stop at <end>.

The prime is fed once; after that the recurrent state is carried step by step,
so each new character costs one step of the network, never a re-read of the prefix.
That step is step.Stepper's hand-rolled cell on the model's own weights (with
layer 0's input projection looked up from a table), not a call of ``nn.LSTM``.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import torch

from abcrnn.notation.tunes import END, START, format_tunebook, strip_markers
from abcrnn.model.vocab import Vocab
from abcrnn.model.charrnn import CharRNN
from abcrnn.model.step import Stepper

MAX_LEN_CAP = 20_000     # characters per tune
NUM_TUNES_CAP = 1_000    # tunes per batch


@dataclass
class Generated:
    text: str      # prime + generated characters, markers included
    ended: bool    # True if the model wrote <end>, False if max_len stopped it


def check_params(temperature: float, top_k: int, top_p: float, max_len: int, num_tunes: int) -> None:
    """Raise ValueError with a user-facing message for any out-of-range setting."""
    if not (isinstance(temperature, (int, float)) and math.isfinite(temperature) and temperature >= 0):
        raise ValueError(f"temperature must be a finite number >= 0 (0 = greedy), got {temperature}")
    if top_k < 0:
        raise ValueError(f"top-k must be >= 0 (0 = off), got {top_k}")
    if not (0 < top_p <= 1):
        raise ValueError(f"top-p must be in (0, 1], got {top_p}")
    if not 1 <= max_len <= MAX_LEN_CAP:
        raise ValueError(f"max-len must be between 1 and {MAX_LEN_CAP}, got {max_len}")
    if not 1 <= num_tunes <= NUM_TUNES_CAP:
        raise ValueError(f"num-tunes must be between 1 and {NUM_TUNES_CAP}, got {num_tunes}")


def full_prime(prime: str) -> str:
    """Tunes in training begin with ``<start>\\n``; a prime that lacks it gets it."""
    prime = prime.replace("\r\n", "\n")
    if prime.startswith(START):
        prime = prime[len(START):].lstrip("\n")
    return f"{START}\n{prime}"


def pick(logits: torch.Tensor, temperature: float, top_k: int, top_p: float,
         gen: torch.Generator | None) -> torch.Tensor:
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


def draw(probs: torch.Tensor, gen: torch.Generator | None) -> torch.Tensor:
    """One id per row of ``probs`` (B, V), by inverse CDF from one uniform per row.

    ``torch.multinomial`` draws an exponential variate for every entry (B x V per
    step; a quarter of a 64-row sampling step here, docs/BENCHMARKS.md); this draws B.
    Exact in distribution: id k is chosen when u * total falls in [cdf[k-1], cdf[k]),
    an interval as long as probs[k], so a zero-probability id (masked by top-k/p or
    the guide) is never chosen. The cdf is in float64 so rounding cannot matter."""
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


def _select(state, rows):
    """Copy of the rows ``rows`` of a per-layer recurrent state."""
    return [tuple(t[:, rows].clone() for t in s) if isinstance(s, tuple) else s[:, rows].clone()
            for s in state]


def _put(state, rows, values):
    for s, v in zip(state, values):
        if isinstance(s, tuple):
            for t, u in zip(s, v):
                t[:, rows] = u
        else:
            s[:, rows] = v


@torch.inference_mode()
def sample(model: CharRNN, vocab: Vocab, prime: str = START, num_tunes: int = 1, max_len: int = 3000,
           temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0, seed: int = 1337,
           device: str | torch.device = "cpu", *, guide: bool, fast: bool = True,
           stop_at_end: bool = True, deadline: float | None = None) -> list[Generated]:
    """Sample ``num_tunes`` continuations of ``prime`` in one batch.

    With ``guide`` the ABC structure guide (guide.py) masks characters that would
    break the tune and redraws bars or lines that do not add up or do not play
    (no default: the public API, abcrnn.load_model(...).generate, guides by default,
    the study's plain sampling does not). ``deadline`` (a time.monotonic() value)
    stops a generation that runs past it with GenerationTimeout.
    ``fast=False`` steps through ``model.forward`` instead of step.Stepper (the
    reference path: same text up to float rounding). ``stop_at_end=False`` (plain
    sampling only) always draws ``max_len`` characters, for fixed-size benchmarks.
    """
    check_params(temperature, top_k, top_p, max_len, num_tunes)
    prime = full_prime(prime)
    prime_ids = vocab.encode(prime)           # raises VocabError naming unknown characters
    model.eval()
    gen = torch.Generator(device=device).manual_seed(seed)
    x = torch.tensor(prime_ids, device=device).repeat(num_tunes, 1)        # (B, P)
    logits, _, state = model(x)               # the prime in one call of the model
    step = Stepper(model).step if fast and isinstance(model, CharRNN) else _forward_step(model)
    if deadline is not None:
        step = _with_deadline(step, deadline)
    if guide:
        return _sample_guided(step, vocab, prime, logits[:, -1], state, max_len,
                              (temperature, top_k, top_p, gen))
    return _sample_plain(step, vocab, prime, x, logits[:, -1], state, max_len,
                         (temperature, top_k, top_p, gen), stop_at_end)


class GenerationTimeout(TimeoutError):
    """A generation ran past its deadline (sample(deadline=...))."""


def _with_deadline(step, deadline: float):
    """The step, checking the clock first, so a generation stops between two steps."""
    def timed(ids, state):
        if time.monotonic() > deadline:
            raise GenerationTimeout("generation ran past its deadline")
        return step(ids, state)
    return timed


def _forward_step(model):
    """The reference step through ``model.forward``, for any model with CharRNN's call
    signature (the fast Stepper needs a CharRNN's weights)."""
    def step(ids, state):
        logits, _, state = model(ids[:, None], state=state)
        return logits[:, -1].clone(), state
    return step


def _sample_plain(step, vocab, prime, x, last, state, max_len, how,
                  stop_at_end: bool = True) -> list[Generated]:
    B, device = x.size(0), x.device
    end_ids = (torch.tensor(vocab.encode(END), device=device)
               if stop_at_end and not vocab.missing(END) else None)
    n_end = len(END)
    # seq holds the prime's last n_end - 1 ids (or -1), then the generated ids
    seq = torch.full((B, n_end - 1 + max_len), -1, dtype=torch.long, device=device)
    k = min(n_end - 1, x.size(1))
    seq[:, n_end - 1 - k:n_end - 1] = x[:, x.size(1) - k:]
    lengths = torch.full((B,), max_len, dtype=torch.long, device=device)
    done = torch.zeros(B, dtype=torch.bool, device=device)
    for t in range(max_len):
        nxt = pick(last, *how)                                            # (B,)
        seq[:, n_end - 1 + t] = nxt
        # "<end>" can only be complete when its last character was just drawn:
        # one cheap test per step, the full comparison only then
        if end_ids is not None and bool((nxt == end_ids[-1]).any()):
            just = (seq[:, t:t + n_end] == end_ids).all(1) & ~done        # (B,)
            lengths[just] = t + 1
            done |= just
            if bool(done.all()):
                break
        last, state = step(nxt, state)                                    # (B, V)
    # plain lists: decoding then reads Python ints, not one tensor element at a time
    out, lengths, done = seq[:, n_end - 1:].tolist(), lengths.tolist(), done.tolist()
    return [Generated(prime + vocab.decode(out[b][: lengths[b]]), done[b]) for b in range(B)]


def _sample_guided(step, vocab, prime, last, state, max_len, how) -> list[Generated]:
    """Step all rows together; a row sent back by the guide restores the recurrent
    state and logits saved where its bar or line began."""
    from abcrnn.sampling.guide import CHAR, KEEP, LINE, AbcGuide
    B, every = last.size(0), list(range(last.size(0)))
    g = AbcGuide(vocab, prime, B)
    n_prime = len(g.rows[0].text)
    # snapshots at each row's bar mark and line mark: (state, logits)
    snap = {"bar": (_select(state, every), last.clone()), "line": (_select(state, every), last.clone())}
    active, ended = [True] * B, [False] * B
    for _ in range(4 * max_len):                      # redraws are bounded too
        rows = [b for b in every if active[b]]
        if not rows:
            break
        masked = last.clone()
        for b, allowed in g.mask_rows().items():
            keep = torch.tensor([vocab.stoi[c] for c in allowed], device=last.device)
            masked[b] = torch.full_like(last[b], float("-inf")).index_copy(0, keep, last[b, keep])
        nxt = pick(masked, *how)                                          # (B,)
        marks = [(g.rows[b].bar_mark, g.rows[b].line_mark) for b in every]
        verdicts = {b: g.step(b, vocab.itos[int(nxt[b])]) for b in rows}
        for b in rows:          # a mark that moved now stands here: save this state and logits
            for key, i in (("bar", 0), ("line", 1)):
                if verdicts[b] == KEEP and (g.rows[b].bar_mark, g.rows[b].line_mark)[i] != marks[b][i]:
                    _put(snap[key][0], [b], _select(state, [b]))
                    snap[key][1][b] = last[b]
        refused = [b for b in rows if verdicts[b] == CHAR]
        kept_state = _select(state, refused) if refused else None
        old_last = last
        last, state = step(nxt, state)                                    # (B, V)
        if refused:             # same place again: the step is undone, the guide bans the char
            _put(state, refused, kept_state)
            last[refused] = old_last[refused]
        for b in rows:
            v, text = verdicts[b], g.rows[b].text
            if v == CHAR:
                continue
            if v != KEEP:       # back to the mark: its state and logits replace this step's
                key = "line" if v == LINE else "bar"
                _put(state, [b], _select(snap[key][0], [b]))
                last[b] = snap[key][1][b]
                if key == "line":                     # the bar mark moved back with it
                    _put(snap["bar"][0], [b], _select(snap["line"][0], [b]))
                    snap["bar"][1][b] = snap["line"][1][b]
            elif text.endswith(END):
                active[b], ended[b] = False, True
            elif len(text) - n_prime >= max_len:
                active[b] = False
    return [Generated(f"{START}\n{g.rows[b].text}", ended[b]) for b in every]


def tunes_to_abc(samples: list[Generated], first_x: int = 1) -> str:
    """Clean ABC for a batch of samples: markers stripped, numbered, blank-line separated."""
    return format_tunebook([strip_markers(s.text) for s in samples], first_x)
