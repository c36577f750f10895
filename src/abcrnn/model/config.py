"""ModelConfig: the shape of a CharRNN, checked when it is made. No torch here, so
the command line and the training config can name it without importing torch.

A config also comes from a checkpoint's JSON, which may be damaged or hostile, so
every field is checked for its type and range, and the parameter count it implies
for a bound (MAX_PARAMS), before anything is allocated: ``hidden_size: 1e9`` or
``num_layers: 10000000`` is refused here, not after minutes of building modules."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

CELL_NAMES = ("rnn", "lstm", "gru")
GATES = {"rnn": 1, "lstm": 4, "gru": 3}     # weight rows per unit of each cell
# The bounds of a shape. The sizes are TrainConfig's (training/config.py); the
# parameter count keeps a model's weights to 400 MB of float32 (its resume file to
# ~1.2 GB), far above anything trained on a CPU here (the shipped model has 1.9 M).
MAX_HIDDEN, MAX_LAYERS, MAX_EMBED = 8192, 16, 4096
MAX_VOCAB = 0x110000                         # every Unicode code point
MAX_PARAMS = 100_000_000


def _whole(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


@dataclass
class ModelConfig:
    vocab_size: int
    cell: str = "lstm"
    hidden_size: int = 256
    num_layers: int = 1
    dropout: float = 0.0
    embed_size: int = 64      # 0 = one-hot input, as in the study

    def __post_init__(self):
        if not isinstance(self.cell, str) or self.cell not in CELL_NAMES:
            raise ValueError(f"unknown cell {self.cell!r:.40}; choose one of {', '.join(CELL_NAMES)}")
        if (isinstance(self.dropout, bool) or not isinstance(self.dropout, (int, float))
                or not 0.0 <= self.dropout < 1.0):
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r:.40}")
        for name, lo, hi in (("vocab_size", 1, MAX_VOCAB), ("hidden_size", 1, MAX_HIDDEN),
                             ("num_layers", 1, MAX_LAYERS), ("embed_size", 0, MAX_EMBED)):
            value = getattr(self, name)
            if not _whole(value) or not lo <= value <= hi:
                what = " (0 = one-hot)" if name == "embed_size" else ""
                raise ValueError(f"{name} must be a whole number from {lo} to {hi}{what}, "
                                 f"got {value!r:.40}")
        if self.num_params() > MAX_PARAMS:
            raise ValueError(f"a model of this shape has {self.num_params():,} parameters, more than "
                             f"the limit of {MAX_PARAMS:,}")

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """Every tensor of CharRNN's state_dict, in its order, with its shape: what a
        weights file must hold, known before the model is built (a test compares it
        with CharRNN's own)."""
        V, H, E = self.vocab_size, self.hidden_size, self.embed_size
        rows = GATES[self.cell] * H
        shapes: dict[str, tuple[int, ...]] = {"embed.weight": (V, E)} if E else {}
        for i in range(self.num_layers):
            shapes |= {f"layers.{i}.weight_ih_l0": (rows, (E or V) if i == 0 else H),
                       f"layers.{i}.weight_hh_l0": (rows, H),
                       f"layers.{i}.bias_ih_l0": (rows,), f"layers.{i}.bias_hh_l0": (rows,)}
        return shapes | {"head.weight": (V, H), "head.bias": (V,)}

    def num_params(self) -> int:
        return sum(math.prod(s) for s in self.param_shapes().values())

    def to_dict(self) -> dict:
        return asdict(self)
