"""What the browser tests share: headless Chromium (Debian's, via Playwright),
the real app under uvicorn, and pages that record every request and block any
that is not for the test's own server, so the tests prove the page works with
no network. (A plain module, not a conftest: a second conftest.py would shadow
tests/conftest.py, which the tests import by name.)"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from conftest import TUNES, serve_in_thread, tiny_model

CHROMIUM = os.environ.get("ABCRNN_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        "--autoplay-policy=no-user-gesture-required"]
VIEWPORTS = {"desktop": {"width": 1400, "height": 820}, "phone": {"width": 390, "height": 844}}
# abcjs draws some malformed tunes (which an untrained model writes) with NaN
# coordinates; Chromium logs that as an error. It is abcjs's drawing, not ours.
ABCJS_GLITCH = re.compile(r"^Error: <\w+> attribute \w+: Expected \w+, .*NaN")


def need(ok: bool, why: str) -> None:
    # Locally a missing browser or asset skips; in CI it must be there.
    if not ok:
        (pytest.fail if os.environ.get("CI") else pytest.skip)(why)


@contextlib.contextmanager
def launched_chromium():
    sync_api = pytest.importorskip("playwright.sync_api")
    need(Path(CHROMIUM).is_file() or bool(shutil.which(CHROMIUM)),
         f"{CHROMIUM} not found: apt-get install chromium")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def running_app(model_paths):
    """The real app (every model in ``model_paths``) under uvicorn on a loopback port."""
    pytest.importorskip("uvicorn")
    from abcrnn.web import soundfont
    from abcrnn.web.app import create_app
    from abcrnn.web.assets import vendor_file
    need(vendor_file("abcjs-basic-min.js").is_file(), "abcjs is not installed: run make setup")
    soundfont.make_soundfont()              # a no-op when set-up already made the samples
    with serve_in_thread(create_app(model_paths)) as url:
        yield url


def save_tiny(folder: Path, cell: str, hidden: int) -> Path:
    """An untrained tiny model folder: instant to make, fast to sample (its tunes are noise,
    which is all a test of the page's plumbing needs)."""
    from abcrnn.model.checkpoint import save_checkpoint
    from abcrnn.model.vocab import Vocab
    vocab = Vocab.from_texts([f"<start>\n{t}\n<end>" for t in TUNES])
    model = tiny_model(vocab, cell=cell, hidden_size=hidden)
    meta = {"model_config": model.config.to_dict(), "vocab": vocab.to_list(), "best_val_loss": 4.25,
            "num_params": sum(p.numel() for p in model.parameters())}
    save_checkpoint(folder, "model", model, meta, 7)
    return folder


def two_models(root: Path) -> list[Path]:
    return [save_tiny(root / "tiny-lstm", "lstm", 16), save_tiny(root / "tiny-gru", "gru", 24)]


class Pages:
    """Opens fresh pages (each its own context: storage, history) whose ``log``
    holds requests, POST bodies, blocked ones, failures and errors."""

    def __init__(self, browser):
        self.browser, self.contexts = browser, []

    def open(self, url: str, viewport: str = "desktop", wait_ready: bool = True):
        origin = urlsplit(url).netloc
        log = {"requests": [], "external": [], "failed": [], "errors": [], "bodies": []}
        context = self.browser.new_context(viewport=VIEWPORTS[viewport], accept_downloads=True)
        self.contexts.append(context)

        def gate(route):
            # Block (and record) anything not for our server, before it leaves.
            req_url = route.request.url
            log["requests"].append(req_url)
            if route.request.method == "POST":
                log["bodies"].append((urlsplit(req_url).path, route.request.post_data_json))
            if urlsplit(req_url).netloc == origin or req_url.startswith(("data:", "blob:")):
                route.continue_()
            else:
                log["external"].append(req_url)
                route.abort()
        context.route("**/*", gate)
        pg = context.new_page()
        pg.on("requestfailed", lambda r: log["failed"].append(f"{r.url} {r.failure}"))
        pg.on("response", lambda r: r.status >= 400 and log["failed"].append(f"{r.url} {r.status}"))
        pg.on("console", lambda m: m.type == "error" and not ABCJS_GLITCH.search(m.text)
              and "Failed to load resource" not in m.text and log["errors"].append(m.text))
        pg.on("pageerror", lambda e: log["errors"].append(str(e)))
        pg.log = log
        pg.goto(url)
        if wait_ready:
            pg.wait_for_selector("body[data-ready]")
        return pg

    def close(self) -> None:
        for context in self.contexts:
            context.close()
        self.contexts = []


def assert_clean(pg) -> None:
    """Nothing left the machine, nothing failed that the test did not ask to fail."""
    assert not pg.log["external"], pg.log["external"]
    assert not pg.log["errors"], pg.log["errors"]


def history_count(pg) -> int:
    return pg.locator("#history li a.entry").count()


def generate(pg, click: str = "#generate", expect_notes: bool = True) -> str:
    """Press Generate (or ``click`` something that generates); the new tune's ABC."""
    before = history_count(pg)
    pg.click(click)
    wait_for_tune(pg, before)
    if expect_notes:
        pg.wait_for_selector("#paper svg .abcjs-note")
    return pg.input_value("#abc")


def wait_for_tune(pg, before: int) -> None:
    # Functions, not bare expressions: the page's CSP forbids eval of strings.
    pg.wait_for_function(f"() => document.querySelectorAll('#history li a.entry').length > {before}"
                         " || document.querySelector('#status.error')", timeout=90_000)
    assert "error" not in (pg.get_attribute("#status", "class") or ""), pg.inner_text("#status")


def quick(pg, max_len: int = 200) -> None:
    """Short, unguided tunes: the tiny untrained models write noise, and fast."""
    pg.click("#compose summary")
    pg.fill("#max-len", str(max_len))
    pg.uncheck("#guide")
