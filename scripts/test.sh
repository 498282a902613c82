#!/usr/bin/env bash
# The whole test suite: lint, strict typing, the docs site (warnings are errors), then pytest
# (real sshd, taktuk, HTTP server, OAR as root, and every example of docs/).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
bash scripts/setup.sh
export PATH="$here/.venv/bin:$PATH"
echo "== ruff" && ruff check src tests bench && ruff format --check src tests bench
echo "== mypy --strict" && mypy
site=$(mktemp -d)
echo "== mkdocs build --strict" && NO_MKDOCS_2_WARNING=1 mkdocs build --strict -q -d "$site"
rm -rf "$site"
echo "== pytest" && exec python -m pytest "$@"
