"""A tune cannot make abcrnn read local files: ``%%abc-include FILE`` (and the other
directives of abcm2ps and abc2midi that open a file) is refused in every path that
runs those programs, and the file's text reaches no output and no message.

Before the fix abcm2ps printed the included file's T: and %%text lines into the
SVG, and both programs quoted its lines in their error messages."""
from __future__ import annotations

import json
import shutil

import pytest

from abcrnn.cli.main import main
from abcrnn.music.evaluate import evaluate_tunes
from abcrnn.music.render import RenderError, render_tune
from abcrnn.tools.abc2midi import check_abc
from abcrnn.tools.screen import FILE_DIRECTIVES, refusal
from shippedclient import client  # noqa: F401 - the fixture

needs_tools = pytest.mark.skipif(not (shutil.which("abc2midi") and shutil.which("abcm2ps")),
                                 reason="apt-get install abcmidi abcm2ps")

MARKER = "SECRET-MARKER-7f3a"
CORPUS = ["X:1\nT:Scale Reel\nM:4/4\nL:1/8\nK:D\nDEFG ABcd|dcBA GFED|DEFG ABcd|d8|]"]


@pytest.fixture
def secret(tmp_path):
    """A local file that abcm2ps would print into the score if it included it."""
    path = tmp_path / "private" / "notes.abc"
    path.parent.mkdir()
    path.write_text(f"T:{MARKER}\n%%text {MARKER}\nw:{MARKER}\n")
    return path


def _tune(line: str) -> str:
    return f"X:1\nT:Include\nM:4/4\nL:1/4\nK:C\n{line}\nC D E F|G A B c|]\n"


SPELLINGS = ["%%abc-include {}", "  %%abc-include {}", "%% abc-include {}", "%%abc-include\t{}",
             "I:abc-include {}", "I: abc-include {}", "C D [I:abc-include {}] E F|", "%%ABC-INCLUDE {}",
             "%%format {}", "I:format {}", "%%EPS {}", "%%MIDI ptstress {}", "I:MIDI  ptstress {}"]


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_every_spelling_of_a_file_directive_is_refused(spelling):
    line, reason = refusal(_tune(spelling.format("/etc/hostname")))
    assert line == 6 and reason.endswith("reads a file: abcrnn refuses directives that read files")
    assert any(reason.startswith(f"%%{d} ") for d in FILE_DIRECTIVES)


@pytest.mark.parametrize("line", ["%%MIDI program 41", "%%textfont Times 12", "% %%abc-include x",
                                  "%%abc-includes x", "%%formatting", "w: the format of it", "I:linebreak $"])
def test_other_directives_and_comments_are_left_alone(line):
    assert refusal(_tune(line)) is None


@needs_tools
@pytest.mark.parametrize("spelling", ["%%abc-include {}", "I:abc-include {}", "  %%abc-include {}",
                                      "%%format {}"])
def test_an_included_file_never_reaches_a_render_or_its_message(tmp_path, secret, spelling):
    out = tmp_path / "out"
    with pytest.raises(RenderError) as err:
        render_tune(_tune(spelling.format(secret)), out, ("mid", "svg", "pdf", "png"))
    assert str(err.value).startswith("line 6: %%") and MARKER not in str(err.value)
    assert not out.exists() or list(out.iterdir()) == []


@needs_tools
def test_render_command_and_tunebook_keep_the_file_out(tmp_path, secret, capsys):
    src = tmp_path / "tunes.abc"
    src.write_text(_tune(f"%%abc-include {secret}") + "\n" + _tune("").replace("X:1", "X:2"))
    assert main(["render", str(src), "--formats", "svg,mid", "--out", str(tmp_path / "plain")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("abcrnn: error: tune 001-include: line 6: %%abc-include reads a file")
    assert MARKER not in err and err.count("\n") == 1
    assert main(["render", str(src), "--tunebook", "--out", str(tmp_path / "book")]) == 0
    files = [p for p in (tmp_path / "book").rglob("*") if p.is_file()]
    assert any(p.suffix == ".svg" for p in files)             # the second tune still renders
    assert "%%abc-include reads a file" in (tmp_path / "book" / "index.html").read_text()
    for path in files + [p for p in (tmp_path / "plain").rglob("*") if p.is_file()]:
        assert MARKER.encode() not in path.read_bytes(), path


@needs_tools
def test_evaluation_refuses_the_directive_as_an_error_of_the_tune(tmp_path, secret):
    tune = _tune(f"%%abc-include {secret}")
    assert not check_abc(tune).valid
    report = evaluate_tunes([tune], CORPUS)
    refused = "%%abc-include reads a file: abcrnn refuses directives that read files"
    assert report.rows[0]["errors"] == [refused]
    assert not report.rows[0]["midi_written"] and MARKER not in json.dumps(report.rows)


@needs_tools
@pytest.mark.parametrize("route, body", [("/api/midi", {}), ("/api/audio", {"format": "wav"}),
                                         ("/api/musicxml", {})])
def test_web_renders_refuse_the_directive_with_422(client, secret, route, body):
    resp = client.post(route, json={"abc": _tune(f"I:abc-include {secret}"), **body})
    assert resp.status_code == 422, resp.status_code
    # the line is the user's, though the web writes an instrument line before rendering
    assert resp.json()["error"] == ("the tune could not be rendered: line 6: %%abc-include reads a "
                                    "file: abcrnn refuses directives that read files")
    assert MARKER not in resp.text
