#!/usr/bin/env bash
# The demo: bring up a local virtual cluster and run a small experiment on it.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
bash scripts/setup.sh
exec .venv/bin/python -m execo.demo "$@"
