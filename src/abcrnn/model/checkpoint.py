"""Checkpoints: safetensors weights + a JSON sidecar, written atomically.

A checkpoint ``NAME`` in a folder is ``NAME.json``; it names its weights file
(``NAME-<step>.safetensors``) with the file's size and SHA-256, and holds the
model config, train config, vocab, history, step, best val loss and corpus
fingerprint. The JSON is written last, so it always points at a complete
weights file: a crash at any moment leaves the previous checkpoint loadable.
Loading reads only the files the JSON names, each checked against its size and
SHA-256; any other file in the folder (a stray ``*.safetensors``) is ignored.
Nothing is ever unpickled.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch

from abcrnn.files import atomic_write
from abcrnn.model.vocab import Vocab
from abcrnn.model.charrnn import CharRNN
from abcrnn.model.config import ModelConfig

FORMAT = "abcrnn-checkpoint-1"
class CheckpointError(ValueError):
    """A checkpoint that is missing, damaged or does not fit."""


def _write_tensors(folder: Path, stem: str, tensors: dict) -> dict:
    from safetensors.torch import save
    blob = save({k: v.detach().cpu().contiguous() for k, v in tensors.items()})
    digest = hashlib.sha256(blob).hexdigest()
    fname = f"{stem}.safetensors"
    if (folder / fname).exists():
        # The same step saved again (after a resume from an earlier checkpoint): the
        # file may be the one the JSON on disk names, so never overwrite it before
        # the new JSON is in place.
        fname = f"{stem}.{digest[:12]}.safetensors"
    atomic_write(folder / fname, blob)
    return {"file": fname, "size": len(blob), "sha256": digest}


def _read_tensors(folder: Path, ref: dict) -> dict:
    from safetensors.torch import load
    path = folder / ref["file"]
    if not path.is_file():
        raise CheckpointError(f"checkpoint file {path} is missing")
    blob = path.read_bytes()
    if len(blob) != ref["size"] or hashlib.sha256(blob).hexdigest() != ref["sha256"]:
        raise CheckpointError(f"checkpoint file {path} is truncated or corrupted "
                              f"(size or checksum differs from {ref['file']} in the JSON)")
    return load(blob)


def optimizer_tensors(opt: torch.optim.Optimizer) -> tuple[dict, dict]:
    """Split an optimizer state dict into tensors and JSON-able rest (no pickle)."""
    sd = opt.state_dict()
    tensors, scalars = {}, {}
    for pid, st in sd["state"].items():
        for k, v in st.items():
            if torch.is_tensor(v):
                tensors[f"state.{pid}.{k}"] = v
            else:
                scalars[f"{pid}.{k}"] = v
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def restore_optimizer(opt: torch.optim.Optimizer, tensors: dict, meta: dict) -> None:
    state: dict = {}
    for key, v in tensors.items():
        if key.startswith("state."):
            _, pid, k = key.split(".", 2)
            state.setdefault(int(pid), {})[k] = v
    for key, v in meta["scalars"].items():
        pid, k = key.split(".", 1)
        state.setdefault(int(pid), {})[k] = v
    opt.load_state_dict({"state": state, "param_groups": meta["param_groups"]})


def save_checkpoint(folder, name: str, model: CharRNN, meta: dict, step: int,
                    extra_tensors: dict | None = None, extra_meta: dict | None = None) -> Path:
    """Write ``NAME.json`` + weights (and optional resume tensors); remove the old files."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    doc = {"format": FORMAT, **meta, "step": step,
           "weights": _write_tensors(folder, f"{name}-{step:08d}", model.state_dict())}
    if extra_tensors is not None:
        doc["resume"] = {**(extra_meta or {}),
                         "tensors": _write_tensors(folder, f"{name}-{step:08d}.resume", extra_tensors)}
    path = folder / f"{name}.json"
    atomic_write(path, json.dumps(doc, indent=1))
    # The new checkpoint is in place: remove the files of the old one, and any
    # temporary file that a process killed while saving NAME left behind.
    keep = {doc["weights"]["file"]} | ({doc["resume"]["tensors"]["file"]} if "resume" in doc else set())
    stale = [*folder.glob(f"{name}-*.safetensors"), *folder.glob(f".{name}-*.tmp"),
             *folder.glob(f".{name}.json.*.tmp")]
    for old in stale:
        if old.name not in keep:
            old.unlink(missing_ok=True)
    return path


def update_json(path: Path, **fields) -> None:
    """Add or replace top-level fields of a checkpoint's JSON (its weights untouched)."""
    path, doc = read_meta(path)
    atomic_write(path, json.dumps({**doc, **fields}, indent=1))


def read_meta(path) -> tuple[Path, dict]:
    """Resolve a model folder or JSON path and read its JSON."""
    path = Path(path)
    if path.is_dir():
        path = path / "model.json"
    if not path.is_file():
        raise CheckpointError(f"no model at {path} (expected a folder with model.json, or a .json file)")
    try:
        doc = json.loads(path.read_text("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{path} is not a valid checkpoint JSON: {e}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not an abcrnn checkpoint (format {FORMAT} expected)")
    return path, doc


def load_checkpoint(path, device="cpu", with_resume: bool = False):
    """Return (model, vocab, meta[, resume_tensors]) from a folder or a ``.json`` path."""
    path, doc = read_meta(path)
    try:
        vocab = Vocab(doc["vocab"])
        config = ModelConfig(**doc["model_config"])
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"{path} has an invalid model config or vocab: {e}") from None
    if config.vocab_size != len(vocab):
        raise CheckpointError(f"{path}: vocab has {len(vocab)} characters but the model expects "
                              f"{config.vocab_size}")
    model = CharRNN(config)
    weights = _read_tensors(path.parent, doc["weights"])
    try:
        model.load_state_dict(weights)
    except RuntimeError as e:
        first = str(e).strip().splitlines()[0]
        raise CheckpointError(f"{path}: weights do not match the model config ({first})") from None
    model.to(device).eval()
    if with_resume:
        if "resume" not in doc:
            raise CheckpointError(f"{path} holds no optimizer state to resume from")
        return model, vocab, doc, _read_tensors(path.parent, doc["resume"]["tensors"])
    return model, vocab, doc
