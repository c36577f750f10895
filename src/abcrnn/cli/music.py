"""The commands on tunes already written: evaluate (music quality) and render (MIDI,
audio, sheet music, a tunebook). main.py builds the parser through core.add_parsers."""
from __future__ import annotations

import json
from pathlib import Path

from abcrnn.cli.common import DEFAULT_CORPUS, UserError, check_out_folder, read_tunes, small_seed_arg

MAX_WORKERS = 64      # parallel abc2midi processes evaluate may start


def _read_ended(src: Path, n: int) -> list[bool] | None:
    """Per-tune "ended at <end>" flags from the sidecar ``generate --out`` writes, if they fit."""
    side = src.with_name(src.name + ".json")
    try:
        ended = json.loads(side.read_text())["ended"] if side.is_file() else None
    except (ValueError, KeyError, TypeError):
        return None
    # a file edited since generation no longer lines up with its flags
    return ended if isinstance(ended, list) and len(ended) == n else None


def _quality_rows(quality: str, src: Path, tunes: list[str]) -> list[dict]:
    """Per-tune quality rows for the tunebook: scored now against a corpus, or read
    from the evaluation.json that `abcrnn evaluate --out` wrote for the same file."""
    from abcrnn.corpus.read import load_corpus
    from abcrnn.music.evaluate import evaluate_tunes
    from abcrnn.music.report import quality_row
    if quality.endswith(".json"):
        raw = json.loads(Path(quality).read_text())["rows"]
        if len(raw) != len(tunes):
            raise UserError(f"{quality} scores {len(raw)} tunes, {src} holds {len(tunes)}")
    else:
        raw = evaluate_tunes(tunes, load_corpus(quality).tunes, _read_ended(src, len(tunes))).rows
    return [quality_row(r) for r in raw]


def cmd_render(args) -> None:
    from abcrnn.music.render import FORMATS, render_file
    src = Path(args.input)
    tunes = read_tunes(src)
    out = Path(args.out)
    check_out_folder(out)
    if args.tunebook:
        from abcrnn.music.tunebook import write_tunebook
        rows = _quality_rows(args.quality, src, tunes) if args.quality else None
        index = write_tunebook(tunes, out, rows, title=args.title or src.stem)
        print(f"{len(tunes)} tunes rendered; tunebook: {index}")
        return
    formats = tuple(f.strip() for f in args.formats.split(",") if f.strip()) if args.formats else FORMATS
    made = not out.exists()
    try:
        results = render_file("\n\n".join(tunes), out, formats)
    except BaseException:
        if made and out.is_dir() and not any(out.iterdir()):
            out.rmdir()                 # a refused first tune leaves no empty folder behind
        raise
    print(f"{len(results)} tunes rendered into {out} ({', '.join(formats)})")


def cmd_evaluate(args) -> None:
    from abcrnn.music.evaluate import evaluate_corpus, evaluate_tunes
    from abcrnn.music.report import format_table, write_report
    from abcrnn.corpus.read import load_corpus
    if not 1 <= args.workers <= MAX_WORKERS:
        raise UserError(f"--workers must be from 1 to {MAX_WORKERS}, got {args.workers}")
    if args.out:
        check_out_folder(Path(args.out))        # before the work, not after it
    corpus = load_corpus(args.corpus).tunes
    tunes = read_tunes(Path(args.tunes)) if args.tunes else None
    seed = args.seed if args.c2st else None
    reference = evaluate_corpus(corpus, workers=args.workers, c2st_seed=seed,
                                c2st_tunes=len(tunes) if tunes else 100)
    report = reference
    if tunes:
        report = evaluate_tunes(tunes, corpus, _read_ended(Path(args.tunes), len(tunes)),
                                workers=args.workers, c2st_seed=seed)
    print(format_table(report, reference, label="generated") if args.tunes
          else format_table(report, label="corpus"))
    if args.out:
        paths = write_report(report, args.out)
        if args.tunes:
            write_report(reference, Path(args.out) / "corpus")
        print("written: " + ", ".join(map(str, paths)))


def add_parsers(sub) -> None:
    p = sub.add_parser("evaluate", help="music-quality metrics of tunes (or of the corpus alone)")
    p.add_argument("tunes", nargs="?", help="an .abc file; without it the corpus itself is scored")
    p.add_argument("--corpus", default=str(DEFAULT_CORPUS), help="reference corpus (default: bundled)")
    p.add_argument("--out", help="folder for evaluation.json and evaluation.csv")
    p.add_argument("--workers", type=int, default=2, help=f"parallel abc2midi runs (1 to {MAX_WORKERS})")
    p.add_argument("--c2st", action="store_true",
                   help="also the classifier two-sample test: can char n-gram TF-IDF + logistic "
                        "regression tell the tunes' bodies from corpus bodies? (5-fold accuracy; "
                        "0.5 = alike; below 100 tunes a side it is mostly noise; needs scikit-learn)")
    p.add_argument("--seed", type=small_seed_arg, default=0, help="seed of the classifier test's samples and folds")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("render", help="ABC -> MIDI, WAV, MP3, SVG, PDF, PNG, MusicXML (and an HTML tunebook)")
    p.add_argument("input", help="an .abc file with one or more tunes")
    p.add_argument("--out", default="out/render", help="output folder (created if missing)")
    p.add_argument("--formats", help="comma-separated subset of mid,wav,mp3,svg,pdf,png,musicxml (default: all)")
    p.add_argument("--tunebook", action="store_true", help="write index.html with score, audio, ABC")
    p.add_argument("--quality", metavar="CORPUS|JSON",
                   help="with --tunebook: each tune's quality row, scored against CORPUS or read "
                        "from the evaluation.json of `abcrnn evaluate --out`")
    p.add_argument("--title", help="tunebook title")
    p.set_defaults(func=cmd_render)
