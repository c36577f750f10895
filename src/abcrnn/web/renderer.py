"""The render API's work: one ABC tune -> MIDI, MusicXML or audio (music/render.py),
a few at a time, played by the instrument and at the tempo the page chose."""
from __future__ import annotations

import contextlib
import re
import tempfile
import threading

from abcrnn.music.render import RenderError, render_tune, tune_filename
from abcrnn.notation.tunes import header_and_body, split_abc
from abcrnn.tools.programs import MissingToolError
from abcrnn.tools.screen import refusal
from abcrnn.web.service import ApiError

WAIT_SECONDS = 30.0        # most a render waits for a free slot
RENDER_SECONDS = 30.0      # per external program (abc2midi, fluidsynth, lame)
RENDERS_AT_ONCE = 2        # one per core
PLAYED = ("mid", "mp3", "wav")      # the formats an instrument and a tempo apply to

_PROGRAM = re.compile(r"^\s*%%\s*MIDI\s+program\b", re.IGNORECASE)
_Q_LINE = re.compile(r"^Q:")
_Q_INLINE = re.compile(r"\[Q:[^\]\n]*\]")


def one_tune(abc: str) -> str:
    """The one tune in ``abc`` (422 for none or several)."""
    tunes = split_abc(abc.replace("\r\n", "\n"))
    if len(tunes) != 1:
        raise ApiError(422, "send exactly one tune (a tune starts at an X: line)"
                       if not tunes else f"send one tune at a time, not {len(tunes)}")
    return tunes[0]


def beat(meter: str) -> str:
    """The note a musician counts in ``meter``: a dotted quarter in 6/8, 9/8 and 12/8
    (a jig at 120 is 120 dotted quarters a minute), a half note in 2/2 and C|, else a
    quarter."""
    m = meter.replace(" ", "")
    if m in ("6/8", "9/8", "12/8"):
        return "3/8"
    return "1/2" if m in ("2/2", "C|") else "1/4"


def for_playback(tune: str, program: int | None, tempo: int | None, default_program: int) -> str:
    """``tune`` with its instrument and tempo settled: ``program`` (else the tune's own
    %%MIDI program, else ``default_program``) written after X:, and with ``tempo`` every
    Q: of the tune replaced by one Q: in the meter's beat (beat())."""
    header, body = header_and_body(tune)
    own = any(_PROGRAM.match(line) for line in header + body)
    if program is not None:
        header = [ln for ln in header if not _PROGRAM.match(ln)]
        body = [ln for ln in body if not _PROGRAM.match(ln)]
    elif own:
        program = None
    else:
        program = default_program
    if tempo is not None:
        meter = next((ln[2:].strip() for ln in header if ln.startswith("M:")), "4/4")
        header = [ln for ln in header if not _Q_LINE.match(ln)]
        body = [_Q_INLINE.sub("", ln) for ln in body if not _Q_LINE.match(ln)]
        header.insert(len(header) - 1 if header[-1].startswith("K:") else len(header),
                      f"Q:{beat(meter)}={tempo}")
    if program is not None:
        header.insert(1, f"%%MIDI program {program}")
    return "\n".join(header + body)


class Renderer:
    """ABC -> MIDI / MusicXML / audio through render.py, a few at a time."""

    def __init__(self, default_program: int = 40, at_once: int = RENDERS_AT_ONCE):
        self.default_program = default_program
        self._slots = threading.BoundedSemaphore(at_once)

    def render(self, abc: str, fmt: str, program: int | None = None,
               tempo: int | None = None) -> tuple[bytes, str]:
        """(file bytes, download name) for the one tune in ``abc``."""
        tune = one_tune(abc)
        refused = refusal(tune)     # before for_playback adds lines: the line named is the user's
        if refused:
            raise ApiError(422, f"the tune could not be rendered: line {refused[0]}: {refused[1]}")
        played = for_playback(tune, program, tempo, self.default_program) if fmt in PLAYED else tune
        try:
            # A fresh private folder per request: names never come from the client.
            with self.slot(), tempfile.TemporaryDirectory(prefix="abcrnn-web-") as tmp:
                paths = render_tune(played, tmp, formats=(fmt,), stem="tune", timeout=RENDER_SECONDS)
                data = paths[fmt].read_bytes()
        except MissingToolError as e:
            raise ApiError(503, str(e)) from None
        except RenderError as e:
            raise ApiError(422, f"the tune could not be rendered: {e}") from None
        return data, f"{tune_filename(tune, 1)}.{fmt}"

    @contextlib.contextmanager
    def slot(self):
        """A render slot (503 after WAIT_SECONDS without one): for any work on external
        programs, the bar check's abc2midi too."""
        if not self._slots.acquire(timeout=WAIT_SECONDS):
            raise ApiError(503, "the server is busy rendering other tunes; try again in a moment")
        try:
            yield
        finally:
            self._slots.release()
