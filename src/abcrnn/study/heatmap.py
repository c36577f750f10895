"""Neuron heatmaps, like the study's figures 27-29: a tune's characters laid out
as a grid, each cell coloured by one neuron's activation at that character."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from abcrnn.notation.tunes import wrap
from abcrnn.model.vocab import Vocab
from abcrnn.model.charrnn import CharRNN


@dataclass
class Neuron:
    layer: int          # 0-based
    index: int          # unit within the layer
    kind: str = "hidden"   # hidden | cell (LSTM only)

    @classmethod
    def parse(cls, spec: str) -> "Neuron":
        """``LAYER:INDEX`` or ``LAYER:INDEX:cell``, e.g. ``0:17`` or ``1:200:cell``."""
        parts = spec.split(":")
        if len(parts) not in (2, 3) or not all(p.isdigit() for p in parts[:2]):
            raise ValueError(f"neuron {spec!r} is not LAYER:INDEX or LAYER:INDEX:cell")
        kind = parts[2] if len(parts) == 3 else "hidden"
        if kind not in ("hidden", "cell"):
            raise ValueError(f"neuron {spec!r}: the state is hidden or cell, not {kind!r}")
        return cls(int(parts[0]), int(parts[1]), kind)


@torch.inference_mode()
def activations(model: CharRNN, vocab: Vocab, text: str, neurons: list[Neuron]) -> torch.Tensor:
    """(len(neurons), len(text)): activation of each neuron after reading each character,
    the model run from a zero state over ``text`` (which should start with <start>)."""
    cfg = model.config
    for n in neurons:
        if not 0 <= n.layer < cfg.num_layers or not 0 <= n.index < cfg.hidden_size:
            raise ValueError(f"neuron {n.layer}:{n.index} is outside the model "
                             f"({cfg.num_layers} layers of {cfg.hidden_size} units)")
        if n.kind == "cell" and cfg.cell != "lstm":
            raise ValueError(f"only an LSTM has a cell state; this model is a {cfg.cell}")
    model.eval()
    idx = torch.tensor([vocab.encode(text)])
    _, _, _, acts = model(idx, return_activations=True)
    return torch.stack([acts[n.kind][n.layer][0, :, n.index] for n in neurons])   # (N, T)


def grid(values: torch.Tensor, width: int) -> torch.Tensor:
    """(T,) -> (rows, width), padded with NaN: cell (r, c) holds character r*width + c."""
    rows = -(-len(values) // width)
    out = torch.full((rows * width,), float("nan"))
    out[: len(values)] = values
    return out.view(rows, width)


def _label(ch: str) -> str:
    return {"\n": "\u21b5", " ": "\u2423", "\t": "\u21e5"}.get(ch, ch)


def figure(text: str, acts: torch.Tensor, neurons: list[Neuron], width: int = 60, title: str = ""):
    """One panel per neuron: character i in cell (i // width, i % width), coloured by
    activation i on a diverging map centred on 0, with a colour bar."""
    from abcrnn.figures import pyplot
    plt = pyplot()
    rows = -(-len(text) // width)
    fig, axes = plt.subplots(len(neurons), 1, squeeze=False,
                             figsize=(width * 0.22, len(neurons) * (rows * 0.28 + 0.6)))
    for ax, n, values in zip(axes[:, 0], neurons, acts):
        limit = float(values.abs().max()) or 1.0
        image = ax.imshow(grid(values, width).numpy(), cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
        for i, ch in enumerate(text):
            ax.text(i % width, i // width, _label(ch), ha="center", va="center", fontsize=6,
                    family="monospace")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"layer {n.layer}, unit {n.index} ({n.kind})", fontsize=8)
        fig.colorbar(image, ax=ax, fraction=0.02, pad=0.01)
    if title:
        fig.suptitle(title, fontsize=9)
    return fig


def draw(text: str, acts: torch.Tensor, neurons: list[Neuron], path, width: int = 60,
         title: str = "") -> None:
    from abcrnn.figures import pyplot, save_figure
    fig = figure(text, acts, neurons, width, title)
    save_figure(fig, path)
    pyplot().close(fig)


def tune_text(tune: str) -> str:
    """The text the model reads for a tune, markers included, as in training."""
    return wrap(tune.strip("\n"))
