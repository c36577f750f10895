"""What the web tests share: a model trained for a few steps on the tiny corpus (fast;
its vocabulary lacks '9', so M:9/8 must be refused) and a raw HTTP exchange."""
from __future__ import annotations

import socket
import time
from pathlib import Path

from conftest import TUNES, marked

from abcrnn.cli.main import main


def train_tiny(root: Path, name: str = "model", *flags: str) -> Path:
    """``root/name``: a model trained for 3 steps on the tiny corpus (extra ``flags``
    for `abcrnn train`, e.g. ``--cell gru``)."""
    corpus = root / "tiny.txt"
    corpus.write_bytes(marked(TUNES).encode())
    args = ["train", "--corpus", str(corpus), "--out", str(root / name), "--hidden-size", "16",
            "--embed-size", "8", "--seq-len", "32", "--batch-size", "4", "--max-steps", "3",
            "--eval-interval", "3", "--device", "cpu", "--quiet", *flags]
    assert main(args) == 0
    return root / name


def exchange(port: int, request: bytes, timeout: float = 30) -> tuple[float, bytes]:
    """Send ``request`` as given; (seconds until the server answered and closed, what it sent)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        start = time.monotonic()
        s.sendall(request)
        data = b""
        try:
            while chunk := s.recv(65536):
                data += chunk
        except TimeoutError:
            data += b"<no answer>"
        return time.monotonic() - start, data
