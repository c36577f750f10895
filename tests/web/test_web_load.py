"""The web composer under load and over the wire: the real `abcrnn serve` in a
subprocess on a free loopback port, with a tiny model.

What tests/test_web_api.py already checks through TestClient (field validation,
NaN, unknown prime characters, 413 on /api/midi, path traversal as TestClient
sends it, the generation deadline, three generations taking turns) is not
repeated here. This file sends 50 generations at once, checks that the queue
neither starves other requests nor grows without bound, sends raw request
lines that no HTTP client library would (``..`` left in, encoded and
double-encoded, NUL bytes), and checks the errors a real client gets.
"""
from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import TUNES, marked, serve_in_thread

from abcrnn.cli.main import build_parser, main

httpx = pytest.importorskip("httpx")
pytest.importorskip("uvicorn")

ROOT = Path(__file__).resolve().parents[2]
CONCURRENT = 50
SECRETS = ("root:", "[project]", "def create_app", "import ")     # /etc/passwd, pyproject, sources


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("loadmodel")
    (root / "tiny.txt").write_bytes(marked(TUNES).encode())
    assert main(["train", "--corpus", str(root / "tiny.txt"), "--out", str(root / "m"),
                 "--hidden-size", "16", "--embed-size", "8", "--seq-len", "32", "--batch-size", "4",
                 "--max-steps", "3", "--eval-interval", "3", "--device", "cpu", "--quiet"]) == 0
    return root / "m"


@pytest.fixture(scope="module")
def server(model):
    """`abcrnn serve` as a user starts it (no --host); stopped with Ctrl-C, which
    must end it cleanly (exit 0)."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "abcrnn", "serve", "--model", str(model), "--port", str(port)],
        env={**os.environ, "OMP_NUM_THREADS": "1"}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # noqa: PLW1509
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        assert proc.poll() is None, proc.stderr.read()
        try:
            if httpx.get(base + "/api/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.2)
    yield {"base": base, "port": port, "proc": proc}
    proc.send_signal(signal.SIGINT)
    try:
        code = proc.wait(30)
    finally:
        proc.kill()
    err = proc.stderr.read()
    assert code == 0 and "Traceback" not in err, err


def is_json_error(resp: httpx.Response, status: int) -> str:
    assert resp.status_code == status, (resp.status_code, resp.text)
    assert resp.headers["content-type"].startswith("application/json")
    message = resp.json()["error"]
    assert isinstance(message, str) and message
    return message


# --- load -------------------------------------------------------------------

async def _fire(base: str, n: int, body) -> tuple[list, float, float]:
    """n generate requests at once (and one health check while they queue):
    (responses, seconds for all, seconds the health check took)."""
    limits = httpx.Limits(max_connections=n + 5, max_keepalive_connections=n + 5)
    async with httpx.AsyncClient(base_url=base, timeout=httpx.Timeout(120), limits=limits) as client:
        async def health():
            await asyncio.sleep(0.3)
            t = time.monotonic()
            assert (await client.get("/api/health")).status_code == 200
            return time.monotonic() - t
        t0 = time.monotonic()
        *responses, health_s = await asyncio.gather(
            *[client.post("/api/generate", json=body(i)) for i in range(n)], health())
        return responses, time.monotonic() - t0, health_s


def test_50_concurrent_generations_all_complete(server):
    # Seeds repeat (i % 25): a seed must give the same tune whatever runs beside it.
    responses, seconds, health_s = asyncio.run(_fire(
        server["base"], CONCURRENT, lambda i: {"seed": i % 25, "max_len": 200, "temperature": 1.0}))
    codes = [r.status_code for r in responses]
    assert codes == [200] * CONCURRENT, {c: codes.count(c) for c in set(codes)}
    bodies = [r.json() for r in responses]
    assert [b["seed"] for b in bodies] == [i % 25 for i in range(CONCURRENT)]
    for b in bodies:
        assert b["tunes"][0]["abc"].startswith("X:1")
    for i in range(25):
        assert bodies[i]["tunes"] == bodies[i + 25]["tunes"]
    # Waiting generations hold no worker thread, so other requests are not stuck behind them.
    assert health_s < 5, f"/api/health took {health_s:.1f} s while generations queued"
    print(f"\n{CONCURRENT} concurrent generations (max_len 200): {seconds:.1f} s, "
          f"health check during the queue {health_s * 1000:.0f} ms")


def test_half_open_and_abandoned_connections_do_not_block(server):
    """Clients that send half a request and stay, or give up while waiting for
    their turn, do not keep a later request from being served."""
    port = server["port"]
    idle = []
    try:
        for _ in range(20):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(b"POST /api/generate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{")
            idle.append(s)

        async def give_up():
            async with httpx.AsyncClient(base_url=server["base"], timeout=0.05) as client:
                async def one(i):
                    try:
                        await client.post("/api/generate", json={"seed": i, "max_len": 400})
                    except httpx.TimeoutException:
                        pass
                await asyncio.gather(*[one(i) for i in range(10)])
        asyncio.run(give_up())
        resp = httpx.post(server["base"] + "/api/generate", json={"seed": 1, "max_len": 100}, timeout=60)
        assert resp.status_code == 200, resp.text
    finally:
        for s in idle:
            s.close()


@pytest.fixture
def slow_server(model, monkeypatch):
    """The app under uvicorn in a thread, its generations made slow (a sleep, no
    CPU), and its queue limits small."""

    from abcrnn.web import service
    from abcrnn.web.app import create_app
    monkeypatch.setattr(service, "QUEUE_MAX", 2)
    monkeypatch.setattr(service, "QUEUE_SECONDS", 1.0)
    app = create_app(model, render_samples=False)
    composer = app.state.composer
    real = composer.tune

    def slow(*args):
        time.sleep(2.5)
        return real(*args)
    monkeypatch.setattr(composer, "tune", slow)
    with serve_in_thread(app) as url:
        yield url


def test_queue_is_bounded_in_length_and_time(slow_server):
    """One generates; two wait their turn and give up after QUEUE_SECONDS; the
    others find QUEUE_MAX already waiting and are refused at once. All 503s
    are JSON saying the composer is busy."""
    async def go():
        async with httpx.AsyncClient(base_url=slow_server, timeout=30) as client:
            async def one(i):
                await asyncio.sleep(0.2 * i)          # arrive in order
                t = time.monotonic()
                r = await client.post("/api/generate", json={"seed": i, "max_len": 20})
                return r, time.monotonic() - t
            return await asyncio.gather(*[one(i) for i in range(5)])
    results = asyncio.run(go())
    codes = [r.status_code for r, _ in results]
    assert codes == [200, 503, 503, 503, 503], codes
    for r, _ in results[1:]:
        assert "busy" in is_json_error(r, 503)
    waited = [s for _, s in results]
    assert all(0.8 < s < 2.4 for s in waited[1:3]), waited       # gave up after ~1 s
    assert all(s < 0.8 for s in waited[3:]), waited               # refused at once


def test_waiting_requests_hold_no_worker_thread(slow_server, monkeypatch):
    """More generate requests waiting than the server has worker threads (40):
    the page and /api/health still answer at once."""
    from abcrnn.web import service
    monkeypatch.setattr(service, "QUEUE_MAX", 100)

    async def go():
        limits = httpx.Limits(max_connections=60, max_keepalive_connections=60)
        async with httpx.AsyncClient(base_url=slow_server, timeout=30, limits=limits) as client:
            async def page():
                await asyncio.sleep(0.5)
                t = time.monotonic()
                codes = [(await client.get(u)).status_code for u in ("/api/health", "/", "/static/app.js")]
                return codes, time.monotonic() - t
            *gen, (codes, seconds) = await asyncio.gather(
                *[client.post("/api/generate", json={"seed": i, "max_len": 20}) for i in range(45)], page())
            return [r.status_code for r in gen], codes, seconds
    gen, codes, seconds = asyncio.run(go())
    assert codes == [200, 200, 200] and seconds < 1.0, (codes, seconds)
    assert sorted(gen) == [200] + [503] * 44          # one slow turn; the rest give up after 1 s


# --- the wire ---------------------------------------------------------------

def raw_get(port: int, target: bytes) -> tuple[int, bytes, bytes]:
    """GET with the request target exactly as given: (status, content type, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    headers = dict(line.lower().split(b": ", 1) for line in lines[1:] if b": " in line)
    return int(lines[0].split()[1]), headers.get(b"content-type", b""), body


TRAVERSALS = [
    b"/vendor/..%2F..%2Fetc%2Fpasswd", b"/vendor/../../etc/passwd", b"/vendor/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    b"/soundfont/../../etc/passwd", b"/soundfont/%2e%2e/%2e%2e/etc/passwd",
    b"/soundfont/..%2F..%2F..%2F..%2Fpyproject.toml/x.mp3",
    b"/static/../../../../etc/passwd", b"/static/../../../../pyproject.toml",
    b"/static/%2e%2e/%2e%2e/%2e%2e/%2e%2e/pyproject.toml", b"/static/..%2F..%2F..%2F..%2Fpyproject.toml",
    b"/static/%252e%252e/%252e%252e/%252e%252e/%252e%252e/pyproject.toml",
    b"/static/..\\..\\..\\..\\pyproject.toml", b"/static/....//....//....//....//pyproject.toml",
    b"/static/%c0%ae%c0%ae/%c0%ae%c0%ae/%c0%ae%c0%ae/%c0%ae%c0%ae/pyproject.toml",
    b"/static//etc/passwd", b"/static/%2Fetc%2Fpasswd", b"/static/..", b"/static/%00",
    b"/static/app.js%00.png", b"/vendor/abcjs-basic-min.js%00", b"/soundfont/violin-mp3/C4.mp3%00",
    b"/../../../../etc/passwd", b"/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd", b"//etc/passwd",
    b"http://127.0.0.1/../../../../etc/passwd", b"/static/../web/app.py", b"/static/../service.py",
]


@pytest.mark.parametrize("target", TRAVERSALS, ids=[t.decode() for t in TRAVERSALS])
def test_no_path_traversal_over_the_wire(server, target):
    status, ctype, body = raw_get(server["port"], target)
    assert status in (400, 404), (target, status, body[:200])
    assert ctype.startswith(b"application/json"), ctype
    text = body.decode("utf-8", "replace")
    assert not any(s in text for s in SECRETS), text[:200]


def test_request_line_that_is_not_utf8_is_refused(server):
    # uvicorn's HTTP parser refuses it before the app sees it (a plain-text 400).
    status, _, body = raw_get(server["port"], b"/static/\xff")
    assert status == 400 and b"root:" not in body


def test_real_files_are_still_served(server):
    status, _, body = raw_get(server["port"], b"/static/util.js")
    assert status == 200 and b"fetch" in body
    assert raw_get(server["port"], b"/")[0] == 200


def test_binds_to_this_machine_only_by_default(server):
    # the default of the command line and what its help says
    assert build_parser().parse_args(["serve"]).host == "127.0.0.1"
    helptext = subprocess.run([sys.executable, "-m", "abcrnn", "serve", "--help"],
                              capture_output=True, text=True, check=False).stdout
    assert "default: this machine only" in " ".join(helptext.split())
    # and the running server (started without --host) listens on 127.0.0.1 alone
    listening = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not Path(table).is_file():
            pytest.skip("no /proc/net/tcp (not Linux)")
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            addr, port = local.rsplit(":", 1)
            if state == "0A" and int(port, 16) == server["port"]:
                listening.append(addr)
    assert listening == ["0100007F"], listening          # 127.0.0.1, little-endian hex


def test_listening_elsewhere_warns(model, monkeypatch, capsys):
    import uvicorn
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: None)
    assert main(["serve", "--model", str(model), "--host", "0.0.0.0", "--port", str(free_port())]) == 0
    assert "anyone who can reach this machine can use it" in capsys.readouterr().err


@pytest.mark.parametrize("content, ctype, status, words", [
    (b'{"temperature":', "application/json", 422, "not valid JSON"),
    (b"\xff\xfe{}", "application/json", 422, "not valid JSON"),
    (b"[]", "application/json", 422, "body"),
    (b'"tune"', "application/json", 422, "body"),
    (b'{"max_len": 20}', "text/plain", 422, "body"),
    (json.dumps({"prime": "A" * 70_000}).encode(), "application/json", 413, "64 KiB"),
])
def test_bad_bodies_get_json_errors(server, content, ctype, status, words):
    resp = httpx.post(server["base"] + "/api/generate", content=content,
                      headers={"content-type": ctype}, timeout=30)
    assert words in is_json_error(resp, status)


def test_other_http_errors_are_json(server):
    base = server["base"]
    chunked = httpx.post(base + "/api/generate", content=iter([b'{"max_len":', b" 20}"]),
                         headers={"content-type": "application/json"}, timeout=30)
    assert "Content-Length" in is_json_error(chunked, 411)
    is_json_error(httpx.get(base + "/api/generate"), 405)
    is_json_error(httpx.get(base + "/api/nothing"), 404)
    is_json_error(httpx.delete(base + "/api/health"), 405)
