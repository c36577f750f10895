"""The default recipe, time budgets, early stopping, NaN losses and honest resumes."""
from __future__ import annotations

import json

import pytest
import torch

from abcrnn.cli.main import main
from abcrnn.training import recipe
from abcrnn.training.config import TrainConfig
from abcrnn.training.resume import merge

TINY = ["--hidden-size", "8", "--embed-size", "4", "--seq-len", "16", "--batch-size", "4", "--quiet"]


def fixed(**speeds):
    return lambda name, settings: speeds[name]


def test_without_minutes_the_run_is_the_quick_one():
    chosen, reason = recipe.choose(0, 400_000)
    assert chosen == recipe.QUICK and "2000 steps" in reason


def test_the_largest_shape_that_makes_enough_steps_and_passes_is_chosen():
    fast = fixed(**{"1 x 256": 40_000, "1 x 512": 20_000, "2 x 384": 16_000})
    assert recipe.choose(30, 400_000, speed=fast)[0]["num_layers"] == 2
    # the same machine four times slower: 2 x 384 would make ~900 steps, 1 x 512 ~1,100
    slow = fixed(**{"1 x 256": 10_000, "1 x 512": 5_000, "2 x 384": 4_000})
    chosen, reason = recipe.choose(15, 400_000, speed=slow)
    assert (chosen["hidden_size"], chosen["num_layers"]) == (512, 1)
    assert "1 x 512" in reason and "steps" in reason


def test_more_passes_bring_more_dropout_and_augmentation():
    speed = fixed(**{"1 x 256": 12_000, "1 x 512": 1, "2 x 384": 1})
    short, long_ = recipe.choose(1, 400_000, speed=speed)[0], recipe.choose(20, 400_000, speed=speed)[0]
    assert short["dropout"] < long_["dropout"] and short["augment_keys"] < long_["augment_keys"]


def test_settings_given_are_kept_and_the_reason_names_only_what_the_recipe_set():
    cfg, reason = recipe.resolve(TrainConfig(minutes=5, hidden_size=64, dropout=0.3), 100_000,
                                 fixed(**{"1 x 256": 30_000, "1 x 512": 1, "2 x 384": 1}))
    assert (cfg.hidden_size, cfg.dropout) == (64, 0.3)
    picked = reason.split("set by the recipe: ")[1]
    assert "hidden_size" not in picked and "dropout" not in picked and "lr" in picked


def test_speeds_are_measured_on_this_machine():
    speed = recipe.measure("lstm", 40, torch.device("cpu"), 8, train_chars=10**9, minutes=1)
    name, settings, _ = recipe.SHAPES[0]
    assert speed.measured and speed(name, settings) > 100


def test_minutes_alone_trains_past_the_step_default_and_says_what_stopped_it(tmp_path, corpus_file):
    assert TrainConfig(minutes=1).steps_cap > 2000 and TrainConfig().steps_cap == 2000
    out = tmp_path / "run"
    assert main(["train", "--corpus", str(corpus_file), "--out", str(out), "--minutes", "0.04",
                 "--lr", "1e-3", "--warmup-steps", "1", "--patience", "0", *TINY]) == 0
    meta = json.loads((out / "model.json").read_text())
    assert "budget" in meta["stop_reason"] and meta["step"] > 0
    out2 = tmp_path / "capped"
    assert main(["train", "--corpus", str(corpus_file), "--out", str(out2), "--minutes", "5",
                 "--max-steps", "3", *TINY]) == 0
    meta = json.loads((out2 / "model.json").read_text())
    assert meta["step"] == 3 and meta["stop_reason"] == "the step limit"


def test_a_loss_that_is_not_a_number_stops_with_one_line_and_keeps_the_last_checkpoint(
        tmp_path, corpus_file, capsys, monkeypatch):
    from abcrnn.training import loop
    real, calls = loop.train_step, []

    def diverging(*args, **kw):          # the third step's loss is NaN, as a diverging run's
        calls.append(1)
        return real(*args, **kw) if len(calls) < 3 else float("nan")
    monkeypatch.setattr(loop, "train_step", diverging)
    out = tmp_path / "r"
    rc = main(["train", "--corpus", str(corpus_file), "--out", str(out), "--max-steps", "50",
               "--eval-interval", "2", *TINY])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc != 0 and len(err) == 1 and "nan at step 3" in err[0] and "last.json" in err[0]
    assert json.loads((out / "last.json").read_text())["step"] == 2


def test_resume_applies_dropout_and_refuses_the_split_in_one_line(tmp_path, corpus_file, capsys):
    out = tmp_path / "run"
    base = ["train", "--corpus", str(corpus_file), "--out", str(out), *TINY]
    assert main(base + ["--max-steps", "2", "--dropout", "0.1"]) == 0
    assert main(base + ["--max-steps", "4", "--dropout", "0.3", "--resume"]) == 0
    meta = json.loads((out / "model.json").read_text())
    assert meta["train_config"]["dropout"] == 0.3 and meta["model_config"]["dropout"] == 0.3
    assert meta["resumes"][-1]["changed"]["dropout"] == [0.1, 0.3]
    capsys.readouterr()
    assert main(base + ["--max-steps", "6", "--split-seed", "9", "--resume"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--split-seed" in err[0]


def test_resume_refuses_what_defines_the_run_and_names_it():
    saved = TrainConfig(hidden_size=8, seed=1, split_seed=1).__dict__
    for name, value in (("val_frac", 0.2), ("seed", 2), ("augment_keys", 3), ("cell", "gru")):
        with pytest.raises(ValueError, match="--" + name.replace("_", "-")):
            merge(saved, {name: value})
    cfg, changed = merge(saved, {"lr": 1e-3, "minutes": 2.0})
    assert cfg.lr == 1e-3 and changed == {"lr": [None, 1e-3], "minutes": [0.0, 2.0]}


def test_the_quick_run_is_described_as_it_will_be_run():
    from abcrnn.training.recipe import resolve
    cfg, reason = resolve(TrainConfig(max_steps=20, hidden_size=32), 10_000)
    assert "a quick run of 20 steps (1 x 32 LSTM, lr 0.008)" in reason, reason
