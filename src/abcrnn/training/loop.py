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
import sys
import threading
import time
from contextlib import nullcontext

import torch

from abcrnn.training import ddp
from abcrnn.files import atomic_write
from abcrnn.training.runfolder import RunClaim
from abcrnn.training.config import TrainConfig  # also re-exported: its home before config.py
from abcrnn.model.tuneset import TuneSet
from abcrnn.training.ddp import rank_weighted
from abcrnn.model.charrnn import CharRNN

# the run's state and its preparation live in runstate.py; re-exported here, where
# callers (cli, bench, tests) have always found them
from abcrnn.training.runstate import Run, write_history


def get_lr(cfg: TrainConfig, step: int, elapsed: float = 0.0) -> float:
    """Linear warm-up, then constant or cosine decay to min_lr. With a time budget
    (``minutes``) the decay follows whichever of steps and time runs out first, so a
    run cut by the clock still ends at a low learning rate."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    if cfg.lr_schedule == "constant":
        return cfg.lr
    frac = (step - cfg.warmup_steps) / max(1, cfg.steps_cap - cfg.warmup_steps)
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


def train(cfg: TrainConfig, resume: bool = False, progress: bool = True, given: set | None = None,
          overwrite: bool = False) -> dict:
    """Train and return the final meta (history, best val loss, why it stopped...).

    Ctrl-C stops after the current step, which is checkpointed, then raises
    KeyboardInterrupt with a message that says where (see _CtrlC). A loss that is
    not a number stops the run with an error; its last good checkpoint stays.
    With ``resume``, ``given`` names the settings asked for now (the rest go on as
    saved; training/resume.py says which may change). The run holds its folder's
    lock throughout; a run already there needs ``resume`` or ``overwrite``
    (training/runfolder.py)."""
    with RunClaim(cfg.out, resume, overwrite, say=lambda line: _say(progress, line)) as folder:
        return _train(cfg, resume, progress, given, folder)


def _train(cfg: TrainConfig, resume: bool, progress: bool, given: set | None, folder) -> dict:
    set_threads(cfg.threads)
    run = Run(cfg, resume, given)
    cfg, model, opt, out = run.cfg, run.ddp, run.opt, run.out
    if run.rank == 0:
        folder.ensure()                      # made and locked before the first write
        atomic_write(out / "split.json", json.dumps(run.split))
        _say(progress, run.recipe or "", *(f"--resume: {k} {v[0]} -> {v[1]}" for k, v in run.changes.items()))
    amp = torch.autocast("cuda", torch.bfloat16) if run.device.type == "cuda" else nullcontext()
    cap = cfg.steps_cap
    bar = _progress(progress and run.rank == 0, run.step, cap if cap < 10**12 else None)
    t0, window, chars = time.time() - run.elapsed, [], 0
    t_window, last_eval = time.time(), run.elapsed
    every = _eval_seconds(cfg)
    stop = interrupted = False
    with _CtrlC() as ctrl_c:
        while run.step < cap and not stop:
            for g in opt.param_groups:
                g["lr"] = get_lr(cfg, run.step, run.elapsed)
            idx, targets = run.train_set.get_batch(cfg.batch_size, cfg.seq_len, run.gen)
            loss = train_step(model, opt, idx.to(run.device), targets.to(run.device),
                              cfg.grad_clip, amp)
            if not math.isfinite(loss):
                raise FloatingPointError(f"the training loss became {loss} at step {run.step + 1}; "
                                         f"the last good checkpoint is {out / 'last.json'} (try a "
                                         f"smaller --lr or --grad-clip)")
            run.step += 1
            window.append(loss)
            chars += int((targets >= 0).sum()) * run.world
            run.elapsed = time.time() - t0
            stop, why = _should_stop(cfg, run, ctrl_c.hit)
            run.stop_reason = why if stop else ("the step limit" if run.step >= cap else "")
            interrupted = stop and ctrl_c.hit and run.step < cap
            due = (run.step % cfg.eval_interval == 0 if cfg.eval_interval
                   else ddp.decide(run.elapsed - last_eval >= every, run.device, run.world))
            if due or run.step == cap or stop:
                cps = chars / max(1e-9, time.time() - t_window)
                _evaluate(run, sum(window) / len(window), cps)
                window, chars, t_window, last_eval = [], 0, time.time(), run.elapsed
                if not stop:
                    stop, why = _after_eval(cfg, run)
                    run.stop_reason = why or run.stop_reason
            bar.update(1)
            if run.step % 10 == 0 and window:
                bar.set_postfix(loss=f"{window[-1]:.3f}",
                                cps=f"{chars / max(1e-9, time.time() - t_window):,.0f}")
    bar.close()
    if run.rank == 0:
        finish(run, fit_cache=not interrupted)
    ddp.finish(run.world)
    if interrupted:
        raise KeyboardInterrupt(f"interrupted at step {run.step}; checkpoint written to "
                                f"{out / 'last.json'} (continue with --resume)")
    return run.meta()


def set_threads(threads: int) -> None:
    """--threads, else $ABCRNN_THREADS, else torch's own choice."""
    n = threads or int(os.environ.get("ABCRNN_THREADS", "0") or 0)
    if n > 0:
        torch.set_num_threads(n)


def _eval_seconds(cfg: TrainConfig) -> float:
    """Without --eval-interval, a budgeted run validates about 30 times in its budget."""
    return max(10.0, cfg.minutes * 60 / 30) if cfg.minutes else float("inf")


def _say(progress: bool, *lines: str) -> None:
    """Lines about the run (the recipe, what a resume changes), unless --quiet."""
    for line in lines if progress else ():
        if line:
            print(f"abcrnn: {line}", file=sys.stderr)


def finish(run: Run, fit_cache: bool = True) -> None:
    """Rank 0, after the last step: loss.png of every row, why the run stopped (in
    model.json and last.json), and the neural cache's weight and sharpness fitted on
    the validation tunes for the best model (model/cache.py), written into model.json."""
    from abcrnn.model.checkpoint import load_checkpoint, update_json
    if run.plotted[1] != len(run.history):
        write_history(run.out, run.history)
    best, last = run.out / "model.json", run.out / "last.json"
    for path in (best, last):
        if path.is_file():
            update_json(path, stop_reason=run.stop_reason)
    if fit_cache and best.is_file():
        from abcrnn.model.cache import fit
        model, _, _ = load_checkpoint(best, device=run.device)
        update_json(best, cache=fit(model, run.val_set, run.device))


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


def _after_eval(cfg: TrainConfig, run: Run) -> tuple[bool, str]:
    """--target-val-loss met, or --patience evaluations without improvement? Rank 0
    validated, so under DDP it decides for every rank (every rank evaluates at the
    same steps, so all of them call this together)."""
    if cfg.target_val_loss and run.best_val <= cfg.target_val_loss:
        why = f"the target validation loss {cfg.target_val_loss:g}"
    elif cfg.patience and run.stale >= cfg.patience:
        why = f"no better validation loss in {cfg.patience} evaluations"
    else:
        why = ""
    return ddp.decide(bool(why), run.device, run.world), why


def _should_stop(cfg: TrainConfig, run: Run, ctrl_c: bool = False) -> tuple[bool, str]:
    """Time budget or Ctrl-C; under DDP rank 0 decides so every rank stops at the same step."""
    timed = bool(cfg.minutes) and run.elapsed >= cfg.minutes * 60
    why = "Ctrl-C" if ctrl_c else f"the {cfg.minutes:g}-minute budget" if timed else ""
    return ddp.decide(bool(why), run.device, run.world), why


def _evaluate(run: Run, train_loss: float, cps: float):
    if run.rank != 0:
        return
    val = estimate_loss(run.model, run.val_set, run.device)
    best = val < run.best_val
    run.best_val = min(run.best_val, val)
    run.stale = 0 if best else run.stale + 1
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
