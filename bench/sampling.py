"""Sampling cost and threads: 100 guided tunes of the shipped model with the defaults
(folk form, seed fixed), with 1 and 2 torch threads, on an idle machine and with a real
``abcrnn train`` beside it (one thread, as a user's training run would be).

    python bench/sampling.py             # 100 tunes per setting (about 3 minutes here)
    python bench/sampling.py --tunes 20  # a quicker look
    git worktree add /tmp/old OLD_COMMIT && python bench/sampling.py --against /tmp/old --rounds 2

``--against`` times this checkout and another side by side instead (idle, 2 threads,
alternating), so the machine's speed, which moves by 3x here, cancels in the ratio.

Every setting runs in its own process (torch fixes its thread pool at the first
call), the settings take turns ``--rounds`` times and the median is kept, so noise
from other work on the machine hits them alike. Prints a table, then ONE JSON object
as the last line. Figures: docs/BENCHMARKS.md ("Sampling and threads").
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 20.0          # 100 tunes on the 2 cores (issue 13)

ONE = """
import sys, time
import torch
torch.set_num_threads(int(sys.argv[1]))
import abcrnn
model = abcrnn.load_model()
model.generate(num_tunes=2, seed=0, max_len=200)          # warm: weights, abc2midi, caches
t = time.perf_counter()
tunes = model.generate(num_tunes=int(sys.argv[2]), seed=7)
print(time.perf_counter() - t, sum(t.ended for t in tunes), sum(len(t.abc) for t in tunes))
"""


def run_one(threads: int, tunes: int, src: Path = ROOT / "src") -> dict:
    env = dict(os.environ, PYTHONPATH=str(src), OMP_NUM_THREADS=str(threads))
    out = subprocess.run([sys.executable, "-c", ONE, str(threads), str(tunes)], env=env,
                         capture_output=True, text=True, check=True).stdout.split()
    return {"seconds": float(out[0]), "ended": int(out[1]), "chars": int(out[2])}


def busy_neighbour(folder: Path) -> subprocess.Popen:
    """A real training run on one thread, left running until killed."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "abcrnn", "train", "--max-steps", "1000000", "--threads", "1",
           "--out", str(folder / "busy"), "--quiet", "--device", "cpu"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(8)                                      # past its start-up, into the steps
    return proc


def measure(tunes: int, rounds: int) -> dict:
    settings = [(load, threads) for load in ("idle", "training beside") for threads in (1, 2)]
    got = {s: [] for s in settings}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(rounds):
            for load, threads in settings:
                neighbour = busy_neighbour(Path(tmp)) if load != "idle" else None
                try:
                    got[(load, threads)].append(run_one(threads, tunes))
                finally:
                    if neighbour is not None:
                        neighbour.kill()
                        neighbour.wait()
    return {f"{load}, {threads} thread{'s' * (threads > 1)}": summary(runs)
            for (load, threads), runs in got.items()}


def summary(runs: list[dict]) -> dict:
    """The median of a setting's rounds (the text is the same every round)."""
    return {"seconds": statistics.median(r["seconds"] for r in runs),
            "all_seconds": [round(r["seconds"], 2) for r in runs],
            "ended": runs[0]["ended"], "chars": runs[0]["chars"]}


def side_by_side(other: Path, tunes: int, rounds: int) -> dict:
    """This checkout's code and ``other``'s (a checkout's root), 2 threads, alternating."""
    trees = {"this checkout": ROOT / "src", str(other): other / "src"}
    got = {name: [] for name in trees}
    for _ in range(rounds):
        for name, src in trees.items():
            got[name].append(run_one(2, tunes, src))
    return {name: summary(runs) for name, runs in got.items()}


def table(result: dict, tunes: int) -> str:
    rows = [f"{'setting':28s} {'seconds':>8s} {'per 100 tunes':>14s} {'chars/s':>9s}"]
    for name, r in result.items():
        rows.append(f"{name:28s} {r['seconds']:8.1f} {r['seconds'] * 100 / tunes:14.1f} "
                    f"{r['chars'] / r['seconds']:9.0f}")
    return "\n".join(rows)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tunes", type=int, default=100, help="tunes per measurement (default: 100)")
    p.add_argument("--rounds", type=int, default=1, help="turns of every setting; the median is kept")
    p.add_argument("--against", type=Path, default=None,
                   help="another checkout's root (e.g. a git worktree of an older commit): time "
                        "both side by side, idle with 2 threads, instead of the thread settings")
    args = p.parse_args(argv)
    if args.against is not None:
        if not (args.against / "src" / "abcrnn").is_dir():
            p.error(f"{args.against} holds no src/abcrnn: give a checkout's root")
        result = side_by_side(args.against, args.tunes, args.rounds)
        print(table(result, args.tunes))
        this, other = result.values()
        print(f"\nthis checkout takes {this['seconds'] / other['seconds']:.2f}x the time of {args.against}")
        print(json.dumps({"tunes": args.tunes, "cpus": os.cpu_count(), "results": result}))
        return 0
    result = measure(args.tunes, args.rounds)
    best_idle = min(v["seconds"] for k, v in result.items() if k.startswith("idle")) * 100 / args.tunes
    print(table(result, args.tunes))
    print(f"\n100 tunes, idle, best thread count: {best_idle:.1f} s (target <= {TARGET_SECONDS:g} s)")
    one, two = result["training beside, 1 thread"], result["training beside, 2 threads"]
    print(f"with a training run beside it: 2 threads take {two['seconds'] / one['seconds']:.2f}x "
          f"the time of 1")
    print(json.dumps({"tunes": args.tunes, "cpus": os.cpu_count(), "results": result,
                      "idle_100_tunes_seconds": best_idle}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
