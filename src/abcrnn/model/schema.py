"""The schema of a checkpoint's JSON: every field that loading reads is checked for
its type and range before it is used, and a wrong one is refused with one line
naming the file and the field (``model.json: weights.sha256 is missing``).

A checkpoint folder may come from anywhere (a download, a copy, a hand edit), so
nothing in it is trusted: the file is read only up to MAX_JSON_BYTES and nested at
most MAX_DEPTH levels, a shape is bounded by ModelConfig before anything is
allocated, and the fields the sampler, the web page and ``--resume`` read later
(step, history, cache, corpus profile, optimizer settings) are checked here, so a
damaged one never surfaces as a traceback in the middle of a generation or a run.
The tensors' own checks are in tensorfile.py. No torch here.
"""
from __future__ import annotations

import json
import math
import re
from pathlib import Path

from abcrnn.model.config import ModelConfig
from abcrnn.model.vocab import Vocab

MAX_JSON_BYTES = 32 * 2**20      # the shipped model.json has 4 KB; 10,000 evaluations ~1.5 MB
MAX_DEPTH = 64                   # what abcrnn writes nests 5 deep
HISTORY_KEYS = ("step", "train_loss", "val_loss", "lr", "seconds", "chars_per_s")
_MISSING = object()


class CheckpointError(ValueError):
    """A checkpoint that is missing, damaged or does not fit."""


def _show(value) -> str:
    return "nothing" if value is _MISSING else f"{value!r:.60}"


def whole(lo: int = 0, hi: int | None = None):
    """A kind of value: (test, what it must be)."""
    return (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= lo and (hi is None or v <= hi),
            f"a whole number >= {lo}" if hi is None else f"a whole number from {lo} to {hi}")


def number(ok=lambda x: True, want: str = "a finite number", finite: bool = True):
    return (lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and not math.isnan(v)
            and (math.isfinite(v) or not finite) and ok(v), want)


TEXT = (lambda v: isinstance(v, str), "text")
OBJECT = (lambda v: isinstance(v, dict), "an object")
LIST = (lambda v: isinstance(v, list), "a list")
SHA256 = (lambda v: isinstance(v, str) and re.fullmatch("[0-9a-f]{64}", v) is not None,
          "a SHA-256 (64 lower-case hex digits)")
# a plain name: the weights may not live elsewhere (tensorfile.inside() checks symlinks)
FILE_NAME = (lambda v: isinstance(v, str) and v not in ("", ".", "..") and not set(v) & set("/\\\0"),
             "the name of a file in the checkpoint's own folder")
SHARE = number(lambda x: 0 <= x <= 1, "a number from 0 to 1")


class Fields:
    """Typed reads of one JSON document by dotted name, each refusal naming the file."""

    def __init__(self, path: Path, doc: dict, prefix: str = ""):
        self.path, self.doc, self.prefix = path, doc, prefix

    def error(self, name: str, problem: str) -> CheckpointError:
        return CheckpointError(f"{self.path}: {self.prefix}{name} {problem}")

    def sub(self, name: str, value) -> Fields:
        """The fields of ``value``, an object inside this one (a list's item, say)."""
        return Fields(self.path, self.check(value, name, OBJECT), f"{self.prefix}{name}.")

    def check(self, value, name: str, kind):
        ok, want = kind
        if value is _MISSING:
            raise self.error(name, "is missing")
        if not ok(value):
            raise self.error(name, f"must be {want}, got {_show(value)}")
        return value

    def get(self, name: str, kind, default=_MISSING):
        """The field ``name`` (``a.b.c``); ``default`` when it is absent (or null, for
        an optional field); without a default an absent field is refused."""
        value = self.doc
        for part in name.split("."):
            value = value.get(part, _MISSING) if isinstance(value, dict) else _MISSING
        if default is not _MISSING and (value is _MISSING or value is None):
            return default
        return self.check(value, name, kind)

    def ref(self, name: str) -> None:
        """A file the checkpoint names: its name, byte size and SHA-256."""
        self.get(name, OBJECT)
        self.get(f"{name}.file", FILE_NAME)
        self.get(f"{name}.size", whole())
        self.get(f"{name}.sha256", SHA256)


def load_json(path: Path) -> object:
    """The JSON at ``path``, read with bounds (size, depth)."""
    size = path.stat().st_size
    if size > MAX_JSON_BYTES:
        raise CheckpointError(f"{path} is {size:,} bytes, more than a checkpoint JSON may be "
                              f"({MAX_JSON_BYTES:,})")
    try:
        with open(path, "rb") as f:
            doc = json.loads(f.read(MAX_JSON_BYTES + 1).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{path} is not a valid checkpoint JSON: {e}") from None
    except RecursionError:
        doc = _MISSING
    if doc is _MISSING or _depth(doc) > MAX_DEPTH:
        raise CheckpointError(f"{path} nests more than {MAX_DEPTH} levels deep; it is not a checkpoint")
    return doc


def _depth(doc) -> int:
    """How deep ``doc`` nests, without recursion (a parsed document can be ~1000 deep)."""
    deepest, todo = 0, [(doc, 1)]
    while todo:
        value, d = todo.pop()
        deepest = max(deepest, d)
        if isinstance(value, dict):
            todo.extend((v, d + 1) for v in value.values())
        elif isinstance(value, list):
            todo.extend((v, d + 1) for v in value)
    return deepest


def check_model_doc(path: Path, doc: dict) -> tuple[ModelConfig, Vocab]:
    """The model's shape and vocabulary, and every other field loading a model reads."""
    f = Fields(path, doc)
    config = f.get("model_config", OBJECT)
    unknown = sorted(set(config) - set(ModelConfig.__dataclass_fields__))
    if unknown:
        raise f.error("model_config", f"has an unknown field {unknown[0]!r:.40}")
    f.get("model_config.vocab_size", whole(1))
    try:
        config = ModelConfig(**config)
    except ValueError as e:
        raise f.error("model_config", f"is invalid: {e}") from None
    try:
        vocab = Vocab(f.get("vocab", LIST))
    except ValueError as e:
        raise f.error("vocab", f"is invalid: {e}") from None
    if config.vocab_size != len(vocab):
        raise CheckpointError(f"{path}: vocab has {len(vocab)} characters but the model expects "
                              f"{config.vocab_size}")
    f.ref("weights")
    f.get("step", whole())
    if f.get("num_params", whole(), None) not in (None, config.num_params()):
        raise f.error("num_params", f"is {doc['num_params']} but the model_config has "
                      f"{config.num_params()} parameters")
    f.get("history", LIST, None)
    f.get("best_val_loss", number(want="a number", finite=False), None)
    f.get("train_seconds", number(lambda x: x >= 0, "a number >= 0"), None)
    f.get("evaluations_without_improvement", whole(), None)
    f.get("resumes", LIST, None)
    f.get("train_config", OBJECT, None)
    for name in ("corpus_fingerprint", "stop_reason", "recipe"):
        f.get(name, TEXT, None)
    _check_cache(f)
    _check_profile(f)
    return config, vocab


def _check_cache(f: Fields) -> None:
    """The neural cache's fitted weight and sharpness (api.Model.cache_config reads them)."""
    if f.get("cache", OBJECT, None) is None:
        return
    f.get("cache.lam", SHARE, None)
    f.get("cache.theta", number(lambda x: x > 0, "a finite number > 0"), None)
    f.get("cache.gap", whole(1), None)


def _check_profile(f: Fields) -> None:
    """The corpus profile the guided sampler reads (corpus/profile.py): tables of
    value -> count or share, and the share of restated bars."""
    prof = f.get("corpus_profile", OBJECT, None)
    if prof is None:
        return
    for table in ("field_share", "meters", "units", "rhythms", "keys", "part_lengths", "restated_from"):
        for key, value in f.get(f"corpus_profile.{table}", OBJECT, {}).items():
            f.check(value, f"corpus_profile.{table}[{key!r:.40}]", number(lambda x: x >= 0, "a number >= 0"))
    for meter, shares in f.get("corpus_profile.unit_shares", OBJECT, {}).items():
        name = f"corpus_profile.unit_shares[{meter!r:.40}]"
        for unit, share in f.check(shares, name, OBJECT).items():
            f.check(share, f"{name}[{unit!r:.40}]", SHARE)
    f.get("corpus_profile.restated_share", SHARE, None)
    f.get("corpus_profile.tunes", whole(), None)


def check_resume_doc(path: Path, doc: dict, n_params: int) -> None:
    """What ``--resume`` reads besides the model: the optimizer's settings (for a model
    of ``n_params`` parameter tensors), step, history and the run's records."""
    f = Fields(path, doc)
    f.get("resume.optimizer", OBJECT)
    pids = []
    for i, group in enumerate(f.get("resume.optimizer.param_groups", LIST)):
        pids += _check_group(f.sub(f"resume.optimizer.param_groups[{i}]", group))
    if pids != list(range(n_params)):
        raise f.error("resume.optimizer.param_groups", f"must number the model's {n_params} parameter "
                      f"tensors 0 to {n_params - 1} in order, got {_show(pids)}")
    for key, value in f.get("resume.optimizer.scalars", OBJECT).items():
        m = re.fullmatch(r"(\d+)\.step", key)
        if not m or int(m.group(1)) >= n_params:
            raise f.error("resume.optimizer.scalars", f"has an unknown entry {key!r:.40}")
        f.check(value, f"resume.optimizer.scalars[{key!r}]", number(lambda x: x >= 0, "a number >= 0"))
    f.ref("resume.tensors")
    step = f.get("step", whole())
    rows = f.get("history", LIST)
    raw = bool(rows) and isinstance(rows[0], dict) and "val_raw_loss" in rows[0]
    last = 0
    for i, row in enumerate(rows):      # the loop appends to it and writes history.csv of it
        r = f.sub(f"history[{i}]", row)
        for key in HISTORY_KEYS + (("val_raw_loss",) if raw else ()):
            r.get(key, whole() if key == "step" else number())
        if row["step"] < last:
            raise r.error("step", f"is {row['step']}, before the step of the row above ({last})")
        last = row["step"]
    if last > step:
        raise f.error("history", f"goes on to step {last}, past the checkpoint's step {step}")
    f.get("best_val_loss", number(want="a number", finite=False))
    f.get("train_seconds", number(lambda x: x >= 0, "a number >= 0"))
    f.get("train_config", OBJECT)
    f.get("corpus_fingerprint", TEXT)


def _check_group(g: Fields) -> list[int]:
    """One of the optimizer's parameter groups: the ids of its parameters."""
    ids = g.get("params", LIST)
    for j, pid in enumerate(ids):
        g.check(pid, f"params[{j}]", whole())
    g.get("lr", number(lambda x: x >= 0, "a finite number >= 0"))
    betas = g.get("betas", LIST)
    if len(betas) != 2:
        raise g.error("betas", f"must be two numbers, got {_show(betas)}")
    for j, b in enumerate(betas):
        g.check(b, f"betas[{j}]", number(lambda x: 0 <= x < 1, "a number in [0, 1)"))
    g.get("eps", number(lambda x: x > 0, "a finite number > 0"))
    g.get("weight_decay", number(lambda x: x >= 0, "a finite number >= 0"))
    return ids
