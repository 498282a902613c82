#!/usr/bin/env bash
# The whole test suite: lint, strict typing, then pytest (real sshd, taktuk, HTTP server...).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
bash scripts/setup.sh
export PATH="$here/.venv/bin:$PATH"
echo "== ruff" && ruff check src tests bench && ruff format --check src tests bench
echo "== mypy --strict" && mypy
echo "== pytest" && exec python -m pytest "$@"
