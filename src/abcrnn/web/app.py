"""The web composer: a FastAPI app serving the page, its assets and a JSON API.

Everything the page needs comes from this server, never from another host:
abcjs and swagger-ui from the package's vendor folder (web/assets.py), the note
samples from the user cache (web/soundfont.py renders them if missing). A
Content-Security-Policy tells the browser to refuse anything else, so a
stray external URL fails loudly in development instead of leaking requests.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
import threading

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from abcrnn import __version__
from abcrnn.web import schemas
from abcrnn.web.service import FORMS, KEYS, LENGTHS, METERS, RHYTHMS, ApiError, Composer, Renderer
from abcrnn.resources import web_static
from abcrnn.web.assets import VENDOR, vendor_file
from abcrnn.tools.programs import MissingToolError
from abcrnn.web.soundfont import GM_NAMES, MANIFEST, make_soundfont, samples_dir

MAX_BODY = 64 * 1024                    # bytes; the largest valid body is ~21 KB
MEDIA = {"mid": "audio/midi", "mp3": "audio/mpeg", "wav": "audio/wav",
         "musicxml": "application/vnd.recordare.musicxml+xml"}
_NOTE_FILE = re.compile(r"[A-G]b?[0-9]\.mp3")
CSP = ("default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
       "style-src 'self' 'unsafe-inline'; script-src 'self'{extra}; connect-src 'self'; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")


def sound_instrument() -> str | None:
    """The instrument whose note samples exist, or None (sound unavailable)."""
    try:
        name = json.loads((samples_dir() / MANIFEST).read_text())["instrument"]
    except (OSError, ValueError, KeyError):
        return None
    return name if (samples_dir() / f"{name}-mp3").is_dir() else None


_SAMPLES_LOCK = threading.Lock()


def _render_samples() -> None:
    """make_soundfont() for the server, saying in one line what happened (never raises)."""
    with _SAMPLES_LOCK:              # two apps in one process render once
        if sound_instrument() is not None:
            return
        print(f"abcrnn: rendering the player's note samples into {samples_dir()} (once; ~20 s)",
              file=sys.stderr)
        try:
            make_soundfont()
        except (MissingToolError, OSError, ValueError, subprocess.SubprocessError) as e:
            print(f"abcrnn: the page will play no sound: {e}", file=sys.stderr)


def _error(status: int, message: str, detail: object = None) -> JSONResponse:
    return JSONResponse({"error": message, "detail": jsonable_encoder(detail)}, status_code=status)


def _summary(errors) -> str:
    """One readable line from pydantic's errors: 'temperature: Input should be ...'."""
    parts = []
    for e in errors[:3]:
        if e.get("type") == "json_invalid":      # its loc is ("body", character offset)
            at = [p for p in e.get("loc", ()) if isinstance(p, int)]
            parts.append("the body is not valid JSON" + (f" (at character {at[0]})" if at else ""))
            continue
        where = ".".join(str(p) for p in e.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {e.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_req, exc: ApiError):
        return _error(exc.status, exc.message, exc.detail)

    @app.exception_handler(RequestValidationError)
    async def invalid(_req, exc: RequestValidationError):
        # Only where and what: pydantic's "input" echoes the request (which can
        # be big, or a NaN that JSON cannot even carry).
        errors = [{k: e[k] for k in ("loc", "msg", "type") if k in e} for e in exc.errors()]
        return _error(422, _summary(errors), errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_req, exc: StarletteHTTPException):
        return _error(exc.status_code, str(exc.detail))


def _install_middleware(app: FastAPI) -> None:
    @app.middleware("http")
    async def guard(request: Request, call_next):
        # Refuse big bodies before reading them; a body sent without a length
        # (chunked) is refused too, since no client of this API needs one.
        if request.method in ("POST", "PUT", "PATCH"):
            length = request.headers.get("content-length")
            if length is None or not length.isdigit():
                return _error(411, "send the body with a Content-Length header")
            if int(length) > MAX_BODY:
                return _error(413, f"request body over {MAX_BODY // 1024} KiB")
        response = await call_next(request)
        # swagger-ui's page starts itself with an inline script; nothing else needs one.
        extra = " 'unsafe-inline'" if request.url.path == "/docs" else ""
        response.headers["Content-Security-Policy"] = CSP.format(extra=extra)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response


def _file_route(app: FastAPI) -> None:
    @app.get("/vendor/{name}", include_in_schema=False)
    def vendor(name: str):
        if name not in VENDOR:
            raise ApiError(404, f"no such asset: {name}")
        path = vendor_file(name)
        if not path.is_file():
            raise ApiError(404, f"{name} is not installed: run `npm ci` and `python -m abcrnn.web.assets`")
        return FileResponse(path)

    @app.get("/soundfont/{folder}/{note}", include_in_schema=False)
    def note_sample(folder: str, note: str):
        # abcjs asks for <instrument>-mp3/<Name>.mp3. Only one instrument is
        # rendered; a tune that asks for another (%%MIDI program) gets that one
        # rather than silence.
        inst = folder.removesuffix("-mp3")
        if not folder.endswith("-mp3") or inst not in GM_NAMES + ["percussion"] \
                or not _NOTE_FILE.fullmatch(note):
            raise ApiError(404, "no such note sample")
        have = sound_instrument()
        if have is None:
            raise ApiError(404, "note samples are not rendered: run "
                                "`python -m abcrnn.web.soundfont`")
        path = samples_dir() / f"{have}-mp3" / note
        if not path.is_file():
            raise ApiError(404, f"no sample for {note}")
        return FileResponse(path, media_type="audio/mpeg",
                            headers={"Cache-Control": "public, max-age=86400"})

    @app.get("/docs", include_in_schema=False)
    def docs():
        return get_swagger_ui_html(
            openapi_url="/openapi.json", title="abcrnn API",
            swagger_js_url="/vendor/swagger-ui-bundle.js", swagger_css_url="/vendor/swagger-ui.css",
            swagger_favicon_url="/vendor/swagger-favicon.png",
            # The validator badge would send the schema to a public web site.
            swagger_ui_parameters={"validatorUrl": None})

    @app.get("/", include_in_schema=False)
    def index():
        return FileResponse(web_static() / "index.html", headers={"Cache-Control": "no-cache"})

    app.mount("/static", StaticFiles(directory=web_static()), name="static")


def _api_routes(app: FastAPI, composer: Composer, renderer: Renderer) -> None:
    errors = {422: {"model": schemas.Error}, 503: {"model": schemas.Error}}

    @app.get("/api/health", response_model=schemas.Health, tags=["status"])
    def health():
        meta = composer.meta
        return schemas.Health(
            status="ok", model=composer.path.name, steps=int(meta.get("step", 0)),
            parameters=int(meta.get("num_params", 0)), vocab_size=len(composer.vocab),
            best_val_loss=meta.get("best_val_loss"),
            sheet_music=vendor_file("abcjs-basic-min.js").is_file(),
            sound=sound_instrument() is not None)

    @app.get("/api/options", response_model=schemas.Options, tags=["compose"])
    def options():
        """Header values the page offers, each marked usable if the model knows its characters."""
        inst = sound_instrument()
        return schemas.Options(
            meters=composer.choices("M", METERS), keys=composer.choices("K", KEYS),
            lengths=composer.choices("L", LENGTHS), rhythms=composer.choices("R", RHYTHMS),
            forms=FORMS, instrument=inst,
            program=GM_NAMES.index(inst) if inst else None,
            limits={"max_len": schemas.MAX_LEN_MAX, "num_tunes": schemas.NUM_TUNES_MAX,
                    "prime": schemas.PRIME_MAX, "abc": schemas.ABC_MAX, "seed": schemas.SEED_MAX})

    @app.post("/api/generate", response_model=schemas.GenerateResponse, responses=errors,
              tags=["compose"])
    async def generate(req: schemas.GenerateRequest):
        """Compose tunes, one generation at a time: requests wait for their turn
        (503 "busy" after a few minutes, or when very many are waiting)."""
        return await composer.generate_queued(req)

    def file_response(abc: str, fmt: str) -> Response:
        data, name = renderer.render(abc, fmt)
        return Response(data, media_type=MEDIA[fmt],
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    file_doc = {200: {"content": {m: {} for m in MEDIA.values()}, "description": "the file"}}

    @app.post("/api/midi", response_class=Response, responses=errors | file_doc, tags=["render"])
    def midi(req: schemas.RenderRequest):
        """A MIDI file of one ABC tune (abc2midi)."""
        return file_response(req.abc, "mid")

    @app.post("/api/musicxml", response_class=Response, responses=errors | file_doc, tags=["render"])
    def musicxml(req: schemas.RenderRequest):
        """A MusicXML file of one ABC tune, for MuseScore and other notation editors (music21)."""
        return file_response(req.abc, "musicxml")

    @app.post("/api/audio", response_class=Response, responses=errors | file_doc, tags=["render"])
    def audio(req: schemas.AudioRequest):
        """An MP3 or WAV of one ABC tune (abc2midi, fluidsynth with the GM soundfont, lame)."""
        return file_response(req.abc, req.format)


def create_app(model_path, device: str = "cpu", render_samples: bool = True) -> FastAPI:
    """The app, with the model at ``model_path`` loaded once (CheckpointError if it can't be).

    Without note samples in the user cache (a wheel installed anywhere, a fresh cache)
    they are rendered in the background on first use (``render_samples``): the page
    plays once they are there (/api/health says ``sound``)."""
    composer, renderer = Composer(model_path, device), Renderer()
    if render_samples and sound_instrument() is None:
        threading.Thread(target=_render_samples, name="note-samples", daemon=True).start()
    app = FastAPI(title="abcrnn", version=__version__, docs_url=None, redoc_url=None,
                  description="Compose folk tunes in ABC notation with a character-level RNN, "
                              "and render them to MIDI or audio. Errors are JSON: "
                              "`{\"error\": message, \"detail\": ...}`.")
    app.state.composer = composer
    _install_handlers(app)
    _install_middleware(app)
    _api_routes(app, composer, renderer)
    _file_route(app)
    return app
