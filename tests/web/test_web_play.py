"""Playing a tune: the instrument and tempo of the MIDI and audio downloads, the
instruments the page offers and their note samples, and the bar check of hand edits."""
from __future__ import annotations

import json
import re
import struct
import warnings
from pathlib import Path

import pytest
from webtools import train_tiny

pytest.importorskip("fastapi")
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx`")
    from fastapi.testclient import TestClient

from abcrnn.web import soundfont
from abcrnn.web.app import create_app
from abcrnn.web.renderer import for_playback

JIG = "X:1\nT:Test Jig\nM:6/8\nL:1/8\nQ:1/8=200\nK:D\n|:DFA dAF|DFA d2A:|\n"


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    return TestClient(create_app(train_tiny(tmp_path_factory.mktemp("play")), render_samples=False))


def midi_events(data: bytes) -> list[tuple[str, int]]:
    """('program', n) and ('tempo', microseconds per quarter) of every track of a MIDI file."""
    assert data[:4] == b"MThd"
    pos, found = 8 + struct.unpack(">I", data[4:8])[0], []
    while pos < len(data):
        size = struct.unpack(">I", data[pos + 4:pos + 8])[0]
        track, pos, i, status = data[pos + 8:pos + 8 + size], pos + 8 + size, 0, 0
        while i < len(track):
            while track[i] & 0x80:                 # delta time
                i += 1
            i += 1
            if track[i] & 0x80:
                status, i = track[i], i + 1
            if status == 0xFF:                     # meta: type, length, data
                kind, length = track[i], track[i + 1]
                if kind == 0x51:
                    found.append(("tempo", int.from_bytes(track[i + 2:i + 5], "big")))
                i += 2 + length
            elif status in (0xF0, 0xF7):
                i += 1 + track[i]
            elif status & 0xF0 in (0xC0, 0xD0):
                if status & 0xF0 == 0xC0:
                    found.append(("program", track[i]))
                i += 1
            else:
                i += 2
    return found


def midi(client, **body) -> list[tuple[str, int]]:
    resp = client.post("/api/midi", json=body)
    assert resp.status_code == 200, resp.text
    return midi_events(resp.content)


def test_midi_carries_the_instrument_and_tempo_asked_for(client):
    events = midi(client, abc=JIG, program=73, tempo=100)
    assert ("program", 73) in events and ("program", 40) not in events
    # 100 dotted quarters a minute (the beat of 6/8) = 150 quarters = 400,000 us a quarter
    assert [v for k, v in events if k == "tempo"] == [400_000]


def test_midi_keeps_the_tunes_own_tempo_and_plays_the_fiddle_by_default(client):
    events = midi(client, abc=JIG)
    assert [v for k, v in events if k == "tempo"] == [600_000]     # Q:1/8=200 is 100 quarters
    assert ("program", 40) in events
    own = JIG.replace("K:D\n", "K:D\n%%MIDI program 21\n")
    assert ("program", 21) in midi(client, abc=own) and ("program", 40) not in midi(client, abc=own)
    assert ("program", 0) in midi(client, abc=own, program=0)     # asked for: it wins


@pytest.mark.parametrize("bad", [{"program": 128}, {"program": -1}, {"program": "40"},
                                 {"tempo": 23}, {"tempo": 241}, {"tempo": 120.0}])
def test_program_and_tempo_are_checked(client, bad):
    resp = client.post("/api/midi", json={"abc": JIG} | bad)
    assert resp.status_code == 422 and resp.json()["error"].startswith(next(iter(bad)))


def test_audio_plays_at_the_tempo_asked_for(client):
    def seconds(tempo):
        resp = client.post("/api/audio", json={"abc": JIG, "format": "wav", "tempo": tempo,
                                               "program": 73})
        assert resp.status_code == 200, resp.text
        rate, = struct.unpack("<I", resp.content[24:28])
        channels, = struct.unpack("<H", resp.content[22:24])
        return (len(resp.content) - 44) / (rate * channels * 2)
    slow, fast = seconds(60), seconds(180)
    assert 2.0 < slow / fast < 3.5, (slow, fast)       # the notes take a third of the time (+ release)


def test_for_playback_replaces_every_tempo_mark():
    tune = "X:1\nQ:1/4=90\nM:C|\nK:G\nGABc [Q:1/4=60] d4|\nQ:1/4=200\nG4|]"
    out = for_playback(tune, None, 80, 40)
    assert out.split("\n")[:5] == ["X:1", "%%MIDI program 40", "M:C|", "Q:1/2=80", "K:G"]
    assert "Q:" not in "\n".join(out.split("\n")[5:])


def test_the_instruments_are_offered_with_their_samples(client, tmp_path, monkeypatch):
    monkeypatch.setenv("ABCRNN_NOTE_SAMPLES", str(tmp_path))
    for inst, content in (("violin", b"ID3 violin"), ("flute", b"ID3 flute")):
        (tmp_path / f"{inst}-mp3").mkdir()
        (tmp_path / f"{inst}-mp3" / "C4.mp3").write_bytes(content)
        (tmp_path / f"{inst}-mp3" / soundfont.MANIFEST).write_text(json.dumps({"instrument": inst}))
    opts = client.get("/api/options").json()
    offered = {i["name"]: (i["program"], i["gm_name"], i["samples"]) for i in opts["instruments"]}
    assert opts["instruments"][0]["name"] == "fiddle" and offered["fiddle"] == (40, "violin", True)
    assert offered["flute"] == (73, "flute", True) and offered["accordion"] == (21, "accordion", False)
    assert {"harp", "piano", "tin whistle"} <= offered.keys()
    assert (opts["instrument"], opts["program"]) == ("violin", 40)      # the old fields stay
    assert opts["tempo"] == {"min": 24, "max": 240, "default": 120}
    assert client.get("/soundfont/flute-mp3/C4.mp3").content == b"ID3 flute"
    assert client.get("/soundfont/accordion-mp3/C4.mp3").content == b"ID3 violin"   # not made yet


def test_gm_names_are_abcjs_names():
    table = Path(__file__).resolve().parents[2] / "node_modules/abcjs/src/synth/instrument-index-to-name.js"
    if not table.is_file():
        pytest.skip("abcjs not installed (npm ci)")
    theirs = re.findall(r'"(\w+)"', table.read_text())
    assert soundfont.GM_NAMES == theirs[:128]
    assert all(gm in soundfont.GM_NAMES for _, gm in soundfont.INSTRUMENTS)


def test_make_soundfonts_renders_each_instrument(tmp_path, monkeypatch):
    monkeypatch.setattr(soundfont, "LOW", 60)
    monkeypatch.setattr(soundfont, "HIGH", 60)
    try:
        made = soundfont.make_soundfonts(tmp_path, ["violin", "flute", "whistle"])
    except soundfont.MissingToolError as e:
        pytest.skip(str(e))
    assert [d.name for d in made] == ["violin-mp3", "flute-mp3", "whistle-mp3"]
    assert all(soundfont.up_to_date(tmp_path, i) for i in ("violin", "flute", "whistle"))
    sizes = {d.name: (d / "C4.mp3").read_bytes() for d in made}
    assert len(set(sizes.values())) == 3                      # three instruments, three sounds
    assert not list(tmp_path.glob(".*"))                       # no half-made folder left


# --- the bar check ------------------------------------------------------------

def test_check_finds_bars_the_meter_does_not_allow(client):
    edited = "%a comment line\nX:1\nT:Edit\nM:6/8\nL:1/8\nK:D\n|:DFA dAF|DFA dAFE|\nGBd gdB|GBd g2:|\n"
    warnings_ = client.post("/api/check", json={"abc": edited}).json()["warnings"]
    assert warnings_[0] == {"line": 7, "bar": 2,
                            "message": "bar 2 is too long: 7 eighths where M:6/8 needs 6"}
    assert all(w["bar"] != 4 for w in warnings_)          # the half bar before :| pairs with the pick-up


def test_check_passes_a_good_tune_and_reports_abc2midi(client):
    assert client.post("/api/check", json={"abc": JIG}).json() == {"warnings": []}
    bad = "X:1\nT:Odd\nM:2/4\nL:1/8\nK:D\n|:DF AF|DF A2|\nd2 B2|]"
    found = client.post("/api/check", json={"abc": bad}).json()["warnings"]
    assert any(w["message"].startswith("abc2midi: ") for w in found), found
    assert all(1 <= w["line"] <= 7 for w in found), found
    for body in ({"abc": "no tune"}, {"abc": 5}, {"abc": JIG, "x": 1}):
        assert client.post("/api/check", json=body).status_code == 422
