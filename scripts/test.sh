#!/usr/bin/env bash
# The test suite: set up (once), then pytest. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1 ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST
export ROS_DOMAIN_ID=${ROS_DOMAIN_ID:-$(( 100 + $$ % 100 ))}
exec .venv/bin/python -m pytest -p no:cacheprovider "$@"
