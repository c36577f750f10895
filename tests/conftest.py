"""Shared fixtures: a tiny corpus and tiny models, so the suite stays fast."""
from __future__ import annotations

import contextlib
import socket
import threading
import time

import pytest
import torch

from abcrnn.model.vocab import Vocab
from abcrnn.model.charrnn import CharRNN
from abcrnn.model.config import ModelConfig

TUNES = [
    "X:1\nT:Tiny Reel\nM:4/4\nL:1/8\nK:D\n|:DFAF GBAF|EFGA BAFD:|\n|:dfaf gbaf|efge fdd2:|",
    "X:2\nT:Tiny Jig\nM:6/8\nL:1/8\nK:G\n|:GAG BAB|cBA BGE|DGG FGA|BGE E3:|",
    "X:3\nT:Tiny Waltz\nM:3/4\nL:1/4\nK:A\nA B c|d2 c|B A G|A3|]",
    "X:4\nT:Tiny Polka\nM:2/4\nL:1/8\nK:Em\nEF GA|BA GF|E2 E2|E4|]",
    "X:5\nT:Tiny Hornpipe\nM:4/4\nL:1/8\nK:C\n(3cBA GE cGEC|DEFG ABcd|e2c2 d2B2|c4 c4|]",
    "X:6\nT:Tiny March\nM:2/4\nL:1/8\nK:F\nFA cA|Bd cA|GB AF|F4|]",
]


def marked(tunes) -> str:
    return "".join(f"<start>\r\n{t.replace(chr(10), chr(13) + chr(10))}\r\n<end>\r\n" for t in tunes)


@pytest.fixture(autouse=True)
def _corpus_cache(tmp_path_factory, monkeypatch):
    """Encoded-corpus cache entries go to a temporary folder, not the user's ~/.cache."""
    monkeypatch.setenv("ABCRNN_CACHE", str(tmp_path_factory.getbasetemp() / "abcrnn-cache"))


@pytest.fixture
def corpus_file(tmp_path):
    path = tmp_path / "tiny.txt"
    path.write_bytes(marked(TUNES).encode())
    return path


@pytest.fixture
def vocab():
    return Vocab.from_texts([f"<start>\n{t}\n<end>" for t in TUNES])


def tiny_model(vocab, cell="lstm", **kw) -> CharRNN:
    torch.manual_seed(0)
    cfg = dict(cell=cell, hidden_size=16, num_layers=1, dropout=0.0, embed_size=8) | kw
    return CharRNN(ModelConfig(len(vocab), **cfg)).eval()


@contextlib.contextmanager
def serve_in_thread(app):
    """The app under a real uvicorn server in a thread, on a loopback port the OS
    picks; yields its base URL and stops the server on exit."""
    import uvicorn
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    srv = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    for _ in range(200):
        if srv.started:
            break
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        srv.should_exit = True
        thread.join(10)
        sock.close()
