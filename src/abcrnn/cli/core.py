"""The pipeline's commands: corpus, train, generate, serve (evaluate and render: music.py).
Each one parses nothing itself (main.py builds the parser) and calls abcrnn.api
or the module that does the work; errors a user can fix are UserError."""
from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import fields
from pathlib import Path

from abcrnn.cli.common import (DEFAULT_CORPUS, DEFAULT_MODEL, UserError, check_out_file, check_out_folder,
                               TunesBar, flag, seed_arg)
from abcrnn.cli.serve import add_serve_parser


def cmd_corpus(args) -> None:
    from abcrnn.corpus.read import load_corpus
    from abcrnn.notation.tunes import wrap
    from abcrnn.model.vocab import Vocab
    from abcrnn.corpus.split import split_tunes
    corpus = load_corpus(args.path)
    vocab = Vocab.from_texts([wrap(t) for t in corpus.tunes])
    train_ids, val_ids = split_tunes(len(corpus.tunes), args.val_frac, args.seed)
    chars = lambda ids: sum(len(wrap(corpus.tunes[i])) for i in ids)  # noqa: E731
    print(f"files:       {len(corpus.sources)}")
    print(f"tunes:       {len(corpus.tunes)}")
    print(f"fragments:   {len(corpus.fragments)} dropped (no K: field or no notes); "
          f"{corpus.rejoined} tunes cut in two by a stray <end>/<start> were rejoined")
    print(f"characters:  {corpus.num_chars:,} in tunes, {chars(range(len(corpus.tunes))):,} with markers")
    print(f"vocabulary:  {len(vocab)} characters: {''.join(vocab.itos)!r}")
    print(f"split:       train {len(train_ids)} tunes ({chars(train_ids):,} chars), "
          f"val {len(val_ids)} tunes ({chars(val_ids):,} chars), seed {args.seed}")


def config_flags(p, config_cls) -> None:
    """One flag per field of a settings dataclass, its help from the field's metadata,
    with the choices and the default said (TrainConfig: training/config.py)."""
    for f in fields(config_cls):
        meta, default = f.metadata, f.default
        text = meta["help"] + ("" if default is None or "default" in meta["help"]
                               else f" (default: {default!r})" if isinstance(default, str)
                               else f" (default: {default})")
        if meta["type"] is bool:
            p.add_argument(flag(f.name), action=argparse.BooleanOptionalAction, default=None, help=text)
        else:
            p.add_argument(flag(f.name), type=meta["type"], default=None, choices=meta["choices"],
                           help=text, metavar=None if meta["choices"] else f.name.split("_")[-1].upper())


def _train_parser(sub) -> None:
    from abcrnn.training.config import TrainConfig
    p = sub.add_parser("train", help="train a model on a corpus",
                       description="Train a character-level model on a corpus. Settings left unset "
                                   "are chosen by the recipe from the corpus's size and --minutes, "
                                   "and said at the start.")
    config_flags(p, TrainConfig)
    p.add_argument("--resume", action="store_true",
                   help="continue the run in --out from its last.json; budgets, learning rate "
                        "and schedule, dropout, evaluation, patience, clipping and weight decay may "
                        "change, what defines the run (corpus, split, seed, shape) may not")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the run already in --out (its checkpoints are deleted first); "
                        "without it or --resume, a folder holding a run is refused")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def cmd_train(args) -> None:
    from abcrnn.api import train
    from abcrnn.training.config import TrainConfig
    given = {f.name: getattr(args, f.name) for f in fields(TrainConfig)
             if getattr(args, f.name, None) is not None}
    if given.get("out") == "":
        raise UserError("--out is empty; give the run's folder")
    out = Path(given.get("out", TrainConfig.out))
    check_out_folder(out)
    if args.resume and not (out / "last.json").is_file():
        raise UserError(f"--resume: no checkpoint at {out / 'last.json'}")
    if args.resume and args.overwrite:
        raise UserError("--resume continues the run in --out and --overwrite replaces it: give one")
    cfg = TrainConfig.from_dict(given)
    meta = train(cfg, resume=args.resume, overwrite=args.overwrite, progress=not args.quiet,
                 given=set(given)).meta
    if meta["history"] and os.environ.get("RANK", "0") == "0":    # under torchrun, rank 0 reports
        h = meta["history"][-1]
        print(f"step {h['step']}: train {h['train_loss']:.4f}, val {h['val_loss']:.4f} nats/char; "
              f"best val {meta['best_val_loss']:.4f}; {h['chars_per_s']:,} chars/s; stopped by "
              f"{meta.get('stop_reason') or 'the step limit'}; saved in {cfg.out}")


def cmd_generate(args) -> None:
    from abcrnn.api import load_model
    from abcrnn.files import atomic_write, is_stream
    from abcrnn.sampling.sample import check_params
    check_params(args.temperature, args.top_k, args.top_p, args.max_len, args.num_tunes)
    out = check_out_file(args.out)
    from abcrnn.model.device import sampling_threads
    sampling_threads(args.threads)
    model = load_model(args.model, device=args.device)
    prime = args.prime.replace("\\n", "\n")
    bar = TunesBar(args.num_tunes)
    tunes = model.generate(args.num_tunes, args.temperature, args.seed, prime, top_k=args.top_k,
                           top_p=args.top_p, max_len=args.max_len, guide=args.guide,
                           rhythm=args.rhythm, key=args.key, meter=args.meter, unit=args.unit,
                           title=args.title, form=args.form, headers=args.headers, restate=args.restate,
                           cache=args.cache,
                           opening=args.opening.replace("\\n", "\n") if args.opening else None,
                           progress=bar.progress)
    bar.close()
    text = "\n\n".join(t.abc.rstrip("\n") for t in tunes) + "\n"
    ended = sum(t.ended for t in tunes)
    if out is None:
        sys.stdout.write(text)
    else:
        # a sidecar keeps what the ABC cannot: did each tune end at <end>, and how it was made
        meta = {"model": str(args.model), "prime": prime, "temperature": args.temperature,
                "top_k": args.top_k, "top_p": args.top_p, "max_len": args.max_len, "seed": args.seed,
                "guide": args.guide, "form": args.form, "headers": args.headers, "rhythm": args.rhythm,
                "key": args.key, "meter": args.meter, "unit": args.unit, "title": args.title,
                "restate": args.restate, "opening": args.opening, "cache": args.cache, "ended": [t.ended for t in tunes]}
        try:
            atomic_write(out, text)
            if not is_stream(out):      # no sidecar beside /dev/null or a pipe
                atomic_write(out.with_name(out.name + ".json"), json.dumps(meta, indent=1))
        except OSError as e:     # name the file asked for, not atomic_write's temporary one
            raise UserError(f"cannot write {out}: {e.strerror}") from None
    notes = "".join(f"abcrnn: note: {n}\n" for n in tunes[0].notes)   # settings the opening overrode
    print(f"{notes}{len(tunes)} tunes, {ended} ended at <end>" + (f"; written to {out}" if out else ""),
          file=sys.stderr)


def add_parsers(sub) -> None:
    """corpus, train, generate, evaluate, render, serve, in the order of the pipeline."""
    from abcrnn.cli import music

    p = sub.add_parser("corpus", help="describe a corpus: tunes, characters, vocabulary, split")
    p.add_argument("path", nargs="?", default=str(DEFAULT_CORPUS),
                   help="a file, a folder of .abc/.txt files or music21:NAME (default: bundled)")
    p.add_argument("--val-frac", type=float, default=0.1,
                   help="share of the tunes the split holds out for validation (default: 0.1)")
    p.add_argument("--seed", type=seed_arg, default=1337, help="split seed")
    p.set_defaults(func=cmd_corpus)

    _train_parser(sub)
    sub.choices["train"].set_defaults(func=cmd_train)

    p = sub.add_parser("generate", help="sample tunes from a trained model",
                       description="Sample tunes. By default they are guided into folk form: parts "
                                   "of 4, 8 or 16 bars with their repeats, ending on the tonic, an "
                                   "honest header; ask for a rhythm, key, meter or form as a "
                                   "musician would, and the rest comes from the model.")
    p.add_argument("--model", default=str(DEFAULT_MODEL),
                   help="a model folder made by abcrnn train, or its model.json (default: the shipped model)")
    p.add_argument("--num-tunes", type=int, default=1, help="how many tunes, sampled in one batch (1-1000)")
    p.add_argument("--seed", type=seed_arg, default=1337,
                   help="seed of the draws (default: 1337); tune i of a batch is the tune that seed + i "
                        "gives alone, so --seed 3 and --seed 7 share tunes")
    p.add_argument("--temperature", type=float, default=1.0,
                   help="below 1: safer, more repetitive; above 1: bolder; 0 = always the likeliest (default: 1.0)")
    p.add_argument("--top-k", type=int, default=0, help="draw only from the k likeliest characters (0 = off)")
    p.add_argument("--top-p", type=float, default=1.0,
                   help="draw only from the likeliest characters that make up this share (1.0 = off)")
    p.add_argument("--max-len", type=int, default=3000, help="characters per tune at most (default: 3000)")
    p.add_argument("--prime", default="<start>", help=r"ABC the tunes start with; \n means a newline")
    p.add_argument("--rhythm", help="R: as a musician asks (jig, reel, polka, slip jig, hornpipe...)")
    p.add_argument("--key", help="K: (D, G, Em, Ador, Bb, Gmix...)")
    p.add_argument("--meter", help="M: (6/8, 2/4, 3/4, C|...); it must fit the rhythm; without --unit, "
                                   "L: is the unit the model's corpus writes that meter in (1/8 mostly)")
    p.add_argument("--unit", help="L: unit note length (1/8, 1/16, 1/4)")
    p.add_argument("--title", help="T: the title to write")
    p.add_argument("--opening", help=r"music the body starts with, after the header (|:GAB d2B|); header "
                                     r"lines before it (M:6/8\n|:GAB) win over --meter and the like; "
                                     r"\n means a newline")
    p.add_argument("--form", default="folk",
                   help="folk: parts of 4, 8 or 16 bars, as many as the model writes (default); a "
                        "plan such as AABB, ABC, AABBCC (AA: a part repeated); free: no form rules")
    p.add_argument("--headers", choices=("folk", "all"), default="folk",
                   help="folk: X, T, R, M, L, K only (default); all: any field the model writes, "
                        "sources (Z:, D:, H:...) it made up included, as the study's samples had")
    p.add_argument("--restate", type=float,
                   help="share of bars that restate an earlier bar (default: the training corpus's)")
    p.add_argument("--cache", action="store_true",
                   help="mix in the neural cache fitted when the model was trained (lower loss, "
                        "but measured to give less playable tunes: see docs/RESULTS.md)")
    p.add_argument("--guide", action=argparse.BooleanOptionalAction, default=True,
                   help="structure-guided decoding (masks, bar and line redraws, the form above); "
                        "--no-guide samples plainly, as the study did")
    p.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda"],
                   help="where to sample (default: cpu)")
    p.add_argument("--threads", type=int, default=0,
                   help="CPU threads (0 = one, or $ABCRNN_THREADS: more only slows small batches "
                        "on a shared machine, see docs/BENCHMARKS.md)")
    p.add_argument("--out", help="write the tunes here, and how they were made beside them (.json); "
                                 "default: stdout")
    p.set_defaults(func=cmd_generate)

    music.add_parsers(sub)      # evaluate, render

    add_serve_parser(sub)       # cli/serve.py
