"""``--resume``: which settings a run may change when it goes on, and which it may not.

A resumed run continues the same model on the same tunes in the same order of
random batches, so what defines those cannot change: the corpus, the split, the
cleaning and augmentation of the training tunes, the model's shape, and the seed
(the random state comes from the checkpoint). Everything about *how* it goes on can:
the learning rate and its schedule, dropout, the step and time budgets, evaluation,
early stopping, clipping, weight decay (but not from 0 to more: the optimizer's
groups differ), batch and slice sizes, the device. A refused change is named in one
line; the changes made are returned, printed and kept in the checkpoint's
``resumes`` record."""
from __future__ import annotations

from dataclasses import fields

from abcrnn.model.schema import CheckpointError

FIXED = ("corpus", "cell", "hidden_size", "num_layers", "embed_size", "val_frac", "split_seed",
         "seed", "clean", "augment_keys")


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def merge(saved: dict, asked: dict):
    """(the config to go on with, {setting: [old, new]} of what changes). ``asked`` holds
    the settings given now (an unset one, or the saved value, means "as before")."""
    from abcrnn.training.config import TrainConfig
    out = dict(saved)
    changed = {}
    for name, value in asked.items():
        if value is None or name not in saved or value == saved[name] or name in ("out", "threads"):
            if name in ("out", "threads"):
                out[name] = value
            continue
        if name == "corpus" and _same_corpus(saved[name], value):
            continue
        changed[name] = [saved[name], value]
        out[name] = value
    fixed = [flag(n) for n in FIXED if n in changed]
    if fixed:
        raise ValueError(f"--resume cannot change {', '.join(fixed)} (the run's model, tunes and "
                         f"random state come from its checkpoint); start a new run for that")
    if "weight_decay" in changed and (not changed["weight_decay"][0]) != (not changed["weight_decay"][1]):
        raise ValueError("--resume cannot turn --weight-decay on or off (the optimizer's parameter "
                         "groups differ); it can change its value")
    return TrainConfig.from_dict(out), changed


def _same_corpus(a: str, b: str) -> bool:
    """"" is the bundled corpus, whatever path the saved config recorded for it."""
    from abcrnn.resources import bundled_corpus
    norm = {"": str(bundled_corpus())}
    return norm.get(a, a) == norm.get(b, b)


KINDS = {bool: "true or false", str: "text", int: "a whole number", float: "a number"}


def check_saved(path, saved: dict, model) -> None:
    """The settings a checkpoint recorded (``train_config``), which a resumed run goes on
    with: each of its setting's type, valid together (TrainConfig's own checks), and of
    the shape of the model beside them (``model``, its ModelConfig). A damaged one is
    refused here, naming the file, rather than surfacing later in the run."""
    from abcrnn.training.config import TrainConfig
    for f in fields(TrainConfig):
        kind, value = f.metadata["type"], saved.get(f.name)
        if value is None and (f.name not in saved or f.default is None):
            continue
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not (isinstance(value, kind) if kind in (bool, str) else
                number if kind is float else number and isinstance(value, int)):
            raise CheckpointError(f"{path}: train_config.{f.name} must be {KINDS[kind]}, got {value!r:.40}")
    try:
        TrainConfig.from_dict(saved)
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{path}: train_config is invalid: {e}") from None
    for name in ("cell", "hidden_size", "num_layers", "embed_size"):
        if saved.get(name) is not None and saved[name] != getattr(model, name):
            raise CheckpointError(f"{path}: train_config.{name} is {saved[name]!r:.40} but the "
                                  f"model_config's is {getattr(model, name)!r}")
