#!/usr/bin/env bash
# Create .venv and install robo-reward with all extras. Idempotent: skips when pyproject.toml is unchanged.
# torch/torchvision are installed with pip first (unpinned; pip resolves them from the local wheel cache where
# one exists). Override the interpreter with PYTHON=..., the venv folder with VENV=...
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
stamp="$VENV/.robo-reward-installed"
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
echo "[setup] creating $VENV and installing robo-reward[all] (first time: a few minutes)" >&2
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet torch torchvision
"$VENV/bin/python" -m pip install --quiet -e '.[all]'
echo "$want" > "$stamp"
echo "[setup] done: $VENV" >&2
