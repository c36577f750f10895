"""TrainConfig: every setting of a training run, with its help text, checked when it is made.

One place for each setting: the command line's flags and help (cli/core.py), the sweep
files' keys and docs/flags.md are all read from these fields and their metadata, so
they cannot drift apart. Settings left ``None`` are chosen by the recipe
(training/recipe.py) from the corpus's size and the time budget, and printed at the
start with the reason. Kept free of torch, so building the command line does not
pay torch's ~1 s import."""
from __future__ import annotations

import math
from dataclasses import MISSING, dataclass, field, fields

from abcrnn.model.config import CELL_NAMES, ModelConfig

SCHEDULES = ("constant", "cosine")
DEVICES = ("auto", "cpu", "cuda")


def setting(default, help: str, type=None, choices=None):
    """A field of TrainConfig with its help text (``type`` for settings that default to
    None, so the command line knows what to parse)."""
    return field(default=default, metadata={"help": help, "type": type or type_of(default),
                                            "choices": choices})


def type_of(value):
    return type(value) if value is not None else str


@dataclass
class TrainConfig:
    corpus: str = setting("", "the tunes to train on: a file, a folder of .abc/.txt files, or "
                              "music21:NAME (default: the bundled corpus)")
    out: str = setting("out/run", "the run folder: best model, last checkpoint, history, loss plot, split")
    cell: str = setting("lstm", "recurrent cell", choices=CELL_NAMES)
    hidden_size: int | None = setting(None, "units per layer (default: the recipe's)", int)
    num_layers: int | None = setting(None, "recurrent layers (default: the recipe's)", int)
    dropout: float | None = setting(None, "dropout on every layer's input and on the output, "
                                          "0 to <1 (default: the recipe's)", float)
    embed_size: int = setting(64, "size of the character embedding (0 = one-hot input, as the study)")
    seq_len: int | None = setting(None, "characters per training slice (default: the recipe's)", int)
    batch_size: int | None = setting(None, "slices per step, per process under torchrun "
                                           "(default: the recipe's)", int)
    lr: float | None = setting(None, "peak learning rate of AdamW (default: the recipe's)", float)
    lr_schedule: str = setting("cosine", "after the warm-up: constant, or a cosine down to --min-lr "
                                         "over the steps or the --minutes budget", choices=SCHEDULES)
    warmup_steps: int | None = setting(None, "steps of linear warm-up (default: the recipe's)", int)
    min_lr: float = setting(1e-4, "learning rate at the end of the cosine (at most --lr)")
    grad_clip: float = setting(1.0, "clip the gradient's norm to this (> 0)")
    weight_decay: float = setting(0.0, "AdamW's decoupled weight decay on the weight matrices "
                                       "(0 = plain Adam)")
    augment_keys: int | None = setting(None, "add every training tune transposed to this many nearby "
                                             "keys, 0-12 (default: the recipe's)", int)
    max_steps: int | None = setting(None, "stop after this many steps (default: 2000 without "
                                          "--minutes; no cap with it)", int)
    minutes: float = setting(0.0, "train for this long, wall clock (0 = no time budget); the "
                                  "learning-rate schedule and the evaluations follow it")
    patience: int | None = setting(None, "stop when validation has not improved for this many "
                                         "evaluations (0 = never; default: the recipe's)", int)
    target_val_loss: float = setting(0.0, "stop at the first validation loss at or below this "
                                          "(0 = never)")
    eval_interval: int | None = setting(None, "validate and checkpoint every N steps (default: 150, "
                                              "or about 30 times in a --minutes budget)", int)
    val_frac: float = setting(0.1, "share of the tunes held out for validation, in (0, 1)")
    split_seed: int | None = setting(None, "seed of the train/validation split (default: --seed)", int)
    seed: int = setting(1337, "seed of the weights, the batches and dropout")
    clean: bool = setting(False, "train and validate on the tunes abc2midi plays without error and "
                                 "whose bars add up, L: written out (the split is drawn first)")
    device: str = setting("auto", "where to train: auto (a GPU if there is one), cpu or cuda",
                          choices=DEVICES)
    threads: int = setting(0, "CPU threads for training (0 = torch's default, or $ABCRNN_THREADS)")

    def __post_init__(self):
        for ok, msg in self._checks():
            if not ok:
                name = msg.split()[0]
                got = getattr(self, name, None) if name.isidentifier() else None
                raise ValueError(msg + (f", got {got!r}" if hasattr(self, name) else ""))

    def _checks(self):
        def finite(x, lo=None, hi=None, lo_open=False):
            if x is None:
                return True
            if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
                return False
            return (lo is None or (x > lo if lo_open else x >= lo)) and (hi is None or x <= hi)

        def whole(x, lo):
            return x is None or (isinstance(x, int) and not isinstance(x, bool) and x >= lo)

        yield whole(self.hidden_size, 1) and (self.hidden_size or 0) <= 8192, "hidden_size must be 1-8192"
        yield whole(self.num_layers, 1) and (self.num_layers or 0) <= 16, "num_layers must be 1-16"
        yield finite(self.dropout, 0) and (self.dropout or 0) < 1, "dropout must be in [0, 1)"
        yield whole(self.embed_size, 0) and self.embed_size <= 4096, "embed_size must be 0-4096"
        yield whole(self.seq_len, 1) and (self.seq_len or 0) <= 100_000, "seq_len must be 1-100000"
        yield whole(self.batch_size, 1) and (self.batch_size or 0) <= 65_536, "batch_size must be 1-65536"
        yield finite(self.lr, 0, 10, lo_open=True), "lr must be a number in (0, 10]"
        yield finite(self.min_lr, 0, 10), "min_lr must be a number >= 0"
        yield self.lr is None or not finite(self.min_lr) or self.min_lr <= self.lr, \
            "min_lr must not be above lr"
        yield whole(self.warmup_steps, 0), "warmup_steps must be a whole number >= 0"
        yield finite(self.grad_clip, 0, lo_open=True), "grad_clip must be a number > 0"
        yield finite(self.weight_decay, 0, 10), "weight_decay must be a number in [0, 10]"
        yield whole(self.augment_keys, 0) and (self.augment_keys or 0) <= 12, "augment_keys must be 0-12"
        yield whole(self.max_steps, 1), "max_steps must be a whole number >= 1"
        yield finite(self.minutes, 0, 60 * 24 * 365), "minutes must be a number from 0 to a year"
        yield whole(self.patience, 0), "patience must be a whole number >= 0 (0 = never stop early)"
        yield finite(self.target_val_loss, 0), "target_val_loss must be a number >= 0 (0 = off)"
        yield whole(self.eval_interval, 1), "eval_interval must be a whole number >= 1"
        yield finite(self.val_frac, 0, 1, lo_open=True) and self.val_frac < 1, "val_frac must be in (0, 1)"
        yield whole(self.threads, 0) and self.threads <= 1024, "threads must be 0-1024"
        yield self.cell in CELL_NAMES, f"cell must be one of {', '.join(CELL_NAMES)}"
        yield self.lr_schedule in SCHEDULES, f"lr_schedule must be one of {', '.join(SCHEDULES)}"
        yield self.device in DEVICES, f"device must be one of {', '.join(DEVICES)}"
        for name in ("seed", "split_seed"):
            v = getattr(self, name)
            yield v is None or (isinstance(v, int) and 0 <= v < 2**63), f"{name} must be a whole number from 0 to {2**63 - 1}"

    def model_config(self, vocab_size: int) -> ModelConfig:
        """The shape of the model these settings train, for a vocabulary of this size."""
        return ModelConfig(vocab_size, self.cell, self.hidden_size, self.num_layers,
                           self.dropout, self.embed_size)

    @property
    def steps_cap(self) -> int:
        """The step limit in force: max_steps, or 2000 without a time budget."""
        if self.max_steps is not None:
            return self.max_steps
        return 2000 if not self.minutes else 10**12

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


def help_of(name: str) -> str:
    f = next(f for f in fields(TrainConfig) if f.name == name)
    return f.metadata["help"]


def defaults() -> dict:
    return {f.name: f.default for f in fields(TrainConfig) if f.default is not MISSING}
