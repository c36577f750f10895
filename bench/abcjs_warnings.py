"""Do guided tunes render in abcjs (the web page's sheet music) without a warning?

    python bench/abcjs_warnings.py                      # 200 tunes of the shipped model, seed 7
    python bench/abcjs_warnings.py --abc tunes.abc      # the tunes of a file instead
    python bench/abcjs_warnings.py --tunes 50 --model out/run

The tunes are those of ``abcrnn generate --num-tunes 200 --seed 7`` (every default:
guided, folk form, T = 1.0); each is parsed alone by abcjs under node
(scripts/abcjs_warnings.js), as the page draws one tune. Prints each warning with its
tune, a count by kind, then ONE JSON object as the last line. Figures:
docs/BENCHMARKS.md ("abcjs warnings"). Needs node and abcjs (npm ci).
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "abcjs_warnings.js"


def abcjs_warnings(tunes: list[str]) -> list[list[str]]:
    """Per tune, abcjs's warnings as text."""
    out = subprocess.run(["node", str(SCRIPT)], input=json.dumps(tunes), capture_output=True,
                         text=True, check=True, timeout=600, cwd=ROOT)
    return json.loads(out.stdout)


def kind(warning: str) -> str:
    """``Music Line:7:9: Unknown character ignored:  E| F_E...`` -> ``Unknown character ignored``."""
    m = re.match(r"(?:Music Line:\d+:\d+: )?([^:]+)", warning)
    return m.group(1).strip() if m else warning


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--abc", help="check the tunes of this ABC file (default: generate them)")
    ap.add_argument("--tunes", type=int, default=200, help="tunes to generate (default: 200)")
    ap.add_argument("--seed", type=int, default=7, help="seed of the generation (default: 7)")
    ap.add_argument("--model", help="model folder (default: the shipped model)")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT / "src"))
    import abcrnn
    from abcrnn.notation.tunes import split_abc
    start = time.perf_counter()
    if args.abc:
        tunes = split_abc(Path(args.abc).read_text())
    else:
        tunes = [t.abc for t in abcrnn.load_model(args.model).generate(args.tunes, seed=args.seed)]
    seconds = time.perf_counter() - start
    found = abcjs_warnings(tunes)
    kinds = Counter(kind(w) for ws in found for w in ws)
    for i, ws in enumerate(found):
        for w in ws:
            print(f"tune {i + 1}: {w}")
    for name, n in kinds.most_common():
        print(f"{n:4d}  {name}")
    print(json.dumps({"tunes": len(tunes), "tunes_with_warnings": sum(1 for ws in found if ws),
                      "warnings": sum(kinds.values()), "by_kind": dict(kinds.most_common()),
                      "source": args.abc or f"generate --num-tunes {args.tunes} --seed {args.seed}",
                      "generate_s": round(seconds, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
