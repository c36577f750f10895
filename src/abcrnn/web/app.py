"""The web composer: a FastAPI app serving the page, its assets and a JSON API.

Everything the page needs comes from this server, never from another host:
abcjs and swagger-ui from the package's vendor folder (web/assets.py), the note
samples from the user cache (web/soundfont.py renders them if missing). A
Content-Security-Policy tells the browser to refuse anything else, so a
stray external URL fails loudly in development instead of leaking requests.
"""
from __future__ import annotations

import re
import subprocess
import sys
import threading

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from abcrnn import __version__
from abcrnn.resources import web_static
from abcrnn.tools.programs import MissingToolError
from abcrnn.web.assets import VENDOR, vendor_file
from abcrnn.web.models import Shelf
from abcrnn.web.renderer import Renderer
from abcrnn.web.routes import api_routes
from abcrnn.web.service import ApiError, Studio
from abcrnn.web.soundfont import (DEFAULT_INSTRUMENT, GM_NAMES, INSTRUMENTS, make_soundfonts,
                                  rendered, samples_dir)

MAX_BODY = 64 * 1024                    # bytes; the largest valid body is ~21 KB
_NOTE_FILE = re.compile(r"[A-G]b?[0-9]\.mp3")
CSP = ("default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
       "style-src 'self' 'unsafe-inline'; script-src 'self'{extra}; connect-src 'self'; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")


def sound_instrument() -> str | None:
    """The default instrument if its note samples exist, or None (sound unavailable)."""
    return DEFAULT_INSTRUMENT if rendered(samples_dir(), DEFAULT_INSTRUMENT) else None


def missing_samples() -> list[str]:
    """The instruments the page offers whose note samples are not made yet."""
    return [gm for _, gm in INSTRUMENTS if not rendered(samples_dir(), gm)]


_SAMPLES_LOCK = threading.Lock()


def _render_samples() -> None:
    """make_soundfonts() for the server, saying in one line what happened (never raises)."""
    with _SAMPLES_LOCK:              # two apps in one process render once
        missing = missing_samples()
        if not missing:
            return
        print(f"abcrnn: rendering the player's note samples into {samples_dir()} (once; "
              f"about 9 s of CPU for each of {len(missing)} instruments, two at a time)", file=sys.stderr)
        try:
            make_soundfonts(instruments=missing)
        except (MissingToolError, OSError, ValueError, subprocess.SubprocessError) as e:
            print(f"abcrnn: the page will play no sound: {e}", file=sys.stderr)


def _error(status: int, message: str, detail: object = None, close: bool = False) -> JSONResponse:
    return JSONResponse({"error": message, "detail": jsonable_encoder(detail)}, status_code=status,
                        headers={"Connection": "close"} if close else None)


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
        if exc.status_code == 400 and isinstance(exc.__cause__, RecursionError):
            # FastAPI answers a body that json cannot parse for its depth (an array
            # nested a thousand deep) with a bare 400; it is invalid JSON like any other.
            errors = [{"loc": ["body"], "msg": "nested too deeply", "type": "json_invalid"}]
            return _error(422, "the body is not valid JSON (nested too deeply)", errors)
        return _error(exc.status_code, str(exc.detail))


def _install_middleware(app: FastAPI) -> None:
    @app.middleware("http")
    async def guard(request: Request, call_next):
        # Refuse big bodies before reading them; a body sent without a length
        # (chunked) is refused too, since no client of this API needs one. A request
        # with both a length and Transfer-Encoding is refused at once: the HTTP parser
        # reads the body as chunks (RFC 9112, 6.3), so a body that is not chunked left
        # the request waiting for chunks until the client gave up. The connection is
        # closed after these answers, since their body is never read.
        length = request.headers.get("content-length")
        if "transfer-encoding" in request.headers and length is not None:
            return _error(400, "send either Content-Length or Transfer-Encoding, not both",
                          close=True)
        if request.method in ("POST", "PUT", "PATCH"):
            if length is None or not length.isdigit():
                return _error(411, "send the body with a Content-Length header", close=True)
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
        # abcjs asks for <instrument>-mp3/<Name>.mp3. An instrument whose samples are
        # not made (a tune's own %%MIDI program, or one still rendering) gets the
        # default one's rather than silence.
        inst = folder.removesuffix("-mp3")
        if not folder.endswith("-mp3") or inst not in GM_NAMES + ["percussion"] \
                or not _NOTE_FILE.fullmatch(note):
            raise ApiError(404, "no such note sample")
        have = inst if rendered(samples_dir(), inst) else sound_instrument()
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


def create_app(model_path=None, device: str = "cpu", render_samples: bool = True,
               loaded_max: int | None = None) -> FastAPI:
    """The app, serving the model at ``model_path`` (None: the shipped one), or several: a
    list of model folders or folders of runs, the first model the default (models.py;
    CheckpointError if one cannot be read, or the default cannot be loaded).

    Without note samples in the user cache (a wheel installed anywhere, a fresh cache)
    they are rendered in the background on first use (``render_samples``): the page
    plays once they are there (/api/health says ``sound``)."""
    from abcrnn.resources import shipped_model
    paths = model_path if isinstance(model_path, (list, tuple)) else [model_path or shipped_model()]
    shelf = Shelf(paths, device, **({"loaded_max": loaded_max} if loaded_max else {}))
    studio, renderer = Studio(shelf), Renderer(GM_NAMES.index(DEFAULT_INSTRUMENT))
    if render_samples and missing_samples():
        threading.Thread(target=_render_samples, name="note-samples", daemon=True).start()
    app = FastAPI(title="abcrnn", version=__version__, docs_url=None, redoc_url=None,
                  description="Compose folk tunes in ABC notation with a character-level RNN, "
                              "and render them to MIDI or audio. Errors are JSON: "
                              "`{\"error\": message, \"detail\": ...}`.")
    app.state.studio, app.state.composer = studio, shelf.default
    _install_handlers(app)
    _install_middleware(app)
    api_routes(app, studio, renderer)
    _file_route(app)
    return app
