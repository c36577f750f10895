"""Render the note samples abcjs's synth plays, from the General MIDI soundfont.

abcjs (src/synth/load-note.js) fetches one MP3 per note and instrument:
``<soundFontUrl><instrument>-mp3/<Name>.mp3``, where the instrument is a GM name
such as ``violin`` and the name uses flats (``C4``, ``Db4``, ... ``Bb4``; see
src/synth/pitch-to-note-name.js). By default it asks a public web site for them;
the web page points it at files made here instead, so sound works offline.

One fluidsynth run renders every note of one instrument into a single WAV
(loading the 140 MB soundfont once, not once per note); the WAV is cut into
per-note slices, normalised by one common gain (so notes keep their relative
loudness), and each slice is encoded by lame. Run:

    python -m abcrnn.web.soundfont [--instrument violin] [--out DIR] [--force]

Safe to re-run: it does nothing when the files for the same settings exist.
"""
from __future__ import annotations

import argparse
import os
import hashlib
import json
import shutil
import struct
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

import numpy as np

from abcrnn.files import atomic_write
from abcrnn.resources import user_cache
from abcrnn.tools.programs import MissingToolError, require_tool, soundfont_path

SAMPLES_ENV = "ABCRNN_NOTE_SAMPLES"
DEFAULT_INSTRUMENT = "violin"     # a fiddle suits folk tunes
LOW, HIGH = 21, 108               # A0..C8, the piano's range: any note a tune can hold
HOLD_S, SLOT_S = 3.0, 4.0         # each note is held 3 s, then 1 s for its release
SAMPLE_RATE = 44100
TICKS = 480                       # MIDI ticks per quarter; tempo 120 => 960 ticks/s
PEAK = 0.7                        # loudest sample's peak after normalising (-3 dBFS)
MANIFEST = "manifest.json"
_NAMES = ["C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B"]
# abcjs's list (src/synth/instrument-index-to-name.js), first 48 GM programs;
# enough for melody instruments a folk tune would use.
GM_NAMES = [
    "acoustic_grand_piano", "bright_acoustic_piano", "electric_grand_piano", "honkytonk_piano",
    "electric_piano_1", "electric_piano_2", "harpsichord", "clavinet", "celesta", "glockenspiel",
    "music_box", "vibraphone", "marimba", "xylophone", "tubular_bells", "dulcimer",
    "drawbar_organ", "percussive_organ", "rock_organ", "church_organ", "reed_organ", "accordion",
    "harmonica", "tango_accordion", "acoustic_guitar_nylon", "acoustic_guitar_steel",
    "electric_guitar_jazz", "electric_guitar_clean", "electric_guitar_muted", "overdriven_guitar",
    "distortion_guitar", "guitar_harmonics", "acoustic_bass", "electric_bass_finger",
    "electric_bass_pick", "fretless_bass", "slap_bass_1", "slap_bass_2", "synth_bass_1",
    "synth_bass_2", "violin", "viola", "cello", "contrabass", "tremolo_strings",
    "pizzicato_strings", "orchestral_harp", "timpani",
]


def samples_dir() -> Path:
    """``$ABCRNN_NOTE_SAMPLES``, else ``note-samples`` in the user cache."""
    override = os.environ.get(SAMPLES_ENV)
    return Path(override) if override else user_cache() / "note-samples"


def note_name(pitch: int) -> str:
    """abcjs's name for a MIDI pitch: 60 -> 'C4', 61 -> 'Db4'."""
    return f"{_NAMES[pitch % 12]}{pitch // 12 - 1}"


def _vlq(n: int) -> bytes:
    out = [n & 0x7F]
    while n > 0x7F:
        n >>= 7
        out.append((n & 0x7F) | 0x80)
    return bytes(reversed(out))


def notes_midi(program: int, pitches, velocity: int = 100) -> bytes:
    """A type-0 MIDI file: program change, then each pitch alone in its own slot."""
    hold, rest = int(HOLD_S * 2 * TICKS), int((SLOT_S - HOLD_S) * 2 * TICKS)
    ev = bytearray(b"\x00\xc0" + bytes([program]))
    for i, p in enumerate(pitches):
        ev += _vlq(0 if i == 0 else rest) + bytes([0x90, p, velocity])
        ev += _vlq(hold) + bytes([0x80, p, 0])
    ev += _vlq(rest) + b"\xff\x2f\x00"
    return (b"MThd" + struct.pack(">IHHH", 6, 0, 1, TICKS)
            + b"MTrk" + struct.pack(">I", len(ev)) + bytes(ev))


def _render_wav(midi: bytes, work: Path, soundfont: Path) -> np.ndarray:
    """fluidsynth -> mono float samples; chorus off (it smears a lone note)."""
    (work / "notes.mid").write_bytes(midi)
    cmd = [require_tool("fluidsynth"), "-n", "-i", "-q", "-C", "0", "-g", "0.5", "-T", "wav",
           "-F", "notes.wav", "-r", str(SAMPLE_RATE), str(soundfont), "notes.mid"]
    subprocess.run(cmd, cwd=work, check=True, capture_output=True, timeout=600)
    with wave.open(str(work / "notes.wav")) as w:
        channels, frames = w.getnchannels(), w.readframes(w.getnframes())
    data = np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768
    return data.reshape(-1, channels).mean(axis=1)


def _encode(samples: np.ndarray, lame: str, dest: Path) -> None:
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()
    cmd = [lame, "--quiet", "-r", "-s", "44.1", "--bitwidth", "16", "--signed", "--little-endian",
           "-m", "m", "-b", "56", "-", str(dest)]
    subprocess.run(cmd, input=pcm, check=True, capture_output=True, timeout=60)


def _settings(instrument: str, soundfont: Path) -> dict:
    st = soundfont.stat()
    key = f"{soundfont}:{st.st_size}:{int(st.st_mtime)}:{LOW}:{HIGH}:{HOLD_S}:{SLOT_S}:{PEAK}"
    return {"instrument": instrument, "low": LOW, "high": HIGH,
            "key": hashlib.sha256(key.encode()).hexdigest()[:16]}


def up_to_date(out: Path, instrument: str) -> bool:
    try:
        doc = json.loads((out / MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    return doc == _settings(instrument, soundfont_path()) and all(
        (out / f"{instrument}-mp3" / f"{note_name(p)}.mp3").is_file() for p in range(LOW, HIGH + 1))


def make_soundfont(out: Path | None = None, instrument: str = DEFAULT_INSTRUMENT,
                   force: bool = False) -> Path:
    """Write ``out/<instrument>-mp3/<Name>.mp3`` for every pitch LOW..HIGH."""
    if instrument not in GM_NAMES:
        raise ValueError(f"unknown instrument {instrument!r}; choose one of {', '.join(GM_NAMES)}")
    out = Path(out) if out is not None else samples_dir()
    if not force and up_to_date(out, instrument):
        return out / f"{instrument}-mp3"
    soundfont, lame = soundfont_path(), require_tool("lame")
    pitches = list(range(LOW, HIGH + 1))
    with tempfile.TemporaryDirectory() as tmp:
        audio = _render_wav(notes_midi(GM_NAMES.index(instrument), pitches), Path(tmp), soundfont)
    slot, keep = int(SLOT_S * SAMPLE_RATE), int((HOLD_S + 0.3) * SAMPLE_RATE)
    slices = [audio[i * slot: i * slot + keep] for i in range(len(pitches))]
    gain = PEAK / max(float(np.abs(s).max()) for s in slices)
    # Write into a fresh folder and swap it in, so a failure leaves the old set whole.
    dest = out / f"{instrument}-mp3"
    fresh = out / f".{instrument}-mp3.new"
    shutil.rmtree(fresh, ignore_errors=True)
    fresh.mkdir(parents=True)
    for p, s in zip(pitches, slices):
        fade = np.linspace(1, 0, int(0.05 * SAMPLE_RATE))     # no click where the slice ends
        s = s * gain
        s[-len(fade):] *= fade
        _encode(s, lame, fresh / f"{note_name(p)}.mp3")
    shutil.rmtree(dest, ignore_errors=True)
    fresh.rename(dest)
    atomic_write(out / MANIFEST, json.dumps(_settings(instrument, soundfont)))
    return dest


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Render the note samples for the web page's player.")
    p.add_argument("--instrument", default=DEFAULT_INSTRUMENT, help=f"GM name (default {DEFAULT_INSTRUMENT})")
    p.add_argument("--out", type=Path, default=None, help=f"folder (default: ${SAMPLES_ENV} or the user cache)")
    p.add_argument("--force", action="store_true", help="render again even if up to date")
    args = p.parse_args(argv)
    try:
        dest = make_soundfont(args.out, args.instrument, args.force)
    except (MissingToolError, ValueError, OSError, subprocess.SubprocessError) as e:
        print(f"soundfont: error: {e}", file=sys.stderr)
        return 1
    n = len(list(dest.glob("*.mp3")))
    size = sum(f.stat().st_size for f in dest.glob("*.mp3"))
    print(f"soundfont: {n} notes in {dest} ({size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
