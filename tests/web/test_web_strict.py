"""The web API refuses what it would otherwise have guessed at, and answers at once:
strict types, header values, deep JSON, Content-Length with Transfer-Encoding, and a
small generation that does not wait behind big ones (issue 14, item 9)."""
from __future__ import annotations

import asyncio
import json
import time
import warnings
from pathlib import Path

import pytest
from conftest import serve_in_thread
from webtools import exchange, train_tiny

pytest.importorskip("fastapi")
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx`")
    from fastapi.testclient import TestClient
httpx = pytest.importorskip("httpx")
pytest.importorskip("uvicorn")

from abcrnn.web.app import create_app


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    return train_tiny(tmp_path_factory.mktemp("strict"))


@pytest.fixture(scope="module")
def app(model):
    return create_app(model, render_samples=False)


@pytest.fixture(scope="module")
def client(app):
    return TestClient(app)


@pytest.fixture(scope="module")
def server(app):
    with serve_in_thread(app) as url:
        yield url


def refused(resp, field: str) -> str:
    assert resp.status_code == 422, resp.text
    message = resp.json()["error"]
    assert message.startswith(f"{field}: "), message          # the message names the field
    return message


@pytest.mark.parametrize("bad", [
    {"temperature": True}, {"temperature": "1.0"}, {"max_len": "50"}, {"max_len": 50.0},
    {"num_tunes": 2.0}, {"num_tunes": True}, {"seed": True}, {"seed": "7"}, {"top_k": "3"},
    {"guide": 1}, {"guide": "false"}, {"prime": 5}, {"key": 4}, {"model": 0},
])
def test_types_are_strict(client, bad):
    refused(client.post("/api/generate", json=bad | {"max_len": bad.get("max_len", 20)}), next(iter(bad)))


def test_a_whole_number_is_still_a_temperature(client):
    resp = client.post("/api/generate", json={"temperature": 1, "top_p": 1, "seed": 3, "max_len": 20})
    assert resp.status_code == 200, resp.text


@pytest.mark.parametrize("field, value", [
    ("key", "<end>"), ("key", "H"), ("key", "D dor"), ("key", "Dx"), ("meter", "<end>"),
    ("meter", "6/8 "), ("meter", "6/0"), ("meter", "none"), ("length", "1/3"), ("length", "<"),
    ("rhythm", "<end>"), ("rhythm", "jig%"), ("title", "a <start> b"), ("title", "100% reel"),
    ("title", "   "), ("title", "tab\there"),
])
def test_header_values_are_refused_unless_abc_reads_them(client, field, value):
    message = refused(client.post("/api/generate", json={field: value, "max_len": 20}), field)
    assert repr(value) in message or value.strip() == "" or "\t" in value, message


@pytest.mark.parametrize("field, value", [("key", "Ador"), ("key", "F#m"), ("key", "Bbmix"),
                                          ("meter", "C|"), ("meter", "6/8"), ("length", "1/16")])
def test_real_header_values_pass(client, field, value):
    resp = client.post("/api/generate", json={field: value, "max_len": 20, "seed": 1})
    assert resp.status_code in (200, 422), resp.text
    if resp.status_code == 422:                      # only the tiny model's vocabulary may say no
        assert "does not know" in resp.json()["error"], resp.text


@pytest.mark.parametrize("body", [b"[" * 5000 + b"]" * 5000,
                                  b'{"prime": ' + b"[" * 5000 + b"]" * 5000 + b"}"])
def test_deeply_nested_json_is_invalid_json_422(client, body):
    resp = client.post("/api/generate", content=body, headers={"content-type": "application/json"})
    assert resp.status_code == 422, resp.text
    assert resp.json()["error"] == "the body is not valid JSON (nested too deeply)"
    assert resp.json()["detail"][0]["type"] == "json_invalid"


HEAD = (b"POST /api/generate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\nTransfer-Encoding: chunked\r\n\r\n")


@pytest.mark.parametrize("body", [b'{"max_len": 20}', b'f\r\n{"max_len": 20}\r\n0\r\n\r\n', b""],
                         ids=["plain body", "chunked body", "no body"])
def test_content_length_with_transfer_encoding_is_refused_at_once(server, body):
    """uvicorn's parser (h11) reads such a body as chunks: a plain one left the request
    waiting for the client to give up, a chunked one was served (a smuggling risk)."""
    port = int(server.rsplit(":", 1)[1])
    seconds, answer = exchange(port, HEAD % len(body) + body, timeout=10)
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:200]
    assert seconds < 3, f"answered after {seconds:.1f} s"
    head, _, payload = answer.partition(b"\r\n\r\n")
    assert b"connection: close" in head.lower()                # the unread body is not parsed
    assert "not both" in json.loads(payload)["error"]


def test_a_small_generation_passes_big_ones(server):
    """Two requests of 4 tunes are queued, then one of a single short tune: it is made
    at the first tune boundary, while both big ones are still waiting for their turns
    (in arrival order it waited for all eight tunes)."""
    async def go():
        async with httpx.AsyncClient(base_url=server, timeout=120) as http:
            async def timed(body, delay):
                await asyncio.sleep(delay)
                r = await http.post("/api/generate", json=body)
                return r, time.monotonic()
            big = {"num_tunes": 4, "max_len": 300, "temperature": 1.0}
            return await asyncio.gather(timed(big | {"seed": 1}, 0), timed(big | {"seed": 2}, 0.05),
                                        timed({"num_tunes": 1, "max_len": 20, "seed": 3}, 0.3))
    (b1, t1), (b2, t2), (small, ts) = asyncio.run(go())
    assert [r.status_code for r in (b1, b2, small)] == [200, 200, 200]
    assert ts < t1 < t2, (ts, t1, t2)
    assert len(b1.json()["tunes"]) == 4 and len(small.json()["tunes"]) == 1
