"""Training: teacher forcing on random slices of random tunes, Adam, validation
on whole tunes, best/last checkpoints, loss history. DDP when run by torchrun.

Validation loss is the mean negative log-likelihood in nats per predicted
character over *all* validation tunes, each fed from a zero state starting at
its first character (``<start>``): sum of NLL over every next-character
prediction of every val tune / number of those predictions.
"""
from __future__ import annotations

import json
import math
import os
import signal
import threading
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import torch

from . import abc
from .checkpoint import (CheckpointError, atomic_write, load_checkpoint, optimizer_tensors,
                         restore_optimizer, save_checkpoint)
from .corpuscache import encoded_corpus
from .data import TuneSet, Vocab, VocabError, fingerprint, split_tunes
from .model import CharRNN, ModelConfig
from .optim import AdamW


@dataclass
class TrainConfig:
    corpus: str = ""
    out: str = "out/run"
    cell: str = "lstm"
    hidden_size: int = 256
    num_layers: int = 1
    dropout: float = 0.0
    embed_size: int = 64
    # The default recipe is tuned for time to quality on a small CPU (docs/BENCHMARKS.md):
    # small batches of short slices give the most updates per character seen.
    seq_len: int = 64
    batch_size: int = 16
    lr: float = 8e-3
    lr_schedule: str = "cosine"        # constant | cosine (decays to min_lr over max_steps)
    warmup_steps: int = 20
    min_lr: float = 1e-4
    grad_clip: float = 1.0
    weight_decay: float = 0.0          # AdamW's decoupled decay (0 = plain Adam)
    augment_keys: int = 0              # add each training tune transposed to this many nearby keys
    max_steps: int = 2000
    minutes: float = 0.0               # wall-clock budget; 0 = none
    target_val_loss: float = 0.0       # stop once validation loss is at or below this; 0 = never
    eval_interval: int = 150
    val_frac: float = 0.1
    split_seed: int = 1337
    seed: int = 1337
    clean: bool = False                # train/validate on cleaned tunes (see clean.py)
    device: str = "auto"

    def __post_init__(self):
        checks = [(self.seq_len >= 1, "seq_len must be >= 1"),
                  (self.batch_size >= 1, "batch_size must be >= 1"),
                  (self.lr > 0 and math.isfinite(self.lr), "lr must be a positive number"),
                  (self.max_steps >= 1, "max_steps must be >= 1"),
                  (self.minutes >= 0, "minutes must be >= 0"),
                  (self.target_val_loss >= 0 and math.isfinite(self.target_val_loss),
                   "target_val_loss must be a number >= 0 (0 = off)"),
                  (self.weight_decay >= 0, "weight_decay must be >= 0"),
                  (0 <= self.augment_keys <= 12, "augment_keys must be between 0 and 12"),
                  (self.eval_interval >= 1, "eval_interval must be >= 1"),
                  (0 < self.val_frac < 1, "val_frac must be in (0, 1)"),
                  (self.lr_schedule in ("constant", "cosine"), "lr_schedule must be constant or cosine"),
                  (self.device in ("auto", "cpu", "cuda"), "device must be auto, cpu or cuda")]
        for ok, msg in checks:
            if not ok:
                raise ValueError(msg)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


def get_lr(cfg: TrainConfig, step: int, elapsed: float = 0.0) -> float:
    """Linear warm-up, then constant or cosine decay to min_lr. With a time budget
    (``minutes``) the decay follows whichever of steps and time runs out first, so a
    run cut by the clock still ends at a low learning rate."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    if cfg.lr_schedule == "constant":
        return cfg.lr
    frac = (step - cfg.warmup_steps) / max(1, cfg.max_steps - cfg.warmup_steps)
    if cfg.minutes:
        frac = max(frac, elapsed / (cfg.minutes * 60))
    frac = min(1.0, frac)
    return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1 + math.cos(math.pi * frac))


@torch.inference_mode()
def estimate_loss(model: CharRNN, tunes: TuneSet, device="cpu", batch_size: int = 16) -> float:
    """Mean nats/char over whole tunes from a zero state (see module docstring)."""
    was_training = model.training
    model.eval()
    order = sorted(range(len(tunes)), key=lambda i: int(tunes.lengths[i]))  # less padding
    total, count = 0.0, 0
    for b in range(0, len(order), batch_size):
        idx, targets = tunes.padded(order[b:b + batch_size])
        idx, targets = idx.to(device), targets.to(device)
        logits, _, _ = model(idx)
        nll = torch.nn.functional.cross_entropy(logits.transpose(1, 2), targets,
                                                ignore_index=-1, reduction="sum")
        total += float(nll)
        count += int((targets >= 0).sum())
    model.train(was_training)
    return total / count


def pick_device(name: str) -> torch.device:
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda was asked for but no CUDA GPU is available")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


def _dist_setup(device: torch.device):
    """(rank, world_size); starts the process group when launched by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return 0, 1
    import torch.distributed as dist
    if device.type == "cuda":   # one GPU per process: "cuda" then means this rank's own GPU
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return dist.get_rank(), world


def prepare(cfg: TrainConfig, vocab: Vocab | None = None):
    """Corpus -> (vocab, {"train", "val"[, "val_raw"]: TuneSet}, split info, fingerprint).

    The split is drawn over the raw tunes first, so with ``clean`` the cleaned
    train and val sets come from disjoint tunes and "val_raw" (the same val tunes
    uncleaned) stays comparable with a run on the raw corpus."""
    corpus = abc.load_corpus(cfg.corpus)
    train_ids, val_ids = split_tunes(len(corpus.tunes), cfg.val_frac, cfg.split_seed)
    vocab = vocab or Vocab.from_texts(corpus.tunes + [abc.wrap("")])    # the markers' characters too
    fp = fingerprint(corpus.tunes)
    full = encoded_corpus(corpus.tunes, vocab, fp)      # encoded once, then from the cache
    train = raw_train = [corpus.tunes[i] for i in train_ids]
    val = raw_val = [corpus.tunes[i] for i in val_ids]
    split = {"train": train_ids, "val": val_ids, "fragments": len(corpus.fragments)}
    sets = {}
    if cfg.clean:
        from .clean import clean_tunes
        sets["val_raw"] = TuneSet.from_encoded(full.flat, full.lengths, val_ids)
        (train, rep_t), (val, rep_v) = clean_tunes(train), clean_tunes(val)
        split["clean"] = {"train": rep_t.to_dict(), "val": rep_v.to_dict()}
        if not train or not val:
            raise ValueError("cleaning left no tune on one side of the split")
    if cfg.augment_keys:       # training tunes only: validation stays as written
        from .transpose import augmented
        extra = [t for t in augmented(train, cfg.augment_keys) if not vocab.missing(abc.wrap(t))]
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
    if cfg.seq_len >= longest:     # a slice of seq_len inputs needs seq_len + 1 characters
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

    def __init__(self, cfg: TrainConfig, resume: bool = False):
        self.cfg, self.out = cfg, Path(cfg.out)
        self.device = pick_device(cfg.device)
        self.rank, self.world = _dist_setup(self.device)
        torch.manual_seed(cfg.seed + self.rank)
        old = self._load_last() if resume else None
        try:
            self.vocab, sets, self.split, self.fp = prepare(cfg, old[1] if old else None)
        except VocabError as e:
            if not old:
                raise
            raise CheckpointError(f"--resume: {self.out} was trained on another vocabulary; "
                                  f"{cfg.corpus} has {e}") from None
        self.train_set, self.val_set, self.val_raw = sets["train"], sets["val"], sets.get("val_raw")
        if old and old[2]["corpus_fingerprint"] != self.fp:
            raise CheckpointError(f"--resume: {self.out} was trained on another corpus "
                                  "(fingerprint differs)")
        self.model = old[0] if old else CharRNN(ModelConfig(
            len(self.vocab), cfg.cell, cfg.hidden_size, cfg.num_layers, cfg.dropout, cfg.embed_size))
        self.model.to(self.device).train()
        self.opt = make_optimizer(self.model, cfg)
        self.gen = torch.Generator().manual_seed(cfg.seed + 1000 * self.rank)
        self.step, self.history, self.best_val, self.elapsed = 0, [], float("inf"), 0.0
        if old:
            self._restore(*old[2:])
        self.plotted = (time.monotonic(), len(self.history))    # when loss.png was drawn, of how many rows
        self.ddp = self.model
        if self.world > 1:
            from torch.nn.parallel import DistributedDataParallel
            self.ddp = DistributedDataParallel(self.model)

    def _load_last(self):
        path = self.out / "last.json"
        if not path.is_file():
            raise CheckpointError(f"--resume: no checkpoint at {path}")
        return load_checkpoint(path, with_resume=True)

    def _restore(self, doc: dict, tensors: dict):
        if doc["model_config"] != self.model.config.to_dict():
            raise CheckpointError("--resume: the model settings differ from the checkpoint's")
        restore_optimizer(self.opt, {k: v for k, v in tensors.items() if k.startswith("state.")},
                          doc["resume"]["optimizer"])
        torch.set_rng_state(tensors["rng.torch"])
        if self.rank == 0:
            self.gen.set_state(tensors["rng.gen.0"])
        else:   # only rank 0 saves its RNG states: other ranks draw fresh, distinct streams
            self.gen.manual_seed(self.cfg.seed + 1000 * self.rank + doc["step"])
            torch.manual_seed(self.cfg.seed + self.rank + doc["step"])   # their own dropout masks
        self.step, self.history = doc["step"], doc["history"]
        self.best_val, self.elapsed = doc["best_val_loss"], doc["train_seconds"]

    def meta(self) -> dict:
        return {"model_config": self.model.config.to_dict(), "train_config": asdict(self.cfg),
                "vocab": self.vocab.to_list(), "history": self.history, "best_val_loss": self.best_val,
                "corpus_fingerprint": self.fp, "train_seconds": round(self.elapsed, 2),
                "num_params": self.model.num_params()}

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
    keys = ["step", "train_loss", "val_loss", "lr", "seconds", "chars_per_s"]
    keys += [k for k in ("val_raw_loss",) if history and k in history[0]]
    rows = [",".join(keys)] + [",".join(str(h[k]) for k in keys) for h in history]
    atomic_write(out / "history.csv", "\n".join(rows) + "\n")
    atomic_write(out / "history.json", json.dumps(history, indent=1))
    if plot:
        from .plots import plot_history
        plot_history(history, out / "loss.png")


class _CtrlC:
    """In the main thread, the first Ctrl-C (SIGINT) only asks the loop to stop: the
    step under way finishes and is validated and checkpointed like any other. A
    second Ctrl-C interrupts at once (KeyboardInterrupt); the atomic writes leave
    the previous checkpoint as it was."""

    def __init__(self):
        self.hit, self._old = False, None

    def __enter__(self):
        if (threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGINT) is signal.default_int_handler):
            self._old = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.hit:
            raise KeyboardInterrupt
        self.hit = True
        # os.write, not print: a handler that prints while stderr is mid-write fails
        os.write(2, b"\nabcrnn: stopping after this step to save a checkpoint "
                    b"(Ctrl-C again to stop at once)\n")

    def __exit__(self, *exc):
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)


def train(cfg: TrainConfig, resume: bool = False, progress: bool = True) -> dict:
    """Train and return the final meta (history, best val loss...).

    Ctrl-C stops after the current step, which is checkpointed, then raises
    KeyboardInterrupt with a message that says where (see _CtrlC)."""
    run = Run(cfg, resume)
    model, opt, out = run.ddp, run.opt, run.out
    if run.rank == 0:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write(out / "split.json", json.dumps(run.split))
    amp = torch.autocast("cuda", torch.bfloat16) if run.device.type == "cuda" else nullcontext()
    bar = _progress(progress and run.rank == 0, run.step, cfg.max_steps)
    t0, window, chars = time.time() - run.elapsed, [], 0
    t_window = time.time()
    stop = interrupted = False
    with _CtrlC() as ctrl_c:
        while run.step < cfg.max_steps and not stop:
            for g in opt.param_groups:
                g["lr"] = get_lr(cfg, run.step, run.elapsed)
            idx, targets = run.train_set.get_batch(cfg.batch_size, cfg.seq_len, run.gen)
            loss = train_step(model, opt, idx.to(run.device), targets.to(run.device),
                              cfg.grad_clip, amp)
            run.step += 1
            window.append(loss)
            chars += int((targets >= 0).sum()) * run.world
            run.elapsed = time.time() - t0
            stop = _should_stop(cfg, run, ctrl_c.hit)
            interrupted = stop and ctrl_c.hit and run.step < cfg.max_steps
            if run.step % cfg.eval_interval == 0 or run.step == cfg.max_steps or stop:
                cps = chars / max(1e-9, time.time() - t_window)
                _evaluate(run, sum(window) / len(window), cps)
                window, chars, t_window = [], 0, time.time()
                stop = stop or _reached_target(cfg, run)
            bar.update(1)
            if run.step % 10 == 0 and window:
                bar.set_postfix(loss=f"{window[-1]:.3f}",
                                cps=f"{chars / max(1e-9, time.time() - t_window):,.0f}")
    bar.close()
    if run.rank == 0 and run.plotted[1] != len(run.history):   # loss.png shows every row at the end
        write_history(out, run.history)
    if run.world > 1:
        import torch.distributed as dist
        dist.barrier()      # rank 0 may still be validating and saving: leave together
        dist.destroy_process_group()
    if interrupted:
        raise KeyboardInterrupt(f"interrupted at step {run.step}; checkpoint written to "
                                f"{out / 'last.json'} (continue with --resume)")
    return run.meta()


def train_step(model, opt, idx, targets, grad_clip: float, amp=None) -> float:
    """One optimiser step on a batch idx, targets (B, T); returns the loss.

    Under autocast (bf16 on CUDA) the LSTM and matmuls run in bf16, but
    cross_entropy is on autocast's fp32 list, so the loss and its log-softmax are
    computed in fp32; the parameters, their gradients and Adam's state stay fp32."""
    with amp or nullcontext():
        _, loss, _ = model(idx, targets)
    opt.zero_grad(set_to_none=True)
    rank_weighted(loss, targets).backward()
    clip_grads(list(model.parameters()), grad_clip)
    opt.step()
    return loss.item()


def clip_grads(params: list, max_norm: float) -> None:
    """torch's clip_grad_norm_, without its multiply by 1.0 when nothing is clipped.

    torch always scales by min(1, max_norm / (norm + 1e-6)) to avoid a device sync;
    on the CPU the test is free, and skipping the no-op pass over every gradient
    saves ~0.25 ms of a 17 ms step at the default shape. Same numbers either way."""
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    norm = torch.nn.utils.get_total_norm(grads)
    if norm.device.type != "cpu" or max_norm / (norm + 1e-6) < 1.0:
        torch.nn.utils.clip_grads_with_norm_(params, max_norm, norm)


def rank_weighted(loss: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Under DDP, the loss to back-propagate so that DDP's gradient *average* over
    ranks equals the gradient of the mean over every real target of every rank.

    Each rank's loss is a mean over its own real targets (padding, -1, is
    ignored), and ranks can hold different numbers of them; DDP divides the sum
    of gradients by the world size, so rank r's loss is scaled by
    world * n_r / sum(n). One all-reduce of a single number per step."""
    import torch.distributed as dist
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return loss
    n_local = (targets >= 0).sum().to(loss.dtype)
    n_all = n_local.detach().clone()
    dist.all_reduce(n_all)
    return loss * (dist.get_world_size() * n_local / n_all.clamp(min=1))


def _reached_target(cfg: TrainConfig, run: Run) -> bool:
    """--target-val-loss met? Rank 0 validated, so under DDP it decides for every rank
    (every rank evaluates at the same steps, so all of them call this together)."""
    hit = bool(cfg.target_val_loss) and run.best_val <= cfg.target_val_loss
    if run.world > 1:
        import torch.distributed as dist
        flag = torch.tensor([float(hit)], device=run.device)
        dist.broadcast(flag, 0)
        hit = bool(flag.item())
    return hit


def _should_stop(cfg: TrainConfig, run: Run, ctrl_c: bool = False) -> bool:
    """Time budget or Ctrl-C; under DDP rank 0 decides so every rank stops at the same step."""
    stop = ctrl_c or (bool(cfg.minutes) and run.elapsed >= cfg.minutes * 60)
    if run.world > 1:
        import torch.distributed as dist
        flag = torch.tensor([float(stop)], device=run.device)
        dist.broadcast(flag, 0)
        stop = bool(flag.item())
    return stop


def _evaluate(run: Run, train_loss: float, cps: float):
    if run.rank != 0:
        return
    val = estimate_loss(run.model, run.val_set, run.device)
    best = val < run.best_val
    run.best_val = min(run.best_val, val)
    row = {"step": run.step, "train_loss": round(train_loss, 4), "val_loss": round(val, 4),
           "lr": round(run.opt.param_groups[0]["lr"], 6),
           "seconds": round(run.elapsed, 1), "chars_per_s": round(cps)}
    if run.val_raw is not None:
        row["val_raw_loss"] = round(estimate_loss(run.model, run.val_raw, run.device), 4)
    run.history.append(row)
    run.save(best)


def _progress(enabled: bool, start: int, total: int):
    from tqdm import tqdm
    return tqdm(total=total, initial=start, disable=not enabled, unit="step", dynamic_ncols=True)
