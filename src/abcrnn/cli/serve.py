"""abcrnn serve: the web composer (web/app.py) under uvicorn."""
from __future__ import annotations

import socket
import sys

from abcrnn.cli.common import DEFAULT_MODEL, UserError


def _check_port(host: str, port: int) -> None:
    """Fail with one clear line if the port is taken, before loading any model."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as e:
            raise UserError(f"cannot listen on {host}:{port} ({e.strerror}); "
                            "choose another --port") from None


def cmd_serve(args) -> None:
    try:
        import uvicorn

        from abcrnn.web.app import create_app
    except ImportError as e:
        raise UserError(f"the web composer needs {e.name}: run `make setup`") from None
    if args.models_in_memory < 1:
        raise UserError(f"--models-in-memory must be 1 or more, got {args.models_in_memory}")
    _check_port(args.host, args.port)
    from abcrnn.model.device import sampling_threads
    sampling_threads(args.threads)
    # CheckpointError (one line) if a path holds no model or the default cannot load
    app = create_app(args.model or [str(DEFAULT_MODEL)], device=args.device,
                     loaded_max=args.models_in_memory)
    shelf = app.state.studio.shelf
    for why in shelf.skipped:
        print(f"abcrnn: skipped a run: {why}", file=sys.stderr)
    host = f"[{args.host}]" if ":" in args.host else args.host
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"abcrnn: listening on {args.host}: anyone who can reach this machine can use it",
              file=sys.stderr)
    names = ", ".join(shelf.composers)
    print(f"abcrnn: composer at http://{host}:{args.port}/  (models: {names}; API docs at /docs; "
          "Ctrl-C stops)", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


def add_serve_parser(sub) -> None:
    p = sub.add_parser("serve", help="web page to compose, edit, play and download tunes")
    p.add_argument("--model", action="append",
                   help="a model folder or its .json, or a folder of runs (each subfolder with a "
                        "model.json); repeat to offer several, the first is the default "
                        "(default: the shipped model)")
    p.add_argument("--models-in-memory", type=int, default=3,
                   help="models whose weights are kept loaded at once; others load when asked "
                        "for, dropping the least recently used (default: 3)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port to listen on (default: 8000)")
    p.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda"],
                   help="where to sample (default: cpu)")
    p.add_argument("--threads", type=int, default=0,
                   help="CPU threads for generation (0 = one, or $ABCRNN_THREADS: see generate)")
    p.set_defaults(func=cmd_serve)
