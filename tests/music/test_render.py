"""Rendering through the real Debian tools (abcmidi, abcm2ps, fluidsynth, ghostscript, lame).

The tests that run the tools are skipped, naming the packages, when a tool is
missing; the filename and missing-tool tests run everywhere.
"""
from __future__ import annotations

import html
import os
import re
import shutil
import wave
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import numpy as np
import pytest

from abcrnn.music.render import FORMATS
from abcrnn.tools.programs import DEFAULT_SOUNDFONT, PACKAGES, SOUNDFONT_ENV
from abcrnn.tools.programs import MissingToolError
from abcrnn.music.render import RenderError, render_file, render_tune, tune_filename, unique_stems
from abcrnn.music.tunebook import write_tunebook

# 16 quarter notes at 120 quarters a minute, no repeats: 16 notes, 8 seconds.
SCALE_TUNE = """X:3
T:The Silver Spear
M:4/4
L:1/4
Q:1/4=120
K:C
C D E F | G A B c | c B A G | F E D C |]"""
SCALE_PITCHES = [60, 62, 64, 65, 67, 69, 71, 72, 72, 71, 69, 67, 65, 64, 62, 60]
SCALE_SECONDS = 8.0

# abc2midi reports "First K: field must specify key signature" and writes nothing.
GARBAGE_TUNE = "X:1\nT:Garbage\nK:Zq\n[[[[ ]]]] |||: xyz"

_missing = [pkg for tool, pkg in PACKAGES.items() if shutil.which(tool) is None]
if not os.path.isfile(DEFAULT_SOUNDFONT) and not os.environ.get(SOUNDFONT_ENV):
    _missing.append("fluid-soundfont-gm")
needs_tools = pytest.mark.skipif(bool(_missing), reason="apt-get install " + " ".join(_missing))


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """The scale tune in every format, rendered once for all the checks below."""
    out = tmp_path_factory.mktemp("render")
    return render_tune(SCALE_TUNE, out)


def _note_ons(path):
    import mido
    midi = mido.MidiFile(path)
    notes = [m.note for track in midi.tracks for m in track
             if m.type == "note_on" and m.velocity > 0]
    return notes, midi.length


@needs_tools
def test_render_writes_every_format_under_the_tune_stem(rendered):
    assert sorted(rendered) == sorted(FORMATS)
    for fmt, path in rendered.items():
        assert path.name == f"003-the-silver-spear.{fmt}"
        assert path.stat().st_size > 0
    # The hidden work folder is gone: only the finished files remain.
    assert sorted(p.name for p in rendered["mid"].parent.iterdir()) == \
        sorted(p.name for p in rendered.values())


@needs_tools
def test_midi_note_count_matches_abc(rendered):
    notes, length = _note_ons(rendered["mid"])
    assert notes == SCALE_PITCHES
    assert length == pytest.approx(SCALE_SECONDS, abs=0.25)


@needs_tools
def test_wav_is_audible_and_lasts_as_long_as_the_midi(rendered):
    _, midi_seconds = _note_ons(rendered["mid"])
    with wave.open(str(rendered["wav"])) as w:
        rate, channels = w.getframerate(), w.getnchannels()
        assert (rate, w.getsampwidth()) == (44100, 2)
        frames = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    frames = np.abs(frames.reshape(-1, channels).astype(np.int32)).max(axis=1)
    assert frames.max() > 1000, "rendered audio is (nearly) silent"
    audible = np.nonzero(frames > 50)[0]
    # fluidsynth renders until the reverb dies away, so the file runs a few
    # seconds past the MIDI; the audible notes must stop close to the MIDI's end.
    assert midi_seconds - 0.05 <= len(frames) / rate <= midi_seconds + 5
    assert audible[0] / rate < 0.2
    assert midi_seconds - 0.5 <= audible[-1] / rate <= midi_seconds + 1.5


@needs_tools
def test_mp3_has_an_mpeg_frame_header(rendered):
    data = rendered["mp3"].read_bytes()
    assert data[:3] == b"ID3" or (data[0] == 0xFF and data[1] & 0xE0 == 0xE0)


@needs_tools
def test_svg_pdf_and_png_are_well_formed(rendered):
    root = ET.parse(rendered["svg"]).getroot()
    assert root.tag in ("svg", "{http://www.w3.org/2000/svg}svg")
    pdf = rendered["pdf"].read_bytes()
    assert pdf.startswith(b"%PDF-")
    counts = [int(n) for n in re.findall(rb"/Count\s+(\d+)", pdf)]
    assert counts and max(counts) >= 1
    assert rendered["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("title", ["../../etc/passwd", "", "   ", ".hidden", "Réel de la Chèvre",
                                   "日本の歌", "a/b\\c:d*e?f", "x" * 500, "\x00\n"])
def test_tune_filename_is_safe_for_hostile_titles(title):
    stem = tune_filename(f"X:7\nT:{title}\nK:C\nCDEF|", 1)
    assert re.fullmatch(r"[a-z0-9][a-z0-9-]*", stem)
    assert stem.startswith("007-") and len(stem) <= 70


def test_tune_filename_examples():
    assert tune_filename(SCALE_TUNE, 9) == "003-the-silver-spear"
    assert tune_filename("T:Réel de la Chèvre\nK:C", 12) == "012-reel-de-la-chevre"
    assert tune_filename("X:../5\nT:\nK:C", 4) == "004-untitled"
    assert unique_stems(["X:1\nT:A", "X:1\nT:A", "X:1\nT:A"]) == ["001-a", "001-a-2", "001-a-3"]


def test_render_rejects_an_unsafe_stem(tmp_path):
    with pytest.raises(ValueError):
        render_tune(SCALE_TUNE, tmp_path, ("mid",), stem="../escape")


@needs_tools
def test_hostile_title_renders_inside_out_dir(tmp_path):
    out = tmp_path / "out"
    files = render_file(SCALE_TUNE.replace("The Silver Spear", "../../etc/passwd"), out,
                        formats=("mid",))
    assert [p.name for p in files[0].values()] == ["003-etc-passwd.mid"]
    assert [p.name for p in out.iterdir()] == ["003-etc-passwd.mid"]
    assert not (tmp_path / "etc").exists()


@needs_tools
def test_render_file_gives_each_tune_its_own_files(tmp_path):
    book = tmp_path / "book.abc"
    second = SCALE_TUNE.replace("X:3", "X:4").replace("The Silver Spear", "Second Tune")
    book.write_text(f"%abc-2.1\n\n{SCALE_TUNE}\n\n{second}\n\n{SCALE_TUNE}\n", encoding="utf-8")
    results = render_file(book, tmp_path / "out", formats=("mid",))
    assert [r["mid"].name for r in results] == [
        "003-the-silver-spear.mid", "004-second-tune.mid", "003-the-silver-spear-2.mid"]
    assert render_file(str(book), tmp_path / "again", formats=("mid",))[1]["mid"].is_file()
    assert len(render_file(book.read_text(), tmp_path / "text", formats=("mid",))) == 3


@pytest.mark.parametrize("tool, fmt", [("abc2midi", "mid"), ("abcm2ps", "svg"),
                                       ("fluidsynth", "wav"), ("gs", "pdf"), ("lame", "mp3")])
def test_missing_tool_error_names_the_debian_package(tool, fmt, tmp_path, monkeypatch):
    real_which = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None if name == tool
                        else real_which(name, *a, **k) or f"/usr/bin/{name}")
    monkeypatch.setenv(SOUNDFONT_ENV, __file__)  # any existing file will do here
    with pytest.raises(MissingToolError) as err:
        render_tune(SCALE_TUNE, tmp_path / "out", (fmt,))
    package = PACKAGES[tool]
    assert f"install the Debian package '{package}' (apt-get install {package})" in str(err.value)
    assert "\n" not in str(err.value) and not (tmp_path / "out").exists()


def test_empty_path_reports_abc2midi_package(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MissingToolError, match=r"^abc2midi not found: .*'abcmidi'"):
        render_tune(SCALE_TUNE, tmp_path / "out", ("mid",))


def test_missing_soundfont_names_its_package(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: f"/usr/bin/{name}")
    monkeypatch.setenv(SOUNDFONT_ENV, str(tmp_path / "nope.sf2"))
    with pytest.raises(MissingToolError, match="fluid-soundfont-gm"):
        render_tune(SCALE_TUNE, tmp_path / "out", ("wav",))


@needs_tools
def test_garbage_tune_raises_and_leaves_no_files(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(RenderError, match="abc2midi failed: .*K: field"):
        render_tune(GARBAGE_TUNE, out)
    assert list(out.iterdir()) == []


@needs_tools
def test_failure_in_a_late_step_leaves_no_earlier_files(tmp_path, monkeypatch):
    # A "lame" that fails after MIDI and WAV were already made in the work folder.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "lame").write_text("#!/bin/sh\necho 'lame: error: disk on fire' >&2\nexit 1\n")
    (bin_dir / "lame").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    out = tmp_path / "out"
    with pytest.raises(RenderError, match="lame failed: lame: error: disk on fire"):
        render_tune(SCALE_TUNE, out, ("mid", "wav", "mp3"))
    assert list(out.iterdir()) == []


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.audio = [], 0

    def handle_starttag(self, tag, attrs):
        self.audio += tag == "audio"
        self.links += [v for k, v in attrs if k in ("src", "href") and v]


@needs_tools
def test_tunebook_html_shows_each_tune_offline(tmp_path):
    tunes = [SCALE_TUNE.replace("c B A G | F E D C ", ""),
             "X:4\nT:Jack & <Jill>\nL:1/4\nK:G\nG A B d | g2 G2 |]",
             GARBAGE_TUNE]
    rows = [{"bars": 2, "valid": True, "score": 0.123456}, {"bars": 2}, {}]
    index = write_tunebook(tunes, tmp_path / "book", quality_rows=rows, title="Test <book>")
    page = index.read_text(encoding="utf-8")
    for tune in tunes:
        assert f'<pre class="abc">{html.escape(tune)}</pre>' in page
    assert "<Jill>" not in page and "Jack &amp; &lt;Jill&gt;" in page
    assert "http://" not in page and "https://" not in page and "<script" not in page
    assert "0.1235" in page and "Could not render this tune: abc2midi failed" in page
    parser = _Links()
    parser.feed(page)
    assert parser.audio == 2  # the garbage tune has no audio, only its error
    for link in parser.links:
        if not link.startswith("#"):
            assert "/" not in link and (index.parent / link).is_file(), link
