"""The state a training run carries and how it is prepared, saved and resumed.

``prepare`` turns a corpus into the vocabulary and the train/validation TuneSets;
``Run`` holds model, optimizer, random generators and history, writes the best and
last checkpoints (rank 0 only) and restores them for ``--resume``. The loop that
drives it is ``train.train``."""
from __future__ import annotations

import json
import time
from dataclasses import asdict, fields
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from abcrnn.corpus.read import load_corpus
from abcrnn.model.device import pick_device
from abcrnn.notation.tunes import wrap
from abcrnn.corpus.profile import profile
from abcrnn.training import ddp, recipe
from abcrnn.training.resume import check_saved, merge as resume_merge
from abcrnn.model.checkpoint import CheckpointError, load_checkpoint, optimizer_tensors, restore_optimizer, save_checkpoint
from abcrnn.files import atomic_write
from abcrnn.corpus.cache import encoded_corpus
from abcrnn.model.tuneset import TuneSet
from abcrnn.model.vocab import Vocab, VocabError
from abcrnn.corpus.split import fingerprint, split_tunes
from abcrnn.model.charrnn import CharRNN
from abcrnn.training.optim import AdamW

if TYPE_CHECKING:
    from abcrnn.training.config import TrainConfig


def train_chars(corpus, cfg: TrainConfig) -> int:
    """Characters of the training tunes as read (before cleaning and augmentation)."""
    split_seed = cfg.split_seed if cfg.split_seed is not None else cfg.seed
    train_ids, _ = split_tunes(len(corpus.tunes), cfg.val_frac, split_seed)
    return sum(len(corpus.tunes[i]) for i in train_ids)


def prepare(cfg: TrainConfig, vocab: Vocab | None = None, corpus=None):
    """Corpus -> (vocab, {"train", "val"[, "val_raw"]: TuneSet}, split info, fingerprint).

    The split is drawn over the raw tunes first, so with ``clean`` the cleaned
    train and val sets come from disjoint tunes and "val_raw" (the same val tunes
    uncleaned) stays comparable with a run on the raw corpus."""
    corpus = corpus or load_corpus(cfg.corpus)
    split_seed = cfg.split_seed if cfg.split_seed is not None else cfg.seed
    train_ids, val_ids = split_tunes(len(corpus.tunes), cfg.val_frac, split_seed)
    vocab = vocab or Vocab.from_texts(corpus.tunes + [wrap("")])    # the markers' characters too
    fp = fingerprint(corpus.tunes)
    full = encoded_corpus(corpus.tunes, vocab, fp)      # encoded once, then from the cache
    train = raw_train = [corpus.tunes[i] for i in train_ids]
    val = raw_val = [corpus.tunes[i] for i in val_ids]
    split = {"train": train_ids, "val": val_ids, "fragments": len(corpus.fragments),
             "profile": profile([corpus.tunes[i] for i in train_ids])}
    sets = {}
    if cfg.clean:
        from abcrnn.corpus.clean import clean_tunes
        sets["val_raw"] = TuneSet.from_encoded(full.flat, full.lengths, val_ids)
        (train, rep_t), (val, rep_v) = clean_tunes(train), clean_tunes(val)
        split["clean"] = {"train": rep_t.to_dict(), "val": rep_v.to_dict()}
        if not train or not val:
            raise ValueError("cleaning left no tune on one side of the split")
    if cfg.augment_keys:       # training tunes only: validation stays as written
        from abcrnn.notation.transpose import augmented
        extra = [t for t in augmented(train, cfg.augment_keys) if not vocab.missing(wrap(t))]
        split["augmented"] = len(extra)
        train = train + extra
    # tunes left as read come from the encoded corpus; cleaned or added ones are encoded now
    sets["train"] = (TuneSet.from_encoded(full.flat, full.lengths, train_ids) if train is raw_train
                     else TuneSet.build(train, vocab))
    sets["val"] = (TuneSet.from_encoded(full.flat, full.lengths, val_ids) if val is raw_val
                   else TuneSet.build(val, vocab))
    longest = int(sets["train"].lengths.max())
    if longest <= 1:
        raise ValueError("every training tune is too short to learn from")
    if cfg.seq_len is not None and cfg.seq_len >= longest:   # a slice needs seq_len + 1 characters
        raise ValueError(f"seq-len {cfg.seq_len} is not shorter than the longest training tune "
                         f"({longest} characters with its <start>/<end> markers), so every slice "
                         f"would run past the end of its tune; choose --seq-len {longest - 1} or less")
    return vocab, sets, split, fp


def make_optimizer(model: CharRNN, cfg: TrainConfig) -> AdamW:
    """AdamW (optim.py: torch's fused kernel, ~1 s less start-up than torch.optim);
    with weight decay, only the weight matrices decay (as in nanoGPT), not biases or
    the embedding table. Without it, one group: plain Adam's update."""
    params = list(model.parameters())
    if not cfg.weight_decay:
        return AdamW(params, lr=cfg.lr, weight_decay=0.0)
    embed = {id(model.embed.weight)} if model.embed is not None else set()
    decay = [p for p in params if p.dim() >= 2 and id(p) not in embed]
    rest = [p for p in params if p.dim() < 2 or id(p) in embed]
    return AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                  {"params": rest, "weight_decay": 0.0}], lr=cfg.lr)


class Run:
    """Everything the loop carries: model, optimizer, RNG, history; saves and resumes."""

    def __init__(self, cfg: TrainConfig, resume: bool = False, given: set | None = None):
        self.out = Path(cfg.out)
        self.device = pick_device(cfg.device)
        self.rank, self.world = ddp.setup(self.device)
        old = self._load_last() if resume else None
        self.changes, self.recipe = {}, ""
        if old:   # only the settings given now can change (all of cfg's if not said)
            asked = {f.name: getattr(cfg, f.name) for f in fields(cfg) if given is None or f.name in given}
            cfg, self.changes = resume_merge(old[2]["train_config"], asked)
        corpus = load_corpus(cfg.corpus)
        if not old:
            # speeds measured here (each rank of a torchrun job would measure its own and
            # might choose another shape, so a job goes by the table's)
            chars = train_chars(corpus, cfg)
            speed = (recipe.measure(cfg.cell, len(set("".join(corpus.tunes))) + 8, self.device,
                                    cfg.embed_size, chars, cfg.minutes)
                     if self.world == 1 and cfg.minutes else recipe.table_speed)
            cfg, self.recipe = recipe.resolve(cfg, chars, speed)
        self.cfg = cfg
        torch.manual_seed(cfg.seed + self.rank)
        try:
            self.vocab, sets, self.split, self.fp = prepare(cfg, old[1] if old else None, corpus)
        except VocabError as e:
            if not old:
                raise
            raise CheckpointError(f"--resume: {self.out} was trained on another vocabulary; "
                                  f"{cfg.corpus} has {e}") from None
        self.train_set, self.val_set, self.val_raw = sets["train"], sets["val"], sets.get("val_raw")
        self.profile = self.split.pop("profile")
        if old and old[2]["corpus_fingerprint"] != self.fp:
            raise CheckpointError(f"--resume: {self.out} was trained on another corpus "
                                  "(fingerprint differs)")
        self.model = old[0] if old else CharRNN(cfg.model_config(len(self.vocab)))
        self.model.to(self.device).train()
        self.opt = make_optimizer(self.model, cfg)
        self.gen = torch.Generator().manual_seed(cfg.seed + 1000 * self.rank)
        self.step, self.history, self.best_val, self.elapsed = 0, [], float("inf"), 0.0
        self.resumes, self.stop_reason, self.stale = [], "", 0
        if old:
            self._restore(*old[2:])
            if "dropout" in self.changes:           # how it goes on, not its shape
                self.model.drop.p = self.model.config.dropout = cfg.dropout
            self.resumes = old[2].get("resumes", []) + [{"step": self.step, "changed": self.changes}]
        self.plotted = (time.monotonic(), len(self.history))    # when loss.png was drawn, of how many rows
        self.ddp = self.model
        if self.world > 1:
            from torch.nn.parallel import DistributedDataParallel
            self.ddp = DistributedDataParallel(self.model)

    def _load_last(self):
        path = self.out / "last.json"
        if not path.is_file():
            raise CheckpointError(f"--resume: no checkpoint at {path}")
        old = load_checkpoint(path, with_resume=True)      # every field and tensor checked
        check_saved(path, old[2]["train_config"], old[0].config)
        return old

    def _restore(self, doc: dict, tensors: dict):
        restore_optimizer(self.opt, {k: v for k, v in tensors.items() if k.startswith("state.")},
                          doc["resume"]["optimizer"], where=str(self.out / "last.json"))
        torch.set_rng_state(tensors["rng.torch"])
        if self.rank == 0:
            self.gen.set_state(tensors["rng.gen.0"])
        else:   # only rank 0 saves its RNG states: other ranks draw fresh, distinct streams
            self.gen.manual_seed(self.cfg.seed + 1000 * self.rank + doc["step"])
            torch.manual_seed(self.cfg.seed + self.rank + doc["step"])   # their own dropout masks
        self.step, self.history = doc["step"], doc["history"]
        self.best_val, self.elapsed = doc["best_val_loss"], doc["train_seconds"]
        self.stale = doc.get("evaluations_without_improvement", 0)

    def meta(self) -> dict:
        return {"model_config": self.model.config.to_dict(), "train_config": asdict(self.cfg),
                "vocab": self.vocab.to_list(), "history": self.history, "best_val_loss": self.best_val,
                "corpus_fingerprint": self.fp, "train_seconds": round(self.elapsed, 2),
                "num_params": self.model.num_params(), "recipe": self.recipe,
                "corpus_profile": self.profile, "resumes": self.resumes,
                "stop_reason": self.stop_reason, "evaluations_without_improvement": self.stale}

    def save(self, best: bool):
        """Rank 0 only: best model, last checkpoint (with optimizer + RNG), history files.

        last.json is written after model.json: it is what --resume continues from,
        so a crash between the two resumes from the earlier step and saves the best
        model again, instead of forgetting a best model that last.json counts."""
        tensors, opt_meta = optimizer_tensors(self.opt)
        tensors |= {"rng.gen.0": self.gen.get_state(), "rng.torch": torch.get_rng_state()}
        if best:
            save_checkpoint(self.out, "model", self.model, self.meta(), self.step)
        save_checkpoint(self.out, "last", self.model, self.meta(), self.step, tensors,
                        {"optimizer": opt_meta})
        # loss.png costs ~0.25 s a plot (and ~0.5 s to import matplotlib): at most one
        # every PLOT_EVERY_S here, and one at the end of training (see train())
        plot = time.monotonic() - self.plotted[0] >= PLOT_EVERY_S
        write_history(self.out, self.history, plot)
        if plot:
            self.plotted = (time.monotonic(), len(self.history))


PLOT_EVERY_S = 30.0


def write_history(out: Path, history: list[dict], plot: bool = True) -> None:
    """history.csv, history.json and (with ``plot``) loss.png, each written atomically.

    A process killed while writing one of them leaves its temporary file behind;
    the run folder is this run's alone, so those are removed here."""
    for name in ("history.csv", "history.json", "loss.png", "split.json"):
        for stale in out.glob(f".{name}.*.tmp"):
            stale.unlink(missing_ok=True)
    keys = ["step", "train_loss", "val_loss", "lr", "seconds", "chars_per_s"]
    keys += [k for k in ("val_raw_loss",) if history and k in history[0]]
    rows = [",".join(keys)] + [",".join(str(h[k]) for k in keys) for h in history]
    atomic_write(out / "history.csv", "\n".join(rows) + "\n")
    atomic_write(out / "history.json", json.dumps(history, indent=1))
    if plot:
        from abcrnn.figures import plot_history
        plot_history(history, out / "loss.png")
