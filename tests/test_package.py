"""abcrnn as a package: `python -m build` makes an sdist and a wheel (from the sdist)
that carry the shipped model, the bundled corpus and the page's JavaScript; the wheel,
installed into a fresh venv, runs generate, corpus and serve from outside the checkout."""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow
CARRIED = ("abcrnn/resources/model/model.json", "abcrnn/resources/corpus/pa4_tunes.txt",
           "abcrnn/web/static/index.html", "abcrnn/web/static/vendor/abcjs-basic-min.js",
           "abcrnn/web/static/vendor/swagger-ui-bundle.js",
           # the page's modules, imported by app.js
           *(f"abcrnn/web/static/{m}.js" for m in ("app", "tunes", "sheet", "player", "settings", "util")))


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    if not (ROOT / "src/abcrnn/web/static/vendor/abcjs-basic-min.js").is_file():
        pytest.skip("the page's JavaScript is not in the package yet: run make setup")
    out = tmp_path_factory.mktemp("dist")
    # --no-isolation: build with this venv's setuptools instead of downloading one
    subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
                   check=True, capture_output=True, timeout=300)
    return out


@pytest.fixture(scope="module")
def venv(dist, tmp_path_factory):
    """A fresh venv with only the wheel installed. Its dependencies (torch & co.) are
    made visible from this venv's site-packages by a .pth line, not reinstalled; this
    venv's own abcrnn is an editable install (a .pth of its own), which such a line
    does not activate, so the wheel is the only abcrnn there."""
    env_dir = tmp_path_factory.mktemp("venv") / "v"
    subprocess.run([sys.executable, "-m", "venv", str(env_dir)], check=True, timeout=120)
    wheel = next(dist.glob("abcrnn-*.whl"))
    py = env_dir / "bin" / "python"
    subprocess.run([py, "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
                   check=True, capture_output=True, timeout=300)
    site = subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    ours = subprocess.run([sys.executable, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    (Path(site) / "deps-from-test.pth").write_text(ours + "\n")
    return env_dir


def run(venv, *args, cwd, **kw):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run([venv / "bin" / "abcrnn", *args], cwd=cwd, capture_output=True, text=True,
                          env=env, timeout=300, **kw)


def test_sdist_and_wheel_carry_the_resources(dist):
    wheel = zipfile.ZipFile(next(dist.glob("abcrnn-*.whl"))).namelist()
    sdist = tarfile.open(next(dist.glob("abcrnn-*.tar.gz"))).getnames()
    for name in CARRIED:
        assert name in wheel, name
        assert any(n.endswith("src/" + name) for n in sdist), name
    weights = json.loads(zipfile.ZipFile(next(dist.glob("abcrnn-*.whl")))
                         .read("abcrnn/resources/model/model.json"))["weights"]["file"]
    assert f"abcrnn/resources/model/{weights}" in wheel


def test_the_wheel_runs_outside_the_checkout(venv, tmp_path):
    where = subprocess.run([venv / "bin" / "python", "-c", "import abcrnn.api; print(abcrnn.api.__file__)"],
                           cwd=tmp_path, capture_output=True, text=True, check=True).stdout
    assert str(venv) in where and str(ROOT) not in where
    gen = run(venv, "generate", "--num-tunes", "2", "--seed", "3", "--max-len", "400", cwd=tmp_path)
    assert gen.returncode == 0, gen.stderr
    assert gen.stdout.startswith("X:1\n") and "\nX:2\n" in gen.stdout
    corpus = run(venv, "corpus", cwd=tmp_path)
    assert corpus.returncode == 0 and "tunes:       1106" in corpus.stdout, corpus.stderr


def test_the_wheel_serves_the_page(venv, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    proc = subprocess.Popen([venv / "bin" / "abcrnn", "serve", "--port", str(port)], cwd=tmp_path,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(base + "/api/health", timeout=2)
                break
            except OSError:
                time.sleep(0.1)
        page = urllib.request.urlopen(base + "/").read().decode()
        assert "Generate" in page
        abcjs = urllib.request.urlopen(base + "/vendor/abcjs-basic-min.js").read()
        assert len(abcjs) > 100_000
        body = json.dumps({"seed": 5, "max_len": 300}).encode()
        req = urllib.request.Request(base + "/api/generate", data=body,
                                     headers={"Content-Type": "application/json"})
        tunes = json.loads(urllib.request.urlopen(req, timeout=120).read())["tunes"]
        assert tunes[0]["abc"].startswith("X:1")
    finally:
        proc.terminate()
        proc.wait(10)


def test_missing_note_samples_are_rendered_on_first_use(venv, tmp_path):
    if shutil.which("fluidsynth") is None:
        pytest.skip("needs fluidsynth")
    code = ("import time, os\n"
            "from abcrnn.web.app import create_app, sound_instrument\n"
            "create_app(None)\n"
            "for _ in range(600):\n"
            "    if sound_instrument(): break\n"
            "    time.sleep(0.2)\n"
            "notes = os.listdir(os.environ['ABCRNN_NOTE_SAMPLES'] + '/violin-mp3')\n"
            "print(sound_instrument(), sum(n.endswith('.mp3') for n in notes))\n")
    env = {**os.environ, "ABCRNN_NOTE_SAMPLES": str(tmp_path / "samples")}
    env.pop("PYTHONPATH", None)
    out = subprocess.run([venv / "bin" / "python", "-c", code], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.stdout.split() == ["violin", "88"], out.stderr
    assert "rendering the player's note samples" in out.stderr
