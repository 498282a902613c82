#!/usr/bin/env bash
# Installs the peers we compare against into bench/_peers/venv (not tracked):
# execo 2.8.2, parallel-ssh, ClusterShell, asyncssh, trio-asyncio. Idempotent.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x _peers/venv/bin/python ]; then
    python3 -m venv _peers/venv
fi
if [ ! -f _peers/venv/.done ]; then
    _peers/venv/bin/python -m pip install -q execo==2.8.2 parallel-ssh ClusterShell asyncssh trio trio-asyncio 2>&1 \
        | grep -v "is ignored: it is neither" >&2 || true
    _peers/venv/bin/python -c "import execo, pssh, ClusterShell, asyncssh, trio_asyncio" && touch _peers/venv/.done
fi
