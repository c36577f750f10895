"""Sweep figures: every run's validation curve on one axis, and one panel per run."""
from __future__ import annotations

from abcrnn.figures import pyplot, save_figure


def plot_sweep(histories: dict[str, list[dict]], path, x: str = "seconds",
               cells: dict[str, str] | None = None) -> None:
    """Every run's validation curve on one axis (against minutes by default, since
    sweep runs share a time budget); the legend, best first, gives each run's best.
    With ``cells`` (run -> rnn|lstm|gru) each cell type gets its own colour family."""
    runs = {name: h for name, h in histories.items() if h}
    if not runs:
        return
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(9, 5))
    order = sorted(runs, key=lambda n: min(r["val_loss"] for r in runs[n]))
    colour = _run_colours(plt, order, cells or {})
    for name in order:
        h = runs[name]
        xs = [r[x] / 60 if x == "seconds" else r[x] for r in h]
        best = min(r["val_loss"] for r in h)
        ax.plot(xs, [r["val_loss"] for r in h], color=colour[name], lw=1.2, label=f"{best:.3f}  {name}")
    vals = sorted(r["val_loss"] for h in runs.values() for r in h)
    ax.set_ylim(vals[0] - 0.05, min(vals[-1], vals[len(vals) // 2] + 0.6))   # early steps run off the top
    ax.set_xlabel("minutes" if x == "seconds" else x)
    ax.set_ylabel("validation loss (nats/char)")
    ax.set_title("Validation loss of every run")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), title="best val, run")
    save_figure(fig, path)
    plt.close(fig)


def _run_colours(plt, order: list[str], cells: dict[str, str]) -> dict:
    """Blues for LSTM, reds for RNN, greens for GRU (darker = better); tab20 without cells."""
    if not cells:
        cmap = plt.get_cmap("tab20" if len(order) > 10 else "tab10")
        return {n: cmap(i % cmap.N) for i, n in enumerate(order)}
    families = {"lstm": "Blues", "rnn": "Reds", "gru": "Greens"}
    colours = {}
    for cell, cmap_name in families.items():
        members = [n for n in order if cells.get(n) == cell]
        for i, n in enumerate(members):
            colours[n] = plt.get_cmap(cmap_name)(0.95 - 0.55 * i / max(1, len(members) - 1))
    return {n: colours.get(n, "grey") for n in order}


def plot_run_panels(histories: dict[str, list[dict]], path, x: str = "seconds", cols: int = 4) -> None:
    """One small train/validation plot per run (the study's figures 11-26 side by side),
    all on the same axes limits so the runs compare at a glance."""
    runs = {name: h for name, h in histories.items() if h}
    if not runs:
        return
    plt = pyplot()
    import textwrap
    cols = min(cols, len(runs))
    rows = -(-len(runs) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.4 * rows), sharex=True, sharey=True,
                             squeeze=False)
    losses = [r[k] for h in runs.values() for r in h for k in ("train_loss", "val_loss")]
    top = min(max(losses), sorted(losses)[len(losses) // 10] + 1.0)   # skip the first steep steps
    for ax, (name, h) in zip(axes.flat, runs.items()):
        xs = [r[x] / 60 if x == "seconds" else r[x] for r in h]
        ax.plot(xs, [r["train_loss"] for r in h], lw=1, label="train")
        ax.plot(xs, [r["val_loss"] for r in h], lw=1, label="val")
        label = textwrap.fill(name.replace("_", " "), 40)           # long run names wrap
        ax.set_title(f"{label}\nbest val {min(r['val_loss'] for r in h):.3f}", fontsize=7)
        ax.set_ylim(min(losses) - 0.05, top)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(runs):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    fig.supxlabel("minutes" if x == "seconds" else x, fontsize=9)
    fig.supylabel("loss (nats/char)", fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
