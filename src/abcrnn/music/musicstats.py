"""Musical statistics from MIDI: pitch-class, interval and note-length histograms,
and how two histograms compare (MGEval-style overlapping area, KL divergence)."""
from __future__ import annotations

import io
import math

KL_EPS = 1e-6
LENGTH_BINS = (1 / 8, 1 / 4, 1 / 3, 1 / 2, 2 / 3, 3 / 4, 1, 3 / 2, 2, 3, 4)  # quarter notes


def _length_bin(quarters: float) -> int:
    return min(range(len(LENGTH_BINS)), key=lambda i: abs(math.log(quarters / LENGTH_BINS[i])))


def midi_histograms(data: bytes) -> dict[str, list[int]]:
    """Pitch-class, interval and note-length counts of the note tracks of a MIDI file."""
    import mido
    mid = mido.MidiFile(file=io.BytesIO(data))
    hist = {"pitch_class": [0] * 12, "interval": [0] * 25, "length": [0] * len(LENGTH_BINS)}
    for track in mid.tracks:
        if any(m.type == "text" and m.text in ("gchord track", "drum track", "drone track")
               for m in track[:3]):
            continue
        now, active, notes = 0, {}, []
        for msg in track:
            now += msg.time
            if msg.type not in ("note_on", "note_off") or msg.channel == 9:
                continue
            if msg.type == "note_on" and msg.velocity > 0:
                active[msg.note] = now
            elif msg.note in active:
                start = active.pop(msg.note)
                notes.append((start, msg.note, now - start))
        _count_notes(sorted(notes), mid.ticks_per_beat, hist)
    return hist


def _count_notes(notes: list[tuple[int, int, int]], tpb: int, hist: dict) -> None:
    melody = {}                              # onset -> highest pitch (melody line)
    for start, pitch, ticks in notes:
        hist["pitch_class"][pitch % 12] += 1
        if ticks > 0:
            hist["length"][_length_bin(ticks / tpb)] += 1
        melody[start] = max(pitch, melody.get(start, pitch))
    line = [melody[t] for t in sorted(melody)]
    for a, b in zip(line, line[1:]):
        hist["interval"][max(-12, min(12, b - a)) + 12] += 1


def normalise(counts: list[int]) -> list[float] | None:
    total = sum(counts)
    return [c / total for c in counts] if total else None


def overlap(p: list[float] | None, q: list[float] | None) -> float | None:
    """MGEval-style overlapping area of two normalised histograms (1 = identical)."""
    return None if p is None or q is None else sum(map(min, p, q))


def kl_divergence(p: list[float] | None, q: list[float] | None, eps: float = KL_EPS) -> float | None:
    """KL(p || q) in nats, both smoothed with ``eps`` and renormalised."""
    if p is None or q is None:
        return None
    zp, zq = 1 + eps * len(p), 1 + eps * len(q)
    return sum((a + eps) / zp * math.log(((a + eps) / zp) / ((b + eps) / zq)) for a, b in zip(p, q))
