"""Rendering is bounded: audio length (read from the MIDI before synthesis), the bytes
any tool may write, the memory it may use, the messages kept, its time; every refusal
is one clear line (CLI: non-zero exit; web: 422) and leaves nothing behind.

The limits are parameters, so these tests use small ones instead of synthesising
minutes of audio. The tools are the real Debian ones (abcmidi, fluidsynth, ...)."""
from __future__ import annotations

import os
import shutil
import sys
import time

import pytest

from abcrnn.cli.main import main
from abcrnn.music.render import MAX_AUDIO_SECONDS, RenderError, render_tune
from abcrnn.tools import bounded
from abcrnn.tools.abc2midi import run_abc2midi
from abcrnn.tools.bounded import Limits, run_tool
from abcrnn.tools.midi import MidiError, midi_seconds
from abcrnn.tools.programs import DEFAULT_SOUNDFONT, MissingToolError
from shippedclient import client  # noqa: F401 - the fixture

needs_audio = pytest.mark.skipif(
    not (shutil.which("abc2midi") and shutil.which("fluidsynth") and os.path.isfile(DEFAULT_SOUNDFONT)),
    reason="apt-get install abcmidi fluidsynth fluid-soundfont-gm")

# 60 bytes of ABC, 1,200,000 s of music: 100,000 whole notes at 20 quarter notes a minute.
LONG_TUNE = "X:1\nT:long\nM:4/4\nL:1/1\nQ:1/4=20\nK:C\nC100000|"
# 16 quarter notes at 120 a minute: 8 s.
SCALE_TUNE = "X:3\nT:Scale\nM:4/4\nL:1/4\nQ:1/4=120\nK:C\nC D E F | G A B c | c B A G | F E D C |]"
# the tempo changes twice, and a chord track runs beside the melody
TEMPO_TUNE = ('X:1\nT:Tempi\nM:4/4\nL:1/4\nQ:1/4=120\nK:C\n"C"C D E F|[Q:1/4=60] G A B c|'
              '[Q:1/4=200]"G"c B A G|]')


def _midi(tune: str) -> bytes:
    _, midi = run_abc2midi(tune)
    assert midi
    return midi


@pytest.mark.skipif(shutil.which("abc2midi") is None, reason="needs abc2midi")
@pytest.mark.parametrize("tune", [SCALE_TUNE, TEMPO_TUNE, LONG_TUNE])
def test_midi_length_is_read_from_the_tempo_map_as_mido_reads_it(tune):
    import io

    import mido
    data = _midi(tune)
    assert midi_seconds(data) == pytest.approx(mido.MidiFile(file=io.BytesIO(data)).length, abs=1e-6)


def test_damaged_midi_is_refused_by_the_length_reader():
    header = b"MThd\x00\x00\x00\x06\x00\x01\x00\x01\x01\xe0"
    cut_event, cut_track = header + b"MTrk\x00\x00\x00\x04\x00\x90", header + b"MTrk\x00\x00\x00\x09"
    for data in (b"", b"RIFF0000", cut_event, cut_track):
        with pytest.raises(MidiError):
            midi_seconds(data)


@needs_audio
@pytest.mark.parametrize("fmt", ["wav", "mp3"])
def test_audio_of_music_longer_than_the_limit_is_refused_before_synthesis(tmp_path, fmt):
    start = time.monotonic()
    with pytest.raises(RenderError) as err:
        render_tune(LONG_TUNE, tmp_path / "out", (fmt,))
    assert str(err.value) == ("the music lasts 333 h 20 min (1,200,000 s); "
                              "audio is made for at most 20 min")
    assert time.monotonic() - start < 10 and list((tmp_path / "out").iterdir()) == []
    assert MAX_AUDIO_SECONDS == 20 * 60


@needs_audio
def test_audio_length_limit_is_a_parameter(tmp_path):
    with pytest.raises(RenderError, match=r"lasts 0 min 08 s \(8 s\); audio is made for at most 0 min 05 s"):
        render_tune(SCALE_TUNE, tmp_path / "short", ("wav",), max_audio_seconds=5)
    assert render_tune(SCALE_TUNE, tmp_path / "long", ("wav",), max_audio_seconds=9)["wav"].is_file()


@needs_audio
def test_render_command_refuses_a_long_tune_in_one_line(tmp_path, capsys):
    src = tmp_path / "long.abc"
    src.write_text(LONG_TUNE + "\n")
    out = tmp_path / "out"
    assert main(["render", str(src), "--formats", "wav", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err == ("abcrnn: error: tune 001-long: the music lasts 333 h 20 min (1,200,000 s); "
                   "audio is made for at most 20 min\n")
    assert not out.exists() or list(out.iterdir()) == []


@needs_audio
@pytest.mark.parametrize("fmt", ["wav", "mp3"])
def test_web_audio_of_a_long_tune_is_422(client, fmt):
    resp = client.post("/api/audio", json={"abc": LONG_TUNE, "format": fmt})
    assert resp.status_code == 422, resp.status_code
    assert resp.json()["error"] == ("the tune could not be rendered: the music lasts 333 h 20 min "
                                    "(1,200,000 s); audio is made for at most 20 min")


@needs_audio
def test_a_tool_writing_past_the_file_limit_is_stopped_and_leaves_nothing(tmp_path):
    # The 8 s WAV is 1.4 MB; fluidsynth is stopped by RLIMIT_FSIZE at 100 kB.
    out = tmp_path / "out"
    with pytest.raises(RenderError, match=r"^fluidsynth tried to write a file larger than 100,000 bytes$"):
        render_tune(SCALE_TUNE, out, ("wav",), limits=Limits(file_bytes=100_000))
    assert list(out.iterdir()) == []


@needs_audio
def test_a_tool_short_of_memory_fails_the_render(tmp_path):
    # fluidsynth needs ~320 MB of address space for its soundfont; given 64 MB it cannot
    # load it, and would write silence with exit status 0 if render did not check.
    out = tmp_path / "out"
    with pytest.raises(RenderError, match="^fluidsynth could not load the soundfont: .*Out of memory"):
        render_tune(SCALE_TUNE, out, ("wav",), limits=Limits(memory_bytes=64 << 20))
    assert list(out.iterdir()) == []


def test_the_musicxml_converter_runs_within_the_memory_limit(tmp_path):
    pytest.importorskip("music21")
    with pytest.raises(RenderError, match="MusicXML"):
        render_tune(SCALE_TUNE, tmp_path / "out", ("musicxml",), limits=Limits(memory_bytes=40 << 20))
    assert render_tune(SCALE_TUNE, tmp_path / "ok", ("musicxml",))["musicxml"].stat().st_size > 1000


def test_runner_stops_a_program_that_prints_too_much(tmp_path):
    start = time.monotonic()
    result = run_tool(["yes", "Part not defined"], tmp_path, Limits(output_bytes=50_000))
    assert result.failure == bounded.OUTPUT_LIMIT and len(result.output) == 50_000
    assert result.problem("yes") == "yes printed more than 50,000 bytes of messages"
    assert time.monotonic() - start < 5


def test_runner_stops_a_program_that_runs_too_long_with_its_children(tmp_path):
    start = time.monotonic()
    result = run_tool(["sh", "-c", "sleep 30 & echo $! > child; sleep 30"], tmp_path, Limits(seconds=0.5))
    assert result.failure == bounded.TIMED_OUT and result.problem("sh") == "sh took longer than 0.5 s"
    assert time.monotonic() - start < 5
    child = int((tmp_path / "child").read_text())
    time.sleep(0.2)
    try:                                   # gone, or a zombie waiting for init to reap it
        state = open(f"/proc/{child}/stat").read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        state = "gone"
    assert state in ("gone", "Z")


def test_runner_reports_a_crash_and_a_file_limit(tmp_path):
    crash = run_tool(["sh", "-c", "kill -SEGV $$"], tmp_path)
    assert crash.failure == bounded.CRASHED and crash.problem("sh") == "sh crashed (signal 11, SIGSEGV)"
    dd = ["dd", "if=/dev/zero", "of=big", "bs=1000", "count=100"]
    big = run_tool(dd, tmp_path, Limits(file_bytes=20_000))
    assert big.failure == bounded.FILE_LIMIT and (tmp_path / "big").stat().st_size == 20_000
    assert not list(tmp_path.glob("core*"))


def test_runner_limits_memory(tmp_path):
    grab = [sys.executable, "-c", "b = bytearray(400 << 20); print('got it')"]
    assert run_tool(grab, tmp_path).output.strip() == "got it"
    small = run_tool(grab, tmp_path, Limits(memory_bytes=200 << 20))
    assert small.returncode == 1 and "MemoryError" in small.output


def test_limits_must_be_positive():
    with pytest.raises(ValueError):
        Limits(file_bytes=0)


def test_the_limits_hold_inside_the_program_from_its_start(tmp_path):
    show = [sys.executable, "-c", "import resource as r; print([r.getrlimit(w)[0] for w in "
            "(r.RLIMIT_FSIZE, r.RLIMIT_AS, r.RLIMIT_CORE)])"]
    result = run_tool(show, tmp_path, Limits(file_bytes=123_456, memory_bytes=789 << 20))
    assert result.output.strip() == str([123_456, 789 << 20, 0])


def test_missing_prlimit_names_its_package(tmp_path, monkeypatch):
    real_which = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None if name == "prlimit"
                        else real_which(name, *a, **k))
    with pytest.raises(MissingToolError, match=r"^prlimit not found: .*'util-linux'"):
        render_tune(SCALE_TUNE, tmp_path / "out", ("mid",))
    with pytest.raises(MissingToolError, match="util-linux"):
        run_tool(["true"], tmp_path)
