"""The work behind the API: one loaded model shared by all requests, and renders.

The model and its recurrent state are not safe to use from two threads at
once, and two generations at once would only halve each other's speed on a
small machine, so generations take turns behind a lock. Each is bounded in
characters (schemas.py) and in seconds (a deadline checked at every step).
In the web app the requests wait for their turn on the event loop
(Composer.generate_queued), not in worker threads, so a long queue of
generations does not hold up the page, /api/health or renders.
"""
from __future__ import annotations

import asyncio
import secrets
import tempfile
import threading
import time

from abcrnn.notation.tunes import split_abc
from abcrnn.api import load_model
from abcrnn.tools.programs import MissingToolError
from abcrnn.music.render import RenderError, render_tune, tune_filename
from abcrnn.sampling.net import GenerationTimeout
from abcrnn.web.schemas import GenerateRequest, GenerateResponse, Tune

GENERATE_SECONDS = 60.0    # most one generation may compute
QUEUE_SECONDS = 300.0      # most a generate request waits for its turn in the web app
QUEUE_MAX = 100            # generate requests waiting at once; more are refused at once (503)
WAIT_SECONDS = 30.0        # most a render (or a direct generate() call) waits for its turn
RENDER_SECONDS = 30.0      # per external program (abc2midi, fluidsynth, lame)
RENDERS_AT_ONCE = 2        # one per core

METERS = ["2/4", "3/4", "4/4", "6/8", "9/8", "3/8", "2/2", "C", "C|"]
KEYS = ["G", "D", "A", "E", "C", "F", "Bb", "Eb", "Em", "Bm", "Am", "Dm", "Gm",
        "Ador", "Edor", "Ddor", "Gdor", "Dmix", "Amix", "Gmix"]
LENGTHS = ["1/8", "1/16", "1/4"]
RHYTHMS = ["jig", "reel", "hornpipe", "polka", "slip jig", "slide", "waltz", "mazurka", "march",
           "strathspey", "barndance"]
FORMS = ["folk", "AABB", "AB", "AABBCC", "free"]


class ApiError(Exception):
    """An error for the client: HTTP status, a message, optional details."""

    def __init__(self, status: int, message: str, detail: object = None):
        super().__init__(message)
        self.status, self.message, self.detail = status, message, detail


def header_line(field: str, value: str) -> str:
    return f"{field}:{value.strip()}\n"


def split_prime(req: GenerateRequest) -> tuple[str, str]:
    """(prime, opening) for Model.generate: what the page calls the opening is always
    Model.generate's opening, header lines (even ``X:``) and all, so Model.merge reads it
    with the selects by the same rule as the command line's --opening."""
    return "", req.prime.replace("\r\n", "\n")


class _Queue:
    """Generate requests waiting for their turn, in order, on one event loop."""

    def __init__(self, loop):
        self.loop, self.turn, self.waiting = loop, asyncio.Lock(), 0


class Composer:
    """A loaded model and what the page needs to know about it."""

    def __init__(self, model_path, device: str = "cpu"):
        self.model = load_model(model_path, device=device)
        self.path, self.vocab, self.meta = self.model.path, self.model.vocab, self.model.meta
        self._lock = threading.Lock()
        self._queue: _Queue | None = None

    def available(self, field: str, value: str) -> bool:
        return not self.vocab.missing(header_line(field, value))

    def choices(self, field: str, values: list[str]) -> list[dict]:
        return [{"value": v, "available": self.available(field, v)} for v in values]

    def check_prime(self, prime: str) -> None:
        missing = self.vocab.missing(prime)
        if missing:
            shown = " ".join(repr(c) for c in missing)
            raise ApiError(422, f"the model does not know these characters: {shown}",
                           {"missing": missing})

    def checked(self, req: GenerateRequest) -> tuple[str, str, list[str]]:
        """(prime, opening, notes) once every character the tune will hold is one the model
        knows; ``notes`` say which selects the opening's own fields overrode (Model.merge)."""
        prime, opening = split_prime(req)
        _, merged = self.model.merge(prime or None, opening or None, title=req.title,
                                     rhythm=req.rhythm, meter=req.meter, unit=req.length, key=req.key)
        asked = [v for v in merged.settings().values() if v]
        self.check_prime(prime + (merged.music or "") + "".join(asked))
        return prime, opening, list(merged.notes)

    def generate(self, req: GenerateRequest) -> GenerateResponse:
        prime, opening, _notes = self.checked(req)
        seed = req.seed if req.seed is not None else secrets.randbelow(2**32)
        if not self._lock.acquire(timeout=WAIT_SECONDS):
            raise ApiError(503, "the composer is busy with other tunes; try again in a moment")
        try:
            start = time.monotonic()
            made = self.model.generate(req.num_tunes, req.temperature, seed, prime or None,
                                       top_k=req.top_k, top_p=req.top_p, max_len=req.max_len,
                                       guide=req.guide, meter=req.meter, key=req.key, unit=req.length,
                                       rhythm=req.rhythm, title=req.title, form=req.form,
                                       opening=opening or None, deadline=start + GENERATE_SECONDS)
        except ValueError as e:          # settings that do not go together (a reel in 6/8...)
            raise ApiError(422, str(e)) from None
        except GenerationTimeout:
            raise ApiError(503, f"generation took longer than {GENERATE_SECONDS:g} s; "
                                "ask for fewer or shorter tunes") from None
        finally:
            self._lock.release()
        tunes = [Tune(abc=t.abc, ended=t.ended) for t in made]
        return GenerateResponse(tunes=tunes, seed=seed, prime=prime + opening,
                                seconds=round(time.monotonic() - start, 3))

    async def generate_queued(self, req: GenerateRequest) -> GenerateResponse:
        """generate() for the web app: a request waits for its turn here, holding no
        worker thread, then generates in one. 503 if QUEUE_MAX requests are already
        waiting, or after QUEUE_SECONDS without a turn."""
        from starlette.concurrency import run_in_threadpool
        self.checked(req)                           # a bad request need not wait
        loop = asyncio.get_running_loop()
        if self._queue is None or self._queue.loop is not loop:   # a server has one loop
            self._queue = _Queue(loop)
        queue = self._queue
        if queue.waiting >= QUEUE_MAX:
            raise ApiError(503, f"the composer is busy ({QUEUE_MAX} requests are waiting); "
                                "try again in a moment")
        queue.waiting += 1
        try:
            await asyncio.wait_for(queue.turn.acquire(), QUEUE_SECONDS)
        except asyncio.TimeoutError:
            raise ApiError(503, "the composer is busy with other tunes; try again in a moment") from None
        finally:
            queue.waiting -= 1
        try:
            return await run_in_threadpool(self.generate, req)
        finally:
            queue.turn.release()


class Renderer:
    """ABC -> MIDI / audio through render.py, a few at a time."""

    def __init__(self, at_once: int = RENDERS_AT_ONCE):
        self._slots = threading.BoundedSemaphore(at_once)

    def render(self, abc: str, fmt: str) -> tuple[bytes, str]:
        """(file bytes, download name) for the one tune in ``abc``."""
        tunes = split_abc(abc.replace("\r\n", "\n"))
        if len(tunes) != 1:
            raise ApiError(422, "send exactly one tune (a tune starts at an X: line)"
                           if not tunes else f"send one tune at a time, not {len(tunes)}")
        if not self._slots.acquire(timeout=WAIT_SECONDS):
            raise ApiError(503, "the server is busy rendering other tunes; try again in a moment")
        try:
            # A fresh private folder per request: names never come from the client.
            with tempfile.TemporaryDirectory(prefix="abcrnn-web-") as tmp:
                paths = render_tune(tunes[0], tmp, formats=(fmt,), stem="tune",
                                    timeout=RENDER_SECONDS)
                data = paths[fmt].read_bytes()
        except MissingToolError as e:
            raise ApiError(503, str(e)) from None
        except RenderError as e:
            raise ApiError(422, f"the tune could not be rendered: {e}") from None
        finally:
            self._slots.release()
        return data, f"{tune_filename(tunes[0], 1)}.{fmt}"
