"""The composer page's second round (issue 15), in headless Chromium at desktop
size and at 390 x 844 (a phone): permalinks, history versions, playback
controls, checks beside the ABC, the model menu, focus and tap targets.

One browser and one server (two tiny untrained models) serve the whole module;
tunes are short and unguided so each generation takes a fraction of a second.
"""
from __future__ import annotations

import io
from urllib.parse import parse_qs, urlsplit

import pytest
from pagekit import (Pages, assert_clean, generate, history_count, launched_chromium, quick,
                     running_app, two_models, wait_for_tune)

pytestmark = pytest.mark.slow
VIEWS = pytest.mark.parametrize("view", ["desktop", "phone"])
SHORT = "X:1\nT:Short One\nM:2/4\nL:1/8\nK:D\nDF A2|]\n"
WRONG_BAR = "X:1\nT:Wrong Bar\nM:3/4\nL:1/4\nK:G\nG A B|c2 B A|G3|]\n"
UNKNOWN_CHAR = "X:1\nT:Odd Symbol\nM:3/4\nL:1/4\nK:G\nG A B|c2 Bi|G3|]\n"
GOOD = "X:1\nT:Good Waltz\nM:3/4\nL:1/4\nK:G\nG A B|c2 B|G3|]\n"
REEL = "X:1\nT:Long Reel\nM:4/4\nL:1/8\nK:D\n" + "DFAF GBAF|EFGA BAFD|" * 6 + "\n"


@pytest.fixture(scope="module")
def browser():
    with launched_chromium() as b:
        yield b


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_app(two_models(tmp_path_factory.mktemp("webmodels"))) as url:
        yield url


@pytest.fixture
def pages(browser):
    p = Pages(browser)
    yield p
    p.close()


def query(href: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(href).query).items()}


def hrefs(pg) -> list[str]:
    return pg.eval_on_selector_all("#history a.entry", "els => els.map(e => e.getAttribute('href'))")


def show_entry(pg, i: int) -> str:
    pg.locator("#history a.entry").nth(i).click()
    pg.wait_for_function(f"() => document.querySelectorAll('#history a.entry')[{i}]"
                         ".classList.contains('current')")
    return pg.input_value("#abc")


def edit(pg, abc: str, title: str) -> None:
    pg.fill("#abc", abc)
    pg.wait_for_function(f"() => document.querySelector('#paper svg').textContent.includes('{title}')")


@VIEWS
def test_permalinks_reproduce_restore_and_history_keeps_versions(pages, server, view):
    pg = pages.open(server + "/", view)
    quick(pg)
    for sel, value in [("#meter", "2/4"), ("#key", "D"), ("#length", "1/8"), ("#rhythm", "polka")]:
        pg.select_option(sel, value)
    pg.fill("#title", "Link Jig")
    pg.fill("#prime", "|:A")
    pg.fill("#temperature", "0.85")
    pg.fill("#num-tunes", "2")
    generate(pg, expect_notes=False)
    links = hrefs(pg)
    assert len(links) == 2 and query(links[0])["seed"] != query(links[1])["seed"]   # a seed each
    assert query(links[0]) == {"seed": query(links[0])["seed"], "t": "0.85", "meter": "2/4", "key": "D",
                               "unit": "1/8", "rhythm": "polka", "title": "Link Jig", "form": "folk",
                               "opening": "|:A", "guide": "0", "len": "200", "model": "tiny-lstm"}
    assert pg.url.endswith(links[0]) and pg.input_value("#seed") == query(links[0])["seed"]
    made = [show_entry(pg, 0), show_entry(pg, 1)]
    assert made[0] != made[1] and pg.url.endswith(links[1])

    # Each tune of the batch, opened by its link in a fresh page: the same tune, every setting back.
    for link, abc in zip(links, made):
        other = pages.open(server + link, view)
        wait_for_tune(other, 0)
        assert other.input_value("#abc") == abc
        assert [other.input_value(s) for s in ("#seed", "#meter", "#key", "#length", "#rhythm",
                                               "#title", "#prime", "#temperature", "#max-len")] == \
            [query(link)["seed"], "2/4", "D", "1/8", "polka", "Link Jig", "|:A", "0.85", "200"]
        assert not other.is_checked("#guide") and other.input_value("#model") == "tiny-lstm"
        assert_clean(other)

    # A failed Generate leaves the seed (and the list) as they were.
    seed = pg.input_value("#seed")
    pg.fill("#prime", "|:DFé")
    pg.click("#generate")
    pg.wait_for_selector("#status.error")
    assert "'é'" in pg.inner_text("#status") and pg.input_value("#seed") == seed and history_count(pg) == 2

    # Back returns to the tune before, with its settings.
    pg.fill("#prime", "")
    pg.fill("#num-tunes", "1")
    pg.select_option("#meter", "3/4")
    pg.select_option("#rhythm", "")
    third = generate(pg, expect_notes=False)
    link3 = hrefs(pg)[2]
    assert query(pg.url)["meter"] == "3/4" and pg.url.endswith(link3)
    pg.go_back()
    pg.wait_for_function("() => document.querySelector('#meter').value === '2/4'")
    assert pg.url.endswith(links[1]) and pg.input_value("#abc") == made[1]
    assert pg.input_value("#seed") == query(links[1])["seed"] and pg.input_value("#prime") == "|:A"

    # An edit is a new version beside the generated one; the link still makes the generated one.
    edit(pg, GOOD, "Good Waltz")
    versions = pg.locator("#history li:nth-child(2) .versions button")
    assert versions.all_inner_texts() == ["generated", "edit 1"]
    meta = pg.inner_text("#history li:nth-child(2) .meta")
    assert "edited" in meta and f"from seed {query(links[1])['seed']}" in meta
    assert hrefs(pg)[1] == links[1]
    versions.nth(0).click()
    assert pg.input_value("#abc") == made[1]
    edit(pg, SHORT, "Short One")                    # editing the generated one again: edit 2
    assert versions.all_inner_texts() == ["generated", "edit 1", "edit 2"]
    versions.nth(1).click()
    assert pg.input_value("#abc") == GOOD
    pg.fill("#abc", WRONG_BAR)                      # and at once to another tune: the edit stays here
    show_entry(pg, 2)
    pg.wait_for_timeout(400)                        # past the edit's 150 ms
    assert pg.input_value("#abc") == third and pg.locator("#history li:nth-child(3) .versions").count() == 0
    show_entry(pg, 1)
    assert pg.input_value("#abc") == WRONG_BAR and versions.count() == 3

    # Remove one; clear takes two clicks, then the page is as new.
    pg.click("#history li:nth-child(1) button.remove")
    assert hrefs(pg)[0] == links[1] and history_count(pg) == 2
    pg.click("#clear-history")
    assert history_count(pg) == 2                   # armed, not yet cleared
    pg.click("#clear-history")
    assert history_count(pg) == 0 and pg.is_disabled("#abc") and pg.is_visible("#paper .placeholder")
    pg.go_back()                                    # a link the list no longer has: made again
    wait_for_tune(pg, 0)
    assert pg.url.endswith(link3) and pg.input_value("#abc") == third
    assert_clean(pg)


def midi_facts(data: bytes) -> tuple[set[int], set[int]]:
    mido = pytest.importorskip("mido")
    mid = mido.MidiFile(file=io.BytesIO(data))
    msgs = [m for track in mid.tracks for m in track]
    return ({m.program for m in msgs if m.type == "program_change"},
            {m.tempo for m in msgs if m.type == "set_tempo"})


@VIEWS
def test_playback_tempo_loop_instrument_and_a_truthful_status(pages, server, view, tmp_path):
    pg = pages.open(server + "/", view)
    quick(pg)
    generate(pg, expect_notes=False)
    edit(pg, SHORT, "Short One")                    # four notes: about a second at 204 BPM
    pg.fill("#tempo", "204")
    assert pg.inner_text("#tempo-out") == "204 BPM"
    usable = pg.eval_on_selector_all("#instrument option:not([disabled])",
                                     "os => os.map(o => [o.value, o.textContent])")
    program, name = usable[-1]                      # another than the default if there is one
    pg.select_option("#instrument", program)
    gm = pg.evaluate("() => fetch('/api/options').then(r => r.json())")
    folder = next(i.get("gm_name", i["name"]) for i in gm["instruments"] if str(i["program"]) == program)

    pg.click("#play")
    pg.wait_for_function("() => document.querySelector('#status').textContent.startsWith('Playing')")
    assert pg.inner_text("#status") == f"Playing · 204 BPM · {name}"
    assert any(f"/soundfont/{folder}-mp3/" in u for u in pg.log["requests"])
    pg.click("#play")                               # Stop
    assert pg.inner_text("#status") == "Stopped" and pg.inner_text("#play-label") == "Play"

    pg.click("#play")                               # to the end, once
    pg.wait_for_function("() => document.querySelector('#status').textContent === 'Finished'",
                         timeout=20_000)
    assert pg.inner_text("#play-label") == "Play" and pg.locator("#paper .playing").count() == 0

    pg.check("#loop")                               # round and round until stopped
    pg.click("#play")
    pg.wait_for_function("() => document.querySelector('#status').textContent.endsWith('round 2')",
                         timeout=20_000)
    assert pg.inner_text("#play-label") == "Stop"
    pg.fill("#abc", SHORT.replace("DF A2", "FA d2"))  # an edit stops it, and says so
    assert pg.inner_text("#status") == "Stopped: the tune was edited"
    assert pg.inner_text("#play-label") == "Play"

    # The MIDI carries the chosen instrument and tempo (2/4: the beat is a quarter).
    with pg.expect_download() as dl:
        pg.click("#dl-midi")
    dl.value.save_as(tmp_path / "t.mid")
    sent = [b for path, b in pg.log["bodies"] if path == "/api/midi"][-1]
    assert sent["program"] == int(program) and sent["tempo"] == 204
    programs, tempos = midi_facts((tmp_path / "t.mid").read_bytes())
    assert int(program) in programs and any(abs(t - 60_000_000 / 204) <= 1 for t in tempos), tempos
    assert_clean(pg)


@VIEWS
def test_checks_beside_the_abc_and_the_model_menu(pages, server, view):
    pg = pages.open(server + "/", view)
    assert pg.is_visible("#model")                  # two models: a menu naming their facts
    menu = pg.eval_on_selector_all("#model option", "os => os.map(o => o.textContent)")
    assert len(menu) == 2 and menu[0].startswith("tiny-lstm") and "LSTM 1×16" in menu[0]
    assert menu[1].startswith("tiny-gru") and "GRU 1×24" in menu[1] and "7 steps" in menu[1]
    assert "validation loss 4.250" in menu[1]
    pg.select_option("#model", "tiny-gru")
    assert "tiny-gru" in pg.inner_text("#model-info")
    pg.wait_for_function("() => performance.getEntriesByType('resource')"
                         ".some(e => e.name.endsWith('/api/options?model=tiny-gru'))")   # its own menus
    quick(pg)
    generate(pg, expect_notes=False)
    sent = [b for path, b in pg.log["bodies"] if path == "/api/generate"][-1]
    assert sent["model"] == "tiny-gru" and query(hrefs(pg)[0])["model"] == "tiny-gru"
    other = pages.open(server + hrefs(pg)[0], view)  # the link names the model
    wait_for_tune(other, 0)
    assert other.input_value("#model") == "tiny-gru" and other.input_value("#abc") == pg.input_value("#abc")

    edit(pg, WRONG_BAR, "Wrong Bar")                # the bar check, for a hand edit
    pg.wait_for_selector("#warnings:not([aria-busy]) li[data-line='6']")
    assert pg.inner_text("#warnings") == "bar check: line 6: bar 2 is too long: 4 quarters where M:3/4 needs 3"
    assert pg.is_visible("#warnings")
    pg.click("#warnings li[data-line='6']")         # a click selects the line it names
    assert pg.evaluate("() => { const t = document.querySelector('#abc');"
                       " return t.value.slice(t.selectionStart, t.selectionEnd); }") == "G A B|c2 B A|G3|]"
    edit(pg, UNKNOWN_CHAR, "Odd Symbol")            # abcjs's own warning
    pg.wait_for_selector("#warnings:not([aria-busy]) li:has-text('abcjs:')")
    assert "Unknown character ignored" in pg.inner_text("#warnings")
    edit(pg, GOOD, "Good Waltz")                    # and when all is well, it says so
    pg.wait_for_function("() => document.querySelector('#warnings').textContent.startsWith('No warnings')")
    assert_clean(pg)
    assert_clean(other)


def test_the_servers_notes_on_a_merged_opening_are_shown(pages, server):
    """The server's words on an opening that overrides a setting, shown above the tune."""
    pg = pages.open(server + "/")
    quick(pg)
    ask = {"prime": "M:6/8\n|:A", "meter": "3/4", "max_len": 200, "guide": False, "seed": 9}
    notes = pg.evaluate("b => fetch('/api/generate', {method: 'POST', headers: {'Content-Type':"
                        " 'application/json'}, body: JSON.stringify(b)}).then(r => r.json())"
                        ".then(d => d.notes)", ask)
    if not notes:
        pytest.skip("this server does not merge an opening's fields with the settings (web-merge)")
    pg.fill("#prime", ask["prime"])
    pg.select_option("#meter", "3/4")
    generate(pg, expect_notes=False)
    assert pg.locator("#notes li").all_inner_texts() == notes and pg.is_visible("#notes")
    pg.fill("#prime", "")
    generate(pg, expect_notes=False)                # nothing to say: no notes
    assert not pg.is_visible("#notes")
    show_entry(pg, 0)                               # the first tune's notes come back with it
    assert pg.locator("#notes li").all_inner_texts() == notes
    assert_clean(pg)


# Everything a finger presses; a checkbox is pressed through its label.
TARGETS = "button, select, input:not([type=checkbox]), textarea, summary, a, label:has(input[type=checkbox])"
# The brief names these; the sweep over TARGETS must find each of them.
NAMED = ["#meter", "#key", "#length", "#rhythm", "#form", "#model", "#instrument", "#dl-abc", "#dl-midi",
         "#dl-audio", "#dl-musicxml", "label:has(#guide)", "#compose summary"]


@VIEWS
def test_ctrl_enter_focus_scroll_staff_width_and_tap_targets(pages, server, view):
    pg = pages.open(server + "/", view)
    quick(pg)
    pg.fill("#prime", "|:A")
    pg.focus("#prime")
    pg.keyboard.press("Control+Enter")              # in the opening
    wait_for_tune(pg, 0)
    pg.wait_for_function("() => document.activeElement.id === 'sheet'")
    tune = pg.locator("#tune").bounding_box()
    assert 0 <= tune["y"] <= 0.3 * pg.viewport_size["height"], tune     # the new tune is in view
    pg.focus("#title")
    pg.keyboard.press("Control+Enter")              # anywhere in the form
    wait_for_tune(pg, 1)
    edit(pg, REEL, "Long Reel")                     # 12 bars of eighths on one line
    # The staff is drawn at the paper's own width, not a 720 px staff squeezed (0.43 at 390 px before).
    scale = pg.evaluate("() => { const s = document.querySelector('#paper svg');"
                        " return s.getBoundingClientRect().width / s.viewBox.baseVal.width; }")
    assert scale >= 0.95, scale
    if view == "phone":
        assert all(pg.locator(sel).is_visible() for sel in NAMED)
        small, seen = [], 0
        for el in pg.locator(TARGETS).all():
            if not el.is_visible():
                continue
            seen += 1
            box = el.bounding_box()
            if box["height"] < 44 or box["width"] < 44:
                small.append((el.evaluate("e => e.outerHTML.slice(0, 80)"), box))
        assert seen >= 30 and not small, small
        assert pg.locator("#paper svg").bounding_box()["width"] >= 350
        assert pg.evaluate("() => document.documentElement.scrollWidth") <= 390   # no sideways scroll
        # Two bars to a line: abcjs re-flows the one long line to fit the phone.
        assert pg.locator("#paper .abcjs-staff").count() == 6
    assert_clean(pg)
