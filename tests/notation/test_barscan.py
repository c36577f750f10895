"""IncrementalBars gives bar_report's answer for a tune that grows and is cut back."""
import random
from dataclasses import astuple
from pathlib import Path

import pytest

from abcrnn.corpus.read import load_corpus
from abcrnn.notation.bars import bar_report
from abcrnn.notation.barscan import IncrementalBars
from abcrnn.resources import bundled_corpus

ROOT = Path(__file__).resolve().parents[2]

VOICES = """X:1
T:Two voices, overlays and meter changes
M:4/4
L:1/8
K:D
V:1
|:A2 B2 c2 d2|e4 & c4|[M:3/4] A2 B2 c2|
V:2
D8|F4 A4|[L:1/4] D E F|
V:1
[M:4/4] d8:|2 (3ABc d4 e2|
M:6/8
ABc d>ef|g3 & e3 f3|
V:2
% a comment | with a bar line
z6|w: some words | here
D3 F3|]"""


def bars_of(report):
    return report.error, [astuple(b) for b in report.bars]


def check_walk(text: str, rng: random.Random) -> int:
    """Feed prefixes the way the guide does (at bar lines and line ends, sometimes
    cut back to an earlier point); every report must equal a full scan's."""
    inc, pos, checks = IncrementalBars(), 0, 0
    stops = [i + 1 for i, ch in enumerate(text) if ch in "|\n"] + [len(text)]
    while pos < len(stops):
        prefix = text[:stops[pos]]
        assert bars_of(inc.report(prefix)) == bars_of(bar_report(prefix)), prefix[-80:]
        checks += 1
        if rng.random() < 0.15 and pos > 2:
            pos -= rng.randint(1, 3)          # cut back a bar or a line or so, then grow again
        else:
            pos += 1
    return checks


def test_incremental_reports_equal_full_scans_on_voices_overlays_and_meter_changes():
    assert check_walk(VOICES, random.Random(0)) > 20


def test_incremental_reports_equal_full_scans_on_corpus_tunes():
    tunes = load_corpus(str(bundled_corpus())).tunes
    rng = random.Random(1)
    checks = sum(check_walk(t, rng) for t in rng.sample(tunes, 25))
    assert checks > 500


@pytest.mark.parametrize("edit", ["K:D\n", "M:3/4\n", "L:1/4\n"])
def test_a_changed_header_is_scanned_afresh(edit):
    head = "X:1\nT:t\nM:4/4\nL:1/8\nK:G\n"
    inc = IncrementalBars()
    inc.report(head + "ABcd efga|ABcd efga|\nB8|\n")
    other = head.replace("K:G\n", edit + "K:G\n") if edit != "K:D\n" else head.replace("K:G", "K:D")
    text = other + "ABcd efga|ABc|\n"
    assert bars_of(inc.report(text)) == bars_of(bar_report(text))


@pytest.mark.parametrize("bar, is_open", [("|:", True), ("::", True), (":|:", True), (":||:", True),
                                          (":|", False), (":|]", False), ("|", True), ("||", True)])
def test_a_repeat_stays_open_after_signs_that_open_one(bar, is_open):
    # after "|: ... <bar>", is a repeat open? ("|" and "||" leave the |: open)
    tune = "X:1\nT:t\nM:2/4\nL:1/8\nK:G\n|:GABc" + bar + "dcBA|d"
    assert IncrementalBars().open_bar(tune).repeat_open is is_open
