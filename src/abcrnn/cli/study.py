"""The study's commands: sweep, heatmap, neurons, temperature-study (see cli.py)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from abcrnn.cli.common import DEFAULT_CORPUS, DEFAULT_MODEL, UserError, check_out_folder, read_tunes, seed_arg

# what a heatmap shows when no --neurons are named: a bar, a line, the header, a repeat
HEATMAP_FEATURES = ("bar_position", "line_start", "in_header", "in_repeat")
VALIDATION_TUNES = 16


def cmd_sweep(args) -> None:
    from abcrnn.study import sweep
    spec = sweep.read_sweep_file(Path(args.file)) if args.file else {"base": {}, "grid": [], "runs": []}
    if args.set:
        spec["grid"] = [g | sweep.parse_set(args.set) for g in spec["grid"] or [{}]]
    for key in ("seed", "split_seed"):    # one split for every run, even when seeds vary
        spec["base"].setdefault(key, args.seed)
    runs = sweep.expand(spec)
    out = Path(args.out)
    check_out_folder(out)
    if args.dry_run:
        for r in runs:
            print(r.name, " ".join(sweep.train_argv(r.config(out), False)[3:]))
        return
    rows = sweep.run_sweep(runs, out, args.parallel, progress=not args.quiet)
    print((out / "results.md").read_text(), end="")
    failed = [r["name"] for r in rows if r["status"] != "done"]
    if failed:
        raise UserError(f"{len(failed)} of {len(rows)} runs failed (first: {failed[0]}); "
                        f"see its train.log in {out}")
    print(f"results in {out / 'results.md'}, {out / 'results.csv'}, {out / 'val_curves.png'}, "
          f"{out / 'loss_curves.png'}")


def cmd_heatmap(args) -> None:
    from abcrnn.model.device import sampling_threads
    sampling_threads()           # one thread, or $ABCRNN_THREADS (model/device.py)
    from abcrnn.study import heatmap
    from abcrnn.model.checkpoint import load_checkpoint
    neurons = [heatmap.Neuron.parse(spec) for spec in args.neurons or []]
    if args.width < 1:
        raise UserError(f"--width must be at least 1, got {args.width}")
    out = Path(args.out)
    if not out.parent.is_dir():
        raise UserError(f"output folder {out.parent} does not exist")
    model, vocab, doc = load_checkpoint(args.model)
    if not neurons:
        neurons = ranked_units(model, vocab, doc, args.model)
    if args.tune:
        tunes = read_tunes(Path(args.tune))
        if not 1 <= args.index <= len(tunes):
            raise UserError(f"--index {args.index}: {args.tune} holds {len(tunes)} tunes")
        tune = tunes[args.index - 1]
    else:                      # a fresh tune from the model, as in the study
        from abcrnn.notation.tunes import strip_markers
        from abcrnn.sampling.sample import sample
        tune = strip_markers(sample(model, vocab, seed=args.seed, guide=True, max_len=args.max_len)[0].text)
    text = heatmap.tune_text(tune)
    acts = heatmap.activations(model, vocab, text, neurons)
    heatmap.draw(text, acts, neurons, out, args.width, title=args.title or "")
    print(f"{len(neurons)} neurons over {len(text)} characters: {out}")


def ranked_units(model, vocab, doc, model_path) -> list:
    """The unit that correlates most with each of HEATMAP_FEATURES over the first
    VALIDATION_TUNES of the model's validation tunes, as ``abcrnn neurons`` ranks them."""
    from abcrnn.study import neurons
    tunes, _ = neurons.validation_tunes(model_path, doc, fallback_corpus=DEFAULT_CORPUS)
    analysis = neurons.analyse(model, vocab, tunes[:VALIDATION_TUNES], list(HEATMAP_FEATURES))
    found = []
    for name in HEATMAP_FEATURES:
        unit, r = analysis.best(name)
        print(f"{name}: {neurons.spec(unit)} (r = {r:+.2f})")
        if unit not in found:
            found.append(unit)
    return found


def cmd_neurons(args) -> None:
    from abcrnn.model.device import sampling_threads
    sampling_threads()           # one thread, or $ABCRNN_THREADS (model/device.py)
    from abcrnn.study import neuronreport, neurons
    from abcrnn.corpus.read import load_corpus
    from abcrnn.model.checkpoint import load_checkpoint
    names = neurons.check_features(args.feature)
    for flag, value in (("--top", args.top), ("--width", args.width), ("--tune-index", args.tune_index)):
        if value < 1:
            raise UserError(f"{flag} must be at least 1, got {value}")
    out = Path(args.out)
    check_out_folder(out)
    model, vocab, doc = load_checkpoint(args.model)
    if args.corpus:
        tunes, source = load_corpus(args.corpus).tunes, {"corpus": args.corpus}
    else:                      # the model's own validation tunes, as it was validated on them
        tunes, source = neurons.validation_tunes(args.model, doc, fallback_corpus=DEFAULT_CORPUS)
    if args.tune_index > len(tunes):
        raise UserError(f"--tune-index {args.tune_index}: there are {len(tunes)} tunes")
    analysis = neurons.analyse(model, vocab, tunes, names, body_only=args.body_only)
    rows = analysis.rows(args.top)
    print(neuronreport.format_table(rows))
    tune = tunes[args.tune_index - 1]
    meta = {"model": str(args.model), "source": source, "body_only": args.body_only,
            "tune_index": args.tune_index,
            "tune_title": next((ln[2:] for ln in tune.split("\n") if ln.startswith("T:")), "")}
    paths = neuronreport.write_report(analysis, args.top, out, meta)
    paths += neuronreport.draw_heatmaps(analysis, model, vocab, tune, out, args.width)
    print(f"{len(analysis.units)} units x {len(names)} features over {analysis.n_chars:,} characters "
          f"of {analysis.n_tunes} tunes; {len(paths)} files written to {out}")


def cmd_temperature_study(args) -> None:
    from abcrnn.model.device import sampling_threads
    sampling_threads()           # one thread, or $ABCRNN_THREADS (model/device.py)
    from abcrnn.study import tempstudy
    from abcrnn.corpus.read import load_corpus
    from abcrnn.model.checkpoint import load_checkpoint
    study = tempstudy.Study(tempstudy.parse_temperatures(args.temperatures), args.num_tunes,
                            args.max_len, args.guide, args.seed, args.workers)
    tempstudy.check_study(study)
    out = Path(args.out)
    check_out_folder(out)
    model, vocab, _ = load_checkpoint(args.model)
    corpus = load_corpus(args.corpus).tunes
    meta = {"model": str(args.model), "corpus": str(args.corpus)}
    tempstudy.run_study(model, vocab, corpus, study, out, meta, log=lambda m: print(m, file=sys.stderr))
    print((out / "results.md").read_text(), end="")
    print(f"written to {out}: results.md/.csv/.json, temperature.png, "
          + ", ".join(tempstudy.folder_name(t) + "/" for t in study.temperatures))


def add_parsers(sub) -> None:
    p = sub.add_parser("sweep", help="train a grid of settings, one folder per run, and tabulate them")
    p.add_argument("file", nargs="?", help="sweep file (.toml or .yaml): [base], [[grid]], [[runs]]")
    p.add_argument("--set", action="append", metavar="KEY=V1,V2",
                   help="a grid axis over a train setting (repeatable), e.g. --set hidden-size=128,256")
    p.add_argument("--out", default="out/sweep", help="folder for the runs and the results")
    p.add_argument("--parallel", type=int, default=0, help="runs at once (default: one per core)")
    p.add_argument("--dry-run", action="store_true", help="list the runs and their commands only")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--seed", type=seed_arg, default=1337, help="seed and split seed of runs that set none")
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("heatmap", help="colour a tune's characters by chosen neurons' activations")
    p.add_argument("tune", nargs="?", help="an .abc file (default: a tune generated with --seed)")
    p.add_argument("--neurons", nargs="+", metavar="LAYER:INDEX[:cell]",
                   help="e.g. 0:17 1:200:cell (layers from 0; cell = LSTM cell state); default: "
                        "the unit abcrnn neurons ranks first for each of "
                        + ", ".join(HEATMAP_FEATURES) + " on the model's validation tunes")
    p.add_argument("--model", default=str(DEFAULT_MODEL), help="model folder or .json (default: shipped)")
    p.add_argument("--index", type=int, default=1, help="which tune of the file (from 1; default: 1)")
    p.add_argument("--width", type=int, default=60, help="characters per row of the grid (default: 60)")
    p.add_argument("--max-len", type=int, default=1500, help="length limit of a generated tune (default: 1500)")
    p.add_argument("--title", help="figure title (default: none)")
    p.add_argument("--seed", type=seed_arg, default=1337, help="seed of the generated tune, without a tune file (default: 1337)")
    p.add_argument("--out", default="out/heatmap.png", help="PNG to write (default: out/heatmap.png)")
    p.set_defaults(func=cmd_heatmap)

    p = sub.add_parser("neurons", help="correlate every neuron with ABC structure features")
    p.add_argument("--model", default=str(DEFAULT_MODEL), help="model folder or .json (default: shipped)")
    p.add_argument("--corpus", help="tunes to analyse (default: the model's own validation tunes)")
    p.add_argument("--top", type=int, default=5, help="neurons listed per feature")
    p.add_argument("--feature", nargs="+", metavar="NAME", help="only these features (default: all)")
    p.add_argument("--body-only", action="store_true",
                   help="correlate over the tunes' bodies only (no header, no <end> line)")
    p.add_argument("--tune-index", type=int, default=1, help="which tune the heatmaps show (from 1)")
    p.add_argument("--width", type=int, default=60, help="characters per row of the heatmaps")
    p.add_argument("--out", default="out/neurons", help="output folder (created if missing)")
    p.set_defaults(func=cmd_neurons)

    p = sub.add_parser("temperature-study", help="sample and score tunes at several temperatures")
    p.add_argument("--model", default=str(DEFAULT_MODEL), help="model folder or .json (default: shipped)")
    p.add_argument("--temperatures", default="0.5,0.8,1.0,1.5,2.0", help="comma-separated, 0 = greedy")
    p.add_argument("--num-tunes", type=int, default=50, help="tunes per temperature")
    p.add_argument("--max-len", type=int, default=3000, help="characters per tune")
    p.add_argument("--guide", action=argparse.BooleanOptionalAction, default=False,
                   help="structure-guided decoding (default off: the model's own distribution)")
    p.add_argument("--corpus", default=str(DEFAULT_CORPUS), help="reference corpus (default: bundled)")
    p.add_argument("--workers", type=int, default=2, help="parallel abc2midi runs")
    p.add_argument("--seed", type=seed_arg, default=1337, help="sampling seed (the same for every T)")
    p.add_argument("--out", default="out/temperature-study", help="output folder (created if missing)")
    p.set_defaults(func=cmd_temperature_study)
