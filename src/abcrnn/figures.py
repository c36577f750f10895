"""Figures: matplotlib without a display, PNGs written atomically, and the
training-loss plot every run draws (loss.png)."""
from __future__ import annotations

import io
from pathlib import Path


def pyplot():
    """matplotlib.pyplot on the Agg backend (imported on first use: ~0.5 s)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def save_figure(fig, path) -> None:
    """Render to memory, then write atomically: a crash never leaves half a PNG."""
    from abcrnn.files import atomic_write
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120, bbox_inches="tight")
    atomic_write(Path(path), buf.getvalue())


def plot_history(history: list[dict], path, title: str = "Training and validation loss") -> None:
    """Train vs validation loss (nats/char) against step, like the study's loss figures."""
    if not history:
        return
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    steps = [h["step"] for h in history]
    ax.plot(steps, [h["train_loss"] for h in history], label="train", marker=".")
    ax.plot(steps, [h["val_loss"] for h in history], label="validation", marker=".")
    best = min(history, key=lambda h: h["val_loss"])
    ax.axhline(best["val_loss"], color="grey", lw=0.8, ls="--")
    ax.annotate(f"best val {best['val_loss']:.3f} @ {best['step']}", (best["step"], best["val_loss"]),
                textcoords="offset points", xytext=(0, 8), ha="center", fontsize=8)
    ax.set_xlabel("step")
    ax.set_ylabel("loss (nats/char)")
    ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)
    save_figure(fig, path)
    plt.close(fig)
