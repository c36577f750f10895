"""MusicXML from render: music21 reads it back with the notes abc2midi plays."""
from __future__ import annotations

import pytest

from abcrnn.music.render import RenderError, render_tune

music21 = pytest.importorskip("music21")

# triplets, ties, accidentals, a broken rhythm, octaves, a chord, a pick-up, a key change
TUNE = """X:1
T:Test
M:6/8
L:1/8
K:G
D|G2B d>cB|(3ABA G- G2A|^c2d e'2d|[GB]3 G,2z|
K:F
F2A c2B|A3 F3|]
"""


def notes(path) -> list[tuple[int, float]]:
    """(MIDI pitch, quarter notes) of every note, tied notes as one."""
    score = music21.converter.parse(str(path)).stripTies()
    return [(p.midi, float(n.quarterLength)) for n in score.flatten().notes
            for p in (n.pitches if n.isChord else [n.pitch])]


def melody(found: list[tuple[int, float]]) -> list[int]:
    # MIDI cannot tell a long note from two of the same pitch (abc2midi splits the last
    # one), so the melody is compared with repeated pitches taken as one
    return [p for k, (p, _) in enumerate(found) if k == 0 or found[k - 1][0] != p]


def test_musicxml_holds_the_notes_of_the_midi(tmp_path):
    files = render_tune(TUNE, tmp_path, ("mid", "musicxml"), stem="t")
    xml, mid = notes(files["musicxml"]), notes(files["mid"])
    assert len(xml) == 24 and melody(xml) == melody(mid)
    assert sum(q for _, q in xml) == pytest.approx(sum(q for _, q in mid), abs=0.1)
    assert "<score-partwise" in files["musicxml"].read_text()


def test_a_tune_music21_cannot_read_fails_in_one_line_and_writes_nothing(tmp_path):
    with pytest.raises(RenderError, match="MusicXML"):
        render_tune("X:1\nT:x\nM:4/4\nL:1/8\nK:C\n[[[[", tmp_path, ("musicxml",), stem="bad")
    assert not list(tmp_path.glob("bad*"))
