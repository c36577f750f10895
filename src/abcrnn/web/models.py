"""The models a server offers (`abcrnn serve --model A --model B`, or a folder of runs).

Every model's model.json is read at start (its vocabulary and training facts, a few
KB), so a path that holds no model fails at once and GET /api/models can list them
all. Weights load lazily: the default model at start, any other on its first
generation; at most LOADED_MAX models are in memory at once, and asking for one
more drops the least recently used (it loads again when asked for). Memory is so
bounded by LOADED_MAX times the largest model (the shipped 2x384 LSTM: 1.9 M
parameters, ~8 MB of float32 weights).
"""
from __future__ import annotations

import functools
import json
import math
import threading
from pathlib import Path

from abcrnn.model.checkpoint import CheckpointError, read_meta
from abcrnn.web.service import ApiError, Composer

LOADED_MAX = 3      # models with their weights in memory at once


def find_models(paths) -> tuple[list[tuple[str, Path]], list[str]]:
    """((name, path) of every model, why each run of a folder of runs was skipped).

    A path is a model (a folder with model.json, or a checkpoint .json) or a folder
    of runs: each subfolder with a readable model.json, in name order. Names are the folders'
    names, made unique with -2, -3..."""
    found, skipped, names = [], [], set()
    for given in map(Path, paths):
        if given.is_file() or (given / "model.json").is_file():
            runs = [given]
        elif given.is_dir():
            runs = []
            for run in sorted(p for p in given.iterdir() if (p / "model.json").is_file()):
                try:
                    read_meta(run)
                    runs.append(run)
                except CheckpointError as e:     # a broken run does not keep the others away
                    skipped.append(str(e))
            if not runs:
                raise CheckpointError(f"no model in {given} (expected a model folder with model.json, "
                                      "its .json file, or a folder of such runs)")
        else:
            raise CheckpointError(f"no model at {given}")
        for path in runs:
            base = (path if path.is_dir() else path.parent).name or "model"
            name, n = base, 2
            while name in names:
                name, n = f"{base}-{n}", n + 1
            names.add(name)
            found.append((name, path))
    return found, skipped


class Shelf:
    """The server's models by name, the first the default."""

    def __init__(self, paths, device: str = "cpu", loaded_max: int = LOADED_MAX):
        found, self.skipped = find_models(paths)
        self.composers: dict[str, Composer] = {}
        for name, path in found:
            self.composers[name] = Composer(path, device, name)
        self.default = next(iter(self.composers.values()))
        self.loaded_max = max(1, loaded_max)
        self._recent: list[Composer] = []       # loaded ones, least recently used first
        self._lock = threading.Lock()
        self.default.model                      # noqa: B018 - a damaged default fails at start
        self._recent.append(self.default)       # (its CheckpointError is the CLI's one line)

    def get(self, name: str | None) -> Composer:
        if name is None:
            return self.default
        if name not in self.composers:
            raise ApiError(422, f"model: no model named {name[:100]!r} (this server has "
                                f"{', '.join(self.composers)})", {"models": list(self.composers)})
        return self.composers[name]

    def use(self, composer: Composer) -> Composer:
        """``composer`` with its weights in memory, dropping the least recently used
        beyond LOADED_MAX."""
        with self._lock:
            if composer in self._recent:
                self._recent.remove(composer)
            self._recent.append(composer)
            while len(self._recent) > self.loaded_max:
                self._recent.pop(0).unload()
        try:
            composer.model                      # noqa: B018 - loads the weights
        except CheckpointError as e:
            with self._lock:
                self._recent.remove(composer)
            raise ApiError(503, f"model {composer.name} could not be loaded: {e}") from None
        return composer

    def facts(self) -> list[dict]:
        return [facts(c, c is self.default) for c in self.composers.values()]


def facts(composer: Composer, default: bool) -> dict:
    """A model's name and training facts, as GET /api/models lists them."""
    meta = composer.meta
    arch = meta.get("model_config") if isinstance(meta.get("model_config"), dict) else {}
    train = meta.get("train_config") if isinstance(meta.get("train_config"), dict) else {}
    corpus = train.get("corpus")
    return {"name": composer.name, "steps": _int(meta.get("step")) or 0,
            "parameters": _int(meta.get("num_params")) or 0,
            "best_val_loss": _float(meta.get("best_val_loss")), "cell": _str(arch.get("cell")),
            "hidden_size": _int(arch.get("hidden_size")), "num_layers": _int(arch.get("num_layers")),
            "corpus": {"name": Path(corpus).name or corpus if isinstance(corpus, str) else None,
                       "tunes": split_tunes(composer.path)},
            "default": default, "loaded": composer.loaded}


@functools.lru_cache(maxsize=64)
def split_tunes(path: Path) -> int | None:
    """Tunes in the run's training + validation split (its split.json), if recorded."""
    folder = path if path.is_dir() else path.parent
    try:
        split = json.loads((folder / "split.json").read_text("utf-8"))
        return len(split["train"]) + len(split["val"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _int(v) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _float(v) -> float | None:
    ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    return float(v) if ok else None


def _str(v) -> str | None:
    return v if isinstance(v, str) else None
