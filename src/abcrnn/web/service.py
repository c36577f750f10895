"""The work behind the generate API: the models (their vocabularies, facts and
weights), the checks of a request, and the turns generations take.

The models and their recurrent state are not safe to use from two threads at
once, and two generations at once would only halve each other's speed on a
small machine, so generations take turns, one tune per turn (turns.py: the
cheapest request to finish goes first). Each is bounded in characters
(schemas.py) and in seconds (a deadline checked at every step). The requests
wait for their turn on the event loop, not in worker threads, so a long queue of
generations does not hold up the page, /api/health or renders.
"""
from __future__ import annotations

import asyncio
import secrets
import threading
import time
from pathlib import Path

from abcrnn.api import load_model
from abcrnn.model.checkpoint import CheckpointError, read_meta
from abcrnn.model.vocab import Vocab
from abcrnn.sampling.net import GenerationTimeout
from abcrnn.web.schemas import SEED_MAX, GenerateRequest, GenerateResponse, Tune
from abcrnn.web.turns import Turns

GENERATE_SECONDS = 60.0    # most one request's tunes may compute, all together
QUEUE_SECONDS = 300.0      # most a generate request waits for a turn
QUEUE_MAX = 100            # generate requests waiting at once; more are refused at once (503)
WAIT_SECONDS = 30.0        # most a tune waits for the model's thread lock (only if a turn overran)

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


class Composer:
    """One model and what the page needs to know about it. Its vocabulary and facts come
    from model.json alone; the weights load on first use (``model``) and can be dropped
    again (``unload``), so a server can offer more models than it keeps in memory."""

    def __init__(self, model_path, device: str = "cpu", name: str | None = None):
        self.path, self.device = Path(model_path), device
        _, self.meta = read_meta(self.path)       # CheckpointError if it is not a model
        try:
            self.vocab = Vocab(self.meta["vocab"])
        except (KeyError, TypeError) as e:
            raise CheckpointError(f"{self.path} has no valid vocabulary ({e})") from None
        self.name = name or (self.path if self.path.is_dir() else self.path.parent).name
        self._model = None
        self._load_lock = threading.Lock()

    @property
    def model(self):
        with self._load_lock:
            if self._model is None:
                self._model = load_model(self.path, device=self.device)
            return self._model

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def unload(self) -> None:
        with self._load_lock:
            self._model = None

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

    def tune(self, req: GenerateRequest, prime: str, opening: str, seed: int, seconds: float) -> Tune:
        """The one tune ``seed`` gives alone under the request's settings, computed in at
        most ``seconds`` (GenerationTimeout after that)."""
        try:
            made = self.model.generate(1, req.temperature, seed, prime or None,
                                       top_k=req.top_k, top_p=req.top_p, max_len=req.max_len,
                                       guide=req.guide, meter=req.meter, key=req.key, unit=req.length,
                                       rhythm=req.rhythm, title=req.title, form=req.form,
                                       opening=opening or None, deadline=time.monotonic() + seconds)
        except ValueError as e:          # settings that do not go together (a reel in 6/8...)
            raise ApiError(422, str(e)) from None
        return Tune(abc=made[0].abc, ended=made[0].ended, seed=seed)


def tune_seeds(seed: int, num_tunes: int) -> list[int]:
    """Tune i's own seed: seed + i (as `abcrnn generate` numbers a batch), wrapping
    round within 0..SEED_MAX so that every one can be asked for again."""
    return [(seed + i) % (SEED_MAX + 1) for i in range(num_tunes)]


class Studio:
    """The models a server offers and the one generation turn they share (turns.py).

    A request makes its tunes one at a time, each in a turn of its own, with that
    tune's own seed: the tunes of a batch of 4 are exactly the tunes their seeds give
    alone, and a small request can pass a big one between two of its tunes."""

    def __init__(self, shelf):
        self.shelf = shelf
        self._turns: Turns | None = None
        self._lock = threading.Lock()      # held while a model computes, whatever happens to turns

    def turns(self) -> Turns:
        loop = asyncio.get_running_loop()
        if self._turns is None or self._turns.loop is not loop:     # a server has one loop
            self._turns = Turns(loop)
        return self._turns

    async def generate(self, req: GenerateRequest) -> GenerateResponse:
        """503 if QUEUE_MAX requests are already waiting, or after QUEUE_SECONDS
        without a turn, or GENERATE_SECONDS of compute."""
        from starlette.concurrency import run_in_threadpool
        composer = self.shelf.get(req.model)
        # A bad request need not wait. checked() gives (prime, opening), or with the merge
        # of the opening and the settings (prime, opening, notes): its notes pass through.
        # It runs in a worker thread on the loaded model: the merge may read the model, and
        # a model loaded here counts against LOADED_MAX like any other.
        prime, opening, *rest = await run_in_threadpool(lambda: self.shelf.use(composer).checked(req))
        notes = [str(n) for n in rest[0]] if rest else []
        seed = req.seed if req.seed is not None else secrets.randbelow(SEED_MAX + 1)
        turns, key = self.turns(), Turns.key(req.num_tunes * req.max_len)
        if turns.waiting >= QUEUE_MAX:
            raise ApiError(503, f"the composer is busy ({QUEUE_MAX} requests are waiting); "
                                "try again in a moment")
        tunes, spent = [], 0.0
        for s in tune_seeds(seed, req.num_tunes):
            if not await turns.acquire(key, QUEUE_SECONDS):
                raise ApiError(503, "the composer is busy with other tunes; try again in a moment")
            start = time.monotonic()
            try:
                tunes.append(await run_in_threadpool(self.make, composer, req, prime, opening, s,
                                                     GENERATE_SECONDS - spent))
            finally:
                spent += time.monotonic() - start
                turns.release()
        return GenerateResponse(tunes=tunes, seed=seed, prime=prime + opening, seconds=round(spent, 3),
                                model=composer.name, notes=notes)

    def make(self, composer: Composer, req, prime, opening, seed, seconds) -> Tune:
        """One tune, in a worker thread, during the turn. The thread lock matters only
        if a request was cancelled while its tune still computes: the turn then passes
        on, and the next tune waits here for the thread to finish."""
        if not self._lock.acquire(timeout=WAIT_SECONDS):
            raise ApiError(503, "the composer is busy with other tunes; try again in a moment")
        try:
            return self.shelf.use(composer).tune(req, prime, opening, seed, seconds)
        except GenerationTimeout:
            raise ApiError(503, f"generation took longer than {GENERATE_SECONDS:g} s; "
                                "ask for fewer or shorter tunes") from None
        finally:
            self._lock.release()
