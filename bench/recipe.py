"""Time to a validation loss for several training recipes, side by side.

    python bench/recipe.py --set lr=0.003,0.006 --set batch_size=32,64 [--seeds 1337 1]

Each combination (the cartesian product of every --set) is a real ``abcrnn train``
process on the bundled corpus with ``--target-val-loss`` (default 1.40); the table
gives its wall time (start-up included), the step it stopped at and its best
validation loss. Runs go one at a time, so each has the machine's cores to itself.
This is how the default recipe of TrainConfig was chosen (docs/BENCHMARKS.md).
"""
from __future__ import annotations

import argparse
import itertools
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_one(settings: dict, seed: int, target: float, out: Path) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "-m", "abcrnn", "train", "--quiet", "--out", str(out), "--seed", str(seed),
           "--target-val-loss", str(target)]
    for k, v in settings.items():
        cmd += ["--" + k.replace("_", "-"), str(v)]
    t = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1:]}
    hist = json.loads((out / "history.json").read_text())
    hit = next((h for h in hist if h["val_loss"] <= target), None)
    return {"wall_s": round(wall, 1), "reached": hit is not None, "step": hist[-1]["step"],
            "best_val": min(h["val_loss"] for h in hist), "chars_per_s": hist[-1]["chars_per_s"],
            "train_s": hist[-1]["seconds"]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--set", action="append", default=[], metavar="NAME=V1,V2",
                    help="a TrainConfig field and the values to try")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1337])
    ap.add_argument("--target", type=float, default=1.40)
    ap.add_argument("--out", default=str(ROOT / "out" / "bench" / "recipe"))
    args = ap.parse_args(argv)
    names, values = [], []
    for s in args.set:
        name, _, vals = s.partition("=")
        names.append(name.replace("-", "_"))
        values.append(vals.split(","))
    rows = []
    for combo in itertools.product(*values):
        settings = dict(zip(names, combo))
        for seed in args.seeds:
            tag = "_".join(f"{k}-{v}" for k, v in settings.items()) or "defaults"
            r = run_one(settings, seed, args.target, Path(args.out) / f"{tag}_seed-{seed}")
            rows.append({**settings, "seed": seed, **r})
            print(json.dumps(rows[-1]), flush=True)
    print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
