"""Where the output goes: only regular files are ever replaced (devices and FIFOs are
written through, symlinks followed, other special files refused), and a run folder
is used by one training run at a time and never silently replaced."""
from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from test_bad_inputs import TINY, model_dir, refused, write_corpus, ws  # noqa: F401 - fixtures

from abcrnn.cli.main import main
from abcrnn.files import atomic_write
from abcrnn.training.runfolder import RunClaim

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="mknod needs root (CI runs as root)")


def generate_to(model: Path, target, *extra: str) -> list[str]:
    return ["generate", "--model", str(model), "--num-tunes", "2", "--max-len", "40",
            "--seed", "1", "--out", str(target), *extra]


# --- files.atomic_write ------------------------------------------------------------

def test_atomic_write_follows_a_symlink_and_keeps_it(tmp_path):
    (tmp_path / "real.txt").write_text("old")
    (tmp_path / "link.txt").symlink_to("real.txt")
    atomic_write(tmp_path / "link.txt", "new")
    assert (tmp_path / "link.txt").is_symlink()
    assert (tmp_path / "real.txt").read_text() == "new"


def test_atomic_write_through_a_fifo_leaves_the_fifo(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    atomic_write(fifo, "through the pipe")
    reader.join(10)
    assert got == [b"through the pipe"]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]


def test_atomic_write_refuses_a_socket(tmp_path):
    path = tmp_path / "sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    try:
        with pytest.raises(OSError, match="neither a regular file"):
            atomic_write(path, "x")
        assert stat.S_ISSOCK(os.lstat(path).st_mode)
    finally:
        server.close()


# --- generate --out ----------------------------------------------------------------

@needs_root
def test_generate_to_a_null_device_writes_through_it_and_adds_no_sidecar(model_dir, tmp_path):
    node = tmp_path / "null"
    os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 3))       # what /dev/null is
    assert main(generate_to(model_dir, node)) == 0
    assert stat.S_ISCHR(os.lstat(node).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["null"]


@needs_root
def test_generate_to_a_full_device_fails_in_one_line_and_keeps_the_device(model_dir, tmp_path, capsys):
    node = tmp_path / "full"
    os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 7))       # what /dev/full is
    refused(generate_to(model_dir, node), capsys, [], f"cannot write {node}: No space left on device")
    assert stat.S_ISCHR(os.lstat(node).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["full"]


def test_generate_to_a_symlink_replaces_its_target_and_keeps_the_link(model_dir, tmp_path):
    (tmp_path / "real.abc").write_text("X:1\nK:C\nC|\n")
    (tmp_path / "latest.abc").symlink_to("real.abc")
    assert main(generate_to(model_dir, tmp_path / "latest.abc")) == 0
    assert (tmp_path / "latest.abc").is_symlink()
    assert (tmp_path / "real.abc").read_text().count("X:") == 2
    assert json.loads((tmp_path / "latest.abc.json").read_text())["seed"] == 1


def test_generate_to_dash_writes_stdout(model_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(generate_to(model_dir, "-")) == 0
    assert capsys.readouterr().out.count("X:") == 2
    assert list(tmp_path.iterdir()) == []


def test_generate_to_an_empty_name_is_refused(model_dir, ws, capsys):
    refused(generate_to(model_dir, ""), capsys, [ws, model_dir], "--out is empty")


# --- train --out: one run per folder --------------------------------------------------

def train_into(ws: Path, run: Path, *extra: str) -> list[str]:
    write_corpus(ws / "tiny.txt")
    return ["train", "--corpus", str(ws / "tiny.txt"), "--out", str(run), *TINY, *extra]


def test_train_into_a_finished_run_is_refused_without_overwrite(model_dir, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(train_into(tmp_path, run)) == 0
    refused(train_into(tmp_path, run, "--max-steps", "2"), capsys, [tmp_path],
            f"--out {run} already holds a run; continue it with --resume or replace it with --overwrite")


def test_train_with_overwrite_replaces_the_run_entirely(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(train_into(tmp_path, run)) == 0
    (run / "notes.txt").write_text("mine")                      # not the run's: kept
    assert main(train_into(tmp_path, run, "--max-steps", "2", "--overwrite")) == 0
    meta = json.loads((run / "model.json").read_text())
    assert meta["step"] == 2 and [h["step"] for h in meta["history"]][-1] == 2
    last = json.loads((run / "last.json").read_text())
    named = {meta["weights"]["file"], last["weights"]["file"], last["resume"]["tensors"]["file"]}
    assert {p.name for p in run.glob("*.safetensors")} == named     # none of the old run's
    assert (run / "notes.txt").read_text() == "mine"


def test_train_into_a_folder_in_use_is_refused(tmp_path, capsys):
    run = tmp_path / "run"
    with RunClaim(run) as folder:            # another training run holds the folder
        folder.ensure()
        refused(train_into(tmp_path, run), capsys, [],
                f"{run} is in use by another abcrnn train; wait for it to end")
    assert list(run.iterdir()) == []      # the lock went with its holder


def test_a_killed_run_releases_its_folder(tmp_path):
    run = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c",
                               "import sys, time; from abcrnn.training.runfolder import RunClaim\n"
                               f"with RunClaim({str(run)!r}) as f:\n f.ensure(); print('held', flush=True); "
                               "time.sleep(60)"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(RuntimeError, match="in use by another abcrnn train"):
            with RunClaim(run):             # the folder exists: claimed at once
                pass
    finally:
        holder.kill()
        holder.wait()
    assert main(train_into(tmp_path, run)) == 0           # the kernel dropped the lock
    assert (run / "model.json").is_file()


def test_train_with_an_empty_out_is_refused(ws, capsys):
    refused(train_into(ws, ""), capsys, [ws], "--out is empty")


def test_resume_and_overwrite_together_are_refused(model_dir, ws, capsys):
    refused(["train", "--out", str(model_dir), "--resume", "--overwrite", "--max-steps", "6"],
            capsys, [ws, model_dir], "give one")


# --- read-only file systems, and failing before the work ---------------------------------

@pytest.fixture
def read_only(tmp_path):
    """A read-only tmpfs (root in CI can mount one; skipped where mounting is not allowed)."""
    mnt = tmp_path / "ro"
    mnt.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(mnt)],
                          capture_output=True)
    if made.returncode != 0:
        pytest.skip("cannot mount a read-only file system here")
    yield mnt
    subprocess.run(["umount", str(mnt)], check=True)


def test_generate_on_a_read_only_file_system_says_so(model_dir, read_only, capsys):
    refused(generate_to(model_dir, read_only / "tunes.abc"), capsys, [read_only],
            f"cannot write in {read_only} (read-only file system)")


def test_evaluate_out_on_a_read_only_file_system_is_refused_before_the_work(read_only, ws, capsys):
    refused(["evaluate", str(ws / "tunes.abc"), "--out", str(read_only / "ev")], capsys, [ws, read_only],
            f"--out {read_only / 'ev'}: cannot write in {read_only} (read-only file system)")


@pytest.mark.parametrize("workers", ["0", "-3", "100000"])
def test_evaluate_workers_out_of_range_is_refused(workers, ws, capsys):
    refused(["evaluate", str(ws / "tunes.abc"), "--workers", workers], capsys, [ws],
            f"--workers must be from 1 to 64, got {workers}")


def test_render_into_a_symlinked_file_keeps_the_link(tmp_path, ws):
    out = tmp_path / "book"
    out.mkdir()
    (tmp_path / "kept.mid").write_bytes(b"old")
    name = "001-old.mid"      # render's name for ws/tunes.abc's one tune (T:Old)
    (out / name).symlink_to(tmp_path / "kept.mid")
    assert main(["render", str(ws / "tunes.abc"), "--out", str(out), "--formats", "mid"]) == 0
    assert (out / name).is_symlink() and (tmp_path / "kept.mid").read_bytes()[:4] == b"MThd"


def test_a_render_refused_at_its_first_tune_leaves_no_empty_folder(tmp_path, capsys):
    (tmp_path / "long.abc").write_text("X:1\nT:long\nM:4/4\nL:1/1\nQ:1/4=20\nK:C\nC100000|\n")
    refused(["render", str(tmp_path / "long.abc"), "--out", str(tmp_path / "book"), "--formats", "wav"],
            capsys, [], "audio is made for at most 20 min")
    assert [p.name for p in tmp_path.iterdir()] == ["long.abc"]
