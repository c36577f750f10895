"""Render the note samples abcjs's synth plays, from the General MIDI soundfont.

abcjs (src/synth/load-note.js) fetches one MP3 per note and instrument:
``<soundFontUrl><instrument>-mp3/<Name>.mp3``, where the instrument is a GM name
such as ``violin`` and the name uses flats (``C4``, ``Db4``, ... ``Bb4``; see
src/synth/pitch-to-note-name.js). By default it asks a public web site for them;
the web page points it at files made here instead, so sound works offline.

Each instrument the page offers (INSTRUMENTS) has its own folder. One fluidsynth
run renders every note of one instrument into a single WAV
(loading the 140 MB soundfont once, not once per note); the WAV is cut into
per-note slices, normalised by one common gain (so notes keep their relative
loudness), and each slice is encoded by lame. Run:

    python -m abcrnn.web.soundfont [--instrument violin ...] [--out DIR] [--force]

Each instrument costs about 9 s of CPU and 2 MB; they are rendered two at a time
(measured: five in 163 s of wall time on a 2-core machine under a load of 10).

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
import time
import wave
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from abcrnn.files import atomic_write
from abcrnn.resources import user_cache
from abcrnn.tools.programs import MissingToolError, require_tool, soundfont_path

SAMPLES_ENV = "ABCRNN_NOTE_SAMPLES"
DEFAULT_INSTRUMENT = "violin"     # a fiddle suits folk tunes (INSTRUMENTS[0])
RENDERS_AT_ONCE = 2               # instruments rendered side by side (one fluidsynth each)
LOW, HIGH = 21, 108               # A0..C8, the piano's range: any note a tune can hold
HOLD_S, SLOT_S = 3.0, 4.0         # each note is held 3 s, then 1 s for its release
SAMPLE_RATE = 44100
TICKS = 480                       # MIDI ticks per quarter; tempo 120 => 960 ticks/s
PEAK = 0.7                        # loudest sample's peak after normalising (-3 dBFS)
MANIFEST = "manifest.json"
_NAMES = ["C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B"]
# The General MIDI programs 0-127 by abcjs's names (its src/synth/instrument-index-to-name.js,
# checked by tests/web/test_web_api.py): a tune's %%MIDI program N makes abcjs ask for the
# samples of GM_NAMES[N].
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
    "pizzicato_strings", "orchestral_harp", "timpani", "string_ensemble_1", "string_ensemble_2",
    "synth_strings_1", "synth_strings_2", "choir_aahs", "voice_oohs", "synth_choir",
    "orchestra_hit", "trumpet", "trombone", "tuba", "muted_trumpet", "french_horn",
    "brass_section", "synth_brass_1", "synth_brass_2", "soprano_sax", "alto_sax", "tenor_sax",
    "baritone_sax", "oboe", "english_horn", "bassoon", "clarinet", "piccolo", "flute",
    "recorder", "pan_flute", "blown_bottle", "shakuhachi", "whistle", "ocarina",
    "lead_1_square", "lead_2_sawtooth", "lead_3_calliope", "lead_4_chiff", "lead_5_charang",
    "lead_6_voice", "lead_7_fifths", "lead_8_bass_lead", "pad_1_new_age", "pad_2_warm",
    "pad_3_polysynth", "pad_4_choir", "pad_5_bowed", "pad_6_metallic", "pad_7_halo",
    "pad_8_sweep", "fx_1_rain", "fx_2_soundtrack", "fx_3_crystal", "fx_4_atmosphere",
    "fx_5_brightness", "fx_6_goblins", "fx_7_echoes", "fx_8_scifi", "sitar", "banjo",
    "shamisen", "koto", "kalimba", "bagpipe", "fiddle", "shanai", "tinkle_bell", "agogo",
    "steel_drums", "woodblock", "taiko_drum", "melodic_tom", "synth_drum", "reverse_cymbal",
    "guitar_fret_noise", "breath_noise", "seashore", "bird_tweet", "telephone_ring",
    "helicopter", "applause", "gunshot",
]
# The instruments the page offers, as a folk musician names them, the default first.
# (GM's own "fiddle", 110, is an Indian fiddle; the folk fiddle is the violin.)
INSTRUMENTS = [("fiddle", "violin"), ("flute", "flute"), ("tin whistle", "whistle"),
               ("accordion", "accordion"), ("harp", "orchestral_harp"), ("piano", "acoustic_grand_piano")]


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


def _manifest(out: Path, instrument: str) -> dict | None:
    """The settings ``instrument``'s samples were made with: the manifest in its folder,
    or (sets made when there was one instrument) the one beside it that names it."""
    for path in (out / f"{instrument}-mp3" / MANIFEST, out / MANIFEST):
        try:
            doc = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(doc, dict) and doc.get("instrument") == instrument:
            return doc
    return None


def up_to_date(out: Path, instrument: str) -> bool:
    """Every note of ``instrument`` is in ``out``, made with today's settings."""
    return _manifest(out, instrument) == _settings(instrument, soundfont_path()) and all(
        (out / f"{instrument}-mp3" / f"{note_name(p)}.mp3").is_file() for p in range(LOW, HIGH + 1))


def rendered(out: Path, instrument: str) -> bool:
    """``instrument``'s samples were finished (a manifest is written last, so a half-made
    set never counts). Cheap: for every request."""
    return (out / f"{instrument}-mp3").is_dir() and _manifest(out, instrument) is not None


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
    # Write into a fresh folder, its manifest last, and swap it in, so a failure leaves
    # the old set whole.
    # The fresh folder's name is unique: two servers rendering at once do not clobber
    # each other's half-made sets.
    dest = out / f"{instrument}-mp3"
    out.mkdir(parents=True, exist_ok=True)
    fresh = Path(tempfile.mkdtemp(prefix=f".{instrument}-mp3.", dir=out))
    fresh.chmod(0o755)
    for p, s in zip(pitches, slices):
        fade = np.linspace(1, 0, int(0.05 * SAMPLE_RATE))     # no click where the slice ends
        s = s * gain
        s[-len(fade):] *= fade
        _encode(s, lame, fresh / f"{note_name(p)}.mp3")
    atomic_write(fresh / MANIFEST, json.dumps(_settings(instrument, soundfont)))
    shutil.rmtree(dest, ignore_errors=True)
    try:
        fresh.rename(dest)
    except OSError:             # another run finished the same set first: keep that one
        shutil.rmtree(fresh, ignore_errors=True)
    return dest


def make_soundfonts(out: Path | None = None, instruments=None, force: bool = False) -> list[Path]:
    """make_soundfont() for each of ``instruments`` (default: every one the page offers),
    RENDERS_AT_ONCE side by side, the first one first (the page plays once it is there)."""
    names = [gm for _, gm in INSTRUMENTS] if instruments is None else list(instruments)
    for name in names:
        if name not in GM_NAMES:
            raise ValueError(f"unknown instrument {name!r}; choose one of {', '.join(GM_NAMES)}")
    made = [make_soundfont(out, names[0], force)] if names else []
    with ThreadPoolExecutor(RENDERS_AT_ONCE) as pool:      # the work is in fluidsynth and lame
        made += list(pool.map(lambda n: make_soundfont(out, n, force), names[1:]))
    return made


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Render the note samples for the web page's player.")
    p.add_argument("--instrument", action="append",
                   help="a GM name, repeatable (default: the page's instruments: "
                        f"{', '.join(gm for _, gm in INSTRUMENTS)})")
    p.add_argument("--out", type=Path, default=None, help=f"folder (default: ${SAMPLES_ENV} or the user cache)")
    p.add_argument("--force", action="store_true", help="render again even if up to date")
    args = p.parse_args(argv)
    start = time.monotonic()
    try:
        folders = make_soundfonts(args.out, args.instrument, args.force)
    except (MissingToolError, ValueError, OSError, subprocess.SubprocessError) as e:
        print(f"soundfont: error: {e}", file=sys.stderr)
        return 1
    files = [f for d in folders for f in d.glob("*.mp3")]
    size = sum(f.stat().st_size for f in files)
    print(f"soundfont: {len(files)} notes of {len(folders)} instruments in {folders[0].parent} "
          f"({size / 1e6:.1f} MB, {time.monotonic() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
