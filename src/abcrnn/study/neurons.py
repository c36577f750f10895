"""Neurons that mean something: the Pearson r of every unit with every ABC feature.

Every unit of every layer is a column: the hidden state and, for an LSTM, the
cell state (``heatmap.Neuron`` names one). The activations are taken after
reading each character of each tune, the model run from a zero state from the
tune's ``<start>``; the features are those of ``abcfeatures`` for the same
characters. r is computed over all characters of all tunes at once (not per
tune), streamed batch by batch with the pairwise-merge formulas for centred
moments, so the whole validation set never sits in memory. A feature or unit
that is constant over the data gets r = 0, not NaN.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from abcrnn.notation.features import FEATURES, features
from abcrnn.model.vocab import Vocab
from abcrnn.study.heatmap import Neuron
from abcrnn.model.charrnn import CharRNN

__all__ = ["FEATURES", "Moments", "analyse", "correlate", "features", "top_neurons", "units"]


def check_features(names: list[str] | None) -> list[str]:
    """The feature names asked for, in FEATURES order; all of them when none are named."""
    if not names:
        return list(FEATURES)
    unknown = [n for n in names if n not in FEATURES]
    if unknown:
        raise ValueError(f"unknown feature {unknown[0]!r}; choose from {', '.join(FEATURES)}")
    return [n for n in FEATURES if n in names]


def units(model: CharRNN) -> list[Neuron]:
    """The columns of ``collect``'s activations: hidden units layer by layer, then cells."""
    c = model.config
    kinds = ("hidden", "cell") if c.cell == "lstm" else ("hidden",)
    return [Neuron(layer, i, kind) for kind in kinds for layer in range(c.num_layers)
            for i in range(c.hidden_size)]


def feature_matrix(text: str, names: list[str]) -> torch.Tensor:
    """(len(text), F) float64: the features of ``names`` for every character."""
    return _rows(text, names)[0]


def _rows(text: str, names: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """Features (T, F) float64, and (T,) True on the body: neither header nor <end> line."""
    from abcrnn.notation.tunes import END
    f = features(text)
    body = torch.tensor(f["in_header"]) == 0
    if text.endswith(END):
        body[len(text) - len(END):] = False
    return torch.tensor([f[n] for n in names], dtype=torch.float64).T, body


def _batches(lengths: list[int], max_chars: int) -> list[list[int]]:
    """Tune indices grouped by length so that a padded batch holds <= max_chars cells."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    out, cur = [], []
    for i in order:
        if cur and lengths[i] * (len(cur) + 1) > max_chars:
            out.append(cur)
            cur = []
        cur.append(i)
    return out + [cur] if cur else out


@torch.inference_mode()
def collect(model: CharRNN, vocab: Vocab, texts: list[str], names: list[str], max_chars: int = 8192,
            body_only: bool = False):
    """Yield (acts (n, U), feats (n, F)) float64 per batch of tunes, padding masked out
    (and, with ``body_only``, every character outside the tunes' bodies).

    Each text is run from a zero state; padding comes after a tune's end, so (the
    model being causal) it never touches the tune's own activations."""
    model.eval()
    for group in _batches([len(t) for t in texts], max_chars):
        L = max(len(texts[i]) for i in group)
        idx = torch.zeros(len(group), L, dtype=torch.long)                # (B, L), 0 = padding
        mask = torch.zeros(len(group), L, dtype=torch.bool)
        rows = [_rows(texts[i], names) for i in group]
        for row, i in enumerate(group):
            idx[row, : len(texts[i])] = torch.tensor(vocab.encode(texts[i]))
            mask[row, : len(texts[i])] = rows[row][1] if body_only else True
        _, _, _, acts = model(idx, return_activations=True)
        cols = torch.cat(acts["hidden"] + acts["cell"], dim=-1)           # (B, L, U), units() order
        feats = torch.cat([f[body] if body_only else f for f, body in rows])   # (n, F), row order
        yield cols[mask].double(), feats                                  # mask flattens row-major too


class Moments:
    """Streaming means, variances and co-moments of units (U) and features (F)."""

    def __init__(self, n_units: int, n_features: int):
        z = lambda *s: torch.zeros(*s, dtype=torch.float64)   # noqa: E731
        self.n = 0
        self.mx, self.sxx = z(n_units), z(n_units)
        self.mf, self.sff = z(n_features), z(n_features)
        self.sxf = z(n_features, n_units)

    def add(self, x: torch.Tensor, f: torch.Tensor) -> None:
        """x (n, U), f (n, F): merge a batch (Chan et al.'s pairwise update)."""
        nb = x.shape[0]
        if nb == 0:
            return
        mxb, mfb = x.mean(0), f.mean(0)
        dx, df = x - mxb, f - mfb                                       # centred (n, U), (n, F)
        total = self.n + nb
        w = self.n * nb / total
        ex, ef = mxb - self.mx, mfb - self.mf
        self.sxx += (dx * dx).sum(0) + ex * ex * w
        self.sff += (df * df).sum(0) + ef * ef * w
        self.sxf += df.T @ dx + torch.outer(ef, ex) * w                 # (F, U)
        self.mx += ex * nb / total
        self.mf += ef * nb / total
        self.n = total

    def r(self) -> torch.Tensor:
        """(F, U) Pearson r; 0 where a unit or a feature is constant."""
        # "constant" up to float64 rounding: a spread below 1e-7 of the mean's size
        flat_x = self.sxx <= 1e-14 * self.mx ** 2 * self.n + 1e-300
        flat_f = self.sff <= 1e-14 * self.mf ** 2 * self.n + 1e-300
        den = torch.sqrt(torch.outer(self.sff, self.sxx)).clamp_min(1e-300)
        r = (self.sxf / den).clamp(-1.0, 1.0)
        return torch.where(flat_f[:, None] | flat_x[None, :], torch.zeros_like(r), r)


def correlate(acts: torch.Tensor, feats: torch.Tensor) -> torch.Tensor:
    """acts (n, U), feats (n, F) -> (F, U) Pearson r of every unit with every feature."""
    m = Moments(acts.shape[1], feats.shape[1])
    m.add(acts.double(), feats.double())
    return m.r()


def top_neurons(r: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(F, k) unit indices by |r|, largest first (ties: lower index first), and their signed r."""
    order = torch.argsort(-r.abs(), dim=1, stable=True)[:, :k]
    return order, torch.gather(r, 1, order)


@dataclass
class Analysis:
    names: list[str]            # features, rows of r
    units: list[Neuron]         # columns of r
    r: torch.Tensor             # (F, U)
    n_chars: int
    n_tunes: int
    base_rate: list[float]      # mean of each feature over the characters

    def rows(self, k: int) -> list[dict]:
        """One row per feature and rank (from 1): feature, rank, neuron, r."""
        order, vals = top_neurons(self.r, k)
        return [{"feature": name, "rank": j + 1, "neuron": spec(self.units[int(u)]), "r": float(v)}
                for name, us, vs in zip(self.names, order, vals) for j, (u, v) in enumerate(zip(us, vs))]

    def best(self, name: str) -> tuple[Neuron, float]:
        i = self.names.index(name)
        u = int(top_neurons(self.r[i: i + 1], 1)[0][0, 0])
        return self.units[u], float(self.r[i, u])


def spec(n: Neuron) -> str:
    """layer:index:kind, e.g. 1:200:cell (heatmap.Neuron.parse reads it back)."""
    return f"{n.layer}:{n.index}:{n.kind}"


def analyse(model: CharRNN, vocab: Vocab, tunes: list[str], names: list[str] | None = None,
            max_chars: int = 8192, body_only: bool = False) -> Analysis:
    """r of every unit of ``model`` with every feature over all characters of ``tunes``
    (with ``body_only``, over the characters of their bodies: header-vs-body contrast
    can then not pass for a bar or repeat feature; header features become constant)."""
    from abcrnn.notation.tunes import wrap
    names = check_features(names)
    texts = [wrap(t.strip("\n")) for t in tunes]      # as heatmap.tune_text and training read them
    cols = units(model)
    m = Moments(len(cols), len(names))
    for acts, feats in collect(model, vocab, texts, names, max_chars, body_only):
        m.add(acts, feats)
    return Analysis(names, cols, m.r(), m.n, len(texts), m.mf.tolist())


def validation_tunes(model_path, doc: dict, fallback_corpus=None) -> tuple[list[str], dict]:
    """The tunes a model was validated on, rebuilt as ``train.prepare`` built them: its
    corpus (the recorded path, else ``fallback_corpus``, whichever has the recorded
    fingerprint), split with its val_frac and split_seed, cleaned if it trained with
    clean. Checked against the model's split.json when there is one."""
    import json

    from abcrnn.corpus.read import load_corpus
    from abcrnn.training.config import TrainConfig
    from abcrnn.corpus.split import fingerprint, split_tunes
    cfg = TrainConfig.from_dict(doc.get("train_config") or {})
    tried = [p for p in (cfg.corpus, fallback_corpus) if p]
    for path in tried:
        if Path(path).exists():
            corpus = load_corpus(path)
            if fingerprint(corpus.tunes) == doc.get("corpus_fingerprint"):
                break
    else:
        raise ValueError(f"the corpus this model was trained on ({' or '.join(map(str, tried))}) is "
                         "missing or has changed; give the tunes to analyse with --corpus")
    _, val_ids = split_tunes(len(corpus.tunes), cfg.val_frac, cfg.split_seed)
    folder = Path(model_path)
    split_file = (folder if folder.is_dir() else folder.parent) / "split.json"
    recorded = json.loads(split_file.read_text()) if split_file.is_file() else {}
    if recorded.get("val", val_ids) != val_ids:
        raise ValueError(f"{split_file} does not match the split rebuilt from {path}")
    tunes = [corpus.tunes[i] for i in val_ids]
    info = {"corpus": str(path), "val_tunes": len(tunes), "clean": cfg.clean}
    if cfg.clean:
        from abcrnn.corpus.clean import clean_tunes
        tunes, report = clean_tunes(tunes)
        info["kept_after_clean"], info["dropped_by_clean"] = len(tunes), sum(report.dropped.values())
        info["kept_in_split_json"] = recorded.get("clean", {}).get("val", {}).get("kept")
    return tunes, info
