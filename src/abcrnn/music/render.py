"""Turn ABC tunes into MIDI, audio, sheet music and previews with the Debian tools.

Tool chain (each step feeds the next):
  ABC --abc2midi--> MID --fluidsynth--> WAV --lame--> MP3
  ABC --abcm2ps -g--> SVG
  ABC --abcm2ps--> PS --gs pdfwrite--> PDF
  ABC --abcm2ps -E--> EPS --gs png16m, cropped--> PNG (first page)

Everything is written into a hidden temporary folder inside ``out_dir`` under
fixed internal names, and only once every requested format exists are the files
moved to their final names (files.place: a rename, or written through a device or a
FIFO, never over one). So a failure never leaves half a tune's files behind, and hostile titles never reach a command line.

Every program runs within ``limits`` (tools/bounded.py: seconds, messages kept,
bytes of any file, memory), a tune tools/screen.py refuses (directives that read
files, long play orders) reaches none of them, and audio is made only for music
that lasts at most ``max_audio_seconds`` (read from the MIDI file first), so a
60-byte tune that plays for two weeks is refused instead of filling the disk.
"""
from __future__ import annotations

import os
import re
import sys
import tempfile
import unicodedata
from dataclasses import replace
from pathlib import Path

from abcrnn.notation.tunes import header_and_body, split_abc
from abcrnn.corpus.read import read_text
from abcrnn.tools.bounded import Limits, Outcome, run_tool
from abcrnn.tools.midi import too_long
from abcrnn.tools.programs import MissingToolError, require_tool, soundfont_path
from abcrnn.tools.screen import refusal
from abcrnn.files import place

FORMATS = ("mid", "wav", "mp3", "svg", "pdf", "png", "musicxml")
SAMPLE_RATE = 44100
PNG_DPI = 110          # a letter/A4 page at 110 dpi is ~935 px wide: notes readable
FLUID_GAIN = "0.8"     # fluidsynth's default 0.2 peaks near -25 dBFS for one melody line
MAX_TITLE_CHARS = 60
MAX_AUDIO_SECONDS = 20 * 60    # WAV at 44.1 kHz stereo: 212 MB; within Limits().file_bytes

# The programs (and whether the soundfont is needed) for each format, including
# what the formats it is made from need.
_NEEDS = {"mid": ("abc2midi",), "wav": ("abc2midi", "fluidsynth"),
          "mp3": ("abc2midi", "fluidsynth", "lame"), "svg": ("abcm2ps",),
          "pdf": ("abcm2ps", "gs"), "png": ("abcm2ps", "gs"), "musicxml": ()}


class RenderError(RuntimeError):
    """A tune could not be rendered; the message is meant for the user."""


def tune_field(tune: str, name: str) -> str:
    """Value of the first header field ``name:`` (e.g. "T"), or "" if absent."""
    header, _ = header_and_body(tune)
    for line in header:
        if line.startswith(name + ":"):
            return line[2:].strip()
    return ""


def _slug(text: str) -> str:
    # NFKD splits accented letters into letter + accent so "Réel" -> "reel"
    # instead of losing the letter; anything else non-ASCII is dropped.
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:MAX_TITLE_CHARS].rstrip("-")


def tune_filename(tune: str, index: int) -> str:
    """Safe file stem such as ``003-the-silver-spear``.

    The number is the tune's ``X:`` number, or ``index`` when the X: field is
    missing or not a number. Only ``[a-z0-9-]``, never empty, never starts with
    a dot, at most ~70 characters.
    """
    digits = re.match(r"\d+", tune_field(tune, "X"))
    number = int(digits.group()[:9]) if digits else abs(int(index))
    return f"{number:03d}-{_slug(tune_field(tune, 'T')) or 'untitled'}"


def unique_stems(tunes: list[str]) -> list[str]:
    """``tune_filename`` for each tune (index 1-based), with ``-2``, ``-3``...
    added to repeats so two tunes never overwrite each other's files."""
    stems, seen = [], set()
    for i, tune in enumerate(tunes, start=1):
        stem, n = tune_filename(tune, i), 1
        while (stem if n == 1 else f"{stem}-{n}") in seen:
            n += 1
        stem = stem if n == 1 else f"{stem}-{n}"
        seen.add(stem)
        stems.append(stem)
    return stems


def _run(cmd: list[str], cwd: Path, limits: Limits, what: str) -> Outcome:
    result = run_tool(cmd, cwd, limits)
    if result.failure:
        raise RenderError(result.problem(what))
    return result


def _first_error(output: str) -> str:
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    for line in lines:
        if "error" in line.lower():
            return line
    return lines[-1] if lines else "no output"


def _expect(result: Outcome, produced: Path, what: str, limits: Limits) -> Path:
    # The output file is the only reliable sign of success: abc2midi exits 0 on
    # garbage, and abcm2ps exits 1 on small errors it still renders around.
    if not produced.is_file() or produced.stat().st_size == 0:
        raise RenderError(f"{what} failed: {_first_error(result.output)}")
    if produced.stat().st_size > limits.file_bytes:    # RLIMIT_FSIZE should have stopped it
        raise RenderError(f"{what} wrote more than {limits.file_bytes:,} bytes")
    return produced


def _make_mid(work: Path, tools: dict, limits: Limits) -> Path:
    out = work / "tune.mid"
    result = _run([tools["abc2midi"], "tune.abc", "-o", out.name], work, limits, "abc2midi")
    if result.returncode != 0:      # it gave up, maybe after writing half a file
        raise RenderError(f"abc2midi stopped with exit status {result.returncode}: "
                          f"{_first_error(result.output)}")
    return _expect(result, out, "abc2midi", limits)


def _check_length(mid: Path, max_seconds: float) -> None:
    problem = too_long(mid.read_bytes(), max_seconds)
    if problem:
        raise RenderError(problem)


def _make_wav(work: Path, tools: dict, limits: Limits) -> Path:
    out = work / "tune.wav"
    # -n: no MIDI input driver, -i: no interactive shell, -F: render to file as
    # fast as possible; -q keeps the banner out of error messages.
    cmd = [tools["fluidsynth"], "-n", "-i", "-q", "-g", FLUID_GAIN, "-T", "wav",
           "-F", out.name, "-r", str(SAMPLE_RATE), str(tools["soundfont"]), "tune.mid"]
    result = _run(cmd, work, limits, "fluidsynth")
    if "failed to load" in result.output.lower():    # it still writes silence, and exits 0
        raise RenderError(f"fluidsynth could not load the soundfont: {_first_error(result.output)}")
    return _expect(result, out, "fluidsynth", limits)


def _make_mp3(work: Path, tools: dict, limits: Limits) -> Path:
    out = work / "tune.mp3"
    cmd = [tools["lame"], "--quiet", "-V", "4", "tune.wav", out.name]
    return _expect(_run(cmd, work, limits, "lame"), out, "lame", limits)


def _make_svg(work: Path, tools: dict, limits: Limits) -> Path:
    # -g writes one SVG per tune named <O>001.svg; -S (secure mode) refuses
    # embedded PostScript, which generated text has no business containing.
    result = _run([tools["abcm2ps"], "-S", "-g", "-O", "tune", "tune.abc"], work, limits, "abcm2ps")
    return _expect(result, work / "tune001.svg", "abcm2ps (SVG)", limits)


def _make_ps(work: Path, tools: dict, limits: Limits) -> Path:
    result = _run([tools["abcm2ps"], "-S", "-O", "tune.ps", "tune.abc"], work, limits, "abcm2ps")
    return _expect(result, work / "tune.ps", "abcm2ps (PostScript)", limits)


def _gs(tools: dict, device: str, extra: list[str], src: str, dst: str) -> list[str]:
    return [tools["gs"], "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", f"-sDEVICE={device}",
            *extra, f"-sOutputFile={dst}", src]


def _make_pdf(work: Path, tools: dict, limits: Limits) -> Path:
    ps = _make_ps(work, tools, limits)
    cmd = _gs(tools, "pdfwrite", [], ps.name, "tune.pdf")
    return _expect(_run(cmd, work, limits, "ghostscript"), work / "tune.pdf", "ghostscript (PDF)", limits)


def _make_png(work: Path, tools: dict, limits: Limits) -> Path:
    # EPS of the first page, cropped to its bounding box: the preview shows the
    # music, not a mostly white letter page. Anti-aliasing keeps staff lines legible.
    result = _run([tools["abcm2ps"], "-S", "-E", "-O", "page.eps", "tune.abc"], work, limits, "abcm2ps")
    pages = sorted(work.glob("page*.eps"))
    _expect(result, pages[0] if pages else work / "page001.eps", "abcm2ps (EPS)", limits)
    extra = [f"-r{PNG_DPI}", "-dEPSCrop", "-dTextAlphaBits=4", "-dGraphicsAlphaBits=4"]
    cmd = _gs(tools, "png16m", extra, pages[0].name, "tune.png")
    return _expect(_run(cmd, work, limits, "ghostscript"), work / "tune.png", "ghostscript (PNG)", limits)


def _make_musicxml(work: Path, tools: dict, limits: Limits) -> Path:
    out = work / "tune.musicxml"
    cmd = [sys.executable, "-m", "abcrnn.music.musicxml", "tune.abc", out.name]
    return _expect(_run(cmd, work, limits, "music21"), out, "MusicXML (music21)", limits)


# In dependency order: a format's inputs are always made before it.
_STEPS = (("mid", _make_mid), ("wav", _make_wav), ("mp3", _make_mp3),
          ("svg", _make_svg), ("pdf", _make_pdf), ("png", _make_png), ("musicxml", _make_musicxml))
_INPUTS = {"wav": {"mid"}, "mp3": {"mid", "wav"}, "pdf": set(), "png": set()}


def find_tools(formats) -> dict:
    """Paths of every program (and the soundfont) the formats need.

    Checked before any work so a missing tool fails fast and clearly."""
    tools = {}
    for fmt in formats:
        for name in _NEEDS[fmt]:
            tools[name] = require_tool(name)
        if fmt in ("wav", "mp3"):
            tools["soundfont"] = soundfont_path()
    tools["prlimit"] = require_tool("prlimit")        # every program runs under it
    return tools


def _check_formats(formats) -> tuple[str, ...]:
    if isinstance(formats, str):  # render_tune(t, d, "mid") means ("mid",), not m, i, d
        formats = (formats,)
    formats = tuple(dict.fromkeys(formats))  # keep order, drop repeats
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise ValueError(f"formats must be some of {', '.join(FORMATS)}; got {list(formats)}")
    return formats


def render_tune(abc_text: str, out_dir, formats=FORMATS, stem: str | None = None,
                timeout: float | None = None, limits: Limits | None = None,
                max_audio_seconds: float = MAX_AUDIO_SECONDS) -> dict[str, Path]:
    """Render one tune to ``out_dir/<stem>.<fmt>`` for each format.

    ``stem`` defaults to ``tune_filename(abc_text, 1)``. Each program runs within
    ``limits`` (default ``Limits()``; ``timeout`` overrides its seconds). Returns
    {format: path}. Raises MissingToolError before doing anything if a tool is
    missing, and RenderError (with nothing written to out_dir) if the tune is
    refused, its music lasts longer than ``max_audio_seconds`` when audio is asked
    for, or any step fails or passes a limit.
    """
    formats = _check_formats(formats)
    if len(split_abc(abc_text)) > 1:
        raise ValueError("render_tune takes one tune; use render_file for several")
    stem = stem or tune_filename(abc_text, 1)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", stem) or ".." in stem:
        raise ValueError(f"unsafe file stem {stem!r}")
    refused = refusal(abc_text)
    if refused:
        raise RenderError(f"line {refused[0]}: {refused[1]}")
    limits = limits or Limits()
    limits = limits if timeout is None else replace(limits, seconds=timeout)
    tools = find_tools(formats)
    wanted = set(formats).union(*(_INPUTS.get(f, set()) for f in formats))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    # The work folder sits inside out_dir so os.replace never crosses filesystems.
    with tempfile.TemporaryDirectory(prefix=".render-", dir=out_dir) as tmp:
        work = Path(tmp)
        (work / "tune.abc").write_text(abc_text.rstrip("\n") + "\n", encoding="utf-8")
        made = {}
        for fmt, make in _STEPS:
            if fmt in wanted:
                if fmt == "wav":          # before fluidsynth writes a byte of it
                    _check_length(made["mid"], max_audio_seconds)
                made[fmt] = make(work, tools, limits)
        final = {}
        for fmt in formats:
            final[fmt] = out_dir / f"{stem}.{fmt}"
            place(made[fmt], final[fmt])        # files.py: never over a device or a FIFO
    return final


def render_file(path_or_text, out_dir, formats=FORMATS, timeout: float | None = None,
                limits: Limits | None = None) -> list[dict]:
    """Render every tune of an ABC file (a path, or the ABC text itself).

    Returns one {format: path} dict per tune, in file order. Stops at the first
    tune that fails (files of the tunes before it stay)."""
    # ABC text always has several lines; a one-line string is taken as a path.
    is_path = isinstance(path_or_text, os.PathLike) or "\n" not in path_or_text
    text = read_text(Path(path_or_text)) if is_path else path_or_text
    tunes = split_abc(text)
    if not tunes:
        raise RenderError("no tune found (a tune starts at an X: line)")
    results = []
    for tune, stem in zip(tunes, unique_stems(tunes)):
        try:
            results.append(render_tune(tune, out_dir, formats, stem=stem, timeout=timeout,
                                       limits=limits))
        except MissingToolError:
            raise  # not the tune's fault: the message is already complete
        except RenderError as e:
            raise RenderError(f"tune {stem}: {e}") from e
    return results
