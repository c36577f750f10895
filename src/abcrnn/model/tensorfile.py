"""Reading a safetensors file a checkpoint names, with every bound checked first.

The file must be in the checkpoint's own folder (no ``../x``, no absolute path, no
symlink that leads out), of the byte size the model's shape needs, and match the
size and SHA-256 the JSON records; then its header is read here, with bounds (its
length at most MAX_HEADER and within the file), and every tensor's name, dtype,
shape and place in the file is checked against what the model needs before
safetensors is handed the bytes. So a renamed pickle, a header length of 2**62,
float64 weights or an Adam moment of another shape are refused with one line,
never loaded, allocated or passed on to a kernel that would crash on them.
"""
from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Callable

from abcrnn.model.schema import CheckpointError

MAX_HEADER = 2**20              # a 16-layer model's resume file needs ~20 KB
ITEMSIZE = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1,
            "U64": 8, "U32": 4, "U16": 2, "U8": 1, "BOOL": 1}
NAMES = {"F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16", "I64": "int64",
         "I32": "int32", "I16": "int16", "I8": "int8", "U64": "uint64", "U32": "uint32",
         "U16": "uint16", "U8": "uint8", "BOOL": "bool"}
# name -> (dtype, shape) as the header says; a spec's shape may be a set of allowed shapes
Table = dict[str, tuple[str, tuple[int, ...]]]


def inside(folder: Path, name: str) -> Path:
    """``folder / name``, refused if it resolves (through symlinks) outside ``folder``."""
    path = folder / name
    try:
        real, base = path.resolve(), folder.resolve()
    except (OSError, RuntimeError) as e:         # a symlink loop
        raise CheckpointError(f"checkpoint file {path} cannot be resolved: {e}") from None
    if real == base or not real.is_relative_to(base):
        raise CheckpointError(f"checkpoint file {path} leads outside its folder {folder} "
                              f"(to {real}); a checkpoint's files must be in its own folder")
    return path


def read_tensors(json_path: Path, what: str, ref: dict, data_bytes: int,
                 check: Callable[[Table], str | None]) -> dict:
    """The tensors of the file that ``ref``, the JSON's field ``what`` (file, size and
    sha256, which schema.py has checked), names beside ``json_path``: ``data_bytes`` is
    what its tensors add up to, ``check`` says what is wrong with its table of tensors
    (None: nothing). The sizes are checked again from the header (header_table)."""
    path = inside(json_path.parent, ref["file"])
    if not path.is_file():
        raise CheckpointError(f"checkpoint file {path} is missing")
    if ref["size"] > data_bytes + 8 + MAX_HEADER:     # the bound before anything is read
        raise CheckpointError(f"{json_path}: {what}.size is {ref['size']:,} bytes, more than the model_config "
                              f"needs ({data_bytes:,} bytes of tensors and a header of at most {MAX_HEADER:,})")
    corrupt = CheckpointError(f"checkpoint file {path} is truncated or corrupted (size or checksum "
                              f"differs from {ref['file']} in the JSON)")
    if path.stat().st_size != ref["size"]:
        raise corrupt
    with open(path, "rb") as f:
        blob = f.read(ref["size"] + 1)
    if len(blob) != ref["size"] or hashlib.sha256(blob).hexdigest() != ref["sha256"]:
        raise corrupt
    problem = check(header_table(path, blob))
    if problem:
        raise CheckpointError(f"checkpoint file {path} does not fit the model: {problem}")
    from safetensors import SafetensorError
    from safetensors.torch import load
    try:
        return load(blob)
    except SafetensorError as e:        # not expected after the checks above
        raise CheckpointError(f"checkpoint file {path} cannot be read: {e}") from None


def header_table(path: Path, blob: bytes) -> Table:
    """The tensors a safetensors file holds, from its header, checked for structure
    and for tensors that lie end to end and fill the file exactly."""
    n = int.from_bytes(blob[:8], "little")
    if len(blob) < 8 or n > min(MAX_HEADER, len(blob) - 8):
        raise CheckpointError(f"checkpoint file {path} is not a safetensors file (its header would be "
                              f"{n:,} bytes of a {len(blob):,}-byte file)")
    try:
        header = json.loads(blob[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        header = None
    if not isinstance(header, dict):
        raise CheckpointError(f"checkpoint file {path} is not a safetensors file (its header is not "
                              "a JSON object)")
    meta = header.pop("__metadata__", {})
    bad = None if isinstance(meta, dict) else "__metadata__"
    table, spans = {}, []
    for name, entry in header.items():
        if bad or not _entry_ok(entry):
            bad = bad or name
            break
        shape, (begin, end) = tuple(entry["shape"]), entry["data_offsets"]
        table[name] = (entry["dtype"], shape)
        spans.append((begin, end, math.prod(shape) * ITEMSIZE[entry["dtype"]], name))
    at = 0
    for begin, end, size, name in sorted(spans) if not bad else ():
        if begin != at or end - begin != size:
            bad = name
            break
        at = end
    if bad or at != len(blob) - 8 - n:
        raise CheckpointError(f"checkpoint file {path} has a malformed safetensors header"
                              + (f" (at {bad!r:.40})" if bad else " (its tensors do not fill the file)"))
    return table


def _entry_ok(entry) -> bool:
    def whole(v):
        return isinstance(v, int) and not isinstance(v, bool) and v >= 0
    return (isinstance(entry, dict) and set(entry) == {"dtype", "shape", "data_offsets"}
            and entry["dtype"] in ITEMSIZE and isinstance(entry["shape"], list)
            and len(entry["shape"]) <= 8 and all(map(whole, entry["shape"]))
            and isinstance(entry["data_offsets"], list) and len(entry["data_offsets"]) == 2
            and all(map(whole, entry["data_offsets"])))


def mismatch(table: Table, spec: dict) -> str | None:
    """What differs between a file's tensors and ``spec`` (name -> (dtype, shape or
    set of shapes)), in a few words; None if nothing does."""
    missing, extra = [n for n in spec if n not in table], [n for n in table if n not in spec]
    if missing or extra:
        return ", ".join(([f"{len(missing)} tensors missing ({', '.join(missing[:3])})"] if missing else [])
                         + ([f"{len(extra)} unexpected ({', '.join(extra[:3])})"] if extra else []))
    for name, (want_dtype, want) in spec.items():      # in the model's order
        dtype, shape = table[name]
        shapes = want if isinstance(want, set) else {want}
        if dtype != want_dtype or shape not in shapes:
            return (f"{name} is {NAMES[dtype]} {list(shape)}, but {NAMES[want_dtype]} "
                    + (f"{list(want)}" if not isinstance(want, set) else "of a parameter's shape")
                    + " is needed")
    return None
