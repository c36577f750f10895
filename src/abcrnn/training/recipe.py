"""The default recipe: the settings a user leaves unset, chosen from the corpus's size
and the time budget, with the reason said at the start of the run.

Without ``--minutes`` a run is a quick one (2,000 steps): a 1 x 256 LSTM on short
slices with a high learning rate, the recipe tuned for time to quality on a small
CPU (docs/BENCHMARKS.md). With a budget, the recipe estimates how many passes over
the training tunes and how many steps each shape of model would make in it, and
takes the largest shape that still makes ``MIN_PASSES`` and ``MIN_STEPS`` (a big
model that takes few steps in the budget ends worse than a small one that converged).
The speeds are measured on the machine at the start (``measure``: a few training
steps of each candidate, a few seconds, not counted in the budget), since a shared
CPU, another thread count or a GPU changes them by several times; the table's speeds
(one core of this project's CPU) only order the shapes. The more passes the model
makes, the more it must be kept from learning the tunes by heart: dropout and key
augmentation (each training tune added in nearby keys) grow with them, and runs
stop early when validation has not improved for a while. Every choice can be
overridden by its flag. The figures behind it are in docs/RESULTS.md ("Training
recipe").
"""
from __future__ import annotations

from dataclasses import replace

# name, settings, training characters per second on one core of this project's CPU
SHAPES = (
    ("1 x 256", dict(hidden_size=256, num_layers=1, seq_len=64, batch_size=16, lr=8e-3,
                     warmup_steps=20), 35_000),
    ("1 x 512", dict(hidden_size=512, num_layers=1, seq_len=128, batch_size=32, lr=4e-3,
                     warmup_steps=40), 14_000),
    ("2 x 384", dict(hidden_size=384, num_layers=2, seq_len=256, batch_size=32, lr=3e-3,
                     warmup_steps=50), 5_500),
)
MIN_PASSES = 4.0
MIN_STEPS = 1000
# passes over the training tunes -> (dropout, keys of augmentation)
REGULARISE = ((20.0, 0.2, 4), (8.0, 0.1, 2), (0.0, 0.0, 0))
PATIENCE = 8                      # evaluations without improvement (about a quarter of the budget)
QUICK = dict(SHAPES[0][1], dropout=0.0, augment_keys=0, patience=0)


def table_speed(name: str, settings: dict) -> float:
    return next(v for n, _, v in SHAPES if n == name)


def choose(minutes: float, train_chars: int, cell: str = "lstm", speed=table_speed) -> tuple[dict, str]:
    """(settings, reason) for a budget of ``minutes`` (0: a quick step-capped run).
    ``speed(name, settings)``: training characters per second of a shape, asked from
    the largest shape down until one is fast enough."""
    if not minutes:
        return dict(QUICK), f"no --minutes: a quick run of 2000 steps (1 x 256 {cell.upper()}, lr 8e-3)"
    for name, settings, _ in reversed(SHAPES):
        cps = speed(name, settings)
        chars = minutes * 60 * cps
        passes, steps = chars / max(1, train_chars), chars / (settings["batch_size"] * settings["seq_len"])
        if passes >= MIN_PASSES and steps >= MIN_STEPS:
            break
    dropout, keys = next((d, k) for limit, d, k in REGULARISE if passes >= limit)
    chosen = dict(settings, dropout=dropout, augment_keys=keys, patience=PATIENCE)
    reason = (f"{train_chars:,} training characters, {minutes:g} minutes at {cps:,.0f} characters/s "
              f"({'measured' if getattr(speed, 'measured', False) else 'estimated'}): {name} {cell.upper()}, about {steps:,.0f} steps and {passes:.0f} passes over "
              f"the tunes, so dropout {dropout:g}" + (f" and {keys} keys of augmentation" if keys else "")
              + f"; stop after {PATIENCE} evaluations without improvement")
    return chosen, reason


def measure(cell: str, vocab_size: int, device, embed_size: int = 64, train_chars: int = 0,
            minutes: float = 0.0):
    """A speed(name, settings) for choose(): training characters per second of the shape
    here and now (random characters: the speed does not depend on them), the best of
    two timed steps of forward, backward and Adam after one to warm up. The smallest
    shape is measured first; a larger one whose speed, scaled from the table by what
    the smallest showed, is far from enough for the budget is not measured at all."""
    import time

    import torch

    from abcrnn.model.charrnn import CharRNN
    from abcrnn.model.config import ModelConfig

    def timed(settings: dict) -> float:
        cfg = ModelConfig(vocab_size, cell, settings["hidden_size"], settings["num_layers"], 0.0, embed_size)
        model = CharRNN(cfg).to(device)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        gen = torch.Generator().manual_seed(0)
        x = torch.randint(vocab_size, (settings["batch_size"], settings["seq_len"] + 1), generator=gen).to(device)
        took = []
        for k in range(3):
            t = time.perf_counter()
            _, loss, _ = model(x[:, :-1], x[:, 1:])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if device.type == "cuda":
                torch.cuda.synchronize()
            if k:
                took.append(time.perf_counter() - t)
        return settings["batch_size"] * settings["seq_len"] / min(took)

    small_name, small, small_table = SHAPES[0]
    scale = timed(small) / small_table

    def speed(name: str, settings: dict) -> float:
        guess = table_speed(name, settings) * scale
        if name == small_name:
            return guess
        chars = minutes * 60 * guess
        hopeless = (chars / max(1, train_chars) < MIN_PASSES / 2
                    or chars / (settings["batch_size"] * settings["seq_len"]) < MIN_STEPS / 2)
        return guess if hopeless else timed(settings)
    speed.measured = True
    return speed


def resolve(cfg, train_chars: int, speed=table_speed):
    """The config with every unset (None) recipe setting filled in, and the reason (""
    when the user set them all)."""
    chosen, reason = choose(cfg.minutes, train_chars, cfg.cell,
                            speed if any(getattr(cfg, k) is None for k in SHAPES[0][1]) else table_speed)
    unset = {k: v for k, v in chosen.items() if getattr(cfg, k) is None}
    if cfg.split_seed is None:
        unset["split_seed"] = cfg.seed
    if cfg.eval_interval is None and not cfg.minutes:
        unset["eval_interval"] = 150          # with a budget: about 30 evaluations in it (loop.py)
    done = replace(cfg, **unset)
    picked = [k for k in chosen if k in unset]
    if not cfg.minutes:             # say the run as it will be, flags given included
        reason = (f"no --minutes: a quick run of {done.steps_cap} steps ({done.num_layers} x "
                  f"{done.hidden_size} {done.cell.upper()}, lr {done.lr:g})")
    return done, (f"recipe: {reason} (set by the recipe: {', '.join(picked)})" if picked else "")
