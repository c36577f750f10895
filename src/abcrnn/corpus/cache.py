"""Encoded corpora cached on disk, so a big corpus is encoded once.

An entry is keyed by the corpus fingerprint (data.fingerprint of its tunes) and
the vocabulary: ``<key>.json`` describes it (format, fingerprint, vocabulary,
tune count, dtype) and names ``<key>.ids.npy`` (every wrapped tune's ids back to
back, uint8 when the vocabulary has at most 256 characters) and
``<key>.lengths.npy`` (int64, one per tune), with each file's size and SHA-256.
Nothing is pickled (``np.load(allow_pickle=False)``); every file is written to a
temporary name and renamed, the JSON last, so a reader never sees half an entry.
An entry that is missing, damaged or describes other tunes is a miss: the corpus
is encoded again and the entry rewritten. The cache is only a speed-up: if it
cannot be written, training goes on without it.

Folder: ``$ABCRNN_CACHE`` if set (``off`` disables the cache), else
``$XDG_CACHE_HOME/abcrnn``, else ``~/.cache/abcrnn``. Entries are small (one
byte per character); delete the folder at any time to reclaim the space.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from abcrnn.corpus.encode import compact_dtype, encode_tunes

FORMAT = "abcrnn-encoded-corpus-1"


@dataclass
class Encoded:
    flat: np.ndarray        # (N,) compact ids of every wrapped tune, possibly memory-mapped
    lengths: np.ndarray     # (n_tunes,) int64
    hit: bool               # read from the cache rather than encoded now


def cache_dir() -> Path | None:
    """Where entries live; None when ABCRNN_CACHE is ``off`` (or ``0``, or empty)."""
    env = os.environ.get("ABCRNN_CACHE")
    if env is not None:
        return None if env.strip().lower() in ("", "0", "off", "none") else Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "abcrnn"


def cache_key(fp: str, vocab) -> str:
    h = hashlib.sha256(FORMAT.encode() + b"\x00" + fp.encode() + b"\x00")
    h.update(json.dumps(vocab.to_list(), ensure_ascii=True).encode())
    return h.hexdigest()[:32]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _read(folder: Path, key: str, fp: str, vocab, n_tunes: int) -> Encoded | None:
    """The entry, or None if it is missing, damaged or not for these tunes."""
    try:
        doc = json.loads((folder / f"{key}.json").read_text())
        if (doc.get("format") != FORMAT or doc.get("fingerprint") != fp
                or doc.get("vocab") != vocab.to_list() or doc.get("tunes") != n_tunes):
            return None
        arrays = {}
        for name in ("ids", "lengths"):
            path = folder / doc["files"][name]["name"]
            if (path.stat().st_size != doc["files"][name]["size"]
                    or _sha256(path) != doc["files"][name]["sha256"]):
                return None
            arrays[name] = np.load(path, mmap_mode="r", allow_pickle=False)
        flat, lengths = arrays["ids"], np.array(arrays["lengths"])
        if (flat.dtype != compact_dtype(len(vocab)) or len(lengths) != n_tunes
                or int(lengths.sum()) != len(flat)):
            return None
        return Encoded(flat, lengths, hit=True)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write(folder: Path, key: str, fp: str, vocab, enc: Encoded) -> None:
    from abcrnn.files import atomic_write
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, arr in (("ids", enc.flat), ("lengths", enc.lengths)):
        buf = io.BytesIO()
        np.save(buf, arr, allow_pickle=False)
        data = buf.getvalue()
        files[name] = {"name": f"{key}.{name}.npy", "size": len(data),
                       "sha256": hashlib.sha256(data).hexdigest()}
        atomic_write(folder / files[name]["name"], data)
    doc = {"format": FORMAT, "fingerprint": fp, "vocab": vocab.to_list(), "tunes": len(enc.lengths),
           "chars": int(enc.lengths.sum()), "dtype": str(enc.flat.dtype), "files": files}
    atomic_write(folder / f"{key}.json", json.dumps(doc, indent=1))


def encoded_corpus(tunes: list[str], vocab, fp: str) -> Encoded:
    """The tunes' ids (see module docstring): from the cache, or encoded now and cached.

    ``fp`` must be data.fingerprint(tunes); it is passed in because the caller
    has it already."""
    folder = cache_dir()
    key = cache_key(fp, vocab)
    if folder is not None:
        found = _read(folder, key, fp, vocab, len(tunes))
        if found is not None:
            return found
    flat, lengths = encode_tunes(tunes, vocab)
    enc = Encoded(flat, lengths, hit=False)
    if folder is not None:
        try:
            _write(folder, key, fp, vocab, enc)
        except OSError:
            pass        # a read-only or full disk costs the speed-up, not the run
    return enc
