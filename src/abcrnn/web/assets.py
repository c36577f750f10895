"""The page's third-party JavaScript: abcjs (sheet music, playback) and swagger-ui
(the API docs), installed by npm (``npm ci``, locked by package-lock.json) and
copied into the package (``web/static/vendor/``) so a wheel carries them:

    python -m abcrnn.web.assets [NODE_MODULES]      # run by scripts/setup.sh

``ABCRNN_NODE_MODULES=DIR`` serves them from a node_modules folder instead.
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from abcrnn.resources import vendor_dir

NODE_MODULES_ENV = "ABCRNN_NODE_MODULES"
# The only files served from the vendor folder: a fixed map, so no path from a
# request ever reaches the file system.
VENDOR = {
    "abcjs-basic-min.js": "abcjs/dist/abcjs-basic-min.js",
    "abcjs-audio.css": "abcjs/abcjs-audio.css",
    "swagger-ui-bundle.js": "swagger-ui-dist/swagger-ui-bundle.js",
    "swagger-ui.css": "swagger-ui-dist/swagger-ui.css",
    "swagger-favicon.png": "swagger-ui-dist/favicon-32x32.png",
}


def vendor_file(name: str) -> Path:
    """Where the vendor file ``name`` (a key of VENDOR) is served from."""
    override = os.environ.get(NODE_MODULES_ENV)
    return Path(override) / VENDOR[name] if override else vendor_dir() / name


def copy_vendor(node_modules: Path, dest: Path | None = None) -> list[Path]:
    """Copy every VENDOR file from ``node_modules`` into the package's vendor folder."""
    dest = dest or vendor_dir()
    missing = [rel for rel in VENDOR.values() if not (node_modules / rel).is_file()]
    if missing:
        raise FileNotFoundError(f"{node_modules / missing[0]} is missing: run `npm ci` first")
    dest.mkdir(parents=True, exist_ok=True)
    out = []
    for name, rel in VENDOR.items():
        target = dest / name
        tmp = dest / f".{name}.tmp"
        shutil.copyfile(node_modules / rel, tmp)
        os.replace(tmp, target)
        out.append(target)
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    source = Path(argv[0] if argv else "node_modules")
    try:
        files = copy_vendor(source)
    except OSError as e:
        print(f"assets: error: {e}", file=sys.stderr)
        return 1
    print(f"assets: {len(files)} files in {files[0].parent}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
