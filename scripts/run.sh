#!/usr/bin/env bash
# The main job on a fresh machine: set up (once), then run the whole pipeline. Extra arguments are Hydra
# overrides for `robo-reward run`, e.g. `bash scripts/run.sh quick=true`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1 ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST
exec .venv/bin/robo-reward run "$@"
