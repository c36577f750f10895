"""`abcrnn sweep`: a tiny grid end to end, results read back from each run's own
history, finished runs skipped, cut-short runs resumed, failures reported."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from conftest import TUNES, marked

from abcrnn.study import sweep
from abcrnn.cli.main import main

TINY = ["--set", "hidden-size=8", "--set", "embed-size=4", "--set", "max-steps=6",
        "--set", "eval-interval=3", "--set", "seq-len=16", "--set", "batch-size=4",
        "--set", "val-frac=0.3", "--quiet", "--parallel", "2"]


@pytest.fixture
def corpus(tmp_path) -> Path:
    path = tmp_path / "tiny.txt"
    path.write_bytes(marked(TUNES).encode())
    return path


def run_sweep(corpus: Path, out: Path, *grid: str) -> int:
    return main(["sweep", "--out", str(out), "--set", f"corpus={corpus}", *TINY, *grid])


def logged_commands(folder: Path) -> int:
    """How many times the sweep started `abcrnn train` in this run folder."""
    return (folder / "train.log").read_text().count(" -m abcrnn train ")


@pytest.mark.slow
def test_tiny_grid_writes_a_results_table_that_matches_each_runs_history(corpus, tmp_path, capsys):
    out = tmp_path / "sweep"
    assert run_sweep(corpus, out, "--set", "cell=lstm,gru") == 0
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert sorted(r["name"] for r in rows) == ["cell-gru", "cell-lstm"]
    for row in rows:
        hist = json.loads((out / row["name"] / "history.json").read_text())
        model = json.loads((out / row["name"] / "model.json").read_text())
        assert row["cell"] == model["model_config"]["cell"] == row["name"].split("-")[1]
        assert float(row["best_val_loss"]) == min(h["val_loss"] for h in hist)
        assert float(row["best_train_loss"]) == min(h["train_loss"] for h in hist)
        assert int(row["steps"]) == hist[-1]["step"] == 6
        assert int(row["num_params"]) == model["num_params"]
        assert row["status"] == "done"
    table = (out / "results.md").read_text()
    assert "| cell-lstm | lstm |" in table and "| cell-gru | gru |" in table
    assert "Shared by every run:" in table and "seq_len=16" in table
    assert (out / "val_curves.png").stat().st_size > 1000
    assert (out / "loss_curves.png").stat().st_size > 1000
    assert "results in" in capsys.readouterr().out


@pytest.mark.slow
def test_rerun_skips_finished_runs_and_only_trains_new_grid_points(corpus, tmp_path):
    out = tmp_path / "sweep"
    assert run_sweep(corpus, out, "--set", "cell=lstm") == 0
    weights = sorted(p.name for p in (out / "run").iterdir())
    mtime = (out / "run" / "last.json").stat().st_mtime_ns
    assert run_sweep(corpus, out, "--set", "cell=lstm") == 0
    assert logged_commands(out / "run") == 1
    assert (out / "run" / "last.json").stat().st_mtime_ns == mtime
    assert sorted(p.name for p in (out / "run").iterdir()) == weights
    # A second grid point: the first run's folder name now spells its cell.
    assert run_sweep(corpus, tmp_path / "two", "--set", "cell=lstm,rnn") == 0
    assert logged_commands(tmp_path / "two" / "cell-rnn") == 1


@pytest.mark.slow
def test_run_cut_short_is_resumed_not_restarted(corpus, tmp_path):
    out = tmp_path / "sweep"
    spec = {"base": {"corpus": str(corpus), "hidden_size": 8, "embed_size": 4, "max_steps": 6,
                     "eval_interval": 3, "seq_len": 16, "batch_size": 4, "val_frac": 0.3,
                     "seed": 1337, "split_seed": 1337}, "grid": [], "runs": []}
    [run] = sweep.expand(spec)
    # The same run trained to step 3 by hand, as if the sweep had been stopped there.
    first = dict(spec["base"], max_steps=3)
    assert main(["train", "--quiet", *sweep.train_argv(
        sweep.RunSpec(run.name, first).config(out), False)[5:]]) == 0
    assert not (out / run.name / "sweep.json").exists()
    [row] = sweep.run_sweep([run], out, progress=False)
    hist = json.loads((out / run.name / "history.json").read_text())
    assert [h["step"] for h in hist] == [3, 6]
    assert "--resume" in (out / run.name / "train.log").read_text()
    assert row["status"] == "done" and row["steps"] == 6


@pytest.mark.slow
def test_a_failing_run_is_reported_while_the_others_finish(corpus, tmp_path, capsys):
    out = tmp_path / "sweep"
    # seq-len 400 is longer than every tiny tune: that run stops with an error.
    code = run_sweep(corpus, out, "--set", "seq-len=16,400")
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and "1 of 2 runs failed" in err[0]
    rows = {r["name"]: r for r in csv.DictReader((out / "results.csv").open())}
    assert rows["seq_len-16"]["status"] == "done"
    assert rows["seq_len-400"]["status"] == "failed"
    assert "not shorter than the longest" in (out / "seq_len-400" / "train.log").read_text()


def test_set_flags_become_typed_grid_axes():
    assert sweep.parse_set(["lr=1e-3,3e-3", "cell=lstm", "clean=true,false", "hidden-size=8"]) == {
        "lr": [0.001, 0.003], "cell": ["lstm"], "clean": [True, False], "hidden_size": [8]}


def test_grids_unite_and_repeat_points_are_kept_once():
    spec = {"base": {"minutes": 1.0}, "runs": [{"cell": "rnn", "hidden_size": 8}],
            "grid": [{"cell": ["lstm", "rnn"], "hidden_size": [8]},
                     {"cell": ["rnn"], "hidden_size": [8, 16]}]}
    names = [r.name for r in sweep.expand(spec)]
    assert names == ["cell-lstm_hidden_size-8", "cell-rnn_hidden_size-8", "cell-rnn_hidden_size-16"]
    assert all(r.settings["minutes"] == 1.0 for r in sweep.expand(spec))


def test_run_command_line_reproduces_the_settings(tmp_path):
    [run] = sweep.expand({"base": {"cell": "gru", "clean": True, "lr": 0.002}, "grid": [], "runs": []})
    argv = sweep.train_argv(run.config(tmp_path), resume=False)
    pairs = dict(zip(argv, argv[1:]))
    assert pairs["--cell"] == "gru" and pairs["--lr"] == "0.002" and "--clean" in argv
    assert "--corpus" not in argv          # train's default corpus
    assert pairs["--out"] == str(tmp_path / "run")


def test_folder_holding_a_run_with_other_settings_is_refused(tmp_path):
    [run] = sweep.expand({"base": {"hidden_size": 8}, "grid": [], "runs": []})
    (tmp_path / run.name).mkdir()
    (tmp_path / run.name / "sweep.json").write_text(json.dumps({"settings": {"hidden_size": 9}}))
    with pytest.raises(sweep.SweepError, match="other settings"):
        sweep.run_sweep([run], tmp_path, progress=False)
