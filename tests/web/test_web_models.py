"""Several models on one server (GET /api/models, `abcrnn serve --model A --model B` or
a folder of runs, GenerateRequest.model) and each tune's own seed."""
from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pytest
from webtools import train_tiny

from abcrnn.cli.main import main

pytest.importorskip("fastapi")
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx`")
    from fastapi.testclient import TestClient

from abcrnn.model.checkpoint import CheckpointError
from abcrnn.web.app import create_app
from abcrnn.web.models import find_models


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    """A folder of two runs: an LSTM of 16 units and a GRU of 12."""
    root = tmp_path_factory.mktemp("runs")
    train_tiny(root, "lstm16")
    train_tiny(root, "gru12", "--cell", "gru", "--hidden-size", "12")
    return root


@pytest.fixture(scope="module")
def client(runs):
    return TestClient(create_app([runs / "lstm16", runs / "gru12"], render_samples=False))


def test_models_are_listed_with_their_training_facts(client):
    models = client.get("/api/models").json()
    assert [m["name"] for m in models] == ["lstm16", "gru12"]
    lstm, gru = models
    assert (lstm["cell"], lstm["hidden_size"], lstm["num_layers"]) == ("lstm", 16, 1)
    assert (gru["cell"], gru["hidden_size"]) == ("gru", 12)
    assert lstm["default"] and not gru["default"]
    for m in models:
        assert m["steps"] == 3 and m["parameters"] > 1000 and isinstance(m["best_val_loss"], float)
        assert m["corpus"] == {"name": "tiny.txt", "tunes": 6}
    assert client.get("/api/health").json()["model"] == "lstm16"      # health: the default one


def test_generate_uses_the_model_asked_for(client):
    asked = {"seed": 4, "max_len": 120}
    by_default = client.post("/api/generate", json=asked).json()
    lstm = client.post("/api/generate", json=asked | {"model": "lstm16"}).json()
    gru = client.post("/api/generate", json=asked | {"model": "gru12"}).json()
    assert by_default["model"] == lstm["model"] == "lstm16" and gru["model"] == "gru12"
    assert by_default["tunes"] == lstm["tunes"] != gru["tunes"]
    resp = client.post("/api/generate", json=asked | {"model": "kazoo"})
    assert resp.status_code == 422 and resp.json()["error"].startswith("model: no model named 'kazoo'")
    assert client.get("/api/options", params={"model": "kazoo"}).status_code == 422
    assert client.get("/api/options", params={"model": "gru12"}).json()["meters"]


def test_each_tune_of_a_batch_is_its_own_seeds_tune(client):
    batch = client.post("/api/generate", json={"num_tunes": 3, "seed": 10, "max_len": 150}).json()
    assert batch["seed"] == 10 and [t["seed"] for t in batch["tunes"]] == [10, 11, 12]
    assert isinstance(batch["notes"], list)
    for tune in batch["tunes"]:
        alone = client.post("/api/generate", json={"num_tunes": 1, "seed": tune["seed"],
                                                    "max_len": 150}).json()
        assert alone["tunes"] == [tune]                 # the same ABC, character for character
    # seeds wrap round at the top, so every one can be asked for again
    top = client.post("/api/generate", json={"num_tunes": 2, "seed": 2**32 - 1, "max_len": 60}).json()
    assert [t["seed"] for t in top["tunes"]] == [2**32 - 1, 0]
    zero = client.post("/api/generate", json={"seed": 0, "max_len": 60}).json()
    assert zero["tunes"][0] == top["tunes"][1]


def test_the_merges_notes_pass_through(runs, monkeypatch):
    app = create_app([runs / "lstm16"], render_samples=False)
    composer = app.state.composer
    merged = composer.checked
    monkeypatch.setattr(composer, "checked", lambda req: (*merged(req)[:2], ["M:6/8 from the opening won"]))
    body = TestClient(app).post("/api/generate", json={"seed": 1, "max_len": 30}).json()
    assert body["notes"] == ["M:6/8 from the opening won"]


def test_weights_load_lazily_and_at_most_so_many_stay(runs):
    app = create_app([runs / "lstm16", runs / "gru12"], render_samples=False, loaded_max=1)
    client = TestClient(app)
    loaded = lambda: {m["name"]: m["loaded"] for m in client.get("/api/models").json()}
    assert loaded() == {"lstm16": True, "gru12": False}          # the default loads at start
    assert client.post("/api/generate", json={"model": "gru12", "max_len": 30}).status_code == 200
    assert loaded() == {"lstm16": False, "gru12": True}          # one in memory at most
    assert client.post("/api/generate", json={"max_len": 30}).status_code == 200
    assert loaded() == {"lstm16": True, "gru12": False}


def test_a_model_whose_weights_are_damaged_fails_alone(runs, tmp_path):
    shutil.copytree(runs / "gru12", tmp_path / "damaged")
    weights = next((tmp_path / "damaged").glob("model-*.safetensors"))
    data = bytearray(weights.read_bytes())
    data[-3] ^= 0xFF
    weights.write_bytes(bytes(data))
    client = TestClient(create_app([runs / "lstm16", tmp_path / "damaged"], render_samples=False))
    assert [m["name"] for m in client.get("/api/models").json()] == ["lstm16", "damaged"]
    resp = client.post("/api/generate", json={"model": "damaged", "max_len": 30})
    assert resp.status_code == 503 and resp.json()["error"].startswith("model damaged could not be loaded")
    assert client.post("/api/generate", json={"max_len": 30}).status_code == 200


def test_a_folder_of_runs_offers_each_run_under_a_unique_name(runs, tmp_path):
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "model.json").write_text("{not json")
    (tmp_path / "notes").mkdir()                                 # no model.json: not a run
    shutil.copytree(runs / "gru12", tmp_path / "lstm16")
    found, skipped = find_models([runs, tmp_path])
    assert [name for name, _ in found] == ["gru12", "lstm16", "lstm16-2"]
    assert len(skipped) == 1 and "broken" in skipped[0]
    with pytest.raises(CheckpointError, match="no model in"):
        find_models([tmp_path / "notes"])
    with pytest.raises(CheckpointError, match="no model at"):
        find_models([tmp_path / "nothing"])


def test_serve_takes_several_models(runs, tmp_path, monkeypatch, capsys):
    import uvicorn
    served = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.append(app))
    assert main(["serve", "--model", str(runs / "gru12"), "--model", str(runs), "--port", "0"]) == 0
    shelf = served[0].state.studio.shelf
    assert list(shelf.composers) == ["gru12", "gru12-2", "lstm16"] and shelf.default.name == "gru12"
    assert "models: gru12, gru12-2, lstm16" in capsys.readouterr().err
    assert main(["serve", "--model", str(tmp_path / "none"), "--port", "0"]) == 1
    assert capsys.readouterr().err.strip() == f"abcrnn: error: no model at {tmp_path / 'none'}"
    assert main(["serve", "--models-in-memory", "0", "--port", "0"]) == 1
    assert "--models-in-memory must be 1 or more" in capsys.readouterr().err
