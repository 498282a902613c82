#!/usr/bin/env bash
# The whole test suite: lint, strict typing, the docs site (warnings are errors), then pytest
# (real sshd, taktuk, HTTP server, OAR as root, and every example of docs/).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
bash scripts/setup.sh
export PATH="$here/.venv/bin:$PATH"
# One command per line: under set -e, a failure inside an && list would not stop the script.
echo "== ruff"
ruff check src tests bench
ruff format --check src tests bench
echo "== mypy --strict"
mypy
echo "== mkdocs build --strict"
site=$(mktemp -d)
NO_MKDOCS_2_WARNING=1 mkdocs build --strict -q -d "$site"
rm -rf "$site"
echo "== pytest" && exec python -m pytest "$@"
