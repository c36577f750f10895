"""abcrnn.transpose: key parsing, hand-worked transpositions, abc2midi pitch checks,
round trips and the tunes it refuses."""
from __future__ import annotations

import functools
import io
import re
import shutil

import pytest
from conftest import TUNES

from abcrnn.corpus.read import load_corpus
from abcrnn.notation.tunes import body_music
from abcrnn.notation.transpose import Key, augmented, parse_key, shifts, transpose
from abcrnn.resources import bundled_corpus

CORPUS = bundled_corpus()


def tune(key: str, body: str) -> str:
    return f"X:1\nT:t\nM:4/4\nL:1/8\nK:{key}\n{body}"


@pytest.mark.parametrize("value, expected", [
    ("D", Key("D", "", "", 2)), ("Dmix", Key("D", "", "mix", 1)),
    ("Ador", Key("A", "", "dor", 1)), ("Em", Key("E", "", "m", 1)),
    ("E minor", Key("E", "", "minor", 1)), ("F#m", Key("F", "#", "m", 3)),
    ("Bb", Key("B", "b", "", -2)), ("G major", Key("G", "", "major", 1)),
    ("Amin", Key("A", "", "min", 0)), ("Dmaj", Key("D", "", "maj", 2)),
    ("C#dor", Key("C", "#", "dor", 5)), ("Bb lydian", Key("B", "b", "lydian", -1)),
    ("GDor", Key("G", "", "Dor", -1)), (" Am", Key("A", "", "m", 0)),
    ("Cb", Key("C", "b", "", -7)), ("C#", Key("C", "#", "", 7)),
    ("Ephr", Key("E", "", "phr", 0)), ("Bloc", Key("B", "", "loc", 0)),
    ("HP", None), ("Hp", None), ("none", None), ("D ^c", None), ("G clef=bass", None),
    ("C transpose=-24", None), ("Dexp", None), ("G Bass", None), ("G#", None), ("", None),
])
def test_parse_key_table(value, expected):
    assert parse_key(value) == expected


@pytest.mark.parametrize("fifths, d, k", [
    (0, 0, 0), (1, -3, -5), (-1, 3, 5), (2, 1, 2), (-2, -1, -2), (3, -2, -3), (-3, 2, 3),
    (6, 3, 6), (-6, -3, -6)])
def test_shift_moves_at_most_a_tritone(fifths, d, k):
    assert shifts(fifths) == (d, k)


@pytest.mark.parametrize("key, fifths, new", [
    ("D", 1, "A"), ("Em", -1, "Am"), ("Dmix", 1, "Amix"), ("F", -1, "Bb"), ("Bb", 2, "C"),
    ("E minor", 1, "B minor"), (" Am", -3, " Cm"), ("Bbmajor", -1, "Ebmajor"),
    ("G % the key", 3, "E % the key"), ("C", 7, "C#"), ("Ador", -4, "Fdor")])
def test_key_line_is_rewritten_with_same_mode_text(key, fifths, new):
    assert transpose(tune(key, "C"), fifths).split("\n")[4] == "K:" + new


HAND = """X:7
T:Hand Worked
M:6/8
L:1/8
%%MIDI program 1
K:D
"D"A,B,D {g}f2^g|"G/B"=c'_BA "^high"!trill!a>b+fermata+(3c,de|[M:3/4][df]2 z2 ~F2|% a b c
P:B
w:la la la"""


def test_hand_worked_tune_up_a_fifth_of_the_circle():
    # D -> A: letters down 3, pitches down 5 semitones; g# (+1 on G in D) -> d# (+1 on D
    # in A); c natural (-1 on C#) -> g natural (-1 on G#); Bb -> F natural.
    assert transpose(HAND, 1) == HAND.replace("K:D", "K:A").replace(
        HAND.split("\n")[6],
        '"A"E,F,A, {d}c2^d|"D/F#"=g=FE "^high"!trill!e>f+fermata+(3G,AB|'
        '[M:3/4][Ac]2 z2 ~C2|% a b c')


FLATS = tune("Bb", '"Bb"B,_E=e^f "Eb/G"{ag}G2 [B,DF]2|"F7"f\'2 =B,,2 "Cm"c4|]')


def test_hand_worked_tune_with_flats_up_two_fifths():
    # Bb -> C: letters up 1, pitches up 2; Eb -> F (written =F), e natural -> f#,
    # B,, natural (+1 on Bb) -> C#,
    assert transpose(FLATS, 2) == tune(
        "C", '"C"C=F^f^g "F/A"{ba}A2 [CEG]2|"G7"g\'2 ^C,2 "Dm"d4|]')


def test_annotations_words_and_text_lines_never_change():
    body = ('"^Fine""_A""<B"">C""@D""Allegro""Fin""Here\'s one"!D.C.!+fine+!f! z4 x4|\n'
            'w:a b c d\nW:E F G\nT:A second title\n%%MIDI chordprog 1\n[P:A][L:1/4][Q:1/4=90] Z2|]')
    out = transpose(tune("C", body), 1)
    assert out == tune("G", body)


@pytest.mark.parametrize("chord, fifths, new", [
    ("Am", 1, "Em"), ("D7", -1, "G7"), ("G/B", 2, "A/C#"), ("F#m7b5", -1, "Bm7b5"),
    ("Bbmaj7", 3, "Gmaj7"), ("Gm/b\\b", -1, "Cm/eb"), ("B\\b", 1, "F"), ("(Em)", 2, "(F#m)"),
    ("Cm(Fm)", -2, "Bbm(Ebm)"), ("/e", 1, "/b"), ("F#m7(b5)", 0, "F#m7(b5)")])
def test_chord_symbols_are_respelled(chord, fifths, new):
    out = transpose(tune("C", f'"{chord}"C4|'), fifths)
    assert re.findall(r'"[^"]*"', out) == [f'"{new}"']


@pytest.mark.parametrize("case, text, fifths", [
    ("no K:", "X:1\nT:t\nM:4/4\nL:1/8\nCDEF|", 1),
    ("unparseable key", tune("HP", "CDEF|"), 1),
    ("key with explicit accidentals", tune("D ^c", "CDEF|"), 1),
    ("key with a clef", tune("G clef=bass", "CDEF|"), 1),
    ("inline key change", tune("G", "GABc|[K:D]DEFG|"), 1),
    ("second K: line", tune("G", "GABc|\nK:D\nDEFG|"), 1),
    ("beyond 7 sharps", tune("C#", "CDEF|"), 1),
    ("beyond 7 flats", tune("Db", "CDEF|"), -3),
    ("triple sharp", tune("F", "^^B2|"), 1),
    ("chord needing a double flat", tune("C", '"Fb"C4|'), -3),
    ("chord it cannot read", tune("C", '"B\\b(Dm dim7)"C4|'), 1),
    ("unterminated quote", tune("C", '"Am C4|'), 1),
    ("accidental without a note", tune("C", "^/c4|"), 1),
    ("text in a music line", tune("C", "CDEF|\nSuite de la Coupo Santo"), 1),
    ("decoration hiding music", tune("C", "C!D E!F G|"), 1),
    ("old chord syntax", tune("C", "+CEG+4|"), 1),
])
def test_unsafe_tunes_give_none(case, text, fifths):
    assert transpose(text, fifths) is None, case


def test_round_trip_restores_canonical_tunes():
    for t in TUNES + [FLATS]:
        for f in (1, -1, 2, -2, 3, -3):
            assert transpose(transpose(t, f), -f) == t


def test_round_trip_gives_canonical_spelling_of_odd_octave_marks():
    odd = tune("G", "C'c,B,,'|\"Gm/b\\b\"G4|]")
    assert transpose(odd, 0) == tune("G", 'cCB,|"Gm/bb"G4|]')
    assert transpose(transpose(odd, 2), -2) == transpose(odd, 0)
    assert transpose(transpose(HAND, -3), 3) == HAND.replace("c,de", "Cde")


def test_augmented_keeps_order_and_skips_failures():
    sharp = tune("C#", "CDEF|")                  # +1 would give 8 sharps
    refused = tune("HP", "CDEF|")
    got = augmented([TUNES[0], sharp, refused, TUNES[1]], 2)
    assert got == [transpose(TUNES[0], 1), transpose(TUNES[0], -1),
                   transpose(sharp, -1), transpose(sharp, -2),
                   transpose(TUNES[1], 1), transpose(TUNES[1], -1)]
    assert augmented(TUNES, 0) == []


# --- abc2midi: every note moves by exactly k semitones ---------------------------------

def _notes(midi: bytes) -> tuple[list, list]:
    """(track, tick, channel, pitch) of every note start: melody tracks, then gchord tracks."""
    import mido
    melody, chords = [], []
    for i, track in enumerate(mido.MidiFile(file=io.BytesIO(midi)).tracks):
        gchord = any(m.type == "text" and m.text == "gchord track" for m in track[:3])
        now = 0
        for m in track:
            now += m.time
            if m.type == "note_on" and m.velocity > 0:
                (chords if gchord else melody).append((i, now, m.channel, m.note))
    return melody, chords


def _assert_moved(original: str, moved: str, k: int) -> None:
    from abcrnn.tools.abc2midi import run_abc2midi
    # abc2midi ignores the text escape B\b in a chord symbol but plays Bb; compare like with like
    _, before = run_abc2midi(re.sub(r"\\([b#])", r"\1", original))
    _, after = run_abc2midi(moved)
    (mel0, ch0), (mel1, ch1) = _notes(before), _notes(after)
    assert mel0 and len(mel0) == len(mel1) and len(ch0) == len(ch1)
    assert [n[:3] + (n[3] + k,) for n in mel0] == mel1           # same order, timing, +k
    # abc2midi voices chords from the root's pitch class, so only that must move by k
    assert [n[:3] + ((n[3] + k) % 12,) for n in ch0] == [n[:3] + (n[3] % 12,) for n in ch1]


def _real_tunes() -> list[str]:
    """~20 corpus tunes with explicit accidentals, chord symbols, grace notes, octave marks."""
    tunes = [t for t in _corpus() if transpose(t, 0) is not None]
    music = [body_music(t) for t in tunes]
    kinds = [r"[\^_=][A-Ga-g]", r"\{", r"[',]"]
    picked = [t for t in tunes if re.search(r'"[A-G][^"]*"', t)][:8]
    for kind in kinds:
        picked += [t for t, m in zip(tunes, music) if re.search(kind, m)][:4]
    return picked + [t for t in tunes if re.search(r"K:\S*(dor|mix|m)\b", t)][:4]


@pytest.mark.skipif(shutil.which("abc2midi") is None or not CORPUS.exists(),
                    reason="needs abc2midi and data/pa4_tunes.txt")
def test_abc2midi_pitches_move_by_k_semitones():
    real = _real_tunes()
    assert len(real) >= 20
    for t in TUNES + [HAND] + real:
        for f in (1, -2, 3):
            moved = transpose(t, f)
            assert moved is not None
            _assert_moved(t, moved, shifts(f)[1])


@functools.lru_cache(maxsize=1)
def _corpus() -> tuple[str, ...]:
    return tuple(load_corpus(CORPUS).tunes)


@pytest.mark.skipif(not CORPUS.exists(), reason="needs the bundled corpus")
def test_corpus_round_trips_to_its_canonical_spelling():
    done = 0
    for t in _corpus():
        for f in (1, -3):
            moved = transpose(t, f)
            if moved is not None:
                assert transpose(moved, -f) == transpose(t, 0)
                done += 1
    assert done > 0.9 * 2 * len(_corpus())


@pytest.mark.skipif(not CORPUS.exists(), reason="needs the bundled corpus")
def test_transposed_corpus_stays_in_its_vocabulary():
    tunes = list(_corpus())
    chars = set("".join(tunes))
    moved = augmented(tunes, 2)
    assert len(moved) > 1.8 * len(tunes)
    assert set("".join(moved)) <= chars
