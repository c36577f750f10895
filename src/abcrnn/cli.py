"""Command line: parse flags, call the library, turn errors into one clear line."""
from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import MISSING, fields
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CORPUS = ROOT / "data" / "pa4_tunes.txt"
DEFAULT_MODEL = ROOT / "models" / "default"


class UserError(Exception):
    """Anything a user can fix: printed as one line, exit code 1."""


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _check_out_folder(folder: Path) -> None:
    """Refuse an output folder that is a file or lies under one, before any work."""
    p = folder
    while not p.exists() and p != p.parent:
        p = p.parent
    if not p.is_dir():
        raise UserError(f"--out {folder}: {p} is a file, not a folder")


def cmd_corpus(args) -> None:
    from . import abc
    from .data import Vocab, split_tunes
    corpus = abc.load_corpus(args.path)
    vocab = Vocab.from_texts([abc.wrap(t) for t in corpus.tunes])
    train_ids, val_ids = split_tunes(len(corpus.tunes), args.val_frac, args.seed)
    chars = lambda ids: sum(len(abc.wrap(corpus.tunes[i])) for i in ids)  # noqa: E731
    print(f"files:       {len(corpus.sources)}")
    print(f"tunes:       {len(corpus.tunes)}")
    print(f"fragments:   {len(corpus.fragments)} dropped (no K: field or no notes); "
          f"{corpus.rejoined} tunes cut in two by a stray <end>/<start> were rejoined")
    print(f"characters:  {corpus.num_chars:,} in tunes, {chars(range(len(corpus.tunes))):,} with markers")
    print(f"vocabulary:  {len(vocab)} characters: {''.join(vocab.itos)!r}")
    print(f"split:       train {len(train_ids)} tunes ({chars(train_ids):,} chars), "
          f"val {len(val_ids)} tunes ({chars(val_ids):,} chars), seed {args.seed}")


def _train_parser(sub) -> None:
    from .train import TrainConfig
    p = sub.add_parser("train", help="train a model on a corpus")
    for f in fields(TrainConfig):
        helptext = f"default {f.default!r}" + (" (the bundled corpus)" if f.name == "corpus" else "")
        if f.name == "split_seed":
            helptext = "seed of the train/val split (default: --seed)"
        if isinstance(f.default, bool):
            p.add_argument(_flag(f.name), action=argparse.BooleanOptionalAction, default=None, help=helptext)
        else:
            kind = type(f.default) if f.default is not MISSING else str
            p.add_argument(_flag(f.name), type=kind, default=None, help=helptext)
    p.add_argument("--resume", action="store_true", help="continue the run in --out from last.json")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def cmd_train(args) -> None:
    from .train import TrainConfig, train
    given = {f.name: getattr(args, f.name) for f in fields(TrainConfig)
             if getattr(args, f.name, None) is not None}
    base = {"corpus": str(DEFAULT_CORPUS)}
    _check_out_folder(Path(given.get("out", TrainConfig.out)))
    if args.resume:
        last = Path(given.get("out", TrainConfig.out)) / "last.json"
        if not last.is_file():
            raise UserError(f"--resume: no checkpoint at {last}")
        from .checkpoint import read_meta
        base = read_meta(last)[1]["train_config"]
        changed = [k for k in ("cell", "hidden_size", "num_layers", "embed_size")
                   if k in given and given[k] != base[k]]
        if changed:
            raise UserError("--resume cannot change the model's shape: " + ", ".join(map(_flag, changed)))
    elif "seed" in given and "split_seed" not in given:
        base["split_seed"] = given["seed"]
    cfg = TrainConfig.from_dict({**base, **given})
    meta = train(cfg, resume=args.resume, progress=not args.quiet)
    if meta["history"] and os.environ.get("RANK", "0") == "0":    # under torchrun, rank 0 reports
        h = meta["history"][-1]
        print(f"step {h['step']}: train {h['train_loss']:.4f}, val {h['val_loss']:.4f} nats/char; "
              f"best val {meta['best_val_loss']:.4f}; {h['chars_per_s']:,} chars/s; saved in {cfg.out}")


def cmd_sweep(args) -> None:
    from . import sweep
    spec = sweep.read_sweep_file(Path(args.file)) if args.file else {"base": {}, "grid": [], "runs": []}
    if args.set:
        spec["grid"] = [g | sweep.parse_set(args.set) for g in spec["grid"] or [{}]]
    for key in ("seed", "split_seed"):    # one split for every run, even when seeds vary
        spec["base"].setdefault(key, args.seed)
    runs = sweep.expand(spec)
    out = Path(args.out)
    _check_out_folder(out)
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


def cmd_generate(args) -> None:
    from .checkpoint import load_checkpoint
    from .sample import check_params, sample, tunes_to_abc
    from .train import pick_device
    check_params(args.temperature, args.top_k, args.top_p, args.max_len, args.num_tunes)
    out = Path(args.out) if args.out else None
    if out is not None:
        if out.is_dir():
            raise UserError(f"--out {out} is a folder; give a file name")
        if not out.parent.is_dir():
            raise UserError(f"output folder {out.parent} "
                            + ("is a file, not a folder" if out.parent.exists() else "does not exist"))
        if not os.access(out.parent, os.W_OK):
            raise UserError(f"cannot write in {out.parent} (permission denied)")
    device = pick_device(args.device)
    model, vocab, _ = load_checkpoint(args.model, device=device)
    prime = args.prime.replace("\\n", "\n")
    samples = sample(model, vocab, prime, args.num_tunes, args.max_len, args.temperature,
                     args.top_k, args.top_p, args.seed, device, guide=args.guide)
    text = tunes_to_abc(samples)
    ended = sum(s.ended for s in samples)
    if out is None:
        sys.stdout.write(text)
    else:
        from .checkpoint import atomic_write
        # a sidecar keeps what the ABC cannot: did each tune end at <end>, and how it was made
        meta = {"model": str(args.model), "prime": prime, "temperature": args.temperature,
                "top_k": args.top_k, "top_p": args.top_p, "max_len": args.max_len, "seed": args.seed,
                "guide": args.guide, "ended": [s.ended for s in samples]}
        try:
            atomic_write(out, text)
            atomic_write(out.with_name(out.name + ".json"), json.dumps(meta, indent=1))
        except OSError as e:     # name the file asked for, not atomic_write's temporary one
            raise UserError(f"cannot write {out}: {e.strerror}") from None
    print(f"{len(samples)} tunes, {ended} ended at <end>" + (f"; written to {out}" if out else ""),
          file=sys.stderr)


def _read_ended(src: Path, n: int) -> list[bool] | None:
    """Per-tune "ended at <end>" flags from the sidecar ``generate --out`` writes, if they fit."""
    side = src.with_name(src.name + ".json")
    try:
        ended = json.loads(side.read_text())["ended"] if side.is_file() else None
    except (ValueError, KeyError, TypeError):
        return None
    # a file edited since generation no longer lines up with its flags
    return ended if isinstance(ended, list) and len(ended) == n else None


def _read_tunes(src: Path) -> list[str]:
    from .abc import read_text, split_abc
    if not src.is_file():
        raise UserError(f"no ABC file at {src}")
    tunes = split_abc(read_text(src))
    if not tunes:
        raise UserError(f"{src} holds no tune (a tune starts at an X: line)")
    return tunes


def _quality_rows(quality: str, src: Path, tunes: list[str]) -> list[dict]:
    """Per-tune quality rows for the tunebook: scored now against a corpus, or read
    from the evaluation.json that `abcrnn evaluate --out` wrote for the same file."""
    from .abc import load_corpus
    from .evaluate import evaluate_tunes, quality_row
    if quality.endswith(".json"):
        raw = json.loads(Path(quality).read_text())["rows"]
        if len(raw) != len(tunes):
            raise UserError(f"{quality} scores {len(raw)} tunes, {src} holds {len(tunes)}")
    else:
        raw = evaluate_tunes(tunes, load_corpus(quality).tunes, _read_ended(src, len(tunes))).rows
    return [quality_row(r) for r in raw]


def cmd_render(args) -> None:
    from .render import FORMATS, render_file
    src = Path(args.input)
    tunes = _read_tunes(src)
    out = Path(args.out)
    if args.tunebook:
        from .tunebook import write_tunebook
        rows = _quality_rows(args.quality, src, tunes) if args.quality else None
        index = write_tunebook(tunes, out, rows, title=args.title or src.stem)
        print(f"{len(tunes)} tunes rendered; tunebook: {index}")
        return
    formats = tuple(f.strip() for f in args.formats.split(",") if f.strip()) if args.formats else FORMATS
    results = render_file("\n\n".join(tunes), out, formats)
    print(f"{len(results)} tunes rendered into {out} ({', '.join(formats)})")


def cmd_evaluate(args) -> None:
    from . import evaluate as ev
    from .abc import load_corpus
    corpus = load_corpus(args.corpus).tunes
    reference = ev.evaluate_corpus(corpus, workers=args.workers)
    report = reference
    if args.tunes:
        src = Path(args.tunes)
        tunes = _read_tunes(src)
        report = ev.evaluate_tunes(tunes, corpus, _read_ended(src, len(tunes)), workers=args.workers)
    print(ev.format_table(report, reference, label="generated") if args.tunes
          else ev.format_table(report, label="corpus"))
    if args.out:
        paths = ev.write_report(report, args.out)
        if args.tunes:
            ev.write_report(reference, Path(args.out) / "corpus")
        print("written: " + ", ".join(map(str, paths)))


def cmd_heatmap(args) -> None:
    from . import heatmap
    from .checkpoint import load_checkpoint
    neurons = [heatmap.Neuron.parse(spec) for spec in args.neurons]
    if args.width < 1:
        raise UserError(f"--width must be at least 1, got {args.width}")
    out = Path(args.out)
    if not out.parent.is_dir():
        raise UserError(f"output folder {out.parent} does not exist")
    model, vocab, _ = load_checkpoint(args.model)
    if args.tune:
        tunes = _read_tunes(Path(args.tune))
        if not 1 <= args.index <= len(tunes):
            raise UserError(f"--index {args.index}: {args.tune} holds {len(tunes)} tunes")
        tune = tunes[args.index - 1]
    else:                      # a fresh tune from the model, as in the study
        from .abc import strip_markers
        from .sample import sample
        tune = strip_markers(sample(model, vocab, seed=args.seed, guide=True, max_len=args.max_len)[0].text)
    text = heatmap.tune_text(tune)
    acts = heatmap.activations(model, vocab, text, neurons)
    heatmap.draw(text, acts, neurons, out, args.width, title=args.title or "")
    print(f"{len(neurons)} neurons over {len(text)} characters: {out}")


def cmd_neurons(args) -> None:
    from . import neuronreport, neurons
    from .abc import load_corpus
    from .checkpoint import load_checkpoint
    names = neurons.check_features(args.feature)
    for flag, value in (("--top", args.top), ("--width", args.width), ("--tune-index", args.tune_index)):
        if value < 1:
            raise UserError(f"{flag} must be at least 1, got {value}")
    out = Path(args.out)
    _check_out_folder(out)
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
    from . import tempstudy
    from .abc import load_corpus
    from .checkpoint import load_checkpoint
    study = tempstudy.Study(tempstudy.parse_temperatures(args.temperatures), args.num_tunes,
                            args.max_len, args.guide, args.seed, args.workers)
    tempstudy.check_study(study)
    out = Path(args.out)
    _check_out_folder(out)
    model, vocab, _ = load_checkpoint(args.model)
    corpus = load_corpus(args.corpus).tunes
    meta = {"model": str(args.model), "corpus": str(args.corpus)}
    tempstudy.run_study(model, vocab, corpus, study, out, meta, log=lambda m: print(m, file=sys.stderr))
    print((out / "results.md").read_text(), end="")
    print(f"written to {out}: results.md/.csv/.json, temperature.png, "
          + ", ".join(tempstudy.folder_name(t) + "/" for t in study.temperatures))


def cmd_serve(args) -> None:
    import socket
    try:
        import uvicorn

        from .web.app import create_app
    except ImportError as e:
        raise UserError(f"the web composer needs {e.name}: run `make setup`") from None
    from .train import pick_device
    # Fail with one clear line if the port is taken, before loading the model.
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    with socket.socket(family) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((args.host, args.port))
        except OSError as e:
            raise UserError(f"cannot listen on {args.host}:{args.port} ({e.strerror}); "
                            "choose another --port") from None
    app = create_app(args.model, device=pick_device(args.device))
    host = f"[{args.host}]" if ":" in args.host else args.host
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"abcrnn: listening on {args.host}: anyone who can reach this machine can use it",
              file=sys.stderr)
    print(f"abcrnn: composer at http://{host}:{args.port}/  (API docs at /docs; Ctrl-C stops)",
          file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="abcrnn", description="Compose folk tunes in ABC notation "
                                     "with character-level recurrent networks.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("corpus", help="describe a corpus: tunes, characters, vocabulary, split")
    p.add_argument("path", nargs="?", default=str(DEFAULT_CORPUS))
    p.add_argument("--val-frac", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=1337, help="split seed")
    p.set_defaults(func=cmd_corpus)

    _train_parser(sub)
    sub.choices["train"].set_defaults(func=cmd_train)

    p = sub.add_parser("sweep", help="train a grid of settings, one folder per run, and tabulate them")
    p.add_argument("file", nargs="?", help="sweep file (.toml or .yaml): [base], [[grid]], [[runs]]")
    p.add_argument("--set", action="append", metavar="KEY=V1,V2",
                   help="a grid axis over a train setting (repeatable), e.g. --set hidden-size=128,256")
    p.add_argument("--out", default="out/sweep", help="folder for the runs and the results")
    p.add_argument("--parallel", type=int, default=0, help="runs at once (default: one per core)")
    p.add_argument("--dry-run", action="store_true", help="list the runs and their commands only")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--seed", type=int, default=1337, help="seed and split seed of runs that set none")
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("generate", help="sample tunes from a trained model")
    p.add_argument("--model", default=str(DEFAULT_MODEL), help="model folder or .json (default: shipped)")
    p.add_argument("--prime", default="<start>", help=r"text to start from; \n means newline")
    p.add_argument("--temperature", type=float, default=1.0, help="0 = greedy")
    p.add_argument("--top-k", type=int, default=0, help="0 = off")
    p.add_argument("--top-p", type=float, default=1.0)
    p.add_argument("--max-len", type=int, default=3000, help="characters per tune")
    p.add_argument("--num-tunes", type=int, default=1)
    p.add_argument("--seed", type=int, default=1337)
    p.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda"])
    p.add_argument("--guide", action=argparse.BooleanOptionalAction, default=True,
                   help="structure-aware decoding (masks, bar and line redraws); "
                        "--no-guide samples plainly, as the study did")
    p.add_argument("--out", help="write ABC here (default: stdout)")
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("evaluate", help="music-quality metrics of tunes (or of the corpus alone)")
    p.add_argument("tunes", nargs="?", help="an .abc file; without it the corpus itself is scored")
    p.add_argument("--corpus", default=str(DEFAULT_CORPUS), help="reference corpus (default: bundled)")
    p.add_argument("--out", help="folder for evaluation.json and evaluation.csv")
    p.add_argument("--workers", type=int, default=2, help="parallel abc2midi runs")
    p.add_argument("--seed", type=int, default=0, help="unused (evaluation is deterministic)")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("render", help="ABC -> MIDI, WAV, MP3, SVG, PDF, PNG (and an HTML tunebook)")
    p.add_argument("input", help="an .abc file with one or more tunes")
    p.add_argument("--out", default="out/render", help="output folder (created if missing)")
    p.add_argument("--formats", help="comma-separated subset of mid,wav,mp3,svg,pdf,png (default: all)")
    p.add_argument("--tunebook", action="store_true", help="write index.html with score, audio, ABC")
    p.add_argument("--quality", metavar="CORPUS|JSON",
                   help="with --tunebook: each tune's quality row, scored against CORPUS or read "
                        "from the evaluation.json of `abcrnn evaluate --out`")
    p.add_argument("--title", help="tunebook title")
    p.add_argument("--seed", type=int, default=0, help="unused (rendering is deterministic)")
    p.set_defaults(func=cmd_render)

    p = sub.add_parser("heatmap", help="colour a tune's characters by chosen neurons' activations")
    p.add_argument("tune", nargs="?", help="an .abc file (default: a tune generated with --seed)")
    p.add_argument("--neurons", nargs="+", required=True, metavar="LAYER:INDEX[:cell]",
                   help="e.g. 0:17 1:200:cell (layers from 0; cell = LSTM cell state)")
    p.add_argument("--model", default=str(DEFAULT_MODEL), help="model folder or .json (default: shipped)")
    p.add_argument("--index", type=int, default=1, help="which tune of the file (from 1)")
    p.add_argument("--width", type=int, default=60, help="characters per row of the grid")
    p.add_argument("--max-len", type=int, default=1500, help="length limit of a generated tune")
    p.add_argument("--title", help="figure title")
    p.add_argument("--seed", type=int, default=1337)
    p.add_argument("--out", default="out/heatmap.png", help="PNG to write")
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
    p.add_argument("--seed", type=int, default=0, help="unused (the analysis is deterministic)")
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
    p.add_argument("--seed", type=int, default=1337, help="sampling seed (the same for every T)")
    p.add_argument("--out", default="out/temperature-study", help="output folder (created if missing)")
    p.set_defaults(func=cmd_temperature_study)

    p = sub.add_parser("serve", help="web page to compose, edit, play and download tunes")
    p.add_argument("--model", default=str(DEFAULT_MODEL), help="model folder or .json (default: shipped)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: this machine only)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda"])
    p.add_argument("--seed", type=int, default=0, help="unused (each request carries its own seed)")
    p.set_defaults(func=cmd_serve)
    return parser


def _user_facing(e: BaseException) -> bool:
    """Errors a user can act on; anything else is a bug and keeps its traceback."""
    if isinstance(e, (UserError, ValueError, OSError)):
        return True
    return isinstance(e, RuntimeError) and type(e).__module__.startswith("abcrnn")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except Exception as e:  # noqa: BLE001 - filtered just below
        if not _user_facing(e):
            raise
        msg = str(e) if not isinstance(e, OSError) or not e.filename else f"{e.strerror}: {e.filename}"
        print(f"abcrnn: error: {msg}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as e:
        # Ctrl-C: 130 (128 + SIGINT) like any interrupted program; train says where it
        # saved. serve is the exception: Ctrl-C is how it stops, uvicorn ends it with 0.
        print(f"abcrnn: {str(e) or 'interrupted'}", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
