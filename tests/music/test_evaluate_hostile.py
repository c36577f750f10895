"""Evaluation stays bounded and deterministic on tunes that break abc2midi.

abc2midi misreads long parenthesised play orders (``P:(A)44`` on): the same tune
gave a different MIDI file, 420 MB of messages or a segmentation fault from run to
run, and its exit status was ignored. Now such a play order is refused before
abc2midi runs, and a run that crashes, passes a limit or exits non-zero fails its
tune with a category of its own. A crash cannot be made on demand with the real
abc2midi (its crashes are random, which is the point), so stand-in programs named
abc2midi, put first on PATH, crash, print without end, or give up on purpose."""
from __future__ import annotations

import os
import shutil
import time

import pytest

from abcrnn.music.evaluate import evaluate_tunes
from abcrnn.sampling.checks import line_errors
from abcrnn.tools.abc2midi import check_abc, run_abc2midi
from abcrnn.tools.bounded import Limits

pytestmark = pytest.mark.skipif(shutil.which("abc2midi") is None, reason="needs abc2midi")

GOOD = "X:1\nT:Good Reel\nM:4/4\nL:1/8\nK:G\nGA|:B2dB GBdB|c2ec BcdB|(3ABc dB AGFA|G2G2 G2:|"
CORPUS = ["X:1\nT:Scale Reel\nM:4/4\nL:1/8\nK:D\nDEFG ABcd|dcBA GFED|DEFG ABcd|d8|]",
          "X:2\nT:Jig\nM:6/8\nL:1/8\nK:G\nGAB cde|dBG AFD|GAB cde|d3 d3|]"]


def _parts(order: str, x: int) -> str:
    return f"X:{x}\nT:Parts {order}\nM:4/4\nL:1/8\nP:{order}\nK:G\nP:A\nGABc dedB|dedB dedB|\nP:B\ncBAG FGAB|"


HOSTILE = ([_parts("(A)9999999", x) for x in range(1, 7)]
           + [_parts("((((A)99)99)99)99", x) for x in range(7, 13)]
           + [_parts("(A)44", x) for x in range(13, 16)] + [_parts("(AB)21", 16)])
REFUSED = "the P: field plays more than N parts (abc2midi misreads long play orders)"


def _comparable(report) -> tuple:
    agg = {k: v for k, v in report.aggregate.items() if k != "seconds"}
    return report.rows, agg, report.histograms


def test_evaluation_of_hostile_play_orders_is_bounded_and_the_same_every_time():
    tunes = HOSTILE + [GOOD, _parts("(AB)2", 99)]
    start = time.monotonic()
    first = evaluate_tunes(tunes, CORPUS, workers=2)
    second = evaluate_tunes(tunes, CORPUS, workers=2)
    assert time.monotonic() - start < 30
    assert _comparable(first) == _comparable(second)
    for row in first.rows[:len(HOSTILE)]:
        assert not row["valid"] and not row["midi_written"] and row["errors"] == [REFUSED]
    assert first.rows[-2]["valid"] and first.rows[-1]["valid"]     # AABB-style orders still play
    assert first.aggregate["error_category_counts"] == {REFUSED: len(HOSTILE)}


def test_guide_line_check_gives_the_same_verdict_every_time():
    # sampling/checks.py asks abc2midi through the same runner: a header it would
    # misread is an error on its own line, every time.
    text = _parts("(A)44", 1)
    assert {line_errors(text, 5, final=True) for _ in range(8)} == {True}
    assert {line_errors(text, 5, final=False) for _ in range(8)} == {True}
    assert not line_errors(_parts("(AB)2", 1), 5, final=True)


def _fake_abc2midi(tmp_path, monkeypatch, script: str) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "abc2midi").write_text("#!/bin/sh\n" + script)
    (bin_dir / "abc2midi").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")


@pytest.mark.parametrize("script, category", [
    ("kill -SEGV $$\n", "abc2midi crashed (signal N, SIGSEGV)"),
    ("exec yes 'Error in line-char 1-1 : Part not defined'\n",
     "abc2midi printed more than N,N,N bytes of messages"),
    # what abc2midi does past a 500 kB MIDI file: half a file, a message, exit status 1
    ("printf 'MThd' > \"$3\"; echo 'eputc: aborting because of file runaway (infinite loop)'; exit 1\n",
     "abc2midi stopped with exit status N: eputc: aborting because of file runaway (infinite loop)"),
])
def test_a_tool_failure_is_a_category_of_its_own(tmp_path, monkeypatch, script, category):
    _fake_abc2midi(tmp_path, monkeypatch, script)
    corpus = [f"X:1\nT:Corpus for {category}\nM:4/4\nL:1/8\nK:D\nDEFG ABcd|]"]   # not the cached one
    start = time.monotonic()
    report = evaluate_tunes([GOOD, GOOD], corpus)
    assert time.monotonic() - start < 20
    assert [r["errors"] for r in report.rows] == [[category], [category]]
    assert not any(r["valid"] or r["midi_written"] for r in report.rows)
    assert report.aggregate["error_category_counts"] == {category: 2}


def test_messages_past_the_limit_stop_the_real_abc2midi():
    # 40 lines that each draw a bar-length warning print ~3.7 kB
    noisy = "X:1\nT:Noisy\nM:4/4\nL:1/8\nK:C\n" + "\n".join(["C2 D2 E2 F2 | c2 c2 c2 c2 c2 |"] * 40)
    output, midi = run_abc2midi(noisy, limits=Limits(output_bytes=1000))
    assert output == "Error: abc2midi printed more than 1,000 bytes of messages" and midi is None
    assert not check_abc(noisy, timeout=None).errors and check_abc(noisy, timeout=None).midi
