"""The composer page in a real browser (Debian's headless Chromium via Playwright).

The real server runs under uvicorn on a free loopback port. Every request the
page makes is recorded and any that is not to that server is blocked, so the
test proves the page works with no network. Saves a screenshot to out/web.png
(to docs/img/web.png, the README's picture, when ABCRNN_DOCS_SCREENSHOT=1).
"""
from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from conftest import TUNES, marked, serve_in_thread

from abcrnn.cli.main import main
from abcrnn.resources import shipped_model

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("ABCRNN_CHROMIUM", "/usr/bin/chromium")
SCREENSHOT = ROOT / ("docs/img/web.png" if os.environ.get("ABCRNN_DOCS_SCREENSHOT") else "out/web.png")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
# abcjs draws some malformed tunes (which an untrained model writes) with NaN
# coordinates; Chromium logs that as an error. It is abcjs's drawing, not ours.
ABCJS_GLITCH = re.compile(r"^Error: <\w+> attribute \w+: Expected \w+, .*NaN")
EDITED = "X:1\nT:Edited Waltz\nM:3/4\nL:1/4\nK:G\nG A B|c2 B|A G F|G3|]\n"


def _need(ok: bool, why: str) -> None:
    # Locally a missing browser or asset skips; in CI it must be there.
    if not ok:
        (pytest.fail if os.environ.get("CI") else pytest.skip)(why)


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
    """The real app under uvicorn in a thread, on a loopback port the OS picks."""
    pytest.importorskip("uvicorn")
    from abcrnn.web import soundfont
    from abcrnn.web.app import create_app
    from abcrnn.web.assets import vendor_file
    _need(vendor_file("abcjs-basic-min.js").is_file(), "abcjs is not installed: run make setup")
    soundfont.make_soundfont()              # a no-op when set-up already made the samples
    with serve_in_thread(create_app(model_path)) as url:
        yield url


@pytest.fixture
def page(server):
    sync_api = pytest.importorskip("playwright.sync_api")
    _need(Path(CHROMIUM).is_file() or bool(shutil.which(CHROMIUM)),
          f"{CHROMIUM} not found: apt-get install chromium")
    origin = urlsplit(server).netloc
    log = {"requests": [], "external": [], "failed": [], "errors": []}
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 820}, accept_downloads=True)
        pg = context.new_page()

        def gate(route):
            # Block (and record) anything not for our server, before it leaves.
            url = route.request.url
            log["requests"].append(url)
            if urlsplit(url).netloc == origin or url.startswith(("data:", "blob:")):
                route.continue_()
            else:
                log["external"].append(url)
                route.abort()
        context.route("**/*", gate)
        pg.on("requestfailed", lambda r: log["failed"].append(f"{r.url} {r.failure}"))
        pg.on("response", lambda r: r.status >= 400 and log["failed"].append(f"{r.url} {r.status}"))
        pg.on("console", lambda m: m.type == "error" and not ABCJS_GLITCH.search(m.text)
              and log["errors"].append(m.text))
        pg.on("pageerror", lambda e: log["errors"].append(str(e)))
        pg.log = log
        pg.goto(server + "/")
        pg.wait_for_selector('#meter option[value="6/8"]', state="attached")
        yield pg
        browser.close()


def notes(pg) -> int:
    return pg.locator("#paper svg .abcjs-note").count()


def generate(pg, expect_notes: bool = True) -> str:
    before = pg.locator("#history li button").count()
    pg.click("#generate")
    # Functions, not bare expressions: the page's CSP forbids eval of strings.
    pg.wait_for_function(f"() => document.querySelectorAll('#history li button').length > {before}"
                         " || document.querySelector('#status.error')", timeout=90_000)
    assert "error" not in (pg.get_attribute("#status", "class") or ""), pg.inner_text("#status")
    if expect_notes:
        pg.wait_for_selector("#paper svg .abcjs-note")
    return pg.input_value("#abc")


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
    assert pg.locator("#history li button").count() == 2

    pg.click("#play")                               # notes light up as they sound
    pg.wait_for_selector("#paper .abcjs-note.playing", timeout=30_000)
    assert pg.inner_text("#play-label") == "Stop" and pg.inner_text("#status") == "Playing"
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
    assert pg.locator("#history li button").count() == 3

    log = pg.log
    assert not log["external"], log["external"]
    assert not log["failed"], log["failed"]
    assert not log["errors"], log["errors"]
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
    assert not page.log["external"], page.log["external"]
    assert not page.log["errors"], page.log["errors"]
