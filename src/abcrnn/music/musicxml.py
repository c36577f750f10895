"""MusicXML for notation editors (MuseScore, Finale, Dorico...), through music21's ABC
reader and MusicXML writer (``pip install 'abcrnn[corpora]'``).

The conversion runs in its own process (``python -m abcrnn.music.musicxml IN OUT``),
as abc2midi and abcm2ps do, so render's timeout and resource limits bound it too, and
a tune music21 cannot read fails that tune with one line instead of the caller."""
from __future__ import annotations

import sys
from pathlib import Path


def convert(abc_path: Path, xml_path: Path) -> None:
    try:
        from music21 import converter
    except ImportError:
        raise SystemExit("MusicXML needs music21: pip install 'abcrnn[corpora]'") from None
    text = abc_path.read_text(encoding="utf-8")
    try:
        score = converter.parse(text, format="abc")
        score.write("musicxml", fp=str(xml_path))
    except Exception as e:  # noqa: BLE001 - music21 raises many kinds on odd ABC; one line each
        raise SystemExit(f"music21 could not convert the tune: {type(e).__name__}: {e}") from None


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: python -m abcrnn.music.musicxml TUNE.abc OUT.musicxml")
    convert(Path(sys.argv[1]), Path(sys.argv[2]))
