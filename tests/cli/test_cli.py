"""The command line end to end, in a temporary folder, on the tiny corpus."""
import json
import subprocess
import sys


from abcrnn.cli.main import main

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


GOOD = "X:1\nT:Good\nM:4/4\nL:1/8\nK:G\nGABc dedB|c2A2 B4|]\n"


def test_evaluate_command_scores_tunes_beside_the_corpus(tmp_path, corpus_file, capsys):
    tunes = tmp_path / "t.abc"
    tunes.write_text(GOOD + "\nX:2\nT:Bad\nK:G\n\"zz\"GAB|\n")
    (tmp_path / "t.abc.json").write_text('{"ended": [true, false]}')
    assert main(["evaluate", str(tunes), "--corpus", str(corpus_file), "--out", str(tmp_path / "ev")]) == 0
    out = capsys.readouterr().out
    assert "generated" in out and "corpus" in out
    report = json.loads((tmp_path / "ev" / "evaluation.json").read_text())
    assert [r["valid"] for r in report["rows"]] == [True, False]
    assert [r["ended"] for r in report["rows"]] == [True, False]
    assert report["aggregate"]["pct_valid"] == 50.0
    assert (tmp_path / "ev" / "corpus" / "evaluation.json").is_file()


def test_render_command_writes_every_format_and_a_tunebook(tmp_path):
    tunes = tmp_path / "t.abc"
    tunes.write_text(GOOD)
    assert main(["render", str(tunes), "--out", str(tmp_path / "r")]) == 0
    assert sorted(p.suffix for p in (tmp_path / "r").iterdir()) == [
        ".mid", ".mp3", ".musicxml", ".pdf", ".png", ".svg", ".wav"]
    assert main(["render", str(tunes), "--out", str(tmp_path / "b"), "--tunebook"]) == 0
    page = (tmp_path / "b" / "index.html").read_text()
    assert "<audio" in page and ".musicxml\">MusicXML</a>" in page


def test_render_of_a_missing_file_is_one_clear_error(tmp_path, capsys):
    assert main(["render", str(tmp_path / "none.abc")]) == 1
    assert capsys.readouterr().err.strip() == f"abcrnn: error: no ABC file at {tmp_path / 'none.abc'}"


def test_the_command_line_is_built_without_importing_torch():
    # `abcrnn --help`, render and evaluate never need torch; its import costs ~1 s
    code = ("import sys; from abcrnn.cli.main import build_parser; build_parser().parse_args(['render', 'x.abc']); "
            "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
