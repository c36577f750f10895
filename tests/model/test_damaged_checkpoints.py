"""Damaged and hostile model checkpoints (issue 14, item 7; item 9's vocabulary and
dtypes): each is refused with one line naming the file and what is wrong, before
anything is allocated or built, never a traceback or a crash.

Every case damages a copy of a tiny model saved here; where the damage is in the
weights file, the JSON's size and SHA-256 are made to match it (damage.py), so the
check under test is the one that refuses it, not the checksum. Loading is called
directly for most cases (fast); a few run the real `abcrnn generate --model` and
`abcrnn serve --model` in a subprocess, as a user would. The resume cases are in
tests/training/test_damaged_runs.py.
"""
from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
import torch
from conftest import TUNES, tiny_model
from damage import DROP, assert_one_line, edit, put, replace_file, retensor, run_cli, tensors_of

import abcrnn
from abcrnn.corpus.profile import profile
from abcrnn.model.charrnn import CharRNN
from abcrnn.model.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from abcrnn.model.config import MAX_PARAMS, ModelConfig


def message(excinfo) -> str:
    text = str(excinfo.value)
    assert "\n" not in text
    return text


@pytest.fixture
def model_dir(tmp_path, vocab) -> Path:
    """A tiny model saved as training saves one, with a history, cache and profile."""
    model = tiny_model(vocab)
    meta = {"model_config": model.config.to_dict(), "vocab": vocab.to_list(), "num_params": model.num_params(),
            "history": [{"step": 5, "train_loss": 3.8, "val_loss": 3.5, "lr": 0.03, "seconds": 0.4,
                         "chars_per_s": 1400}], "best_val_loss": 3.5, "train_seconds": 0.4,
            "corpus_profile": profile(TUNES), "cache": {"lam": 0.25, "theta": 0.5, "gap": 8}}
    save_checkpoint(tmp_path / "m", "model", model, meta, 5)
    return tmp_path / "m"


def test_the_undamaged_tiny_model_loads(model_dir):
    model, vocab, meta = load_checkpoint(model_dir)
    assert meta["step"] == 5 and len(vocab) == model.config.vocab_size


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("embed", [0, 8])
def test_param_shapes_are_those_of_the_built_model(cell, embed):
    cfg = ModelConfig(20, cell, 12, 3, 0.0, embed)
    built = {k: tuple(v.shape) for k, v in CharRNN(cfg).state_dict().items()}
    assert list(built.items()) == list(cfg.param_shapes().items())
    assert cfg.num_params() == CharRNN(cfg).num_params()


# --- model.json and the weights file: load_checkpoint ----------------------------------------

def json_case(dotted, value):
    return lambda d: edit(d / "model.json", lambda doc: put(doc, dotted, value))


def raw_json(text):
    return lambda d: (d / "model.json").write_text(text)


def weights_blob(make):
    return lambda d: replace_file(d / "model.json", make(d))


def retype(dtype):
    return lambda d: retensor(d / "model.json", lambda t: t.update({k: v.to(dtype) for k, v in t.items()}))


def pickled(d: Path) -> bytes:
    buf = io.BytesIO()
    torch.save(tensors_of(d / "model.json"), buf)
    return buf.getvalue()


def outside(how):
    """weights.file naming a valid copy of the weights outside the model folder."""
    def damage(d: Path):
        doc = json.loads((d / "model.json").read_text())
        copy = d.parent / "elsewhere.safetensors"
        shutil.copy(d / doc["weights"]["file"], copy)
        if how == "symlink":
            (d / "link.safetensors").symlink_to(copy)
        name = {"dotdot": "../elsewhere.safetensors", "absolute": str(copy), "symlink": "link.safetensors"}[how]
        edit(d / "model.json", lambda doc: put(doc, "weights.file", name))
    return damage


DEEP = '{"format": "abcrnn-checkpoint-1", "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
NEST_200 = '{"format": "abcrnn-checkpoint-1", "x": ' + "[" * 200 + "]" * 200 + "}"

MODEL_CASES = {
    # (damage, what the one line says)
    "weights-missing": (json_case("weights", DROP), r"model\.json: weights is missing"),
    "weights-file-int": (json_case("weights.file", 5), r"weights\.file must be the name of a file"),
    "weights-file-null": (json_case("weights.file", None), r"weights\.file must be the name of a file"),
    "sha256-missing": (json_case("weights.sha256", DROP), r"weights\.sha256 is missing"),
    "sha256-not-hex": (json_case("weights.sha256", "x" * 64), r"weights\.sha256 must be a SHA-256"),
    "size-text": (json_case("weights.size", "12500"), r"weights\.size must be a whole number"),
    "hidden-32.5": (json_case("model_config.hidden_size", 32.5), r"hidden_size must be a whole number"),
    "hidden-1e9": (json_case("model_config.hidden_size", 1e9), r"hidden_size must be a whole number"),
    "hidden-10**9": (json_case("model_config.hidden_size", 10**9), r"hidden_size must be a whole number from 1 to 8192"),
    "layers-1e7": (json_case("model_config.num_layers", 1e7), r"num_layers must be a whole number"),
    "layers-10**7": (json_case("model_config.num_layers", 10**7), r"num_layers must be a whole number from 1 to 16"),
    "params-over-limit": (json_case("model_config", {"vocab_size": 53, "hidden_size": 8192, "num_layers": 16}),
                          rf"parameters, more than the limit of {MAX_PARAMS:,}"),
    "config-bigger-than-file": (lambda d: edit(d / "model.json", lambda doc: doc.update(
        num_params=ModelConfig(**{**doc["model_config"], "hidden_size": 2048}).num_params(),
        model_config={**doc["model_config"], "hidden_size": 2048})),
        r"layers\.0\.weight_ih_l0 is float32 \[64, 8\], but float32 \[8192, 8\] is needed"),
    "size-huge": (json_case("weights.size", 10**12), r"weights\.size is 1,000,000,000,000 bytes, more than"),
    "config-unknown-field": (json_case("model_config.heads", 8), r"model_config has an unknown field 'heads'"),
    "nested-100k-deep": (raw_json(DEEP), r"nests more than 64 levels deep"),
    "nested-200-deep": (raw_json(NEST_200), r"nests more than 64 levels deep"),
    "json-over-32-MB": (lambda d: (d / "model.json").write_text((d / "model.json").read_text() + " " * 2**25),
                        r"more than a checkpoint JSON may be"),
    # (the files are 12,500 bytes, as the real one: its size is checked before the header)
    "header-length-2**62": (weights_blob(lambda d: (2**62).to_bytes(8, "little") + b"{}" + b"\0" * 12490),
                            r"is not a safetensors file \(its header would be 4,611,686,018,427,387,904 bytes"),
    "header-past-the-end": (weights_blob(lambda d: (20_000).to_bytes(8, "little") + b"{}" + b"\0" * 12490),
                            r"is not a safetensors file \(its header would be 20,000 bytes of a 12,500"),
    "header-not-json": (weights_blob(lambda d: (10).to_bytes(8, "little") + b"not json!!" + b"\0" * 12482),
                        r"is not a safetensors file \(its header is not a JSON object\)"),
    "header-bad-offsets": (weights_blob(lambda d: _shifted_offsets(d)), r"malformed safetensors header"),
    "pickle-renamed": (weights_blob(pickled), r"is not a safetensors file"),
    "weights-float64": (retype(torch.float64), r"is float64 \[53, 8\], but float32 \[53, 8\] is needed"),
    "weights-int64": (retype(torch.int64), r"is int64 \[53, 8\], but float32 \[53, 8\] is needed"),
    "weights-nan": (lambda d: retensor(d / "model.json", lambda t: t["head.bias"].fill_(float("nan"))),
                    r"head\.bias holds NaN or infinite values"),
    "file-dotdot": (outside("dotdot"), r"weights\.file must be the name of a file in the checkpoint's own folder"),
    "file-absolute": (outside("absolute"), r"weights\.file must be the name of a file in the checkpoint's own folder"),
    "file-symlink-out": (outside("symlink"), r"link\.safetensors leads outside its folder"),
    "vocab-duplicate": (lambda d: edit(d / "model.json", lambda doc: put(doc, "vocab.1", doc["vocab"][0])),
                        r"vocab is invalid: the vocabulary lists '\\n' more than once"),
    "vocab-two-characters": (json_case("vocab.5", "ab"), r"vocabulary entry 5 must be one character, got 'ab'"),
    "vocab-not-text": (json_case("vocab.5", 7), r"vocabulary entry 5 must be one character, got 7"),
    "step-text": (json_case("step", "5"), r"step must be a whole number >= 0, got '5'"),
    "num-params-wrong": (json_case("num_params", 12), r"num_params is 12 but the model_config has 2989"),
    "cache-lam-list": (json_case("cache.lam", [0.25]), r"cache\.lam must be a number from 0 to 1"),
    "cache-gap-zero": (json_case("cache.gap", 0), r"cache\.gap must be a whole number >= 1"),
    "profile-meters-number": (json_case("corpus_profile.meters", 5), r"corpus_profile\.meters must be an object"),
    "profile-share-text": (json_case("corpus_profile.restated_share", "a third"),
                           r"corpus_profile\.restated_share must be a number from 0 to 1"),
    "profile-unit-share-negative": (json_case("corpus_profile.unit_shares", {"2/4": {"1/8": -1}}),
                                    r"corpus_profile\.unit_shares\['2/4'\]\['1/8'\] must be a number from 0 to 1"),
}


def _shifted_offsets(d: Path) -> bytes:
    """A real weights file whose header says its first tensor starts 4 bytes in."""
    blob = (d / json.loads((d / "model.json").read_text())["weights"]["file"]).read_bytes()
    n = int.from_bytes(blob[:8], "little")
    header = json.loads(blob[8:8 + n])
    first = min((k for k in header if k != "__metadata__"), key=lambda k: header[k]["data_offsets"][0])
    header[first]["data_offsets"][0] += 4
    text = json.dumps(header).encode()
    return len(text).to_bytes(8, "little") + text + blob[8 + n:]


@pytest.mark.parametrize("case", MODEL_CASES, ids=list(MODEL_CASES))
def test_damaged_model_is_refused_with_one_line_naming_the_file(model_dir, case):
    damage, says = MODEL_CASES[case]
    damage(model_dir)
    with pytest.raises(CheckpointError, match=says) as e:
        load_checkpoint(model_dir)
    assert str(model_dir) in message(e)


def test_load_model_refuses_a_damaged_model(model_dir):
    json_case("model_config.num_layers", 1e7)(model_dir)
    with pytest.raises(CheckpointError, match="num_layers must be a whole number"):
        abcrnn.load_model(model_dir)


def test_model_config_limits_the_parameter_count():
    ModelConfig(93, "lstm", 1024, 4, 0.0, 64)                      # ~29 M parameters: allowed
    with pytest.raises(ValueError, match="more than the limit"):
        ModelConfig(93, "lstm", 8192, 2, 0.0, 64)


@pytest.mark.parametrize("case", ["weights-missing", "layers-1e7", "pickle-renamed"])
def test_generate_with_a_damaged_model_prints_one_line(model_dir, case):
    MODEL_CASES[case][0](model_dir)
    proc = run_cli("generate", "--model", model_dir, "--num-tunes", "1", "--max-len", "50")
    assert_one_line(proc, model_dir)
    assert proc.stdout == ""


def test_serve_with_a_damaged_model_prints_one_line(model_dir):
    MODEL_CASES["hidden-32.5"][0](model_dir)
    proc = run_cli("serve", "--model", model_dir, "--port", "0", timeout=60)
    assert_one_line(proc, model_dir / "model.json", "hidden_size")
