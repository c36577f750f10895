"""The composer page in a real browser (Debian's headless Chromium via Playwright).

The real server runs under uvicorn on a free loopback port. Every request the
page makes is recorded and any that is not to that server is blocked, so the
test proves the page works with no network. Saves a screenshot to out/web.png
(to docs/img/web.png, the README's picture, when ABCRNN_DOCS_SCREENSHOT=1).
"""
from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
from conftest import TUNES, marked
from pagekit import Pages, assert_clean, generate, history_count, launched_chromium, running_app

from abcrnn.cli.main import main
from abcrnn.resources import shipped_model

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / ("docs/img/web.png" if os.environ.get("ABCRNN_DOCS_SCREENSHOT") else "out/web.png")
EDITED = "X:1\nT:Edited Waltz\nM:3/4\nL:1/4\nK:G\nG A B|c2 B|A G F|G3|]\n"


@pytest.fixture(scope="module")
def model_path(tmp_path_factory) -> Path:
    """$ABCRNN_WEB_TEST_MODEL, or the shipped model if there is one (so the
    screenshot shows real music), else one trained briefly on the tiny corpus."""
    chosen = os.environ.get("ABCRNN_WEB_TEST_MODEL")
    if chosen:
        return Path(chosen)
    if (shipped_model() / "model.json").is_file():
        return shipped_model()
    root = tmp_path_factory.mktemp("browsermodel")
    (root / "tiny.txt").write_bytes(marked(TUNES).encode())
    assert main(["train", "--corpus", str(root / "tiny.txt"), "--out", str(root / "m"),
                 "--hidden-size", "32", "--seq-len", "32", "--max-steps", "40", "--eval-interval", "40",
                 "--device", "cpu", "--quiet"]) == 0
    return root / "m"


@pytest.fixture(scope="module")
def server(model_path):
    with running_app([model_path]) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with launched_chromium() as b:
        yield b


@pytest.fixture
def page(browser, server):
    pages = Pages(browser)
    yield pages.open(server + "/")
    pages.close()


def notes(pg) -> int:
    return pg.locator("#paper svg .abcjs-note").count()


def test_compose_edit_play_download(page, tmp_path):
    pg = page
    pg.select_option("#meter", "6/8")
    pg.select_option("#key", "D")
    pg.select_option("#length", "1/8")
    pg.fill("#prime", "|:A")
    pg.fill("#temperature", "0.8")
    pg.fill("#seed", "2024")
    pg.dispatch_event("#seed", "change")            # typing a seed locks it
    assert pg.get_attribute("#seed-lock", "aria-pressed") == "true"

    first = generate(pg)
    header, music = first.split("\nK:D\n", 1)
    assert {"M:6/8", "L:1/8"} <= set(header.split("\n")) and music.startswith("|:A") and notes(pg) > 3
    assert generate(pg) == first                    # locked seed: the same tune again
    assert history_count(pg) == 2

    pg.click("#play")                               # notes light up as they sound
    pg.wait_for_selector("#paper .abcjs-note.playing", timeout=30_000)
    assert pg.inner_text("#play-label") == "Stop" and pg.inner_text("#status").startswith("Playing")
    time.sleep(1.0)
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(SCREENSHOT))
    pg.click("#play")
    assert pg.inner_text("#play-label") == "Play"
    assert pg.locator("#paper .playing").count() == 0

    with pg.expect_download() as dl:
        pg.click("#dl-abc")
    dl.value.save_as(tmp_path / "tune.abc")
    assert (tmp_path / "tune.abc").read_text() == first

    pg.fill("#abc", EDITED)                         # editing re-renders the music
    pg.wait_for_function("() => document.querySelector('#paper svg').textContent.includes('Edited Waltz')")
    pg.wait_for_function("() => document.querySelectorAll('#paper svg .abcjs-note').length === 9")
    assert "Edited Waltz" in pg.inner_text("#history li:nth-child(2)")
    assert pg.locator("#history li:nth-child(2) .versions button").all_inner_texts() == ["generated", "edit 1"]

    # MIDI of the edited tune: an untrained model's tunes may not make one.
    with pg.expect_download() as dl:
        pg.click("#dl-midi")
    midi = tmp_path / "tune.mid"
    dl.value.save_as(midi)
    assert midi.read_bytes()[:4] == b"MThd" and dl.value.suggested_filename == "edited-waltz.mid"
    with pg.expect_download(timeout=60_000) as dl:
        pg.click("#dl-audio")
    assert dl.value.suggested_filename == "edited-waltz.mp3"
    with pg.expect_download(timeout=60_000) as dl:
        pg.click("#dl-musicxml")
    dl.value.save_as(tmp_path / "tune.musicxml")
    assert dl.value.suggested_filename == "edited-waltz.musicxml"
    assert "Edited Waltz" in (tmp_path / "tune.musicxml").read_text()

    pg.click("#seed-lock")                          # unlocked: a new seed each time
    generate(pg, expect_notes=False)      # a random seed: who knows what it writes
    assert pg.input_value("#seed") != "2024"
    assert history_count(pg) == 3

    log = pg.log
    assert_clean(pg)
    assert not log["failed"], log["failed"]
    assert any(re.search(r"/soundfont/\w+-mp3/[A-G]b?\d\.mp3$", u) for u in log["requests"])


def test_rhythm_title_and_form_are_asked_as_the_cli_asks(page):
    from abcrnn.notation.form import form_facts
    page.select_option("#rhythm", "jig")
    page.select_option("#key", "G")
    page.select_option("#form", "AABB")
    page.fill("#title", "The Test Jig")
    page.fill("#seed", "5")
    page.dispatch_event("#seed", "change")
    abc = generate(page)
    header = abc.split("\nK:G\n")[0].split("\n")
    assert {"T:The Test Jig", "R:jig", "M:6/8"} <= set(header), abc
    parts = form_facts(abc).parts
    assert len(parts) == 2 and all(p.repeated for p in parts), abc
    assert page.get_by_text("The Test Jig").count() >= 1      # in the history list too


def test_refused_prime_shows_the_message(page):
    page.fill("#prime", "|:DFé")
    page.click("#generate")
    page.wait_for_selector("#status.error")
    assert "'é'" in page.inner_text("#status")


def test_api_docs_load_offline(page, server):
    page.goto(server + "/docs")
    page.get_by_text("/api/generate", exact=True).wait_for(timeout=30_000)
    assert_clean(page)
