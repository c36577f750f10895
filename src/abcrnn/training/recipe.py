"""The default recipe: the settings a user leaves unset, chosen from the corpus's size
and the time budget, with the reason said at the start of the run.

Without ``--minutes`` a run is a quick one (2,000 steps): a 1 x 256 LSTM on short
slices with a high learning rate, the recipe tuned for time to quality on a small
CPU (docs/BENCHMARKS.md). With a budget, the recipe estimates how many passes over
the training tunes each shape of model would make in it (``PASSES_PER_MINUTE``
comes from its speed on this project's 2-core CPU, one thread) and takes the
largest shape that still makes ``MIN_PASSES``; the more passes it makes, the more it
must be kept from learning the tunes by heart: dropout and key augmentation (each
training tune added in nearby keys) grow with them, and long runs stop early when
validation has not improved for a while. Every choice can be overridden by its flag.
The figures behind the table are in docs/RESULTS.md ("Training recipe").
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
# passes over the training tunes -> (dropout, keys of augmentation)
REGULARISE = ((20.0, 0.2, 4), (8.0, 0.1, 2), (0.0, 0.0, 0))
PATIENCE = 8                      # evaluations without improvement (about a quarter of the budget)
QUICK = dict(SHAPES[0][1], dropout=0.0, augment_keys=0, patience=0)


def choose(minutes: float, train_chars: int, cell: str = "lstm") -> tuple[dict, str]:
    """(settings, reason) for a budget of ``minutes`` (0: a quick step-capped run)."""
    if not minutes:
        return dict(QUICK), f"no --minutes: a quick run of 2000 steps (1 x 256 {cell.upper()}, lr 8e-3)"
    passes = {name: minutes * 60 * speed / max(1, train_chars) for name, _, speed in SHAPES}
    name, settings, _ = next(((n, s, v) for n, s, v in reversed(SHAPES) if passes[n] >= MIN_PASSES),
                             SHAPES[0])
    p = passes[name]
    dropout, keys = next((d, k) for limit, d, k in REGULARISE if p >= limit)
    chosen = dict(settings, dropout=dropout, augment_keys=keys, patience=PATIENCE)
    reason = (f"{train_chars:,} training characters, {minutes:g} minutes: {name} {cell.upper()}, about "
              f"{p:.0f} passes over the tunes, so dropout {dropout:g}"
              + (f" and {keys} keys of augmentation" if keys else "")
              + f"; stop after {PATIENCE} evaluations without improvement")
    return chosen, reason


def resolve(cfg, train_chars: int):
    """The config with every unset (None) recipe setting filled in, and the reason (""
    when the user set them all)."""
    chosen, reason = choose(cfg.minutes, train_chars, cfg.cell)
    unset = {k: v for k, v in chosen.items() if getattr(cfg, k) is None}
    if cfg.split_seed is None:
        unset["split_seed"] = cfg.seed
    if cfg.eval_interval is None and not cfg.minutes:
        unset["eval_interval"] = 150          # with a budget: about 30 evaluations in it (loop.py)
    done = replace(cfg, **unset)
    picked = [k for k in chosen if k in unset]
    return done, (f"recipe: {reason} (set by the recipe: {', '.join(picked)})" if picked else "")
