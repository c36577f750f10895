"""A browsable tunebook: one folder with every tune's sheet music, audio, MIDI
and ABC, and an ``index.html`` that opens straight from disk.

The page uses relative links only and no script, font or stylesheet from
anywhere else, so it works offline, from a zip, or copied to another machine.
"""
from __future__ import annotations

import html
import importlib.util
import shutil
from pathlib import Path
from urllib.parse import quote

from abcrnn.files import atomic_write
from abcrnn.music.render import RenderError, find_tools, render_tune, tune_field, unique_stems

_CSS = """
body { font-family: sans-serif; max-width: 60em; margin: 1em auto; padding: 0 1em; color: #222; }
section { border-top: 1px solid #ccc; padding: 1em 0; }
img.sheet { max-width: 100%; height: auto; background: #fff; }
pre.abc { background: #f6f6f6; padding: .6em; overflow-x: auto; }
p.error { color: #a00; font-family: monospace; white-space: pre-wrap; }
table.quality { border-collapse: collapse; margin: .5em 0; font-size: .9em; }
table.quality th, table.quality td { border: 1px solid #ccc; padding: .2em .6em; text-align: left; }
""".strip()


def _esc(value) -> str:
    return html.escape(str(value), quote=True)


def _href(name: str) -> str:
    # Stems are already [a-z0-9-], but quoting keeps the link right whatever
    # names render_tune is ever given.
    return _esc(quote(name))


def _format_value(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    return "–" if value is None else str(value)


def _quality_table(row: dict | None) -> str:
    if not row:
        return ""
    cells = "".join(f"<tr><th>{_esc(k)}</th><td>{_esc(_format_value(v))}</td></tr>"
                    for k, v in row.items())
    return f'<table class="quality">{cells}</table>'


def _media_html(stem: str, files: dict, title: str) -> str:
    audio = files.get("mp3") or files.get("wav")
    mime = "audio/mpeg" if audio.suffix == ".mp3" else "audio/wav"
    return (f'<img class="sheet" src="{_href(files["svg"].name)}" alt="{_esc(title)}">\n'
            f'<audio controls preload="none"><source src="{_href(audio.name)}" '
            f'type="{mime}">Your browser cannot play {_esc(audio.suffix[1:])} audio.</audio>\n'
            f'<p><a href="{_href(files["mid"].name)}">MIDI</a> · '
            + (f'<a href="{_href(files["musicxml"].name)}">MusicXML</a> · ' if "musicxml" in files else "")
            + f'<a href="{_href(stem + ".abc")}">ABC</a></p>')


def _tune_html(tune: str, stem: str, files: dict | None, error: str | None,
               row: dict | None) -> str:
    title = tune_field(tune, "T") or "(untitled)"
    media = (f'<p class="error">Could not render this tune: {_esc(error)}</p>'
             if error else _media_html(stem, files, title))
    return (f'<section id="{_esc(stem)}">\n<h2>{_esc(title)}</h2>\n{media}\n'
            f'{_quality_table(row)}\n<pre class="abc">{_esc(tune)}</pre>\n</section>')


def _page(title: str, stems: list[str], titles: list[str], sections: list[str]) -> str:
    toc = "".join(f'<li><a href="#{_esc(s)}">{_esc(t)}</a></li>' for s, t in zip(stems, titles))
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<title>{_esc(title)}</title>\n<style>\n{_CSS}\n</style>\n</head>\n<body>\n'
            f'<h1>{_esc(title)}</h1>\n<ol>{toc}</ol>\n' + "\n".join(sections)
            + "\n</body>\n</html>\n")


def _render_one(tune: str, out_dir: Path, stem: str, formats: tuple, timeout: float):
    """(files, None) on success, (None, message) when this tune cannot be rendered."""
    atomic_write(out_dir / f"{stem}.abc", tune.rstrip("\n") + "\n")
    try:
        return render_tune(tune, out_dir, formats, stem=stem, timeout=timeout), None
    except (RenderError, ValueError) as e:
        return None, str(e)


def write_tunebook(tunes: list[str], out_dir, quality_rows: list[dict] | None = None,
                   title: str = "abcrnn tunebook", timeout: float = 60) -> Path:
    """Render ``tunes`` into ``out_dir`` and write ``out_dir/index.html``.

    Each tune gets an SVG score, MIDI, MP3 (WAV when lame is missing) and its
    ``.abc`` text. ``quality_rows[i]`` (metric name -> value) is shown as a table
    under tune i. A tune that fails to render still appears, with the error in
    place of the score. Returns the path of index.html.
    """
    if quality_rows is not None and len(quality_rows) != len(tunes):
        raise ValueError(f"{len(quality_rows)} quality rows for {len(tunes)} tunes")
    # MP3 is ~10x smaller than WAV; fall back rather than fail without lame.
    formats = ("svg", "mid", "mp3" if shutil.which("lame") else "wav")
    if importlib.util.find_spec("music21") is not None:     # for MuseScore and other editors
        formats += ("musicxml",)
    # A missing program is not any one tune's fault: fail once, clearly, up front.
    find_tools(formats)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stems = unique_stems(tunes)
    sections = []
    for i, (tune, stem) in enumerate(zip(tunes, stems)):
        files, error = _render_one(tune, out_dir, stem, formats, timeout)
        row = quality_rows[i] if quality_rows is not None else None
        sections.append(_tune_html(tune, stem, files, error, row))
    titles = [tune_field(t, "T") or "(untitled)" for t in tunes]
    index = out_dir / "index.html"
    atomic_write(index, _page(title, stems, titles, sections))
    return index
