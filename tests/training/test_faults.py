"""Faults during training: the process killed (SIGKILL) at chosen moments, Ctrl-C,
a full disk, checkpoints damaged on disk. (An output folder that cannot exist is
in test_bad_inputs.py.)

The kills are deterministic: the training subprocess runs the real CLI through a
small wrapper (WRAPPER below) that patches one function of abcrnn to SIGKILL the
process at an exact point, so no test hook lives in the product code. After every
fault the checkpoint on disk must load, and ``--resume`` must continue exactly:
training is deterministic on CPU and a checkpoint holds the optimizer and RNG
state, so a killed-and-resumed run ends with the same history and the same
weights as a run that was never killed (REFERENCE).
"""
from __future__ import annotations

import errno
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from conftest import TUNES, marked

from abcrnn import files
from abcrnn.model import checkpoint
from abcrnn.model.checkpoint import load_checkpoint
from abcrnn.cli.main import main

TINY = ["--hidden-size", "16", "--embed-size", "8", "--seq-len", "32", "--batch-size", "4",
        "--eval-interval", "5", "--warmup-steps", "1", "--lr", "0.03", "--lr-schedule", "constant",
        "--device", "cpu", "--quiet"]
STEPS = 30                    # checkpoints at 5, 10, ..., 30; the loss falls from ~3.8 to ~2.2
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
KEYS = ("step", "train_loss", "val_loss", "lr")      # what must match the reference exactly
NOTICE = "abcrnn: stopping after this step to save a checkpoint (Ctrl-C again to stop at once)"


def _sigint_as_in_a_terminal():
    # A child started from a non-interactive shell in the background inherits
    # SIGINT ignored, and Python then leaves it ignored; a terminal's Ctrl-C is not.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


# The training subprocess: `python -c WRAPPER FAULT AT <abcrnn arguments>`.
WRAPPER = r'''
import json, os, signal, sys
from pathlib import Path

import abcrnn.files as F
import abcrnn.model.checkpoint as C
import abcrnn.training.loop as T
import abcrnn.training.runstate as R
from abcrnn.cli.main import main

fault, at, args = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
signal.signal(signal.SIGINT, signal.default_int_handler)


def kill():
    os.kill(os.getpid(), signal.SIGKILL)


def wrap(owner, name, wrapper):
    orig = getattr(owner, name)
    setattr(owner, name, lambda *a, **k: wrapper(orig, *a, **k))


class Os:
    """os for files.atomic_write, with one function replaced."""
    def __init__(self, **over):
        self.__dict__.update(over)

    def __getattr__(self, name):
        return getattr(os, name)


class HalfFile:
    """Writes half of its data to disk, then the process dies."""
    def __init__(self, f):
        self.f = f

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.f.close()

    def write(self, data):
        self.f.write(data[: len(data) // 2])
        self.f.flush()
        os.fsync(self.f.fileno())
        kill()


def is_last_json(path, data, step):
    return Path(path).name == "last.json" and json.loads(data)["step"] == step


if fault == "step":              # between checkpoints: right after optimizer step AT
    def hook(orig, cfg, run, *a):
        if run.step == at:
            kill()
        return orig(cfg, run, *a)
    wrap(T, "_should_stop", hook)
elif fault == "after-save":      # right after the checkpoint of step AT is complete
    def hook(orig, run, best):
        orig(run, best)
        if run.step == at:
            kill()
    wrap(R.Run, "save", hook)
elif fault == "before-last":     # model.json of step AT written, nothing of last's yet
    def hook(orig, folder, name, model, meta, step, *a, **k):
        if name == "last" and step == at:
            kill()
        return orig(folder, name, model, meta, step, *a, **k)
    wrap(R, "save_checkpoint", hook)     # Run.save calls it (runstate.py)
elif fault == "mid-weights":     # half of last's weights file of step AT written
    def hook(orig, path, data):
        if Path(path).name == f"last-{at:08d}.safetensors":
            F.os = Os(fdopen=lambda *a, **k: HalfFile(os.fdopen(*a, **k)))
        return orig(path, data)
    wrap(C, "atomic_write", hook)
elif fault == "before-json":     # last's weights and resume tensors written, its JSON not
    def hook(orig, path, data):
        if is_last_json(path, data, at):
            kill()
        return orig(path, data)
    wrap(C, "atomic_write", hook)
elif fault == "before-rename":   # last.json's temporary file complete and synced, not renamed
    def hook(orig, path, data):
        if is_last_json(path, data, at):
            F.os = Os(replace=lambda *a: kill())
        return orig(path, data)
    wrap(C, "atomic_write", hook)
elif fault == "sigint":          # Ctrl-C after step AT
    def hook(orig, cfg, run, *a):
        if run.step == at:
            os.kill(os.getpid(), signal.SIGINT)
        return orig(cfg, run, *a)
    wrap(T, "_should_stop", hook)
elif fault == "sigint-twice":    # Ctrl-C after step AT, again while step AT+1 is being saved
    def hook(orig, cfg, run, *a):
        if run.step == at:
            os.kill(os.getpid(), signal.SIGINT)
        return orig(cfg, run, *a)
    wrap(T, "_should_stop", hook)

    def hook2(orig, path, data):
        if is_last_json(path, data, at + 1):
            os.kill(os.getpid(), signal.SIGINT)
        return orig(path, data)
    wrap(C, "atomic_write", hook2)
else:
    raise SystemExit(f"unknown fault {fault}")
sys.exit(main(args))
'''


def run_with_fault(fault: str, at: int, args: list[str], timeout: float = 120):
    return subprocess.run([sys.executable, "-c", WRAPPER, fault, str(at), *args], env=ENV,
                          capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """The same float arithmetic in this process as in the subprocesses."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("faultcorpus") / "tiny.txt"
    path.write_bytes(marked(TUNES).encode())
    return path


@pytest.fixture(scope="module")
def reference(tmp_path_factory, corpus) -> Path:
    """The run that nothing interrupts."""
    out = tmp_path_factory.mktemp("reference") / "run"
    assert main(["train", "--corpus", str(corpus), "--out", str(out), "--max-steps", str(STEPS),
                 *TINY]) == 0
    return out


def train_args(corpus: Path, out: Path, steps: int = STEPS) -> list[str]:
    return ["train", "--corpus", str(corpus), "--out", str(out), "--max-steps", str(steps), *TINY]


def doc(path: Path) -> dict:
    return json.loads(path.read_text())


def rows(history: list[dict]) -> list[tuple]:
    return [tuple(h[k] for k in KEYS) for h in history]


def check_on_disk(run: Path) -> dict:
    """Both checkpoints load (weights checked against size and SHA-256); the
    history is in step order. Returns last.json."""
    _, _, last, tensors = load_checkpoint(run / "last.json", with_resume=True)
    assert "rng.torch" in tensors and any(k.startswith("state.") for k in tensors)
    load_checkpoint(run / "model.json")
    steps = [h["step"] for h in last["history"]]
    assert steps == sorted(set(steps)) and steps[-1] == last["step"]
    return last


def check_tidy(run: Path) -> None:
    """No temporary file, and every weights file is one a JSON names."""
    named = set()
    for name in ("last.json", "model.json"):
        d = doc(run / name)
        named |= {d["weights"]["file"]} | ({d["resume"]["tensors"]["file"]} if "resume" in d else set())
    files = {p.name for p in run.iterdir()}
    assert not [f for f in files if f.endswith(".tmp")], files
    assert {f for f in files if f.endswith(".safetensors")} == named


def resume(run: Path, steps: int = STEPS) -> dict:
    assert main(["train", "--out", str(run), "--max-steps", str(steps), "--resume", "--quiet"]) == 0
    return doc(run / "last.json")


def check_continues(run: Path, before: dict, reference: Path) -> None:
    """The resumed run kept the history on disk, went on from its step, and ended
    where the uninterrupted run did: same losses, same best model, bit for bit."""
    after = doc(run / "last.json")
    old, new = before["history"], after["history"]
    steps = [h["step"] for h in new]
    assert all(a < b for a, b in itertools.pairwise(steps)), steps
    assert new[:len(old)] == old
    first = new[len(old)]["train_loss"]            # the first loss logged after the resume
    untrained = doc(reference / "last.json")["history"][0]["train_loss"]
    assert first < untrained - 0.3, (first, untrained)
    assert first < old[-1]["train_loss"] + 0.1, (first, old[-1]["train_loss"])
    assert rows(new) == rows(doc(reference / "last.json")["history"])
    mine, ref = doc(run / "model.json"), doc(reference / "model.json")
    assert (mine["step"], mine["weights"]["sha256"]) == (ref["step"], ref["weights"]["sha256"])
    check_tidy(run)


# --- SIGKILL ----------------------------------------------------------------

# (fault, at, the step of last.json after the kill). Checkpoints every 5 steps.
KILLS = [
    ("step", 17, 15),            # in the loop, between two checkpoints
    ("after-save", 15, 15),      # just after a checkpoint
    ("before-last", 15, 10),     # best model of step 15 saved, last.json not yet
    ("mid-weights", 15, 10),     # in the middle of writing last's weights
    ("before-json", 15, 10),     # weights complete, JSON not written
    ("before-rename", 15, 10),   # JSON written to its temporary file, not renamed
]


@pytest.mark.parametrize("fault, at, on_disk", KILLS, ids=[k[0] for k in KILLS])
def test_sigkill_then_resume_continues_exactly(tmp_path, corpus, reference, fault, at, on_disk):
    run = tmp_path / "run"
    r = run_with_fault(fault, at, train_args(corpus, run))
    assert r.returncode == -signal.SIGKILL, (r.returncode, r.stderr)
    before = check_on_disk(run)
    assert before["step"] == on_disk
    assert rows(before["history"]) == rows(doc(reference / "last.json")["history"])[:on_disk // 5]
    if fault in ("mid-weights", "before-rename"):
        assert list(run.glob(".last*.tmp")), "the kill should have left a temporary file"
    resume(run)
    check_continues(run, before, reference)


@pytest.mark.slow
def test_sigkill_at_random_moments(tmp_path, corpus):
    """The real command killed from outside while it checkpoints at every step,
    twice (the second time while resuming), then resumed to the end."""
    run = tmp_path / "run"
    args = [sys.executable, "-m", "abcrnn", *train_args(corpus, run, 100_000)[:-len(TINY)], *TINY,
            "--eval-interval", "1"]
    seen = []
    for i, delay in enumerate((0.7, 0.35)):
        cmd = args + (["--resume"] if i else [])
        before = (run / "last.json").stat().st_mtime_ns if i else None
        p = subprocess.Popen(cmd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 60
            while not (run / "last.json").is_file() or (run / "last.json").stat().st_mtime_ns == before:
                assert p.poll() is None, p.stderr.read()
                assert time.monotonic() < deadline, "no checkpoint written"
                time.sleep(0.05)
            time.sleep(delay)
        finally:
            p.kill()
            p.wait()
            p.stderr.close()
        last = check_on_disk(run)
        seen.append(last)
        if i:
            assert last["step"] > seen[0]["step"]
            assert last["history"][:len(seen[0]["history"])] == seen[0]["history"]
    end = resume(run, seen[-1]["step"] + 3)
    assert end["step"] == seen[-1]["step"] + 3
    assert end["history"][:len(seen[-1]["history"])] == seen[-1]["history"]
    steps = [h["step"] for h in end["history"]]
    assert steps == list(range(1, end["step"] + 1))
    check_tidy(run)


# --- Ctrl-C -----------------------------------------------------------------

def test_ctrl_c_checkpoints_the_step_reached_and_exits_130(tmp_path, corpus, reference):
    run = tmp_path / "run"
    r = run_with_fault("sigint", 16, train_args(corpus, run))
    # the signal lands after step 16's checks: step 17 is the last one trained
    assert r.returncode == 130, r.stderr
    assert r.stderr.strip().splitlines() == [
        NOTICE, (f"abcrnn: interrupted at step 17; checkpoint written to {run / 'last.json'} "
         "(continue with --resume)")]
    before = check_on_disk(run)
    assert before["step"] == 17 and [h["step"] for h in before["history"]] == [5, 10, 15, 17]
    assert doc(run / "history.json") == before["history"]
    resume(run)
    after = doc(run / "last.json")
    assert [h["step"] for h in after["history"]] == [5, 10, 15, 17, 20, 25, 30]
    assert after["history"][:4] == before["history"]
    # the interruption changed what was logged, not what was learnt
    ref = {h["step"]: h["val_loss"] for h in doc(reference / "last.json")["history"]}
    assert [h["val_loss"] for h in after["history"] if h["step"] != 17] == list(ref.values())


def test_second_ctrl_c_stops_at_once_and_keeps_the_last_checkpoint(tmp_path, corpus):
    run = tmp_path / "run"
    r = run_with_fault("sigint-twice", 16, train_args(corpus, run))
    assert r.returncode == 130, r.stderr
    assert r.stderr.strip().splitlines() == [NOTICE, "abcrnn: interrupted"]
    assert check_on_disk(run)["step"] == 15
    assert resume(run, 20)["step"] == 20
    check_tidy(run)


@pytest.mark.slow
def test_ctrl_c_from_outside(tmp_path, corpus):
    """The real command, interrupted like a terminal's Ctrl-C at some moment."""
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "abcrnn", *train_args(corpus, run, 100_000)]
    p = subprocess.Popen(cmd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         preexec_fn=_sigint_as_in_a_terminal)  # noqa: PLW1509 (no threads yet)
    try:
        deadline = time.monotonic() + 60
        while not (run / "last.json").is_file():
            assert p.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(0.5)
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=60)
    finally:
        p.kill()
        p.wait()
    assert p.returncode == 130, err
    lines = err.strip().splitlines()
    assert len(lines) == 2 and lines[0] == NOTICE, lines
    assert lines[1].startswith("abcrnn: interrupted at step "), lines
    step = int(lines[1].split()[4].rstrip(";"))
    last = check_on_disk(run)
    assert last["step"] == step and last["history"][-1]["step"] == step
    check_tidy(run)


# --- a full disk ------------------------------------------------------------

class _FullFile:
    """A file on a disk that fills up: half of the data is stored, then ENOSPC."""

    def __init__(self, f):
        self.f = f

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.f.close()

    def write(self, data):
        self.f.write(data[: len(data) // 2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


class _FullDisk:
    """``os`` as atomic_write sees it, with a disk that is full while ``full``."""

    full = False

    def __getattr__(self, name):
        return getattr(os, name)

    def fdopen(self, *a, **k):
        f = os.fdopen(*a, **k)
        return _FullFile(f) if self.full else f


@pytest.mark.parametrize("fails", ["model-00000010.safetensors", "last.json"])
def test_full_disk_at_the_second_checkpoint(tmp_path, corpus, reference, monkeypatch, capsys, fails):
    """The disk fills up while the checkpoint of step 10 is written (its first
    file, or last.json, the last one): one clear line, exit 1, and the checkpoint
    of step 5 intact."""
    run = tmp_path / "run"
    disk = _FullDisk()
    monkeypatch.setattr(files, "os", disk)
    real_write = checkpoint.atomic_write

    def atomic_write(path, data):
        name = Path(path).name       # (last.json is also written at step 5: not that one)
        disk.full = name == fails and (name != "last.json" or json.loads(data)["step"] == 10)
        try:
            real_write(path, data)
        finally:
            disk.full = False
    monkeypatch.setattr(checkpoint, "atomic_write", atomic_write)
    assert main(train_args(corpus, run)) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"abcrnn: error: No space left on device: {run / fails}"]
    last = check_on_disk(run)
    assert last["step"] == 5
    assert not list(run.glob(".*.tmp")), "the half-written file must be removed"
    monkeypatch.undo()                  # space freed: the run goes on from step 5
    resume(run)
    check_continues(run, last, reference)


# --- damaged checkpoints ----------------------------------------------------

@pytest.fixture(scope="module")
def base_run(tmp_path_factory, corpus) -> Path:
    out = tmp_path_factory.mktemp("base") / "run"
    assert main(train_args(corpus, out, 10)) == 0
    return out


def flip_a_bit(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) * 2 // 3] ^= 0x10          # inside the tensor data; the size is unchanged
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("which, command", [
    ("model-00000010", "generate"), ("last-00000010", "resume"),
    ("last-00000010.resume", "resume")])
def test_flipped_bit_is_refused(tmp_path, base_run, capsys, which, command):
    run = tmp_path / "run"
    shutil.copytree(base_run, run)
    damaged = run / f"{which}.safetensors"
    flip_a_bit(damaged)
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    if command == "generate":
        code = main(["generate", "--model", str(run), "--max-len", "20"])
    else:
        code = main(["train", "--out", str(run), "--max-steps", "20", "--resume", "--quiet"])
    assert code == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.strip().splitlines() == [
        (f"abcrnn: error: checkpoint file {damaged} is truncated or corrupted "
         f"(size or checksum differs from {damaged.name} in the JSON)")]
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before     # nothing touched


def test_saving_a_step_again_never_overwrites_what_the_json_names(tmp_path, vocab, monkeypatch):
    """After a resume from an earlier checkpoint a step can be saved a second time
    (model.json was ahead of last.json). Until the new JSON is in place, the
    weights file the old JSON names must stay as it was."""
    from conftest import tiny_model
    old, new = tiny_model(vocab), tiny_model(vocab)
    with torch.no_grad():
        for p in new.parameters():
            p.add_(0.1)
    meta = {"model_config": old.config.to_dict(), "vocab": vocab.to_list()}
    checkpoint.save_checkpoint(tmp_path, "model", old, meta, 15)
    real = checkpoint.atomic_write

    def killed_before_the_json(path, data):
        if Path(path).suffix == ".json":
            raise KeyboardInterrupt
        real(path, data)
    monkeypatch.setattr(checkpoint, "atomic_write", killed_before_the_json)
    with pytest.raises(KeyboardInterrupt):
        checkpoint.save_checkpoint(tmp_path, "model", new, meta, 15)
    monkeypatch.undo()

    def weights(model):
        return [t.clone() for t in model.state_dict().values()]
    assert all(map(torch.equal, weights(load_checkpoint(tmp_path)[0]), weights(old)))
    checkpoint.save_checkpoint(tmp_path, "model", new, meta, 15)
    assert all(map(torch.equal, weights(load_checkpoint(tmp_path)[0]), weights(new)))
    assert len(list(tmp_path.glob("*.safetensors"))) == 1
