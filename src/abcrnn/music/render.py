"""Turn ABC tunes into MIDI, audio, sheet music and previews with the Debian tools.

Tool chain (each step feeds the next):
  ABC --abc2midi--> MID --fluidsynth--> WAV --lame--> MP3
  ABC --abcm2ps -g--> SVG
  ABC --abcm2ps--> PS --gs pdfwrite--> PDF
  ABC --abcm2ps -E--> EPS --gs png16m, cropped--> PNG (first page)

Everything is written into a hidden temporary folder inside ``out_dir`` under
fixed internal names, and only once every requested format exists are the files
moved to their final names with ``os.replace``. So a failure never leaves half a
tune's files behind, and hostile titles never reach a command line.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import unicodedata
from pathlib import Path

from abcrnn.notation.tunes import header_and_body, split_abc
from abcrnn.corpus.read import read_text
from abcrnn.tools.programs import MissingToolError, require_tool, soundfont_path

FORMATS = ("mid", "wav", "mp3", "svg", "pdf", "png", "musicxml")
SAMPLE_RATE = 44100
PNG_DPI = 110          # a letter/A4 page at 110 dpi is ~935 px wide: notes readable
FLUID_GAIN = "0.8"     # fluidsynth's default 0.2 peaks near -25 dBFS for one melody line
MAX_TITLE_CHARS = 60

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


def _run(cmd: list[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True,
                              errors="replace", timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise RenderError(f"{Path(cmd[0]).name} took longer than {timeout:g} s") from None


def _first_error(output: str) -> str:
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    for line in lines:
        if "error" in line.lower():
            return line
    return lines[-1] if lines else "no output"


def _expect(result: subprocess.CompletedProcess, produced: Path, what: str) -> Path:
    # The output file is the only reliable sign of success: abc2midi exits 0 on
    # garbage, and abcm2ps exits 1 on small errors it still renders around.
    if not produced.is_file() or produced.stat().st_size == 0:
        detail = _first_error(result.stdout + "\n" + result.stderr)
        raise RenderError(f"{what} failed: {detail}")
    return produced


def _make_mid(work: Path, tools: dict, timeout: float) -> Path:
    out = work / "tune.mid"
    result = _run([tools["abc2midi"], "tune.abc", "-o", out.name], work, timeout)
    return _expect(result, out, "abc2midi")


def _make_wav(work: Path, tools: dict, timeout: float) -> Path:
    out = work / "tune.wav"
    # -n: no MIDI input driver, -i: no interactive shell, -F: render to file as
    # fast as possible; -q keeps the banner out of error messages.
    cmd = [tools["fluidsynth"], "-n", "-i", "-q", "-g", FLUID_GAIN, "-T", "wav",
           "-F", out.name, "-r", str(SAMPLE_RATE), str(tools["soundfont"]), "tune.mid"]
    return _expect(_run(cmd, work, timeout), out, "fluidsynth")


def _make_mp3(work: Path, tools: dict, timeout: float) -> Path:
    out = work / "tune.mp3"
    cmd = [tools["lame"], "--quiet", "-V", "4", "tune.wav", out.name]
    return _expect(_run(cmd, work, timeout), out, "lame")


def _make_svg(work: Path, tools: dict, timeout: float) -> Path:
    # -g writes one SVG per tune named <O>001.svg; -S (secure mode) refuses
    # embedded PostScript, which generated text has no business containing.
    result = _run([tools["abcm2ps"], "-S", "-g", "-O", "tune", "tune.abc"], work, timeout)
    return _expect(result, work / "tune001.svg", "abcm2ps (SVG)")


def _make_ps(work: Path, tools: dict, timeout: float) -> Path:
    result = _run([tools["abcm2ps"], "-S", "-O", "tune.ps", "tune.abc"], work, timeout)
    return _expect(result, work / "tune.ps", "abcm2ps (PostScript)")


def _gs(tools: dict, device: str, extra: list[str], src: str, dst: str) -> list[str]:
    return [tools["gs"], "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", f"-sDEVICE={device}",
            *extra, f"-sOutputFile={dst}", src]


def _make_pdf(work: Path, tools: dict, timeout: float) -> Path:
    ps = _make_ps(work, tools, timeout)
    cmd = _gs(tools, "pdfwrite", [], ps.name, "tune.pdf")
    return _expect(_run(cmd, work, timeout), work / "tune.pdf", "ghostscript (PDF)")


def _make_png(work: Path, tools: dict, timeout: float) -> Path:
    # EPS of the first page, cropped to its bounding box: the preview shows the
    # music, not a mostly white letter page. Anti-aliasing keeps staff lines legible.
    result = _run([tools["abcm2ps"], "-S", "-E", "-O", "page.eps", "tune.abc"], work, timeout)
    pages = sorted(work.glob("page*.eps"))
    _expect(result, pages[0] if pages else work / "page001.eps", "abcm2ps (EPS)")
    extra = [f"-r{PNG_DPI}", "-dEPSCrop", "-dTextAlphaBits=4", "-dGraphicsAlphaBits=4"]
    cmd = _gs(tools, "png16m", extra, pages[0].name, "tune.png")
    return _expect(_run(cmd, work, timeout), work / "tune.png", "ghostscript (PNG)")


def _make_musicxml(work: Path, tools: dict, timeout: float) -> Path:
    out = work / "tune.musicxml"
    result = _run([sys.executable, "-m", "abcrnn.music.musicxml", "tune.abc", out.name], work, timeout)
    return _expect(result, out, "MusicXML (music21)")


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
                timeout: float = 60) -> dict[str, Path]:
    """Render one tune to ``out_dir/<stem>.<fmt>`` for each format.

    ``stem`` defaults to ``tune_filename(abc_text, 1)``. Returns {format: path}.
    Raises MissingToolError before doing anything if a tool is missing, and
    RenderError (with nothing written to out_dir) if any step fails.
    """
    formats = _check_formats(formats)
    if len(split_abc(abc_text)) > 1:
        raise ValueError("render_tune takes one tune; use render_file for several")
    stem = stem or tune_filename(abc_text, 1)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", stem) or ".." in stem:
        raise ValueError(f"unsafe file stem {stem!r}")
    tools = find_tools(formats)
    wanted = set(formats).union(*(_INPUTS.get(f, set()) for f in formats))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    # The work folder sits inside out_dir so os.replace never crosses filesystems.
    with tempfile.TemporaryDirectory(prefix=".render-", dir=out_dir) as tmp:
        work = Path(tmp)
        (work / "tune.abc").write_text(abc_text.rstrip("\n") + "\n", encoding="utf-8")
        made = {fmt: make(work, tools, timeout) for fmt, make in _STEPS if fmt in wanted}
        final = {}
        for fmt in formats:
            final[fmt] = out_dir / f"{stem}.{fmt}"
            os.replace(made[fmt], final[fmt])
    return final


def render_file(path_or_text, out_dir, formats=FORMATS, timeout: float = 60) -> list[dict]:
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
            results.append(render_tune(tune, out_dir, formats, stem=stem, timeout=timeout))
        except MissingToolError:
            raise  # not the tune's fault: the message is already complete
        except RenderError as e:
            raise RenderError(f"tune {stem}: {e}") from e
    return results
