"""What each speed change buys, measured side by side (interleaved blocks, medians).

    python bench/ablations.py [--only train,threads,eval,sample,compile] [--rounds 5]

* train:   our training step (optim.AdamW, clip_grads) against torch.optim.AdamW(fused=True)
           with clip_grad_norm_, and AdamW's CPU default (a Python loop over tensors): before;
* threads: kernel and training step at 1 and 2 intra-op threads;
* eval:    validation (estimate_loss over every val tune) at several batch sizes;
* sample:  plain sampling, 64 x 600 and 1 x 600, with step.Stepper against model.forward;
           and the LSTM step's two changes apart and together: tanh as 2*sigmoid(2x)-1,
           and drawing by inverse CDF from one uniform per row instead of torch.multinomial;
* compile: torch.compile of the model (compile time and steady-state speed).
Prints one line of JSON per experiment.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

import run as bench

from abcrnn.model.charrnn import CharRNN
from abcrnn.training import recipe
from abcrnn.training.config import TrainConfig
from abcrnn.training.loop import clip_grads, estimate_loss, train_step
from abcrnn.training.runstate import make_optimizer, prepare
from abcrnn.resources import bundled_corpus


def interleaved(fns: dict, rounds: int, steps: int) -> dict:
    """Median seconds per call of each fn, one call of each in turn (see bench/run.py)."""
    for fn in fns.values():
        bench.block_time(fn, 1)
    times = {k: [] for k in fns}
    for _ in range(rounds * steps):
        for k, fn in fns.items():
            times[k].append(bench.block_time(fn, 1))
    return {k: statistics.median(v) for k, v in times.items()}


def model_for(cfg, V):
    torch.manual_seed(0)
    return CharRNN(cfg.model_config(V)).train()


def exp_train(cfg, vocab, sets, rounds):
    """Our step as it is (optim.AdamW: the fused kernel without torch.optim, and
    clip_grads) against torch.optim.AdamW(fused=True) with torch's clip_grad_norm_,
    and against AdamW's CPU default (a Python loop over tensors): the step before issue 5."""
    def make(kind):
        model = model_for(cfg, len(vocab))
        opt = (make_optimizer(model, cfg) if kind == "now" else
               torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=0.0, fused=kind == "torch_fused"))
        gen, params = torch.Generator().manual_seed(0), list(model.parameters())

        def step():
            idx, targets = sets["train"].get_batch(cfg.batch_size, cfg.seq_len, gen)
            _, loss, _ = model(idx, targets)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if kind == "now":
                clip_grads(params, cfg.grad_clip)
            else:
                torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
            opt.step()
            return loss.item()
        return step
    fns = {k: make(k) for k in ("now", "torch_fused", "before")}
    t = interleaved(fns, rounds, 6)
    n = cfg.batch_size * cfg.seq_len
    return {k + "_chars_per_s": round(n / v) for k, v in t.items()}


def exp_threads(cfg, vocab, sets, rounds):
    out, n = {}, cfg.batch_size * cfg.seq_len
    fns = {"kernel": bench.make_kernel(cfg, len(vocab)),
           "train": bench.make_train(cfg, len(vocab), sets["train"])}
    for threads in (1, 2):
        torch.set_num_threads(threads)
        for k, v in interleaved(fns, rounds, 3).items():
            out[f"{k}_{threads}thr_chars_per_s"] = round(n / v)
    return out


def exp_eval(cfg, vocab, sets, rounds):
    model = model_for(cfg, len(vocab)).eval()
    fns = {f"batch_{b}": (lambda b=b: estimate_loss(model, sets["val"], batch_size=b))
           for b in (16, 32, 64, 128)}
    return {k + "_s": round(v, 3) for k, v in interleaved(fns, rounds, 1).items()}


def exp_compile(cfg, vocab, sets, rounds):
    eager = model_for(cfg, len(vocab))
    compiled = torch.compile(model_for(cfg, len(vocab)))
    out = {}
    for name, model in (("eager", eager), ("compiled", compiled)):
        opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, fused=True)
        gen = torch.Generator().manual_seed(0)

        def step(model=model, opt=opt, gen=gen):
            idx, targets = sets["train"].get_batch(cfg.batch_size, cfg.seq_len, gen)
            train_step(model, opt, idx, targets, cfg.grad_clip)
        t = time.perf_counter()
        step()
        out[f"{name}_first_step_s"] = round(time.perf_counter() - t, 2)
        out[f"{name}_fn"] = step
    t = interleaved({k: out.pop(f"{k}_fn") for k in ("eager", "compiled")}, rounds, 3)
    n = cfg.batch_size * cfg.seq_len
    return out | {k + "_chars_per_s": round(n / v) for k, v in t.items()}


def exp_sample(model_dir, rounds):
    from abcrnn.model.checkpoint import load_checkpoint
    from abcrnn.sampling.sample import sample
    model, vocab, _ = load_checkpoint(model_dir)
    out = {}
    for n in (64, 1):
        fns = {f"{n}x600_{'stepper' if fast else 'forward'}":
               (lambda n=n, fast=fast: sample(model, vocab, num_tunes=n, max_len=600, seed=1,
                                              fast=fast, stop_at_end=False, guide=False))
               for fast in (True, False)}
        out |= {k + "_s": round(v, 4) for k, v in interleaved(fns, rounds, 1).items()}
    return out | _step_variants(model, rounds)


def _step_variants(model, rounds):
    """The 64 x 600 loop with the LSTM step's two speed-ups apart and together: tanh
    as 2 sigmoid(2x) - 1 (step.py) and the inverse-CDF draw (sample.draw), against
    tanh and torch.multinomial (the sampler before commit 617a5bf)."""
    from abcrnn.sampling.draw import draw
    from abcrnn.model.step import Stepper
    st = Stepper(model)
    _, table2, w2, _ = st.layers[0]                   # as adopted: the g gate's rows doubled
    H, gen = st.H, torch.Generator().manual_seed(0)
    table, w_hh = table2.clone(), w2.clone()          # halved back: exact in float
    table[:, 2 * H:3 * H] /= 2
    w_hh[:, 2 * H:3 * H] /= 2

    def lstm_tanh(ids, h, c):
        i, f, g, o = table.index_select(0, ids).addmm_(h, w_hh).chunk(4, 1)
        c = torch.addcmul(f.sigmoid() * c, i.sigmoid(), g.tanh())
        return o.sigmoid() * c.tanh(), c

    def lstm_sigmoid(ids, h, c):       # tanh(x) = 2 sigmoid(2x) - 1
        i, f, g, o = table2.index_select(0, ids).addmm_(h, w2).sigmoid_().chunk(4, 1)
        c = torch.addcmul(f * c, i, g * 2 - 1)
        return o * (c * 2).sigmoid_().mul_(2).sub_(1), c

    def pick_cdf(logits):              # one uniform per row instead of V exponentials
        return draw(torch.softmax(logits, -1), gen)

    def loop(cell, draw, B=64):
        ids, h, c = torch.zeros(B, dtype=torch.long), torch.zeros(B, H), torch.zeros(B, H)
        for _ in range(600):
            h, c = cell(ids, h, c)
            ids = draw(torch.addmm(st.head_b, h, st.head_w))

    multinomial = lambda logits: torch.multinomial(torch.softmax(logits, -1), 1, generator=gen)[:, 0]
    with torch.inference_mode():
        fns = {"64x600_loop_tanh_multinomial": lambda: loop(lstm_tanh, multinomial),
               "64x600_loop_sigmoid_multinomial": lambda: loop(lstm_sigmoid, multinomial),
               "64x600_loop_tanh_cdf": lambda: loop(lstm_tanh, pick_cdf),
               "64x600_loop_sigmoid_cdf": lambda: loop(lstm_sigmoid, pick_cdf)}
        return {k + "_s": round(v, 4) for k, v in interleaved(fns, rounds, 1).items()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", default="train,threads,eval,sample")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--model", default=str(ROOT / "out" / "bench" / "t140-0"),
                    help="model folder for the sampling experiments")
    args = ap.parse_args(argv)
    cfg = recipe.resolve(TrainConfig(corpus=str(bundled_corpus())), 0)[0]     # the quick recipe
    vocab, sets, _, _ = prepare(cfg)
    threads = torch.get_num_threads()
    for name in args.only.split(","):
        torch.set_num_threads(threads)
        if name == "sample":
            res = exp_sample(args.model, args.rounds)
        else:
            res = globals()[f"exp_{name}"](cfg, vocab, sets, args.rounds)
        print(json.dumps({"experiment": name, "threads": threads, **res}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
