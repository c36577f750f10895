"""ModelConfig: the shape of a CharRNN, checked when it is made. No torch here, so
the command line and the training config can name it without importing torch."""
from __future__ import annotations

from dataclasses import asdict, dataclass

CELL_NAMES = ("rnn", "lstm", "gru")


@dataclass
class ModelConfig:
    vocab_size: int
    cell: str = "lstm"
    hidden_size: int = 256
    num_layers: int = 1
    dropout: float = 0.0
    embed_size: int = 64      # 0 = one-hot input, as in the study

    def __post_init__(self):
        if self.cell not in CELL_NAMES:
            raise ValueError(f"unknown cell {self.cell!r}; choose one of {', '.join(CELL_NAMES)}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        for name in ("vocab_size", "hidden_size", "num_layers"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.embed_size < 0:
            raise ValueError(f"embed_size must be >= 0 (0 = one-hot), got {self.embed_size}")

    def to_dict(self) -> dict:
        return asdict(self)
