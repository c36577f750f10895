import json

import pytest
import torch

from abcrnn.model.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from conftest import tiny_model


def _save(tmp_path, vocab, model, step=3):
    meta = {"model_config": model.config.to_dict(), "vocab": vocab.to_list()}
    return save_checkpoint(tmp_path, "model", model, meta, step)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_checkpoint_round_trip_gives_identical_logits(tmp_path, vocab, cell):
    model = tiny_model(vocab, cell, num_layers=2)
    _save(tmp_path, vocab, model)
    loaded, loaded_vocab, meta = load_checkpoint(tmp_path)
    idx = torch.randint(len(vocab), (2, 7))
    assert loaded_vocab == vocab and meta["step"] == 3
    assert torch.equal(loaded(idx)[0], model(idx)[0])


def test_checkpoint_holds_no_pickle(tmp_path, vocab):
    _save(tmp_path, vocab, tiny_model(vocab))
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["model-00000003.safetensors", "model.json"]
    assert json.loads((tmp_path / "model.json").read_text())["weights"]["sha256"]


def test_new_save_replaces_old_weights_file(tmp_path, vocab):
    model = tiny_model(vocab)
    _save(tmp_path, vocab, model, step=3)
    _save(tmp_path, vocab, model, step=9)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model-00000009.safetensors", "model.json"]


def test_truncated_weights_are_refused(tmp_path, vocab):
    _save(tmp_path, vocab, tiny_model(vocab))
    w = tmp_path / "model-00000003.safetensors"
    w.write_bytes(w.read_bytes()[:-10])
    with pytest.raises(CheckpointError, match="truncated or corrupted"):
        load_checkpoint(tmp_path)


def test_missing_model_is_refused(tmp_path):
    with pytest.raises(CheckpointError, match="no model at"):
        load_checkpoint(tmp_path / "nope")


def test_vocab_that_does_not_fit_the_weights_is_refused(tmp_path, vocab):
    _save(tmp_path, vocab, tiny_model(vocab))
    doc = json.loads((tmp_path / "model.json").read_text())
    doc["vocab"] = doc["vocab"][:-1]
    (tmp_path / "model.json").write_text(json.dumps(doc))
    with pytest.raises(CheckpointError, match="vocab has"):
        load_checkpoint(tmp_path)
