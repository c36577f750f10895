"""Command line: parse flags, call the library, turn errors into one clear line."""
from __future__ import annotations

import argparse
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
        if f.name == "split_seed":
            continue   # follows --seed unless given in a resumed run's config
        kind = type(f.default) if f.default is not MISSING else str
        p.add_argument(_flag(f.name), type=kind, default=None,
                       help=f"default {f.default!r}" + (" (the bundled corpus)" if f.name == "corpus" else ""))
    p.add_argument("--resume", action="store_true", help="continue the run in --out from last.json")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def cmd_train(args) -> None:
    from .train import TrainConfig, train
    given = {f.name: getattr(args, f.name) for f in fields(TrainConfig)
             if getattr(args, f.name, None) is not None}
    base = {"corpus": str(DEFAULT_CORPUS)}
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
    elif "seed" in given:
        base["split_seed"] = given["seed"]
    cfg = TrainConfig.from_dict({**base, **given})
    meta = train(cfg, resume=args.resume, progress=not args.quiet)
    if meta["history"]:
        h = meta["history"][-1]
        print(f"step {h['step']}: train {h['train_loss']:.4f}, val {h['val_loss']:.4f} nats/char; "
              f"best val {meta['best_val_loss']:.4f}; {h['chars_per_s']:,} chars/s; saved in {cfg.out}")


def cmd_generate(args) -> None:
    from .checkpoint import load_checkpoint
    from .sample import check_params, sample, tunes_to_abc
    from .train import pick_device
    check_params(args.temperature, args.top_k, args.top_p, args.max_len, args.num_tunes)
    out = Path(args.out) if args.out else None
    if out is not None and not out.parent.is_dir():
        raise UserError(f"output folder {out.parent} does not exist")
    device = pick_device(args.device)
    model, vocab, _ = load_checkpoint(args.model, device=device)
    prime = args.prime.replace("\\n", "\n")
    samples = sample(model, vocab, prime, args.num_tunes, args.max_len, args.temperature,
                     args.top_k, args.top_p, args.seed, device)
    text = tunes_to_abc(samples)
    ended = sum(s.ended for s in samples)
    if out is None:
        sys.stdout.write(text)
    else:
        from .checkpoint import atomic_write
        atomic_write(out, text)
    print(f"{len(samples)} tunes, {ended} ended at <end>" + (f"; written to {out}" if out else ""),
          file=sys.stderr)


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
    p.add_argument("--out", help="write ABC here (default: stdout)")
    p.set_defaults(func=cmd_generate)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except (UserError, ValueError, OSError) as e:
        msg = str(e) if not isinstance(e, OSError) or not e.filename else f"{e.strerror}: {e.filename}"
        print(f"abcrnn: error: {msg}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
