"""Sampling: prime, temperature (0 = greedy), top-k / top-p, batched, stop at <end>.

The prime is fed once; after that the recurrent state is carried step by step
(net.py), so each new character costs one step of the network, never a re-read of
the prefix. Plain sampling is here; guided sampling is guided.py's loop.
"""
from __future__ import annotations

import math
import torch

from abcrnn.model.cache import CacheConfig
from abcrnn.model.charrnn import CharRNN
from abcrnn.model.vocab import Vocab
from abcrnn.notation.tunes import END, START, format_tunebook, strip_markers
from abcrnn.sampling.draw import Streams, pick
from abcrnn.sampling.net import Generated, Net

MAX_LEN_CAP = 20_000     # characters per tune
NUM_TUNES_CAP = 1_000    # tunes per batch


# logits / temperature in float32 stays finite for logits up to ~1e32 * MIN_TEMPERATURE;
# below it sampling is greedy in all but name, and 0 says so.
MIN_TEMPERATURE = 1e-6


def check_params(temperature: float, top_k: int, top_p: float, max_len: int, num_tunes: int) -> None:
    """Raise ValueError with a user-facing message for any out-of-range setting."""
    if not (isinstance(temperature, (int, float)) and math.isfinite(temperature) and temperature >= 0):
        raise ValueError(f"temperature must be a finite number >= 0 (0 = greedy), got {temperature}")
    if 0 < temperature < MIN_TEMPERATURE:
        raise ValueError(f"temperature {temperature:g} is too small to sample with (logits divided by "
                         f"it overflow); use at least {MIN_TEMPERATURE:g}, or 0 for always the "
                         "likeliest character")
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


@torch.inference_mode()
def sample(model: CharRNN, vocab: Vocab, prime: str = START, num_tunes: int = 1, max_len: int = 3000,
           temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0, seed: int = 1337,
           device: str | torch.device = "cpu", *, guide: bool, fast: bool = True,
           stop_at_end: bool = True, deadline: float | None = None,
           cache: CacheConfig | None = None, form=None, progress=None) -> list[Generated]:
    """Sample ``num_tunes`` continuations of ``prime`` in one batch; row b draws from its
    own random stream seeded ``seed + b`` (draw.Streams).

    With ``guide`` the ABC structure guide (guide.py) masks characters that would
    break the tune and redraws bars or lines that do not add up or do not play
    (no default: the public API, abcrnn.load_model(...).generate, guides by default,
    the study's plain sampling does not); ``form`` (guide only) sets the folk-form
    rules. ``cache`` mixes the neural cache (model/cache.py) into every step.
    ``deadline`` (a time.monotonic() value) stops a generation that runs past it with
    GenerationTimeout. ``fast=False`` steps through ``model.forward`` (the reference
    path). ``stop_at_end=False`` (plain sampling only) always draws ``max_len``
    characters, for fixed-size benchmarks. ``progress(finished, num_tunes)`` is called
    every few steps (net.PROGRESS_EVERY) and once at the end.
    """
    check_params(temperature, top_k, top_p, max_len, num_tunes)
    prime = full_prime(prime)
    prime_ids = vocab.encode(prime)           # raises VocabError naming unknown characters
    model.eval()
    net = Net(model, prime_ids, num_tunes, device, fast, cache, deadline)
    net.progress = progress
    how = (temperature, top_k, top_p, Streams(seed, num_tunes, device))
    if guide:
        from abcrnn.sampling.guided import sample_guided
        made = sample_guided(net, vocab, prime, max_len, how, form)
    else:
        made = _sample_plain(net, vocab, prime, max_len, how, stop_at_end)
    if progress is not None:
        progress(num_tunes, num_tunes)
    return made


def _sample_plain(net: Net, vocab, prime, max_len, how, stop_at_end: bool = True) -> list[Generated]:
    x = net.x
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
        nxt = pick(net.last, *how)                                        # (B,)
        seq[:, n_end - 1 + t] = nxt
        # "<end>" can only be complete when its last character was just drawn:
        # one cheap test per step, the full comparison only then
        if end_ids is not None and bool((nxt == end_ids[-1]).any()):
            just = (seq[:, t:t + n_end] == end_ids).all(1) & ~done        # (B,)
            lengths[just] = t + 1
            done |= just
            net.finished = int(done.sum())
            if bool(done.all()):
                break
        net.feed(nxt)
    # plain lists: decoding then reads Python ints, not one tensor element at a time
    out, lengths, done = seq[:, n_end - 1:].tolist(), lengths.tolist(), done.tolist()
    return [Generated(prime + vocab.decode(out[b][: lengths[b]]), done[b]) for b in range(B)]


def tunes_to_abc(samples: list[Generated], first_x: int = 1) -> str:
    """Clean ABC for a batch of samples: markers stripped, numbered, blank-line separated."""
    return format_tunebook([strip_markers(s.text) for s in samples], first_x)
