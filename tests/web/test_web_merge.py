"""The page's opening and its selects, merged on the server by Model.merge (the rule the
command line's --opening follows too), through the JSON API with the shipped model."""
from __future__ import annotations

import shutil
import warnings

import pytest

import abcrnn
from abcrnn.notation.tunes import header_and_body
from abcrnn.web.schemas import GenerateRequest

pytest.importorskip("fastapi")
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx`")
    from fastapi.testclient import TestClient

from abcrnn.web import app as webapp


@pytest.fixture(scope="module")
def client():
    return TestClient(webapp.create_app(None, render_samples=False))


def one_tune(client, **body):
    resp = client.post("/api/generate", json={"seed": 3, "max_len": 300, **body})
    assert resp.status_code == 200, resp.text
    return resp.json()["tunes"][0]["abc"]


def fields(abc: str, name: str) -> list[str]:
    return [ln for ln in abc.split("\n") if ln.startswith(name + ":")]


def test_an_opening_meter_and_a_chosen_meter_give_one_meter_line_and_a_note(client):
    resp = client.post("/api/generate", json={"seed": 3, "max_len": 300, "prime": "M:6/8\n|:GAB",
                                              "meter": "3/4"})
    abc = resp.json()["tunes"][0]["abc"]
    assert fields(abc, "M") == ["M:6/8"], abc
    assert "\n".join(header_and_body(abc)[1]).startswith("|:GAB")
    said = ["the opening's M:6/8 is used instead of the meter 3/4 you chose"]
    assert resp.json()["notes"] == said
    composer = client.app.state.composer
    assert composer.checked(GenerateRequest(prime="M:6/8\n|:GAB", meter="3/4"))[2] == said


def test_a_title_line_in_the_opening_goes_into_the_header(client):
    abc = one_tune(client, prime="T:My Tune\n|:GAB", key="G")
    header, body = header_and_body(abc)
    assert "T:My Tune" in header and header[-1] == "K:G" and not fields("\n".join(body), "T")


def test_an_opening_that_starts_with_x_is_merged_with_the_selects_not_refused(client):
    abc = one_tune(client, prime="X:1\nT:Foo\nM:6/8\nK:G\n|:GAB", key="D", rhythm="jig")
    header, body = header_and_body(abc)
    assert header[0] == "X:1" and fields(abc, "X") == ["X:1"] and header[-1] == "K:G"
    assert "T:Foo" in header and "R:jig" in header and "\n".join(body).startswith("|:GAB")


def test_a_chosen_meter_gets_eighth_notes_not_abcs_sixteenths(client):
    resp = client.post("/api/generate", json={"seed": 3, "num_tunes": 4, "max_len": 80,
                                              "meter": "2/4", "key": "D", "title": "P"})
    for tune in resp.json()["tunes"]:        # left to the model, two of these four were 1/16
        assert fields(tune["abc"], "L") == ["L:1/8"], tune["abc"]


def test_the_web_and_the_api_write_the_same_tune_from_the_same_opening(client):
    abc = one_tune(client, prime="M:6/8\n|:GAB", meter="3/4", key="D")
    api = abcrnn.load_model().generate(seed=3, max_len=300, opening="M:6/8\n|:GAB", meter="3/4", key="D")
    assert abc == api[0].abc


@pytest.mark.skipif(shutil.which("abc2midi") is None, reason="abc2midi is not installed")
def test_a_chosen_title_names_the_downloads(client):
    abc = one_tune(client, title="The Kesh", meter="6/8", key="G", max_len=200)
    resp = client.post("/api/midi", json={"abc": abc})
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-disposition"] == 'attachment; filename="001-the-kesh.mid"'
