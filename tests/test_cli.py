"""The command line end to end, in a temporary folder, on the tiny corpus."""
import json
import subprocess
import sys


from abcrnn.cli import main

TRAIN = ["train", "--hidden-size", "16", "--embed-size", "8", "--seq-len", "32", "--batch-size", "4",
         "--eval-interval", "5", "--quiet"]


def test_corpus_command_prints_counts(corpus_file, capsys):
    assert main(["corpus", str(corpus_file)]) == 0
    out = capsys.readouterr().out
    assert "tunes:       6" in out and "fragments:   0" in out and "train 5 tunes" in out


def test_train_then_generate_end_to_end(tmp_path, corpus_file, capsys):
    run = tmp_path / "run"
    assert main(TRAIN + ["--corpus", str(corpus_file), "--out", str(run), "--max-steps", "10"]) == 0
    for name in ["model.json", "last.json", "history.csv", "history.json", "loss.png", "split.json"]:
        assert (run / name).is_file(), name
    split = json.loads((run / "split.json").read_text())
    assert len(split["train"]) == 5 and len(split["val"]) == 1
    out = tmp_path / "tunes.abc"
    assert main(["generate", "--model", str(run), "--num-tunes", "3", "--max-len", "60",
                 "--seed", "1", "--out", str(out)]) == 0
    text = out.read_text()
    assert "<start>" not in text and "<end>" not in text
    assert [line for line in text.splitlines() if line.startswith("X:")] == ["X:1", "X:2", "X:3"]


def test_resume_continues_step_count_and_history(tmp_path, corpus_file):
    run = tmp_path / "run"
    assert main(TRAIN + ["--corpus", str(corpus_file), "--out", str(run), "--max-steps", "10"]) == 0
    first = json.loads((run / "last.json").read_text())
    assert main(["train", "--out", str(run), "--max-steps", "20", "--resume", "--quiet"]) == 0
    second = json.loads((run / "last.json").read_text())
    assert first["step"] == 10 and second["step"] == 20
    assert [h["step"] for h in second["history"]] == [5, 10, 15, 20]
    assert second["history"][:2] == first["history"]
    assert second["model_config"] == first["model_config"]


def test_resume_without_checkpoint_is_one_clear_error(tmp_path, capsys):
    assert main(["train", "--out", str(tmp_path / "none"), "--resume"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"abcrnn: error: --resume: no checkpoint at {tmp_path / 'none' / 'last.json'}"]


def test_generate_refuses_unknown_prime_characters(tmp_path, corpus_file, capsys):
    run = tmp_path / "run"
    main(TRAIN + ["--corpus", str(corpus_file), "--out", str(run), "--max-steps", "5"])
    capsys.readouterr()
    assert main(["generate", "--model", str(run), "--prime", "X:1\\nT:Ã©\\n"]) == 1
    err = capsys.readouterr().err
    assert "not in the model's vocabulary" in err and "'Ã'" in err


def test_generate_with_missing_output_folder_writes_nothing(tmp_path, capsys):
    assert main(["generate", "--out", str(tmp_path / "no" / "t.abc")]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "no").exists()


def test_console_script_runs_as_module():
    r = subprocess.run([sys.executable, "-m", "abcrnn", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "generate" in r.stdout
