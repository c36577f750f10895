"""What ``abcrnn neurons`` prints and writes: the top neurons per feature as a table,
CSV, Markdown and JSON, and heatmaps of each feature's best neuron over one tune."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import torch

from abcrnn.study.neurons import Analysis, spec


def format_table(rows: list[dict]) -> str:
    """Plain text: feature, rank, neuron (layer:index:kind), r."""
    lines = [f"{'feature':<16} {'rank':>4}  {'neuron':<14} {'r':>7}"]
    for row in rows:
        lines.append(f"{row['feature']:<16} {row['rank']:>4}  {row['neuron']:<14} {row['r']:>+7.3f}")
    return "\n".join(lines)


def markdown(rows: list[dict]) -> str:
    out = ["| feature | rank | neuron (layer:index:kind) | r |", "|---|---|---|---|"]
    out += [f"| {r['feature']} | {r['rank']} | {r['neuron']} | {r['r']:+.3f} |" for r in rows]
    return "\n".join(out) + "\n"


def mean_shift(name: str, p: float, r: float) -> dict:
    """For a 0/1 feature of base rate p, the unit's mean inside minus outside in units of
    its overall SD: r / sqrt(p(1-p)). A rare feature caps r (p = 0.002 and a shift of 4 SD
    give r = 0.18), so this says more than r about how strongly the unit responds."""
    if name in ("bar_position", "tune_position") or not 0 < p < 1:
        return {}
    return {"mean_shift_sd": round(r / (p * (1 - p)) ** 0.5, 2)}


def summary(a: Analysis, k: int) -> dict:
    """Per feature: its base rate, the best unit overall (and its r with the three other
    features it follows most: is it specific?), the best hidden unit, the best of each
    sign, and how many units reach |r| >= 0.5 (one specialist, or a crowd?)."""
    feats = {}
    hidden = torch.tensor([u.kind == "hidden" for u in a.units])
    for i, name in enumerate(a.names):
        r = a.r[i]
        hi, lo = int(torch.argmax(r)), int(torch.argmin(r))
        h = int(torch.argmax(torch.where(hidden, r.abs(), -1.0)))   # the study plotted hidden states
        best, best_r = a.best(name)
        u = a.units.index(best)
        others = sorted((j for j in range(len(a.names)) if j != i), key=lambda j: -abs(float(a.r[j, u])))
        feats[name] = {"base_rate": round(a.base_rate[i], 4),
                       "best": {"neuron": spec(best), "r": round(best_r, 4),
                                **mean_shift(name, a.base_rate[i], best_r)},
                       "best_hidden": {"neuron": spec(a.units[h]), "r": round(float(r[h]), 4)},
                       "best_also": {a.names[j]: round(float(a.r[j, u]), 4) for j in others[:3]},
                       "best_positive": {"neuron": spec(a.units[hi]), "r": round(float(r[hi]), 4)},
                       "best_negative": {"neuron": spec(a.units[lo]), "r": round(float(r[lo]), 4)},
                       "units_abs_r_ge_0.5": int((r.abs() >= 0.5).sum()),
                       "top": [{"neuron": row["neuron"], "r": round(row["r"], 4)}
                               for row in a.rows(k) if row["feature"] == name]}
    return {"chars": a.n_chars, "tunes": a.n_tunes, "units": len(a.units), "top_k": k,
            "features": feats}


def _titled(fig, titles: list[str]):
    for ax, title in zip(fig.axes, titles):     # the panels come first, then their colour bars
        ax.set_title(title, fontsize=8)
    return fig


def draw_heatmaps(a: Analysis, model, vocab, tune: str, out: Path, width: int) -> list[Path]:
    """heatmap_<feature>.png (the feature over ``tune``, then its best neuron) for every
    feature, and panel.png (every feature's best neuron over the same tune)."""
    from abcrnn.notation.features import features
    from abcrnn.study.heatmap import activations, figure, tune_text
    from abcrnn.figures import pyplot, save_figure
    plt = pyplot()
    text = tune_text(tune)
    bests = [a.best(name) for name in a.names]
    acts = activations(model, vocab, text, [n for n, _ in bests])        # (F, T)
    feats = features(text)
    paths = []
    for i, (name, (n, r)) in enumerate(zip(a.names, bests)):
        values = torch.stack([torch.tensor(feats[name], dtype=torch.float32), acts[i]])  # (2, T)
        fig = _titled(figure(text, values, [n, n], width),
                      [f"feature {name}", f"best neuron {spec(n)}: r = {r:+.3f} over all the tunes analysed"])
        paths.append(out / f"heatmap_{name}.png")
        save_figure(fig, paths[-1])
        plt.close(fig)
    fig = _titled(figure(text, acts, [n for n, _ in bests], width),
                  [f"{name}: {spec(n)}, r = {r:+.3f}" for name, (n, r) in zip(a.names, bests)])
    paths.append(out / "panel.png")
    save_figure(fig, paths[-1])
    plt.close(fig)
    return paths


def write_report(a: Analysis, k: int, out: Path, meta: dict) -> list[Path]:
    """neurons.csv, neurons.md and summary.json (``meta`` joins the summary)."""
    from abcrnn.files import atomic_write
    out.mkdir(parents=True, exist_ok=True)
    rows = a.rows(k)
    buf = io.StringIO()
    w = csv.DictWriter(buf, ["feature", "rank", "neuron", "r"], lineterminator="\n")
    w.writeheader()
    w.writerows({**row, "r": f"{row['r']:.4f}"} for row in rows)
    paths = [out / "neurons.csv", out / "neurons.md", out / "summary.json"]
    atomic_write(paths[0], buf.getvalue())
    atomic_write(paths[1], markdown(rows))
    atomic_write(paths[2], json.dumps({**meta, **summary(a, k)}, indent=1))
    return paths
