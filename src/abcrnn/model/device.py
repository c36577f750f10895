"""Which device a model runs on: ``cpu``, ``cuda``, or ``auto`` (a GPU when there is one)."""
from __future__ import annotations

import torch


def pick_device(name: str) -> torch.device:
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda was asked for but no CUDA GPU is available")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)
