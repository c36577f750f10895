"""Bad inputs through the real command line: each is refused with exactly one line
``abcrnn: error: ...`` on stderr (no traceback), a non-zero exit, and nothing
written or overwritten (every file and folder under the test's folders keeps its
bytes and mtime, and no file appears)."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import TUNES, marked

from abcrnn.notation.tunes import wrap
from abcrnn.cli.main import main
from abcrnn.model.vocab import Vocab
from abcrnn.corpus.split import split_tunes
from abcrnn.sampling.sample import MAX_LEN_CAP, NUM_TUNES_CAP

TINY = ["--hidden-size", "16", "--embed-size", "8", "--seq-len", "32", "--batch-size", "4",
        "--max-steps", "5", "--eval-interval", "5", "--quiet"]


# --- helpers -------------------------------------------------------------------

def snapshot(*roots: Path) -> dict:
    """Every file and folder under ``roots``: (kind, size, mtime_ns, sha256 of files)."""
    seen = {}
    for root in roots:
        for p in [root, *sorted(root.rglob("*"))]:
            st = p.stat()
            digest = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else None
            seen[str(p)] = ("file" if p.is_file() else "dir", st.st_size, st.st_mtime_ns, digest)
    return seen


def refused(argv: list[str], capsys, roots: list[Path], *needles: str, code: int = 1) -> str:
    """Run ``abcrnn argv`` in-process; assert one error line holding every needle, exit
    ``code``, nothing on stdout and no change under ``roots``. Returns the line."""
    capsys.readouterr()
    before = snapshot(*roots)
    assert main(argv) == code
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("abcrnn: error: "), err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    assert out == ""
    assert snapshot(*roots) == before
    return lines[0]


def write_corpus(path: Path, tunes=TUNES) -> Path:
    path.write_bytes(marked(tunes).encode())
    return path


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    """A tiny run (model.json, last.json, weights...) trained on the tiny corpus."""
    root = tmp_path_factory.mktemp("badinputs")
    corpus = write_corpus(root / "tiny.txt")
    assert main(["train", "--corpus", str(corpus), "--out", str(root / "run"), *TINY]) == 0
    return root / "run"


@pytest.fixture
def ws(tmp_path) -> Path:
    """The test's workspace, with an earlier generate output that must survive."""
    (tmp_path / "tunes.abc").write_text("X:1\nT:Old\nK:C\nCDEF|\n")
    (tmp_path / "tunes.abc.json").write_text('{"ended": [true]}')
    return tmp_path


@pytest.fixture
def model_copy(model_dir, tmp_path) -> Path:
    """A copy of the tiny run that a test may damage."""
    dst = tmp_path / "model"
    shutil.copytree(model_dir, dst)
    return dst


def generate(model: Path, ws: Path, *extra: str) -> list[str]:
    return ["generate", "--model", str(model), "--max-len", "20", "--out", str(ws / "tunes.abc"), *extra]


def weights_of(model: Path) -> Path:
    return model / json.loads((model / "model.json").read_text())["weights"]["file"]


# --- corpora ---------------------------------------------------------------------

def corpus_argv(cmd: str, corpus: Path, ws: Path) -> list[str]:
    if cmd == "corpus":
        return ["corpus", str(corpus)]
    return ["train", "--corpus", str(corpus), "--out", str(ws / "run"), *TINY]


@pytest.mark.parametrize("cmd", ["corpus", "train"])
def test_empty_corpus_file_is_refused(cmd, ws, capsys):
    (ws / "empty.txt").write_bytes(b"")
    refused(corpus_argv(cmd, ws / "empty.txt", ws), capsys, [ws], "empty.txt is empty (no ABC text)")


@pytest.mark.parametrize("cmd", ["corpus", "train"])
def test_binary_corpus_file_is_refused(cmd, ws, capsys):
    (ws / "blob.abc").write_bytes(bytes(range(256)) * 4)
    refused(corpus_argv(cmd, ws / "blob.abc", ws), capsys, [ws], "blob.abc is a binary file, not ABC text")


@pytest.mark.parametrize("cmd", ["corpus", "train"])
def test_corpus_that_is_not_utf8_is_refused(cmd, ws, capsys):
    text = marked(TUNES).encode()
    (ws / "latin1.txt").write_bytes(text[:40] + "T:Caf\u00e9\n".encode("latin-1") + text[40:])
    refused(corpus_argv(cmd, ws / "latin1.txt", ws), capsys, [ws],
            "latin1.txt is not valid UTF-8 (byte 45)")


@pytest.mark.parametrize("cmd", ["corpus", "train"])
def test_corpus_with_no_complete_tune_is_refused(cmd, ws, capsys):
    # a header without K:, and a K: with no note: both fragments
    write_corpus(ws / "frag.txt", ["X:1\nT:No key\nM:4/4", "X:2\nT:No notes\nK:G\n|: z4 :|"])
    refused(corpus_argv(cmd, ws / "frag.txt", ws), capsys, [ws],
            "frag.txt holds no complete tune", "2 fragments found")


@pytest.mark.parametrize("cmd", ["corpus", "train"])
def test_missing_corpus_path_is_refused(cmd, ws, capsys):
    refused(corpus_argv(cmd, ws / "nowhere.txt", ws), capsys, [ws],
            f"corpus path {ws / 'nowhere.txt'} does not exist")


# --- generation settings -----------------------------------------------------------

def test_prime_with_characters_outside_the_vocabulary_is_refused(model_dir, ws, capsys):
    refused(generate(model_dir, ws, "--prime", "X:1\\nT:\u00a7\u00e9\\n"), capsys, [ws, model_dir],
            "characters not in the model's vocabulary", "'\u00a7'", "'\u00e9'")


@pytest.mark.parametrize("flag, value, message", [
    ("--temperature", "-0.5", "temperature must be a finite number >= 0 (0 = greedy), got -0.5"),
    ("--temperature", "nan", "temperature must be a finite number >= 0 (0 = greedy), got nan"),
    ("--top-k", "-1", "top-k must be >= 0 (0 = off), got -1"),
    ("--top-p", "0", "top-p must be in (0, 1], got 0.0"),
    ("--top-p", "1.5", "top-p must be in (0, 1], got 1.5"),
    ("--max-len", "0", f"max-len must be between 1 and {MAX_LEN_CAP}, got 0"),
    ("--max-len", str(MAX_LEN_CAP + 1),
     f"max-len must be between 1 and {MAX_LEN_CAP}, got {MAX_LEN_CAP + 1}"),
    ("--num-tunes", "0", f"num-tunes must be between 1 and {NUM_TUNES_CAP}, got 0"),
    ("--num-tunes", str(NUM_TUNES_CAP + 1),
     f"num-tunes must be between 1 and {NUM_TUNES_CAP}, got {NUM_TUNES_CAP + 1}"),
])
def test_out_of_range_generation_setting_is_refused(flag, value, message, model_dir, ws, capsys):
    # --max-len is given twice for its own cases: argparse keeps the last
    line = refused(generate(model_dir, ws, flag, value), capsys, [ws, model_dir])
    assert line == f"abcrnn: error: {message}"


# --- model folders -----------------------------------------------------------------

def test_missing_model_folder_is_refused(ws, capsys):
    refused(generate(ws / "no-model", ws), capsys, [ws],
            f"no model at {ws / 'no-model'} (expected a folder with model.json")


def test_model_folder_without_model_json_is_refused(model_copy, ws, capsys):
    (model_copy / "model.json").unlink()
    refused(generate(model_copy, ws), capsys, [ws], f"no model at {model_copy / 'model.json'}")


def test_model_folder_missing_its_weights_file_is_refused(model_copy, ws, capsys):
    weights = weights_of(model_copy)
    weights.unlink()
    refused(generate(model_copy, ws), capsys, [ws], f"checkpoint file {weights} is missing")


def test_stray_files_in_a_model_folder_are_ignored_and_the_named_weights_are_verified(
        model_copy, ws, capsys):
    weights = weights_of(model_copy)
    stray = model_copy / "model-99999999.safetensors"
    shutil.copy(weights, stray)                       # an intact, loadable stray copy
    (model_copy / "notes.txt").write_text("mine")
    assert main(generate(model_copy, ws, "--num-tunes", "2")) == 0
    assert (ws / "tunes.abc").read_text().startswith("X:1\n")
    assert stray.is_file() and (model_copy / "notes.txt").read_text() == "mine"
    # the stray copy is no fallback: the file model.json names is what is checked
    weights.write_bytes(weights.read_bytes()[:-1] + b"\x00")
    refused(generate(model_copy, ws), capsys, [ws, model_copy],
            f"checkpoint file {weights} is truncated or corrupted")


def test_truncated_weights_file_is_refused(model_copy, ws, capsys):
    weights = weights_of(model_copy)
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    refused(generate(model_copy, ws), capsys, [ws, model_copy],
            f"checkpoint file {weights} is truncated or corrupted")


def test_model_json_that_is_not_json_is_refused(model_copy, ws, capsys):
    (model_copy / "model.json").write_text('{"format": "abcrnn-checkpoint-1", "vocab": [')
    refused(generate(model_copy, ws), capsys, [ws, model_copy],
            f"{model_copy / 'model.json'} is not a valid checkpoint JSON")


# --- resuming ------------------------------------------------------------------------

def test_resume_on_a_corpus_with_another_vocabulary_is_refused(model_copy, ws, capsys):
    other = [t.replace("T:Tiny", "T:Quixotic #") for t in TUNES]
    vocab = Vocab.from_texts([wrap(t) for t in TUNES])
    assert vocab.missing("".join(other)) == ["#", "Q", "u", "x"]
    write_corpus(ws / "other.txt", other)
    refused(["train", "--resume", "--corpus", str(ws / "other.txt"), "--out", str(model_copy),
             "--max-steps", "10", "--quiet"], capsys, [ws, model_copy],
            "--resume cannot change --corpus")


def test_resume_on_a_corpus_file_changed_since_is_refused(model_copy, ws, capsys):
    """The same path, other tunes (same characters): the fingerprint tells."""
    saved = json.loads((model_copy / "last.json").read_text())["train_config"]
    corpus = Path(saved["corpus"])
    original = corpus.read_bytes()
    try:
        write_corpus(corpus, TUNES + [TUNES[0].replace("X:1", "X:6")])
        refused(["train", "--resume", "--out", str(model_copy), "--max-steps", "10", "--quiet"],
                capsys, [ws, model_copy], f"--resume: {model_copy} was trained on another corpus "
                "(fingerprint differs)")
    finally:
        corpus.write_bytes(original)


def test_resume_with_a_different_hidden_size_is_refused(model_copy, ws, capsys):
    refused(["train", "--resume", "--out", str(model_copy), "--hidden-size", "32", "--max-steps", "10"],
            capsys, [ws, model_copy], "--resume cannot change --hidden-size")


# --- output paths ----------------------------------------------------------------------

def test_output_in_a_missing_folder_is_refused(model_dir, ws, capsys):
    refused(["generate", "--model", str(model_dir), "--out", str(ws / "no" / "tunes.abc")],
            capsys, [ws, model_dir], f"output folder {ws / 'no'} does not exist")


def test_output_under_a_regular_file_is_refused(model_dir, ws, capsys):
    # Tests run as root, which chmod does not stop; a file where a folder should be
    # is the portable stand-in for a folder that cannot be written.
    (ws / "plain").write_text("not a folder")
    refused(["generate", "--model", str(model_dir), "--out", str(ws / "plain" / "tunes.abc")],
            capsys, [ws, model_dir], f"output folder {ws / 'plain'} is a file, not a folder")


def test_train_output_under_a_regular_file_is_refused_before_any_work(ws, capsys):
    (ws / "plain").write_text("not a folder")
    write_corpus(ws / "tiny.txt")
    refused(["train", "--corpus", str(ws / "tiny.txt"), "--out", str(ws / "plain" / "run"), *TINY],
            capsys, [ws], f"--out {ws / 'plain' / 'run'}: {ws / 'plain'} is a file, not a folder")


def test_output_in_a_folder_that_refuses_writes_is_refused(model_dir, ws, capsys):
    # /proc accepts no new file, even from root (for whom chmod'ed folders stay writable).
    target = Path("/proc/abcrnn-test-tunes.abc")
    line = refused(["generate", "--model", str(model_dir), "--max-len", "20", "--out", str(target)],
                   capsys, [ws, model_dir])
    assert line.startswith(f"abcrnn: error: cannot write {target}") or \
        line == "abcrnn: error: cannot write in /proc (permission denied)"
    assert not target.exists()


def test_output_that_is_a_folder_is_refused(model_dir, ws, capsys):
    refused(["generate", "--model", str(model_dir), "--out", str(ws)], capsys, [ws, model_dir],
            f"--out {ws} is a folder; give a file name")


# --- training settings -------------------------------------------------------------------

def train_argv(ws: Path, *extra: str) -> list[str]:
    write_corpus(ws / "tiny.txt")
    return ["train", "--corpus", str(ws / "tiny.txt"), "--out", str(ws / "run"), *TINY, *extra]


def test_zero_max_steps_is_refused(ws, capsys):
    refused(train_argv(ws, "--max-steps", "0"), capsys, [ws], "max_steps must be a whole number >= 1, got 0")


def test_unknown_cell_type_is_refused(ws, capsys):
    refused(train_argv(ws, "--cell", "transformer"), capsys, [ws],
            "--cell: invalid choice: 'transformer' (choose from 'rnn', 'lstm', 'gru')", code=2)


@pytest.mark.parametrize("value", ["-0.1", "1.0"])
def test_dropout_outside_zero_to_one_is_refused(value, ws, capsys):
    refused(train_argv(ws, "--dropout", value), capsys, [ws],
            f"dropout must be in [0, 1), got {float(value)}")


def longest_training_tune() -> int:
    train_ids, _ = split_tunes(len(TUNES), 0.1, 1337)
    return max(len(wrap(TUNES[i])) for i in train_ids)


@pytest.mark.parametrize("seq_len", [longest_training_tune(), 500])
def test_seq_len_not_shorter_than_every_tune_is_refused(seq_len, ws, capsys):
    longest = longest_training_tune()
    refused(train_argv(ws, "--seq-len", str(seq_len)), capsys, [ws],
            f"seq-len {seq_len} is not shorter than the longest training tune ({longest} characters",
            f"choose --seq-len {longest - 1} or less")


# --- devices ---------------------------------------------------------------------------------

no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")


@no_cuda
def test_generate_on_cuda_without_cuda_is_refused(model_dir, ws, capsys):
    refused(generate(model_dir, ws, "--device", "cuda"), capsys, [ws, model_dir],
            "--device cuda was asked for but no CUDA GPU is available")


@no_cuda
def test_train_on_cuda_without_cuda_is_refused(ws, capsys):
    refused(train_argv(ws, "--device", "cuda"), capsys, [ws],
            "--device cuda was asked for but no CUDA GPU is available")


def test_unknown_device_is_a_one_line_usage_error_naming_the_choices(model_dir, ws, capsys):
    line = refused(generate(model_dir, ws, "--device", "tpu"), capsys, [ws, model_dir],
                   "invalid choice: 'tpu'", code=2)
    assert all(f"'{c}'" in line for c in ("auto", "cpu", "cuda"))


def test_unknown_train_device_is_refused(ws, capsys):
    refused(train_argv(ws, "--device", "tpu"), capsys, [ws], "--device: invalid choice: 'tpu'", code=2)


# --- as a process ------------------------------------------------------------------------------

def test_refusal_from_the_installed_command_is_one_line_without_traceback(ws):
    (ws / "blob.abc").write_bytes(bytes(range(256)))
    before = snapshot(ws)
    r = subprocess.run([sys.executable, "-m", "abcrnn", "train", "--corpus", str(ws / "blob.abc"),
                        "--out", str(ws / "run"), "--quiet"], check=False, capture_output=True, text=True,
                       env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=120)
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.splitlines() == [f"abcrnn: error: {ws / 'blob.abc'} is a binary file, not ABC text"]
    assert snapshot(ws) == before


# --- sweeps ----------------------------------------------------------------------

@pytest.mark.parametrize("name, text, message", [
    ("grid.toml", "[base\nminutes = 1\n", "not valid TOML"),
    ("grid.toml", "[grid]\nhiden_size = [8]\n", "unknown setting 'hiden_size'"),
    ("grid.toml", "[grid]\ncell = ['lstm', 'transformer']\n", "cell must be one of rnn, lstm, gru, got 'transformer'"),
    ("grid.toml", "[grid]\nhidden_size = ['big']\n", "hidden_size = 'big' should be a whole number"),
    ("grid.toml", "[grid]\ndropout = [1.5]\n", "dropout must be in [0, 1)"),
    ("grid.toml", "[grid]\nhidden_size = []\n", "a grid axis has no values"),
    ("grid.toml", "[model]\nhidden_size = 8\n", "expected only [base], [[grid]] and [[runs]]"),
    ("grid.toml", "", "expected only [base], [[grid]] and [[runs]]"),
    ("grid.yaml", "grid: [cell: lstm\n", "not valid YAML"),
    ("grid.toml", b"\xff\xfe[grid]\n", "not UTF-8"),
])
def test_invalid_sweep_file_is_refused_before_any_run(name, text, message, ws, capsys):
    path = ws / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    refused(["sweep", str(path), "--out", str(ws / "sweep")], capsys, [ws], message)


def test_sweep_file_that_does_not_exist_is_refused(ws, capsys):
    refused(["sweep", str(ws / "nope.toml"), "--out", str(ws / "sweep")], capsys, [ws], "nope.toml")


def test_sweep_set_flag_without_values_is_refused(ws, capsys):
    refused(["sweep", "--set", "hidden-size", "--out", str(ws / "sweep")], capsys, [ws],
            "expected KEY=VALUE")
