"""Which device a model runs on: ``cpu``, ``cuda``, or ``auto`` (a GPU when there is one)."""
from __future__ import annotations

import torch


def pick_device(name: str) -> torch.device:
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda was asked for but no CUDA GPU is available")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


def sampling_threads(threads: int = 0) -> int:
    """Threads for sampling and serving: ``threads``, else $ABCRNN_THREADS, else one.

    Sampling steps small matrices one character at a time; a second thread buys
    little when the machine is idle and costs a great deal when another process
    (a training run) holds the other core (docs/BENCHMARKS.md, "Threads")."""
    import os
    env = os.environ.get("ABCRNN_THREADS", "").strip()
    if not threads and env and not (env.isdigit() and int(env) <= 1024):
        raise ValueError(f"ABCRNN_THREADS must be a whole number of threads, got {env!r}")
    n = threads or int(env or 0) or 1
    if not 1 <= n <= 1024:
        raise ValueError(f"threads must be between 1 and 1024, got {n}")
    torch.set_num_threads(n)
    return n
