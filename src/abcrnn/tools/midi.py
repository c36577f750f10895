"""How long a Standard MIDI File plays, read straight from its bytes.

Render asks this before synthesising audio, so a 60-byte tune that plays for
two weeks is refused before fluidsynth writes gigabytes. It walks the events
without building an object per message (mido would, for every note of a file
abc2midi may make as large as 500 kB), keeping only the tempo changes and the
time of the last event of each track.
"""
from __future__ import annotations

import bisect
import struct

DEFAULT_TEMPO = 500_000      # microseconds per quarter note when no tempo event is given
# data bytes after a channel status byte, by its high nibble
_DATA = {0x8: 2, 0x9: 2, 0xA: 2, 0xB: 2, 0xC: 1, 0xD: 1, 0xE: 2}


class MidiError(ValueError):
    """Not a MIDI file this reader understands."""


def _varlen(data: bytes, i: int) -> tuple[int, int]:
    value = 0
    for _ in range(4):                       # the format allows at most four bytes
        if i >= len(data):
            raise MidiError("a MIDI track ends inside a number")
        byte = data[i]
        i += 1
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return value, i
    raise MidiError("a MIDI number is longer than four bytes")


def _track(data: bytes, tempos: list[tuple[int, int]]) -> int:
    """Walk one track's events; add its tempo changes to ``tempos``; return its length in ticks."""
    i, tick, status = 0, 0, 0
    while i < len(data):
        delta, i = _varlen(data, i)
        tick += delta
        if i >= len(data):
            raise MidiError("a MIDI track ends inside an event")
        if data[i] & 0x80:
            status, i = data[i], i + 1
        if status == 0xFF:                   # meta event: type, length, data
            kind = data[i] if i < len(data) else -1
            size, i = _varlen(data, i + 1)
            if kind == 0x51 and size == 3:
                tempos.append((tick, int.from_bytes(data[i:i + 3], "big")))
            i += size
            status = 0                       # running status does not survive a meta event
        elif status in (0xF0, 0xF7):         # system exclusive: length, data
            size, i = _varlen(data, i)
            i += size
            status = 0
        elif status >> 4 in _DATA:
            i += _DATA[status >> 4]
        else:
            raise MidiError(f"unknown MIDI status byte 0x{status:02x}")
    if i > len(data):
        raise MidiError("a MIDI track ends inside an event")
    return tick


def midi_seconds(data: bytes) -> float:
    """Seconds from the start of a MIDI file to its last event (format 0 or 1)."""
    if len(data) < 14 or data[:4] != b"MThd":
        raise MidiError("not a MIDI file")
    size, _, n_tracks, division = struct.unpack(">IHHH", data[4:14])
    pos, tempos, end = 8 + size, [], 0
    for _ in range(n_tracks):
        if data[pos:pos + 4] != b"MTrk" or pos + 8 > len(data):
            raise MidiError("a MIDI track is missing or damaged")
        length = struct.unpack(">I", data[pos + 4:pos + 8])[0]
        if pos + 8 + length > len(data):
            raise MidiError("the MIDI file is truncated")
        end = max(end, _track(data[pos + 8:pos + 8 + length], tempos))
        pos += 8 + length
    if division & 0x8000:                    # SMPTE time: frames per second x ticks per frame
        fps, per_frame = 256 - (division >> 8), division & 0xFF
        return end / (fps * per_frame) if fps and per_frame else 0.0
    return _ticks_to_seconds(end, sorted(tempos, key=lambda t: t[0]), division or 1)


def _ticks_to_seconds(end: int, tempos: list[tuple[int, int]], per_quarter: int) -> float:
    seconds, tick, tempo = 0.0, 0, DEFAULT_TEMPO
    stop = bisect.bisect_right([t for t, _ in tempos], end)
    for at, new in tempos[:stop]:
        seconds += (at - tick) * tempo / per_quarter / 1e6
        tick, tempo = at, new
    return seconds + (end - tick) * tempo / per_quarter / 1e6


def too_long(data: bytes, max_seconds: float) -> str | None:
    """Why audio of this MIDI file must not be made (too long, unreadable), or None."""
    try:
        seconds = midi_seconds(data)
    except MidiError as e:
        return f"abc2midi wrote a MIDI file that cannot be read: {e}"
    if seconds > max_seconds:
        return (f"the music lasts {_clock(seconds)} ({seconds:,.0f} s); audio is made "
                f"for at most {_clock(max_seconds)}")
    return None


def _clock(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min {secs:02d} s" if secs else f"{minutes} min"
