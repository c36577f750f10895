"""Is a tune valid ABC? Ask abc2midi (Debian package ``abcmidi``).

abc2midi prints every message on stdout and exits 0 even for garbage, so its
text is parsed: a tune is valid when a MIDI file is written and no ``Error``
line appears except the ``HARMLESS_ERRORS`` (they concern metadata abc2midi
does not need to play the tune; they are listed in reports, not counted).
This is the one definition of validity: evaluation, corpus cleaning and the
sampling guide all use it.

abc2midi runs within the bounds of tools/bounded.py (time, messages kept, file
size, memory), and a tune tools/screen.py refuses (file directives, long play
orders) is not run at all. When abc2midi is stopped by a limit or a signal, or
gives up with a non-zero exit status (it does after writing half a MIDI file, e.g.
"file runaway"), its messages and file are dropped and one ``Error`` line says what
happened: the tune is invalid with a category of its own, whatever it printed.
"""
from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

from abcrnn.tools.bounded import Limits, run_tool
from abcrnn.tools.screen import refusal

TIMEOUT = 10.0           # seconds per tune
# abc2midi gives up by itself past a 500 kB MIDI file and needs ~12 MB of memory.
LIMITS = Limits(seconds=TIMEOUT, output_bytes=1 << 20, file_bytes=16 << 20, memory_bytes=512 << 20)
# category (see error_category) -> why it does not count
HARMLESS_ERRORS = {
    "Hornpipe must be in N/N or N/N time": "R:Hornpipe asks abc2midi for swing; R: is free text for us",
    "I: key '…' not recognized": "an unknown I: instruction (I:abc2nwc...), ignored by players",
    "malformed Q: field ignored": "tempo only",
}
_LOCATED = re.compile(r"^(Error|Warning)(?: in line-char (\d+)-(\d+))?\s*:\s*(.*)$")


class Abc2midiMissing(FileNotFoundError):
    pass


def abc2midi_path() -> str:
    path = shutil.which("abc2midi")
    if path is None:
        raise Abc2midiMissing("abc2midi not found: install the Debian package 'abcmidi' "
                              "(apt-get install abcmidi)")
    return path


def error_category(message: str) -> str:
    """Group abc2midi messages: quoted names -> …, numbers -> N, single spaces."""
    msg = re.sub(r'"[^"]*"', '"…"', message)
    msg = re.sub(r"'[^']{2,}'", "'…'", msg)          # keeps '!' or '+' (single characters)
    msg = re.sub(r"^(Unrecognized character:).*", r"\1 …", msg)
    # numbers go, but not the 2 of "abc2midi", which names the program in our own lines
    return " ".join(re.sub(r"(?<!abc)\d+", "N", msg).split())


@dataclass
class Message:
    kind: str      # "Error" or "Warning"
    line: int      # 1-based line in the tune text (0 when abc2midi gives none)
    col: int
    text: str

    @property
    def category(self) -> str:
        return error_category(self.text)


def parse_messages(output: str) -> list[Message]:
    msgs = []
    for raw in output.splitlines():
        m = _LOCATED.match(raw.strip())
        if m:
            msgs.append(Message(m[1], int(m[2] or 0), int(m[3] or 0), m[4]))
    return msgs


def parse_abc2midi(output: str) -> tuple[list[str], list[str]]:
    """Error categories in abc2midi's output: (errors, harmless ones)."""
    errors, harmless = [], []
    for msg in parse_messages(output):
        if msg.kind == "Error":
            (harmless if msg.category in HARMLESS_ERRORS else errors).append(msg.category)
    return errors, harmless


def run_abc2midi(tune: str, timeout: float | None = None, options: tuple = (),
                 limits: Limits = LIMITS) -> tuple[str, bytes | None]:
    """abc2midi's messages and the MIDI file it wrote (None if none); see the module
    docstring for tunes refused or stopped. ``timeout`` overrides ``limits.seconds``."""
    exe = abc2midi_path()
    refused = refusal(tune)
    if refused:
        return f"Error in line-char {refused[0]}-0 : {refused[1]}", None
    limits = limits if timeout is None else replace(limits, seconds=timeout)
    with tempfile.TemporaryDirectory(prefix="abcrnn-abc2midi-") as tmp:
        src, out = Path(tmp) / "tune.abc", Path(tmp) / "tune.mid"
        src.write_text(tune + "\n", encoding="utf-8", errors="replace")
        result = run_tool([exe, src.name, "-o", out.name, *options], Path(tmp), limits)
        if result.failure:
            return f"Error: {result.problem('abc2midi')}", None
        if result.returncode != 0:
            last = next((ln.strip() for ln in reversed(result.output.splitlines()) if ln.strip()), "")
            return f"Error: abc2midi stopped with exit status {result.returncode}: {last[:100]}", None
        return result.output, (out.read_bytes() if out.exists() and out.stat().st_size else None)


@dataclass
class MidiCheck:
    midi: bytes | None
    errors: list[Message] = field(default_factory=list)     # real errors
    harmless: list[Message] = field(default_factory=list)   # listed, not counted
    warnings: list[Message] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return self.midi is not None and not self.errors


def check_abc(tune: str, timeout: float = TIMEOUT) -> MidiCheck:
    """Run abc2midi on one tune and sort its messages. Never raises on bad ABC."""
    output, midi = run_abc2midi(tune, timeout)
    check = MidiCheck(midi)
    for msg in parse_messages(output):
        if msg.kind == "Warning":
            check.warnings.append(msg)
        elif msg.category in HARMLESS_ERRORS:
            check.harmless.append(msg)
        else:
            check.errors.append(msg)
    if midi is None and not check.errors:
        check.errors.append(Message("Error", 0, 0, "no MIDI file written"))
    return check


_BAR_WARNING = re.compile(r"^Warning in line-char (\d+)-(\d+) : Track \d+ Bar \d+ has \S+ time units"
                          r" while the time signature has \S+( in repeat)?")


def abc2midi_bar_warnings(output: str, repeats: bool = False) -> set[tuple[int, int]]:
    """(line, column) of the bar lines abc2midi warns about ("Bar N has X time units...").

    Warnings ending in "in repeat" come from abc2midi replaying a repeat, where it
    joins the bar before ``:|`` with the first bar of the repeat; they are left
    out unless ``repeats``."""
    found = set()
    for line in output.splitlines():
        m = _BAR_WARNING.match(line)
        if m and (repeats or not m.group(3)):
            found.add((int(m.group(1)), int(m.group(2))))
    return found
