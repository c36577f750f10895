"""Helpers of the damaged-checkpoint tests (tests/model/test_damaged_checkpoints.py,
tests/training/test_damaged_runs.py): damaged copies of a checkpoint, written so that
the JSON's size and SHA-256 still match a damaged file (so the check under test is
the one that refuses it, not the checksum), and the real command run as a user would."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from safetensors.torch import load_file, save

ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
DROP = object()          # put(doc, name, DROP) removes the field


def edit(path: Path, change) -> None:
    """Apply ``change`` to the JSON at ``path`` (it edits the dict in place)."""
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))


def put(doc: dict, dotted: str, value) -> None:
    """Set (or with DROP remove) the field ``a.b.0.c`` of ``doc``."""
    *parents, last = dotted.split(".")
    for p in parents:
        doc = doc[int(p)] if isinstance(doc, list) else doc[p]
    if value is DROP:
        del doc[last]
    elif isinstance(doc, list):
        doc[int(last)] = value
    else:
        doc[last] = value


def _entry(doc: dict, ref: str) -> dict:
    for part in ref.split("."):
        doc = doc[part]
    return doc


def replace_file(json_path: Path, blob: bytes, ref: str = "weights") -> None:
    """Write ``blob`` as the file the JSON's ``ref`` names, and record its size and SHA-256."""
    doc = json.loads(json_path.read_text())
    entry = _entry(doc, ref)
    (json_path.parent / entry["file"]).write_bytes(blob)
    entry.update(size=len(blob), sha256=hashlib.sha256(blob).hexdigest())
    json_path.write_text(json.dumps(doc))


def tensors_of(json_path: Path, ref: str = "weights") -> dict:
    return load_file(json_path.parent / _entry(json.loads(json_path.read_text()), ref)["file"])


def retensor(json_path: Path, change, ref: str = "weights") -> None:
    """Rewrite the named safetensors file with ``change(tensors)`` applied, consistently."""
    tensors = tensors_of(json_path, ref)
    change(tensors)
    replace_file(json_path, save(tensors), ref)


def run_cli(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "abcrnn.cli.main", *map(str, args)], capture_output=True,
                          text=True, env=ENV, timeout=timeout)


def assert_one_line(proc, *names):
    """Exit 1 with one line ``abcrnn: error: ...`` that names each of ``names``."""
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert proc.stderr.startswith("abcrnn: error: ") and proc.stderr.count("\n") == 1, proc.stderr[-2000:]
    for name in names:
        assert str(name) in proc.stderr
