"""TrainConfig: every setting of a training run, checked when it is made.

Kept free of torch so that building the command line (``abcrnn --help``, and the
commands that never train: render, evaluate) does not pay torch's ~1 s import."""
from __future__ import annotations

import math
from dataclasses import dataclass, fields

from abcrnn.model.config import ModelConfig


@dataclass
class TrainConfig:
    corpus: str = ""
    out: str = "out/run"
    cell: str = "lstm"
    hidden_size: int = 256
    num_layers: int = 1
    dropout: float = 0.0
    embed_size: int = 64
    # The default recipe is tuned for time to quality on a small CPU (docs/BENCHMARKS.md):
    # small batches of short slices give the most updates per character seen.
    seq_len: int = 64
    batch_size: int = 16
    lr: float = 8e-3
    lr_schedule: str = "cosine"        # constant | cosine (decays to min_lr over max_steps)
    warmup_steps: int = 20
    min_lr: float = 1e-4
    grad_clip: float = 1.0
    weight_decay: float = 0.0          # AdamW's decoupled decay (0 = plain Adam)
    augment_keys: int = 0              # add each training tune transposed to this many nearby keys
    max_steps: int = 2000
    minutes: float = 0.0               # wall-clock budget; 0 = none
    target_val_loss: float = 0.0       # stop once validation loss is at or below this; 0 = never
    eval_interval: int = 150
    val_frac: float = 0.1
    split_seed: int = 1337
    seed: int = 1337
    clean: bool = False                # train/validate on cleaned tunes (see clean.py)
    device: str = "auto"

    def __post_init__(self):
        checks = [(self.seq_len >= 1, "seq_len must be >= 1"),
                  (self.batch_size >= 1, "batch_size must be >= 1"),
                  (self.lr > 0 and math.isfinite(self.lr), "lr must be a positive number"),
                  (self.max_steps >= 1, "max_steps must be >= 1"),
                  (self.minutes >= 0, "minutes must be >= 0"),
                  (self.target_val_loss >= 0 and math.isfinite(self.target_val_loss),
                   "target_val_loss must be a number >= 0 (0 = off)"),
                  (self.weight_decay >= 0, "weight_decay must be >= 0"),
                  (0 <= self.augment_keys <= 12, "augment_keys must be between 0 and 12"),
                  (self.eval_interval >= 1, "eval_interval must be >= 1"),
                  (0 < self.val_frac < 1, "val_frac must be in (0, 1)"),
                  (self.lr_schedule in ("constant", "cosine"), "lr_schedule must be constant or cosine"),
                  (self.device in ("auto", "cpu", "cuda"), "device must be auto, cpu or cuda")]
        for ok, msg in checks:
            if not ok:
                raise ValueError(msg)

    def model_config(self, vocab_size: int) -> ModelConfig:
        """The shape of the model these settings train, for a vocabulary of this size."""
        return ModelConfig(vocab_size, self.cell, self.hidden_size, self.num_layers,
                           self.dropout, self.embed_size)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})
