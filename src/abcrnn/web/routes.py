"""The JSON API's routes: status, options and models, generate, render, check."""
from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import Response

from abcrnn.web import schemas
from abcrnn.web.assets import vendor_file
from abcrnn.web.check import check_tune
from abcrnn.web.renderer import Renderer
from abcrnn.web.service import FORMS, KEYS, LENGTHS, METERS, RHYTHMS, Studio
from abcrnn.web.soundfont import DEFAULT_INSTRUMENT, GM_NAMES, INSTRUMENTS, rendered, samples_dir

MEDIA = {"mid": "audio/midi", "mp3": "audio/mpeg", "wav": "audio/wav",
         "musicxml": "application/vnd.recordare.musicxml+xml"}


def instruments() -> list[dict]:
    """The instruments the page offers, the default first, each marked if its samples exist."""
    return [{"name": name, "program": GM_NAMES.index(gm), "gm_name": gm,
             "samples": rendered(samples_dir(), gm)} for name, gm in INSTRUMENTS]


def status_routes(app: FastAPI, studio: Studio) -> None:
    @app.get("/api/health", response_model=schemas.Health, tags=["status"])
    def health():
        """The server's state, and the default model's facts."""
        composer = studio.shelf.default
        meta = composer.meta
        return schemas.Health(
            status="ok", model=composer.name, steps=int(meta.get("step", 0)),
            parameters=int(meta.get("num_params", 0)), vocab_size=len(composer.vocab),
            best_val_loss=meta.get("best_val_loss"),
            sheet_music=vendor_file("abcjs-basic-min.js").is_file(),
            sound=rendered(samples_dir(), DEFAULT_INSTRUMENT))

    @app.get("/api/models", response_model=list[schemas.ModelInfo], tags=["status"])
    def models():
        """Every model this server offers (`abcrnn serve --model A --model B`), the default first."""
        return studio.shelf.facts()

    @app.get("/api/options", response_model=schemas.Options, tags=["compose"])
    def options(model: str | None = None):
        """Header values the page offers, each marked usable if the model (default: the
        default one) knows its characters; the instruments and tempi it can play."""
        composer = studio.shelf.get(model)
        inst = instruments()
        return schemas.Options(
            meters=composer.choices("M", METERS), keys=composer.choices("K", KEYS),
            lengths=composer.choices("L", LENGTHS), rhythms=composer.choices("R", RHYTHMS),
            forms=FORMS, instrument=DEFAULT_INSTRUMENT if inst[0]["samples"] else None,
            program=inst[0]["program"] if inst[0]["samples"] else None, instruments=inst,
            tempo={"min": schemas.TEMPO_MIN, "max": schemas.TEMPO_MAX,
                   "default": schemas.TEMPO_DEFAULT},
            limits={"max_len": schemas.MAX_LEN_MAX, "num_tunes": schemas.NUM_TUNES_MAX,
                    "prime": schemas.PRIME_MAX, "abc": schemas.ABC_MAX, "seed": schemas.SEED_MAX})


def api_routes(app: FastAPI, studio: Studio, renderer: Renderer) -> None:
    errors = {422: {"model": schemas.Error}, 503: {"model": schemas.Error}}
    status_routes(app, studio)

    @app.post("/api/generate", response_model=schemas.GenerateResponse, responses=errors,
              tags=["compose"])
    async def generate(req: schemas.GenerateRequest):
        """Compose tunes, one tune at a time, each with its own seed. Requests wait for
        their turn, the cheapest (num_tunes x max_len) to finish first (503 "busy" after
        a few minutes, or when very many are waiting)."""
        return await studio.generate(req)

    def file_response(abc: str, fmt: str, program=None, tempo=None) -> Response:
        data, name = renderer.render(abc, fmt, program, tempo)
        return Response(data, media_type=MEDIA[fmt],
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    file_doc = {200: {"content": {m: {} for m in MEDIA.values()}, "description": "the file"}}

    @app.post("/api/midi", response_class=Response, responses=errors | file_doc, tags=["render"])
    def midi(req: schemas.PlayRequest):
        """A MIDI file of one ABC tune (abc2midi), with the instrument and tempo asked for."""
        return file_response(req.abc, "mid", req.program, req.tempo)

    @app.post("/api/musicxml", response_class=Response, responses=errors | file_doc, tags=["render"])
    def musicxml(req: schemas.RenderRequest):
        """A MusicXML file of one ABC tune, for MuseScore and other notation editors (music21)."""
        return file_response(req.abc, "musicxml")

    @app.post("/api/audio", response_class=Response, responses=errors | file_doc, tags=["render"])
    def audio(req: schemas.AudioRequest):
        """An MP3 or WAV of one ABC tune (abc2midi, fluidsynth with the GM soundfont, lame)."""
        return file_response(req.abc, req.format, req.program, req.tempo)

    @app.post("/api/check", response_model=schemas.CheckResponse, responses=errors, tags=["render"])
    def check(req: schemas.CheckRequest):
        """The bar check for a hand edit: bars whose length disagrees with M: and L:
        (the project's own check), then what abc2midi warns about."""
        with renderer.slot():
            return {"warnings": check_tune(req.abc)}
