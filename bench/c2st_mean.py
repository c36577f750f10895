"""The classifier two-sample test as a mean: one 200-tune sample and one split move it by
about 0.04 each way, so a change to the sampler is judged over several of both.

    python bench/c2st_mean.py out/a/tunes200.abc out/b/tunes200.abc      # each file: 5 splits
    python bench/c2st_mean.py --corpus music21:ryansMammoth --splits 3 FILE...

Each file's tune bodies (music after K:, as ``abcrnn evaluate --c2st`` reads them) against
as many of the corpus's, with the folds of ``music.c2st.two_sample_accuracy`` at seeds 0
to ``--splits`` - 1. Prints a line per file, then ONE JSON object as the last line.
Figures: docs/RESULTS.md ("The classifier, measured fairly").
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from abcrnn.cli.common import read_tunes
from abcrnn.corpus.read import load_corpus
from abcrnn.music.c2st import two_sample_accuracy
from abcrnn.music.evaluate import body_text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="+", type=Path, help="ABC files of generated tunes")
    ap.add_argument("--corpus", default=None, help="the corpus to compare with (default: the bundled one)")
    ap.add_argument("--splits", type=int, default=5, help="cross-validation splits per file (seeds 0..N-1)")
    args = ap.parse_args()
    corpus = [body_text(t) for t in load_corpus(args.corpus).tunes]
    out = {}
    for path in args.files:
        bodies = [body_text(t) for t in read_tunes(path)]
        accs = [two_sample_accuracy(bodies, corpus, seed=s).accuracy for s in range(args.splits)]
        out[str(path)] = {"mean": round(statistics.mean(accs), 4), "splits": [round(a, 4) for a in accs]}
        print(f"{path}: mean {statistics.mean(accs):.3f} ({' '.join(f'{a:.3f}' for a in accs)})", flush=True)
    means = [v["mean"] for v in out.values()]
    print(json.dumps({"files": out, "mean": round(statistics.mean(means), 4)}))


if __name__ == "__main__":
    main()
