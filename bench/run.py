"""abcrnn benchmarks (issue 5): one run, every figure measured side by side on this machine.

    python bench/run.py            # the standard run (under a minute here)
    python bench/run.py --quick    # smoke run: few repetitions, a 30-step training run
    python bench/run.py --full     # more repetitions, three time-to-1.40 runs (median)

Prints a table (ratios first, with their targets), then ONE JSON object as the
last line. Throughputs count positions processed (batch x sequence length) per
second of wall time; each is the median over many single calls, and the calls of
kernel, training step and naive loop take turns (as do the four sampling calls),
so that noise from other work on the machine hits them alike.
"""
from __future__ import annotations

import argparse
from dataclasses import replace
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))      # run from a checkout without installing, too

from abcrnn.model.charrnn import CharRNN
from abcrnn.training import recipe
from abcrnn.training.config import TrainConfig
from abcrnn.training.runstate import make_optimizer, prepare
from abcrnn.training.loop import train_step
from abcrnn.resources import bundled_corpus

TARGETS = {"train_over_kernel": (">=", 0.85), "train_over_naive": (">=", 100.0),
           "time_to_1_40_s": ("<=", 25.0), "sample_64x600_s": ("<=", 0.3),
           "sample_1x600_s": ("<=", 0.1)}
MODES = {  # rounds of interleaved blocks, steps per block, time-to-1.40 runs, sampling repeats
    "quick": {"rounds": 2, "steps": 3, "naive_steps": 2, "t140_runs": 1, "t140_max_steps": 30,
              "sample_reps": 2, "ref_shape": False},
    "standard": {"rounds": 5, "steps": 8, "naive_steps": 3, "t140_runs": 1, "t140_max_steps": 0,
                 "sample_reps": 9, "ref_shape": True},
    "full": {"rounds": 9, "steps": 12, "naive_steps": 5, "t140_runs": 3, "t140_max_steps": 0,
             "sample_reps": 15, "ref_shape": True},
}


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return {"nproc": os.cpu_count(), "cpu": cpu, "torch": torch.__version__,
            "threads": torch.get_num_threads(), "python": platform.python_version(),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def block_time(fn, steps: int) -> float:
    """Seconds per call of fn over one block of ``steps`` calls."""
    t = time.perf_counter()
    for _ in range(steps):
        fn()
    return (time.perf_counter() - t) / steps


def make_kernel(cfg: TrainConfig, vocab_size: int):
    """Bare fused nn.LSTM forward + backward at the default shape; the input needs
    its gradient, as the embedding below it does in the real model. Time-major, the
    layout CharRNN uses (batch_first would add transpose copies to the kernel)."""
    lstm = torch.nn.LSTM(cfg.embed_size, cfg.hidden_size)
    x = torch.randn(cfg.seq_len, cfg.batch_size, cfg.embed_size, requires_grad=True)   # (T, B, E)
    grad_out = torch.randn(cfg.seq_len, cfg.batch_size, cfg.hidden_size)               # (T, B, H)

    def kernel():
        out, _ = lstm(x)
        out.backward(grad_out)
    return kernel


def make_train(cfg: TrainConfig, vocab_size: int, train_set):
    """Our own training step: TuneSet.get_batch + CharRNN + train.train_step."""
    torch.manual_seed(0)
    model = CharRNN(cfg.model_config(vocab_size)).train()
    opt, gen = make_optimizer(model, cfg), torch.Generator().manual_seed(0)

    def step():
        idx, targets = train_set.get_batch(cfg.batch_size, cfg.seq_len, gen)
        train_step(model, opt, idx, targets, cfg.grad_clip)
    return step


def make_naive(cfg: TrainConfig, vocab_size: int, train_set):
    """The study's way at the same size: batch 1, one-hot input, a Python loop calling
    an LSTM cell per character of one tune slice, loss summed, one Adam step."""
    torch.manual_seed(0)
    cell = torch.nn.LSTMCell(vocab_size, cfg.hidden_size)
    head = torch.nn.Linear(cfg.hidden_size, vocab_size)
    opt = torch.optim.Adam([*cell.parameters(), *head.parameters()], lr=cfg.lr)
    tune = train_set.tune(int(train_set.lengths.argmax())).long()[: cfg.seq_len + 1]
    onehot = torch.eye(vocab_size)[tune]                                     # (T+1, V)

    def step():
        h = c = torch.zeros(1, cfg.hidden_size)
        loss = 0.0
        for t in range(cfg.seq_len):
            h, c = cell(onehot[t:t + 1], (h, c))
            loss = loss + F.cross_entropy(head(h), tune[t + 1:t + 2])
        opt.zero_grad()
        (loss / cfg.seq_len).backward()
        opt.step()
    return step


def make_naive_module(cfg: TrainConfig, vocab_size: int, train_set):
    """The same loop with ``nn.LSTM`` called on a one-character sequence and the
    one-hot vector built per character, as tutorials write it (context only)."""
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(vocab_size, cfg.hidden_size)
    head = torch.nn.Linear(cfg.hidden_size, vocab_size)
    opt = torch.optim.Adam([*lstm.parameters(), *head.parameters()], lr=cfg.lr)
    tune = train_set.tune(int(train_set.lengths.argmax())).long()[: cfg.seq_len + 1]

    def step():
        state, loss = None, 0.0
        for t in range(cfg.seq_len):
            x = torch.zeros(1, 1, vocab_size)                               # (T=1, B=1, V)
            x[0, 0, tune[t]] = 1.0
            out, state = lstm(x, state)
            loss = loss + F.cross_entropy(head(out[0]), tune[t + 1:t + 2])
        opt.zero_grad()
        (loss / cfg.seq_len).backward()
        opt.step()
    return step


def throughputs(cfg: TrainConfig, m: dict) -> dict:
    """Kernel, training step and naive loop at the default shape; with ``m["ref_shape"]``
    also kernel and step at the issue's reference shape (batch 32, 128 steps)."""
    vocab, sets, _, _ = prepare(cfg)
    fns = {"kernel": make_kernel(cfg, len(vocab)), "train": make_train(cfg, len(vocab), sets["train"]),
           "naive": make_naive(cfg, len(vocab), sets["train"]),
           "naive_nn_lstm": make_naive_module(cfg, len(vocab), sets["train"])}
    chars = {"kernel": cfg.batch_size * cfg.seq_len, "train": cfg.batch_size * cfg.seq_len,
             "naive": cfg.seq_len, "naive_nn_lstm": cfg.seq_len}
    if m["ref_shape"]:
        ref = replace(cfg, batch_size=32, seq_len=128)
        fns |= {"kernel_b32_t128": make_kernel(ref, len(vocab)),
                "train_b32_t128": make_train(ref, len(vocab), sets["train"])}
        chars |= {"kernel_b32_t128": 32 * 128, "train_b32_t128": 32 * 128}
    for fn in fns.values():          # warm-up: allocator, oneDNN primitives, Adam state
        block_time(fn, 2)
    times = {k: [] for k in fns}
    # one call of each in turn, many times over; the median per call shrugs off the
    # bursts of other load that this shared virtual machine has
    for i in range(m["rounds"] * m["steps"]):
        for k, fn in fns.items():
            if not k.startswith("naive") or i < m["rounds"] * m["naive_steps"]:
                times[k].append(block_time(fn, 1))
    return {f"{k}_chars_per_s": round(chars[k] / statistics.median(v)) for k, v in times.items()}


def time_to_target(out: Path, max_steps: int, target: float = 1.40) -> dict:
    """Wall time of a real ``abcrnn train`` process (start-up included) with the
    default recipe until validation first reaches ``target``."""
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "-m", "abcrnn", "train", "--quiet", "--out", str(out),
           "--target-val-loss", str(target)] + (["--max-steps", str(max_steps)] if max_steps else [])
    t = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"bench: training failed:\n{proc.stderr}")
    history = json.loads((out / "history.json").read_text())
    hit = next((h for h in history if h["val_loss"] <= target), None)
    return {"wall_s": wall, "reached": hit is not None, "step": history[-1]["step"],
            "val_loss": min(h["val_loss"] for h in history),
            "train_chars_per_s_in_run": history[-1]["chars_per_s"]}


def sampling(model_dir: Path | None, cfg: TrainConfig, reps: int) -> dict:
    """Plain sampling (no guide) of exactly 600 characters, T = 1, fast and reference step."""
    from abcrnn.model.checkpoint import load_checkpoint
    from abcrnn.sampling.sample import sample
    if model_dir is not None and (model_dir / "model.json").is_file():
        model, vocab, _ = load_checkpoint(model_dir)
        shown = model_dir.relative_to(ROOT) if model_dir.is_relative_to(ROOT) else model_dir
        which = f"the time-to-1.40 run's best model ({shown})"
    else:
        from abcrnn.corpus.read import load_corpus
        from abcrnn.model.vocab import Vocab
        from abcrnn.notation.tunes import wrap
        vocab = Vocab.from_texts(load_corpus("").tunes + [wrap("")])
        torch.manual_seed(0)
        model = CharRNN(cfg.model_config(len(vocab)))
        which = "the default config, untrained weights"
    fns = {f"sample_{n}x600_s" + ("" if fast else "_reference"):
           (lambda n=n, fast=fast: sample(model, vocab, num_tunes=n, max_len=600, seed=1, fast=fast,
                                          stop_at_end=False, guide=False))
           for n in (64, 1) for fast in (True, False)}
    for fn in fns.values():                                           # warm-up
        fn()
    times = {k: [] for k in fns}
    for _ in range(reps):           # in turn, like the training step: bursts hit all alike
        for k, fn in fns.items():
            times[k].append(block_time(fn, 1))
    return {"sample_model": which} | {k: round(statistics.median(v), 4) for k, v in times.items()}


def table(r: dict) -> str:
    def row(name, value, key=None):
        target = TARGETS.get(key or name)
        ok = "" if target is None or value is None else (
            "ok" if (value >= target[1] if target[0] == ">=" else value <= target[1]) else "MISSED")
        shown = "n/a" if value is None else (f"{value:,.3f}" if value < 100 else f"{value:,.0f}")
        tgt = "" if target is None else f"{target[0]} {target[1]:g}"
        return f"{name:<34}{shown:>14}  {tgt:<10}{ok}"
    lines = [f"{'metric':<34}{'value':>14}  {'target':<10}", "-" * 66]
    for key in ("train_over_kernel", "train_over_naive", "time_to_1_40_s", "sample_64x600_s",
                "sample_1x600_s", "kernel_chars_per_s", "train_chars_per_s", "naive_chars_per_s",
                "naive_nn_lstm_chars_per_s", "train_over_kernel_b32_t128", "kernel_b32_t128_chars_per_s",
                "train_b32_t128_chars_per_s", "peak_rss_mb", "sample_64x600_s_reference",
                "sample_1x600_s_reference"):
        lines.append(row(key, r.get(key)))
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--quick", action="store_true", help="smoke run: few repetitions, short training")
    g.add_argument("--full", action="store_true", help="more repetitions, three time-to-1.40 runs")
    ap.add_argument("--seed", type=int, default=0, help="seed of the in-process benchmarks")
    ap.add_argument("--out", default=str(ROOT / "out" / "bench"), help="scratch folder")
    args = ap.parse_args(argv)
    torch.manual_seed(args.seed)
    mode = "quick" if args.quick else "full" if args.full else "standard"
    # the quick recipe (no --minutes): what `abcrnn train` runs by default
    cfg = recipe.resolve(TrainConfig(corpus=str(bundled_corpus())), 0)[0]
    m, out = MODES[mode], Path(args.out)
    result = {"mode": mode, **machine()}
    # the training process first: RUSAGE_CHILDREN's peak then is this child's own
    runs = [time_to_target(out / f"t140-{i}", m["t140_max_steps"]) for i in range(m["t140_runs"])]
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)
    walls = [r["wall_s"] for r in runs if r["reached"]]
    result["time_to_1_40_s"] = round(statistics.median(walls), 2) if len(walls) == len(runs) else None
    result["time_to_1_40_runs"] = runs
    result |= throughputs(cfg, m)
    result["train_over_kernel"] = round(result["train_chars_per_s"] / result["kernel_chars_per_s"], 3)
    result["train_over_naive"] = round(result["train_chars_per_s"] / result["naive_chars_per_s"], 1)
    if "train_b32_t128_chars_per_s" in result:
        result["train_over_kernel_b32_t128"] = round(
            result["train_b32_t128_chars_per_s"] / result["kernel_b32_t128_chars_per_s"], 3)
    result["shape"] = {"batch_size": cfg.batch_size, "seq_len": cfg.seq_len,
                       "hidden_size": cfg.hidden_size, "embed_size": cfg.embed_size}
    result |= sampling(out / "t140-0", cfg, m["sample_reps"])
    result["targets"] = {k: f"{op} {v:g}" for k, (op, v) in TARGETS.items()}
    print(table(result))
    print(f"sampling model: {result['sample_model']}; torch {result['torch']}, "
          f"{result['threads']} threads, {result['nproc']} cores ({result['cpu']})")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
