"""Damaged and hostile training runs (issue 14, item 7): a `last.json` or resume file
with a bad step, history, optimizer setting, Adam moment or random-generator state
makes `abcrnn train --resume` print one line naming the file and what is wrong, and
exit 1 with nothing written, never a traceback or a crash.

A real 5-step run is trained once for the module; each case damages a copy of it
(damage.py keeps the JSON's size and SHA-256 consistent with a damaged file) and runs
the command in-process. The Adam moment of another parameter's shape, which crashed
the process (a segmentation fault in the fused Adam kernel), runs in a subprocess.
The model-file cases are in tests/model/test_damaged_checkpoints.py.
"""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from conftest import TUNES, marked
from damage import DROP, assert_one_line, edit, put, retensor, run_cli

from abcrnn.cli.main import main

TINY = ["--hidden-size", "16", "--embed-size", "8", "--seq-len", "32", "--batch-size", "4",
        "--eval-interval", "5", "--warmup-steps", "1", "--lr", "0.03", "--lr-schedule", "constant",
        "--num-layers", "1", "--dropout", "0", "--augment-keys", "0", "--patience", "0",
        "--device", "cpu", "--quiet"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path]:
    """(corpus, run folder) of a real 5-step training run, made once for the module."""
    base = tmp_path_factory.mktemp("trained")
    corpus = base / "tiny.txt"
    corpus.write_bytes(marked(TUNES).encode())
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ABCRNN_CACHE", str(base / "cache"))
        assert main(["train", "--corpus", str(corpus), "--out", str(base / "run"), "--max-steps", "5", *TINY]) == 0
    return corpus, base / "run"


@pytest.fixture
def run_dir(trained, tmp_path) -> Path:
    shutil.copytree(trained[1], tmp_path / "run")
    return tmp_path / "run"


def last_case(dotted, value):
    return lambda d: edit(d / "last.json", lambda doc: put(doc, dotted, value))


def resume_tensors(change):
    return lambda d: retensor(d / "last.json", change, ref="resume.tensors")


def moment(change, pid=1):
    """Change the Adam first moment of a parameter (1: the LSTM's input weights, [64, 8];
    2: its recurrent weights, [64, 16])."""
    return resume_tensors(lambda t: t.update({f"state.{pid}.exp_avg": change(t[f"state.{pid}.exp_avg"])}))


RESUME_CASES = {
    "step-text": (last_case("step", "five"), r"last\.json: step must be a whole number >= 0, got 'five'"),
    "step-negative": (last_case("step", -3), r"last\.json: step must be a whole number >= 0, got -3"),
    "history-object": (last_case("history", {}), r"last\.json: history must be a list, got \{\}"),
    "history-row-missing-val-loss": (last_case("history.0.val_loss", DROP), r"history\[0\]\.val_loss is missing"),
    "history-loss-text": (last_case("history.0.train_loss", "low"), r"history\[0\]\.train_loss must be a finite number"),
    "history-past-step": (last_case("history.0.step", 50), r"history goes on to step 50, past the checkpoint's step 5"),
    "best-val-text": (last_case("best_val_loss", "low"), r"best_val_loss must be a number"),
    "train-seconds-text": (last_case("train_seconds", "x"), r"train_seconds must be a number >= 0"),
    "resumes-object": (last_case("resumes", {}), r"resumes must be a list"),
    "stale-text": (last_case("evaluations_without_improvement", "x"), r"evaluations_without_improvement must be a whole"),
    "fingerprint-missing": (last_case("corpus_fingerprint", DROP), r"corpus_fingerprint is missing"),
    "train-config-list": (last_case("train_config", []), r"train_config must be an object"),
    "train-config-corpus-number": (last_case("train_config.corpus", 5), r"train_config\.corpus must be text, got 5"),
    "train-config-out-of-range": (last_case("train_config.lr", -1), r"train_config is invalid: lr must be"),
    "train-config-other-shape": (last_case("train_config.hidden_size", 32),
                                 r"train_config\.hidden_size is 32 but the model_config's is 16"),
    "lr-text": (last_case("resume.optimizer.param_groups.0.lr", "fast"), r"param_groups\[0\]\.lr must be a finite number"),
    "betas-one": (last_case("resume.optimizer.param_groups.0.betas", [0.9]), r"param_groups\[0\]\.betas must be two numbers"),
    "params-renumbered": (last_case("resume.optimizer.param_groups.0.params", [0, 1, 2, 3, 4, 5, 9]),
                          r"param_groups must number the model's 7 parameter tensors 0 to 6 in order"),
    "scalars-unknown": (last_case("resume.optimizer.scalars", {"x.step": 1}), r"scalars has an unknown entry 'x\.step'"),
    "resume-file-outside": (last_case("resume.tensors.file", "../x.safetensors"), r"resume\.tensors\.file must be the name"),
    "resume-sha256-missing": (last_case("resume.tensors.sha256", DROP), r"resume\.tensors\.sha256 is missing"),
    "rng-wrong-size": (resume_tensors(lambda t: t.update({"rng.torch": t["rng.torch"][:10].clone()})),
                       r"rng\.torch is uint8 \[10\], but uint8 \[5056\] is needed"),
    "rng-float": (resume_tensors(lambda t: t.update({"rng.gen.0": t["rng.gen.0"].float()})),
                  r"rng\.gen\.0 is float32 \[5056\], but uint8 \[5056\] is needed"),
    "rng-invalid-state": (resume_tensors(lambda t: t["rng.torch"].zero_()),
                          r"rng\.torch is not a valid random-number generator state"),
    "rng-missing": (resume_tensors(lambda t: t.pop("rng.torch")), r"1 tensors missing \(rng\.torch\)"),
    "adam-float64": (moment(lambda m: m.double()), r"state\.1\.exp_avg is float64 \[64, 8\], but float32"),
    "adam-missing": (resume_tensors(lambda t: t.pop("state.3.exp_avg_sq")), r"1 tensors missing \(state\.3\.exp_avg_sq\)"),
    "adam-negative-second-moment": (resume_tensors(lambda t: t["state.2.exp_avg_sq"].fill_(-1.0)),
                                    r"state\.2\.exp_avg_sq must be finite float32 \[64, 16\] >= 0"),
    "adam-nan": (moment(lambda m: m.fill_(float("nan"))), r"state\.1\.exp_avg must be finite float32"),
    "last-weights-int64": (lambda d: retensor(d / "last.json", lambda t: t.update({k: v.long() for k, v in t.items()})),
                           r"is int64 \[53, 8\], but float32 \[53, 8\] is needed"),
}


def files_of(folder: Path) -> dict:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.suffix in (".json", ".safetensors")}


@pytest.mark.parametrize("case", RESUME_CASES, ids=list(RESUME_CASES))
def test_resume_from_a_damaged_run_is_refused_with_one_line(trained, run_dir, case, capsys):
    damage, says = RESUME_CASES[case]
    damage(run_dir)
    before = files_of(run_dir)
    capsys.readouterr()
    rc = main(["train", "--corpus", str(trained[0]), "--out", str(run_dir), "--resume", "--max-steps", "6",
               "--quiet"])
    err = capsys.readouterr().err
    assert rc == 1 and err.startswith("abcrnn: error: ") and err.count("\n") == 1, err
    assert str(run_dir) in err
    assert re.search(says, err), err
    assert files_of(run_dir) == before          # nothing written or clobbered


def test_resume_with_adam_state_of_the_wrong_shape_is_refused_not_a_crash(trained, run_dir):
    """This was a segmentation fault (rc 139): the fused Adam kernel read out of bounds.
    The moment has another parameter's shape, so only the check against its own
    parameter catches it. In a subprocess: on the old code it took pytest down with it."""
    moment(lambda m: m[:, :8].clone(), pid=2)(run_dir)
    proc = run_cli("train", "--corpus", trained[0], "--out", run_dir, "--resume", "--max-steps", "6", "--quiet")
    assert_one_line(proc, run_dir, "state.2.exp_avg")


def test_the_undamaged_run_resumes(trained, run_dir, capsys):
    assert main(["train", "--corpus", str(trained[0]), "--out", str(run_dir), "--resume", "--max-steps", "6",
                 "--quiet"]) == 0
    assert json.loads((run_dir / "last.json").read_text())["step"] == 6
