"""Checkpoints: safetensors weights + a JSON sidecar, written atomically.

A checkpoint ``NAME`` in a folder is ``NAME.json``; it names its weights file
(``NAME-<step>.safetensors``) with the file's size and SHA-256, and holds the
model config, train config, vocab, history, step, best val loss and corpus
fingerprint. The JSON is written last, so it always points at a complete
weights file: a crash at any moment leaves the previous checkpoint loadable.
Loading reads only the files the JSON names, each checked against its size and
SHA-256; any other file in the folder (a stray ``*.safetensors``) is ignored.
Nothing is ever unpickled. A checkpoint folder may be damaged or hostile, so the
JSON is checked against its schema (schema.py) and every file's place, header,
dtypes and shapes (tensorfile.py) before anything is built from them.
"""
from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import torch

from abcrnn.files import atomic_write
from abcrnn.model.charrnn import CharRNN
from abcrnn.model.schema import CheckpointError, check_model_doc, check_resume_doc, load_json
from abcrnn.model.tensorfile import mismatch, read_tensors

FORMAT = "abcrnn-checkpoint-1"


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


def restore_optimizer(opt: torch.optim.Optimizer, tensors: dict, meta: dict, where: str = "checkpoint") -> None:
    """Load the state optimizer_tensors saved, each tensor checked against the parameter
    it belongs to first: the fused Adam kernel reads moments of another shape or dtype
    out of bounds (a segmentation fault), so a wrong one is refused here, naming ``where``."""
    params = [p for g in opt.param_groups for p in g["params"]]
    sizes = [len(g["params"]) for g in meta["param_groups"]]
    if sizes != [len(g["params"]) for g in opt.param_groups]:
        raise CheckpointError(f"{where}: its optimizer has groups of {sizes} parameters, the model's "
                              f"{[len(g['params']) for g in opt.param_groups]}")
    state: dict = {}
    for pid, p in enumerate(params):
        st = state[pid] = {}
        for k, shape in (("exp_avg", p.shape), ("exp_avg_sq", p.shape), ("step", ())):
            v = tensors.get(f"state.{pid}.{k}", meta["scalars"].get(f"{pid}.{k}"))
            ok = (v.dtype == torch.float32 and v.shape == shape and finite(v)
                  if torch.is_tensor(v) else k == "step" and isinstance(v, (int, float)))
            if not ok or (k != "exp_avg" and float(torch.as_tensor(v).min()) < 0):
                raise CheckpointError(f"{where}: the optimizer's state.{pid}.{k} must be finite float32 "
                                      f"{list(shape)}" + (" >= 0" if k != "exp_avg" else "")
                                      + f" (the parameter's), got {_describe(v)}")
            st[k] = v
    opt.load_state_dict({"state": state, "param_groups": meta["param_groups"]})


def finite(t: torch.Tensor) -> bool:
    """No NaN or infinity in ``t``: t * 0 is 0 where t is finite and NaN where it is not.
    (torch.isfinite(t).all() takes ~50 ms on the shipped model's weights here, this 0.5 ms.)"""
    return not bool(torch.isnan((t * 0).sum()))


def _describe(v) -> str:
    if torch.is_tensor(v):
        return f"{str(v.dtype).removeprefix('torch.')} {list(v.shape)}"
    return "nothing" if v is None else f"{v!r:.40}"


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
    """Resolve a model folder or JSON path and read its JSON (bounded: schema.load_json)."""
    path = Path(path)
    if path.is_dir():
        path = path / "model.json"
    if not path.is_file():
        raise CheckpointError(f"no model at {path} (expected a folder with model.json, or a .json file)")
    doc = load_json(path)
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not an abcrnn checkpoint (format {FORMAT} expected)")
    return path, doc


def load_checkpoint(path, device="cpu", with_resume: bool = False):
    """Return (model, vocab, meta[, resume_tensors]) from a folder or a ``.json`` path.

    Everything is checked before it is used (schema.py, tensorfile.py): the JSON's
    fields, the shape's size, the weights file's place, size, checksum, header,
    dtypes and shapes; only then is the model built. The resume tensors' optimizer
    state is checked against the optimizer's parameters by restore_optimizer."""
    path, doc = read_meta(path)
    config, vocab = check_model_doc(path, doc)
    shapes = config.param_shapes()
    weights = read_tensors(path, "weights", doc["weights"], 4 * config.num_params(),
                           lambda table: mismatch(table, {k: ("F32", s) for k, s in shapes.items()}))
    bad = next((k for k, t in weights.items() if not finite(t)), None)
    if bad:
        raise CheckpointError(f"checkpoint file {path.parent / doc['weights']['file']}: {bad} holds "
                              "NaN or infinite values")
    model = CharRNN(config)
    model.load_state_dict(weights)      # names and shapes checked above: strict, cannot fail
    model.to(device).eval()
    if with_resume:
        if "resume" not in doc:
            raise CheckpointError(f"{path} holds no optimizer state to resume from")
        return model, vocab, doc, _resume_tensors(path, doc, shapes)
    return model, vocab, doc


def _resume_tensors(path: Path, doc: dict, shapes: dict) -> dict:
    """The Adam moments and steps, and the two random-number generators' states."""
    check_resume_doc(path, doc, len(shapes))
    rng = torch.get_rng_state().numel()
    spec = {"rng.torch": ("U8", (rng,)), "rng.gen.0": ("U8", (rng,))}
    for pid in range(len(shapes)):    # which parameter is which: restore_optimizer checks
        spec |= {f"state.{pid}.exp_avg": ("F32", set(shapes.values())),
                 f"state.{pid}.exp_avg_sq": ("F32", set(shapes.values())), f"state.{pid}.step": ("F32", ())}
    data = 4 * 2 * sum(math.prod(s) for s in shapes.values()) + 4 * len(shapes) + 2 * rng
    tensors = read_tensors(path, "resume.tensors", doc["resume"]["tensors"], data,
                           lambda table: mismatch(table, spec))
    for key in ("rng.torch", "rng.gen.0"):
        try:
            torch.Generator().set_state(tensors[key])      # a scratch one: nothing is changed
        except RuntimeError:
            raise CheckpointError(f"checkpoint file {path.parent / doc['resume']['tensors']['file']}: "
                                  f"{key} is not a valid random-number generator state") from None
    return tensors
