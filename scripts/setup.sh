#!/usr/bin/env bash
# Install everything abcrnn needs on a fresh Debian machine: system packages
# (only those missing), a virtual environment in .venv, torch (CPU build) and
# the package itself in editable mode with its test extras. Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(abcmidi abcm2ps fluidsynth fluid-soundfont-gm ghostscript lame chromium)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "setup: installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
# torch first and pinned: this version is a CPU build already on these machines'
# disk; an unpinned torch would download a multi-GB CUDA build.
# (grep drops this machine's pip notes about local index folders it does not have)
.venv/bin/python -c "import torch" 2>/dev/null \
  || { .venv/bin/pip install -q torch==2.13.0 2>&1 | grep -v "^WARNING: Location" || true; }
# (torch warns that numpy is missing until the next line installs it: checked quietly)
.venv/bin/python -W ignore -c "import torch" 2>/dev/null \
  || { echo "setup: torch did not install" >&2; exit 1; }
# corpora: music21, whose package ships the ABC collections (essenFolksong...) for --corpus music21:NAME;
# eval: scikit-learn for abcrnn evaluate --c2st
.venv/bin/pip install -q -e '.[dev,corpora,eval]' 2>&1 | grep -v "^WARNING: Location" || true
# Front-end assets for `abcrnn serve`, exactly as locked. --ignore-scripts:
# swagger-ui-dist's dependency @scarf/scarf sends install analytics from a postinstall script.
if [ ! -d node_modules/abcjs ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
fi
# The page's JavaScript into the package (so a wheel carries it), then the note samples for
# its player, rendered from the GM soundfont into the user cache (skipped when up to date).
.venv/bin/python -m abcrnn.web.assets node_modules
.venv/bin/python -m abcrnn.web.soundfont
echo "setup: ready (.venv/bin/abcrnn)"
