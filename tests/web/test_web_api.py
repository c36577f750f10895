"""The web app's JSON API, file routes and note-sample maker, through TestClient."""
from __future__ import annotations

import json
import re
import threading
import warnings
from pathlib import Path

import pytest
from webtools import train_tiny

pytest.importorskip("fastapi")
with warnings.catch_warnings():
    # Starlette's TestClient warns about its own use of httpx; not ours to fix.
    warnings.filterwarnings("ignore", message="Using `httpx`")
    from fastapi.testclient import TestClient

from abcrnn.web import app as webapp
from abcrnn.web import service, soundfont

TUNE = "X:1\nT:Test Reel\nM:4/4\nL:1/8\nK:D\n|:DFAF GBAF|EFGA BAFD:|\n"


@pytest.fixture(scope="module")
def web_model(tmp_path_factory) -> Path:
    return train_tiny(tmp_path_factory.mktemp("webmodel"))


@pytest.fixture(scope="module")
def client(web_model):
    return TestClient(webapp.create_app(web_model, render_samples=False))


def error_of(resp, status):
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert isinstance(body["error"], str) and body["error"]
    return body


def test_health(client):
    body = client.get("/api/health").json()
    assert body["status"] == "ok" and body["vocab_size"] > 10 and body["parameters"] > 0


def test_options_mark_values_the_model_lacks(client):
    opts = client.get("/api/options").json()
    meters = {c["value"]: c["available"] for c in opts["meters"]}
    assert meters["6/8"] and meters["C|"]
    assert not meters["9/8"]                      # no '9' in the tiny corpus
    assert {c["value"] for c in opts["lengths"]} == {"1/8", "1/16", "1/4"}
    assert opts["limits"]["max_len"] == 4000


def test_generate_returns_abc_with_header(client):
    req = {"seed": 7, "temperature": 0.8, "meter": "6/8", "key": "D", "length": "1/8",
           "prime": "|:DFA", "max_len": 600}
    body = client.post("/api/generate", json=req).json()
    abc = body["tunes"][0]["abc"]
    header, music = abc.split("K:D\n", 1)
    assert {"M:6/8", "L:1/8"} <= set(header.split("\n")) and music.startswith("|:DFA")
    assert body["seed"] == 7 and body["prime"] == "|:DFA"
    again = client.post("/api/generate", json=req).json()
    assert again["tunes"] == body["tunes"]        # a locked seed gives the same tune


def test_generate_without_seed_picks_one(client):
    body = client.post("/api/generate", json={"num_tunes": 2, "max_len": 50}).json()
    assert 0 <= body["seed"] < 2**32
    assert [t["seed"] for t in body["tunes"]] == [body["seed"], (body["seed"] + 1) % 2**32]
    # each tune is the one its seed gives alone, X:1 and all
    assert [t["abc"].split("\n")[0] for t in body["tunes"]] == ["X:1", "X:1"]


@pytest.mark.parametrize("bad", [
    {"temperature": 3.5}, {"temperature": -0.1}, {"temperature": "hot"}, {"seed": -1},
    {"seed": 2**32}, {"num_tunes": 5}, {"num_tunes": 0}, {"max_len": 4001}, {"prime": "A" * 1001},
    {"meter": "6/8\nK:D"}, {"key": "D" * 13}, {"top_p": 0}, {"colour": "red"},
])
def test_generate_validation_errors_are_json_422(client, bad):
    body = error_of(client.post("/api/generate", json=bad), 422)
    assert next(iter(bad)) in body["error"]       # the message names the field


def test_non_finite_temperature_is_refused(client):
    resp = client.post("/api/generate", content=b'{"temperature": NaN}',
                       headers={"content-type": "application/json"})
    error_of(resp, 422)
    resp = client.post("/api/generate", content=b'{"temperature": 1e999}',
                       headers={"content-type": "application/json"})
    error_of(resp, 422)


def test_unknown_characters_are_named(client):
    body = error_of(client.post("/api/generate", json={"prime": "|:DFé"}), 422)
    assert "'é'" in body["error"] and body["detail"]["missing"] == ["é"]
    body = error_of(client.post("/api/generate", json={"meter": "9/8"}), 422)
    assert "'9'" in body["error"]


def test_generation_time_is_bounded(client, monkeypatch):
    monkeypatch.setattr(service, "GENERATE_SECONDS", 0.0)
    body = error_of(client.post("/api/generate", json={"max_len": 500}), 503)
    assert "longer than" in body["error"]


def test_concurrent_generations_take_turns(client):
    results = []

    def go(seed):
        results.append(client.post("/api/generate", json={"seed": seed, "max_len": 300}).status_code)
    threads = [threading.Thread(target=go, args=(s,)) for s in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [200, 200, 200]


def test_body_size_is_limited(client):
    big = json.dumps({"abc": "A" * (webapp.MAX_BODY + 10)})
    error_of(client.post("/api/midi", content=big, headers={"content-type": "application/json"}), 413)


def test_midi_of_a_tune(client):
    resp = client.post("/api/midi", json={"abc": TUNE})
    assert resp.status_code == 200, resp.text
    assert resp.content[:4] == b"MThd" and resp.headers["content-type"] == "audio/midi"
    assert resp.headers["content-disposition"] == 'attachment; filename="001-test-reel.mid"'


def test_musicxml_of_a_tune(client):
    resp = client.post("/api/musicxml", json={"abc": TUNE})
    assert resp.status_code == 200, resp.text
    assert b"<score-partwise" in resp.content and "musicxml" in resp.headers["content-type"]
    assert resp.headers["content-disposition"] == 'attachment; filename="001-test-reel.musicxml"'


def test_mp3_of_a_tune(client):
    resp = client.post("/api/audio", json={"abc": TUNE, "format": "mp3"})
    assert resp.status_code == 200, resp.text
    assert resp.content[:3] == b"ID3" or resp.content[0] == 0xFF
    error_of(client.post("/api/audio", json={"abc": TUNE, "format": "ogg"}), 422)


@pytest.mark.parametrize("abc, words", [("no tune here", "exactly one tune"),
                                        (TUNE + "\n" + TUNE, "one tune at a time"),
                                        ("", "abc")])
def test_render_needs_one_tune(client, abc, words):
    assert words in error_of(client.post("/api/midi", json={"abc": abc}), 422)["error"]


@pytest.fixture
def fake_samples(tmp_path, monkeypatch):
    (tmp_path / "violin-mp3").mkdir()
    (tmp_path / "violin-mp3" / "C4.mp3").write_bytes(b"ID3 fake C4")
    (tmp_path / soundfont.MANIFEST).write_text(json.dumps({"instrument": "violin"}))
    monkeypatch.setenv("ABCRNN_NOTE_SAMPLES", str(tmp_path))
    (tmp_path / "secret.txt").write_text("SECRET")
    return tmp_path


def test_note_samples_are_served(client, fake_samples):
    assert client.get("/soundfont/violin-mp3/C4.mp3").content == b"ID3 fake C4"
    # another instrument (a tune's %%MIDI program) gets the one that was rendered
    assert client.get("/soundfont/accordion-mp3/C4.mp3").content == b"ID3 fake C4"
    error_of(client.get("/soundfont/violin-mp3/D4.mp3"), 404)
    assert client.get("/api/options").json()["program"] == 40


@pytest.mark.parametrize("path", [
    "/static/../app.py", "/static/..%2Fapp.py", "/static/%2e%2e/%2e%2e/abc.py", "/static/..%5Capp.py",
    "/vendor/..%2F..%2Fpackage.json", "/vendor/abcjs%2Fpackage.json", "/vendor/abcjs-basic.js",
    "/soundfont/violin-mp3/..%2Fsecret.txt", "/soundfont/..%2F..%2Fstatic/index.html",
    "/soundfont/violin-mp3/%2e%2e%2Fsecret.txt", "/soundfont/../secret.txt", "/..%2F..%2Fpyproject.toml",
    "/static/soundfont/../../app.py", "/static//etc/passwd", "/soundfont/violin-mp3/manifest.json",
])
def test_no_path_traversal(client, fake_samples, path):
    resp = client.get(path)
    assert resp.status_code in (404, 400, 422), (path, resp.status_code)
    for secret in ("SECRET", "def create_app", '"dependencies"', "root:", "[project]"):
        assert secret not in resp.text


def test_page_and_assets_are_local(client):
    page = client.get("/")
    assert page.status_code == 200 and "Generate" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    urls = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert urls and all(u.startswith(("/", "data:")) for u in urls), urls
    for u in urls:
        if not u.startswith("data:"):
            assert client.get(u).status_code == 200, u


def test_docs_work_offline(client):
    schema = client.get("/openapi.json").json()
    assert {"/api/generate", "/api/midi", "/api/audio", "/api/health", "/api/models", "/api/options",
            "/api/check", "/api/musicxml"} <= set(schema["paths"])
    docs = client.get("/docs").text
    assert "/vendor/swagger-ui-bundle.js" in docs and "/openapi.json" in docs
    assert not re.search(r'(?:src|href|url)\s*[=:]\s*["\']https?:', docs), "docs load from the web"


# --- note samples for abcjs ----------------------------------------------

ABCJS_SRC = Path(__file__).resolve().parents[2] / "node_modules" / "abcjs" / "src" / "synth"


def test_note_names_match_abcjs():
    assert [soundfont.note_name(p) for p in (21, 60, 61, 70, 108)] == ["A0", "C4", "Db4", "Bb4", "C8"]
    table = ABCJS_SRC / "pitch-to-note-name.js"
    if not table.is_file():
        pytest.skip("abcjs not installed (npm ci)")
    theirs = dict(re.findall(r"(\d+):\s*'(\w+)'", table.read_text()))
    for p in range(soundfont.LOW, soundfont.HIGH + 1):
        assert theirs[str(p)] == soundfont.note_name(p)
    # and abcjs still asks for <url><instrument>-mp3/<name>.mp3
    assert 'url + instrument + "-mp3/" + name + ".mp3"' in (ABCJS_SRC / "load-note.js").read_text()


def test_notes_midi_is_a_midi_file():
    data = soundfont.notes_midi(40, [60, 62])
    assert data[:4] == b"MThd" and data.count(b"\x90") == 2 and data.endswith(b"\xff\x2f\x00")


def test_make_soundfont_few_notes(tmp_path, monkeypatch):
    monkeypatch.setattr(soundfont, "LOW", 60)
    monkeypatch.setattr(soundfont, "HIGH", 61)
    try:
        dest = soundfont.make_soundfont(tmp_path, "violin")
    except soundfont.MissingToolError as e:
        pytest.skip(str(e))
    files = sorted(f.name for f in dest.iterdir())
    assert files == ["C4.mp3", "Db4.mp3", "manifest.json"]      # the manifest is written last
    assert all((dest / f).stat().st_size > 5000 for f in files if f.endswith(".mp3"))
    assert soundfont.up_to_date(tmp_path, "violin")
    with pytest.raises(ValueError, match="unknown instrument"):
        soundfont.make_soundfont(tmp_path, "kazoo")
